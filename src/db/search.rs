//! The search words of each request (`domain::search` folds them) and the backend's own
//! index over them: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL (migration
//! `2026-12-02-000004_search`). Both compare the stored words as they are, so a query finds
//! the same requests on either.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::schema::{rfa_events, rfa_search, rfas};
use super::{Backend, DbConnection};
use crate::domain::search::Query;

/// Stores a request's words, replacing what it had.
pub fn put(conn: &mut DbConnection, rfa_id: &str, body: &str) -> QueryResult<()> {
    let updated = diesel::update(rfa_search::table.find(rfa_id))
        .set(rfa_search::body.eq(body))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(rfa_search::table)
            .values((rfa_search::rfa_id.eq(rfa_id), rfa_search::body.eq(body)))
            .execute(conn)?;
    }
    Ok(())
}

/// Stores the words of requests that have none yet (bulk loads).
pub fn insert_many(conn: &mut DbConnection, docs: &[(String, String)]) -> QueryResult<()> {
    let rows: Vec<_> = docs
        .iter()
        .map(|(id, body)| (rfa_search::rfa_id.eq(id), rfa_search::body.eq(body)))
        .collect();
    // A multi-row insert is written per backend (the multi backend has no DEFAULT keyword).
    let insert = diesel::insert_into(rfa_search::table).values(rows);
    match conn {
        DbConnection::Sqlite(c) => insert.execute(c)?,
        DbConnection::Postgresql(c) => insert.execute(c)?,
    };
    Ok(())
}

/// Up to `limit` requests without search words (written before search existed), by id.
pub fn without_words(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<String>> {
    rfas::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            rfa_search::table.filter(rfa_search::rfa_id.eq(rfas::id)),
        )))
        .select(rfas::id)
        .order(rfas::id)
        .limit(limit)
        .load(conn)
}

/// The texts of a request's notes, oldest first.
pub fn notes_of(conn: &mut DbConnection, rfa_id: &str) -> QueryResult<Vec<String>> {
    let details: Vec<String> = rfa_events::table
        .filter(rfa_events::rfa_id.eq(rfa_id))
        .filter(rfa_events::action.eq("add_note"))
        .select(rfa_events::details)
        .order(rfa_events::seq)
        .load(conn)?;
    Ok(details
        .iter()
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|d| d["text"].as_str().map(str::to_string))
        .collect())
}

/// How a search is answered on SQLite: from the index outright (every match listed, then
/// filtered and ordered), or by walking the queue in its own order and looking up each
/// request's words (the words are so common that listing every match costs more than
/// finding a page of them). PostgreSQL's planner makes that choice itself, from its
/// statistics of the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Index,
    Probe,
}

/// Up to this many matches in the whole register, the index lists them (measured at
/// 1,000,000 requests, docs/benchmarks.md).
const LISTED_MATCHES: i64 = 2_000;

/// The plan for a search.
pub fn plan(conn: &mut DbConnection, query: &Query) -> QueryResult<Plan> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    match conn {
        DbConnection::Postgresql(_) => Ok(Plan::Index),
        DbConnection::Sqlite(c) => {
            let count: Count = diesel::sql_query(
                "SELECT count(*) AS n FROM (SELECT rowid FROM rfa_search_index \
                 WHERE rfa_search_index MATCH ? LIMIT ?)",
            )
            .bind::<Text, _>(query.fts5())
            .bind::<diesel::sql_types::BigInt, _>(LISTED_MATCHES + 1)
            .get_result(c)?;
            Ok(if count.n > LISTED_MATCHES {
                Plan::Probe
            } else {
                Plan::Index
            })
        }
    }
}

/// `rfas.id` is among the requests whose words match `query`, in the backend's own syntax.
pub type Matches = diesel::expression::SqlLiteral<
    Bool,
    diesel::expression::UncheckedBind<
        diesel::expression::SqlLiteral<Bool>,
        diesel::dsl::AsExprOf<String, Text>,
    >,
>;

pub fn matches(backend: Backend, plan: Plan, query: &Query) -> Matches {
    match (backend, plan) {
        (Backend::Sqlite, Plan::Index) => diesel::dsl::sql::<Bool>(
            "\"rfas\".\"id\" IN (SELECT s.rfa_id FROM rfa_search s \
             WHERE s.doc IN (SELECT rowid FROM rfa_search_index WHERE rfa_search_index MATCH ",
        )
        .bind::<Text, _>(query.fts5())
        .sql("))"),
        // Each request the queue walks, in its order, has its stored words checked: every
        // word of the search begins one of them. (FTS5 matching one row by row id re-reads
        // the whole doclist: 4 s for a page where this takes 8 ms.)
        (Backend::Sqlite, Plan::Probe) => diesel::dsl::sql::<Bool>(
            "EXISTS (SELECT 1 FROM rfa_search s WHERE s.rfa_id = \"rfas\".\"id\" \
             AND NOT EXISTS (SELECT 1 FROM json_each(",
        )
        .bind::<Text, _>(query.json())
        .sql(") w WHERE instr(' ' || s.body, ' ' || w.value) = 0))"),
        (Backend::Postgres, _) => diesel::dsl::sql::<Bool>(
            "\"rfas\".\"id\" IN (SELECT s.rfa_id FROM rfa_search s \
             WHERE s.terms @@ CAST(",
        )
        .bind::<Text, _>(query.tsquery())
        .sql(" AS tsquery))"),
    }
}
