//! What a backup of an SQLite database needs from it: a consistent copy while writers go
//! on, the file's own integrity check, and the counts a copy is compared by.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;

use super::DbConnection;

/// Writes a consistent copy of the whole database, as of one moment, into the new file
/// `path` (`VACUUM INTO`: a read transaction, so writers go on while it runs).
pub fn vacuum_into(conn: &mut DbConnection, path: &str) -> QueryResult<()> {
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(path)
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// SQLite's `PRAGMA integrity_check`: `ok`, or the problems it found (the first hundred).
pub fn integrity_check(conn: &mut DbConnection) -> QueryResult<String> {
    let rows: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check").load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| r.integrity_check)
        .collect::<Vec<_>>()
        .join("; "))
}

/// The rows a backup is compared by: a copy taken while the service runs has at least what
/// the database had before the copy began and at most what it had after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, QueryableByName)]
pub struct Counts {
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    #[diesel(sql_type = BigInt)]
    pub events: i64,
    #[diesel(sql_type = BigInt)]
    pub documents: i64,
    #[diesel(sql_type = BigInt)]
    pub users: i64,
    #[diesel(sql_type = BigInt)]
    pub outbox: i64,
}

impl Counts {
    /// Each count of `self` lies between `before`'s and `after`'s.
    pub fn between(&self, before: &Counts, after: &Counts) -> bool {
        let f = |c: &Counts| [c.requests, c.events, c.documents, c.users, c.outbox];
        f(self)
            .iter()
            .zip(f(before).iter().zip(f(after).iter()))
            .all(|(n, (lo, hi))| lo <= n && n <= hi)
    }
}

pub fn counts(conn: &mut DbConnection) -> QueryResult<Counts> {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM rfas) AS requests, \
                (SELECT count(*) FROM rfa_events) AS events, \
                (SELECT count(*) FROM documents) AS documents, \
                (SELECT count(*) FROM users) AS users, \
                (SELECT count(*) FROM outbox) AS outbox",
    )
    .get_result(conn)
}
