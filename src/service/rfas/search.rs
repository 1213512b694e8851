//! Keeping each request's search words (`db::search`) in step with what they are made of:
//! the reference, subject, description, requester's name, national case reference and
//! notes. Intake, corrections and notes rebuild them in the transaction that changes them.

use super::view::{IntakeDetails, from_json};
use crate::db::DbConnection;
use crate::db::rfas::{self as store, RfaRow};
use crate::db::search as search_store;
use crate::domain::search::document;
use crate::error::AppError;

/// The words a request is found by, given its notes.
pub fn words_of(row: &RfaRow, notes: &[String]) -> Result<String, AppError> {
    let details: IntakeDetails = from_json("intake", &row.intake)?;
    let fields = [
        row.reference.as_str(),
        &row.subject,
        &row.description,
        &details.requester.name,
        details.national_case_reference.as_deref().unwrap_or(""),
    ];
    Ok(document(
        fields.into_iter().chain(notes.iter().map(String::as_str)),
    ))
}

/// Rebuilds a request's words from the row as it is now stored and its notes.
pub(super) fn reindex(c: &mut DbConnection, row: &RfaRow) -> Result<(), AppError> {
    let notes = search_store::notes_of(c, &row.id)?;
    search_store::put(c, &row.id, &words_of(row, &notes)?)?;
    Ok(())
}

/// Gives the requests written before search existed their words, a batch per transaction;
/// how many there were.
pub fn fill_search_words(c: &mut DbConnection) -> Result<usize, AppError> {
    let mut filled = 0;
    loop {
        let done = c.write(|c| -> Result<usize, AppError> {
            let ids = search_store::without_words(c, 500)?;
            for id in &ids {
                if let Some(row) = store::find(c, id)? {
                    reindex(c, &row)?;
                }
            }
            Ok(ids.len())
        })?;
        filled += done;
        if done < 500 {
            return Ok(filled);
        }
    }
}
