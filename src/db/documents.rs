//! The rows of request documents and their downloads.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{document_downloads, documents};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = documents)]
pub struct DocumentRow {
    pub id: String,
    pub rfa_id: String,
    pub kind: String,
    pub media_type: String,
    pub sha256: String,
    pub size: i64,
    pub file_name: String,
    pub description: Option<String>,
    pub language: Option<String>,
    pub added_by: String,
    pub added_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub withdrawn_by: Option<String>,
    pub withdrawal_reason: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &DocumentRow) -> QueryResult<()> {
    diesel::insert_into(documents::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A request's documents, oldest first; withdrawn ones only when asked.
pub fn of_rfa(
    conn: &mut DbConnection,
    rfa_id: &str,
    with_withdrawn: bool,
) -> QueryResult<Vec<DocumentRow>> {
    let mut q = documents::table
        .filter(documents::rfa_id.eq(rfa_id))
        .select(DocumentRow::as_select())
        .order((documents::added_at.asc(), documents::id.asc()))
        .into_boxed();
    if !with_withdrawn {
        q = q.filter(documents::withdrawn_at.is_null());
    }
    q.load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DocumentRow>> {
    documents::table
        .find(id)
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a document withdrawn, if it is not already; the number of rows changed.
pub fn withdraw(
    conn: &mut DbConnection,
    id: &str,
    by: &str,
    reason: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        documents::table
            .find(id)
            .filter(documents::withdrawn_at.is_null()),
    )
    .set((
        documents::withdrawn_at.eq(at),
        documents::withdrawn_by.eq(by),
        documents::withdrawal_reason.eq(reason),
    ))
    .execute(conn)
}

pub fn record_download(
    conn: &mut DbConnection,
    id: &str,
    document_id: &str,
    user_id: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(document_downloads::table)
        .values((
            document_downloads::id.eq(id),
            document_downloads::document_id.eq(document_id),
            document_downloads::user_id.eq(user_id),
            document_downloads::at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every stored document, a batch at a time after `after` (by id): what the integrity
/// check walks.
pub fn all_after(
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<DocumentRow>> {
    documents::table
        .filter(documents::id.gt(after))
        .select(DocumentRow::as_select())
        .order(documents::id.asc())
        .limit(limit)
        .load(conn)
}

/// How many times a document was downloaded.
pub fn downloads_of(conn: &mut DbConnection, document_id: &str) -> QueryResult<i64> {
    document_downloads::table
        .filter(document_downloads::document_id.eq(document_id))
        .count()
        .get_result(conn)
}
