//! The trail of accounts and the registry: its events and head (see `service::trail`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{trail_events, trail_head};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = trail_events)]
pub struct TrailRow {
    pub seq: i64,
    pub subject_kind: String,
    pub subject_id: String,
    pub actor_id: String,
    pub at: NaiveDateTime,
    pub action: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Takes the trail's lock for the rest of the transaction (PostgreSQL: the head's row lock;
/// SQLite: the write transaction already holds the database) and reads the head.
pub fn lock(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    diesel::update(trail_head::table.find(1))
        .set(trail_head::seq.eq(trail_head::seq))
        .execute(conn)?;
    head(conn)
}

pub fn head(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    trail_head::table
        .find(1)
        .select((trail_head::seq, trail_head::hash))
        .first(conn)
}

pub fn append(conn: &mut DbConnection, row: &TrailRow) -> QueryResult<()> {
    diesel::insert_into(trail_events::table)
        .values(row)
        .execute(conn)?;
    diesel::update(trail_head::table.find(1))
        .set((trail_head::seq.eq(row.seq), trail_head::hash.eq(&row.hash)))
        .execute(conn)?;
    Ok(())
}

/// A subject's events in order, up to `upto`.
pub fn of_subject(
    conn: &mut DbConnection,
    kind: &str,
    id: &str,
    upto: i64,
) -> QueryResult<Vec<TrailRow>> {
    trail_events::table
        .filter(trail_events::subject_kind.eq(kind))
        .filter(trail_events::subject_id.eq(id))
        .filter(trail_events::seq.between(1, upto))
        .select(TrailRow::as_select())
        .order(trail_events::seq)
        .load(conn)
}

/// A batch of the whole trail in order, for verification.
pub fn after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<TrailRow>> {
    trail_events::table
        .filter(trail_events::seq.gt(after))
        .select(TrailRow::as_select())
        .order(trail_events::seq)
        .limit(limit)
        .load(conn)
}

/// Rows outside [1, head]: not written by the service.
pub fn outside(conn: &mut DbConnection, head: i64, limit: i64) -> QueryResult<Vec<i64>> {
    trail_events::table
        .filter(trail_events::seq.lt(1).or(trail_events::seq.gt(head)))
        .select(trail_events::seq)
        .order(trail_events::seq)
        .limit(limit)
        .load(conn)
}

pub fn hash_at(conn: &mut DbConnection, seq: i64) -> QueryResult<Option<String>> {
    trail_events::table
        .find(seq)
        .select(trail_events::hash)
        .first(conn)
        .optional()
}
