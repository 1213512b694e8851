//! The access log: who looked at what (see `service::access`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{access_head, access_log};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_log)]
pub struct AccessRow {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub user_id: Option<String>,
    pub action: String,
    pub rfa_id: Option<String>,
    pub detail: String,
    pub address: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Takes the log's lock for the rest of the transaction and reads its head.
pub fn lock(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    diesel::update(access_head::table.find(1))
        .set(access_head::seq.eq(access_head::seq))
        .execute(conn)?;
    head(conn)
}

pub fn head(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    access_head::table
        .find(1)
        .select((access_head::seq, access_head::hash))
        .first(conn)
}

/// Appends rows already numbered and hashed after the head, and moves the head.
pub fn append(conn: &mut DbConnection, rows: &[AccessRow]) -> QueryResult<()> {
    let Some(last) = rows.last() else {
        return Ok(());
    };
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(access_log::table)
            .values(rows)
            .execute(c)?,
        DbConnection::Postgresql(c) => diesel::insert_into(access_log::table)
            .values(rows)
            .execute(c)?,
    };
    diesel::update(access_head::table.find(1))
        .set((
            access_head::seq.eq(last.seq),
            access_head::hash.eq(&last.hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// Newest first, below `before` when given, of one case or one user when given, within the
/// chain (1 to `head`).
pub fn list(
    conn: &mut DbConnection,
    rfa_id: Option<&str>,
    user_id: Option<&str>,
    before: Option<i64>,
    head: i64,
    limit: i64,
) -> QueryResult<Vec<AccessRow>> {
    let mut q = access_log::table
        .filter(access_log::seq.between(1, head))
        .select(AccessRow::as_select())
        .order(access_log::seq.desc())
        .limit(limit)
        .into_boxed();
    if let Some(r) = rfa_id {
        q = q.filter(access_log::rfa_id.eq(r.to_string()));
    }
    if let Some(u) = user_id {
        q = q.filter(access_log::user_id.eq(u.to_string()));
    }
    if let Some(b) = before {
        q = q.filter(access_log::seq.lt(b));
    }
    q.load(conn)
}

/// A batch of the whole log in order, for verification.
pub fn after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<AccessRow>> {
    access_log::table
        .filter(access_log::seq.gt(after))
        .select(AccessRow::as_select())
        .order(access_log::seq)
        .limit(limit)
        .load(conn)
}

/// Rows outside [1, head]: not written by the service.
pub fn outside(conn: &mut DbConnection, head: i64, limit: i64) -> QueryResult<Vec<i64>> {
    access_log::table
        .filter(access_log::seq.lt(1).or(access_log::seq.gt(head)))
        .select(access_log::seq)
        .order(access_log::seq)
        .limit(limit)
        .load(conn)
}

pub fn hash_at(conn: &mut DbConnection, seq: i64) -> QueryResult<Option<String>> {
    access_log::table
        .find(seq)
        .select(access_log::hash)
        .first(conn)
        .optional()
}
