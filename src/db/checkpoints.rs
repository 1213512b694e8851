//! Signed checkpoints of the chain head (see `service::checkpoint`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::chain_checkpoints;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = chain_checkpoints)]
pub struct CheckpointRow {
    pub id: String,
    pub seq: i64,
    pub head_hash: String,
    pub at: NaiveDateTime,
    pub trail_seq: i64,
    pub trail_hash: String,
    pub access_seq: i64,
    pub access_hash: String,
    pub key_id: String,
    pub public_key: String,
    pub signature: String,
}

/// Inserts the checkpoint unless this key already signed these heads (several instances may
/// sign the same head at once: one statement stays).
pub fn insert_once(c: &mut DbConnection, row: &CheckpointRow) -> QueryResult<usize> {
    match c {
        DbConnection::Sqlite(c) => diesel::insert_into(chain_checkpoints::table)
            .values(row)
            .on_conflict((
                chain_checkpoints::seq,
                chain_checkpoints::trail_seq,
                chain_checkpoints::access_seq,
                chain_checkpoints::key_id,
            ))
            .do_nothing()
            .execute(c),
        DbConnection::Postgresql(c) => diesel::insert_into(chain_checkpoints::table)
            .values(row)
            .on_conflict((
                chain_checkpoints::seq,
                chain_checkpoints::trail_seq,
                chain_checkpoints::access_seq,
                chain_checkpoints::key_id,
            ))
            .do_nothing()
            .execute(c),
    }
}

pub fn latest(c: &mut DbConnection) -> QueryResult<Option<CheckpointRow>> {
    chain_checkpoints::table
        .select(CheckpointRow::as_select())
        .order((chain_checkpoints::seq.desc(), chain_checkpoints::at.desc()))
        .first(c)
        .optional()
}

/// Newest first, those below `before_seq` when given.
pub fn list(
    c: &mut DbConnection,
    before_seq: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<CheckpointRow>> {
    let mut q = chain_checkpoints::table
        .select(CheckpointRow::as_select())
        .order((chain_checkpoints::seq.desc(), chain_checkpoints::at.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(before) = before_seq {
        q = q.filter(chain_checkpoints::seq.lt(before));
    }
    q.load(c)
}

/// All of them in id order, a batch after `after` (for verification).
pub fn after_id(c: &mut DbConnection, after: &str, limit: i64) -> QueryResult<Vec<CheckpointRow>> {
    chain_checkpoints::table
        .filter(chain_checkpoints::id.gt(after))
        .select(CheckpointRow::as_select())
        .order(chain_checkpoints::id)
        .limit(limit)
        .load(c)
}
