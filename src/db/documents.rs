//! The rows of request documents and their downloads, and the bytes themselves when the
//! document store is the database (`document_blobs`, `document_chunks`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{document_blobs, document_chunks, document_downloads, documents};

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

/// A document's bytes in the database store: how many there are and in how many chunks.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct Blob {
    pub size: i64,
    pub chunks: i32,
}

/// The blob stored under `sha256`, once all its chunks are written.
pub fn blob(conn: &mut DbConnection, sha256: &str) -> QueryResult<Option<Blob>> {
    document_blobs::table
        .find(sha256)
        .select((document_blobs::size, document_blobs::chunks))
        .first(conn)
        .optional()
}

/// Adds one chunk of a blob. Another instance storing the same bytes at the same moment
/// wrote (or is writing) the same chunk: then this one is left out, not an error (on
/// PostgreSQL the insert waits for that transaction and finds its row).
pub fn put_chunk(conn: &mut DbConnection, sha256: &str, seq: i32, bytes: &[u8]) -> QueryResult<()> {
    use diesel::sql_types::{Binary, Integer, Text};
    super::numbered(
        conn,
        "INSERT INTO document_chunks (sha256, seq, bytes) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(sha256)
    .bind::<Integer, _>(seq)
    .bind::<Binary, _>(bytes)
    .execute(conn)?;
    Ok(())
}

/// Marks a blob complete, in the transaction that wrote its chunks.
pub fn put_blob(
    conn: &mut DbConnection,
    sha256: &str,
    blob: Blob,
    at: NaiveDateTime,
) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
    super::numbered(
        conn,
        "INSERT INTO document_blobs (sha256, size, chunks, stored_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(sha256)
    .bind::<BigInt, _>(blob.size)
    .bind::<Integer, _>(blob.chunks)
    .bind::<Timestamp, _>(at)
    .execute(conn)?;
    Ok(())
}

/// One chunk of a blob's bytes (`None` when it is missing).
pub fn chunk(conn: &mut DbConnection, sha256: &str, seq: i32) -> QueryResult<Option<Vec<u8>>> {
    document_chunks::table
        .find((sha256, seq))
        .select(document_chunks::bytes)
        .first(conn)
        .optional()
}
