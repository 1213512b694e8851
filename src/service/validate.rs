//! Field checks shared by the services: each records what is wrong with the field's name, so
//! that one answer can list every wrong field at once.

use chrono::{NaiveDate, Utc};

use crate::error::{AppError, FieldError};

#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn mentions(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Renames a field in the errors added since `from` (one name in a shared reader,
    /// another in the request that uses it).
    pub fn rename_from(&mut self, from: usize, old: &str, new: &str) {
        for e in self.0.iter_mut().skip(from) {
            if e.field == old {
                e.field = new.to_string();
            }
        }
    }

    /// `Ok(())` when nothing was wrong, else the 422 listing every wrong field.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }

    /// Trimmed text of 1..=max characters without control characters (newlines allowed
    /// where `multiline`).
    pub fn text(&mut self, field: &str, value: &str, max: usize, multiline: bool) -> String {
        let value = value.trim();
        let bad_char =
            |c: char| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t'));
        if value.is_empty() {
            self.add(field, "must not be empty");
        } else if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if value.chars().any(bad_char) {
            self.add(field, "must not contain control characters");
        }
        value.to_string()
    }

    /// A date that is not after today (UTC).
    pub fn not_future(&mut self, field: &str, date: NaiveDate) {
        if date > Utc::now().date_naive() {
            self.add(field, "must not be in the future");
        }
    }

    /// A list without repeats, of at most `max` entries.
    pub fn distinct<T: PartialEq>(&mut self, field: &str, items: &[T], max: usize) {
        if items.len() > max {
            self.add(field, format!("must have at most {max} entries"));
        } else if items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].contains(a))
        {
            self.add(field, "must not repeat an entry");
        }
    }
}

impl From<Errors> for Vec<FieldError> {
    fn from(e: Errors) -> Self {
        e.0
    }
}

/// The version a change is based on, as the caller stated it. It is compared only after the
/// caller's access to the thing changed (a request, a user, a jurisdiction, an authority) is
/// checked, so that one they may not see answers 404 (or 403) whatever they send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The version the caller read.
    Version(i64),
    /// The caller named no version.
    Missing,
    /// The caller named something that is no version at all.
    Unreadable,
}

impl Expected {
    pub fn check(self, current: i64) -> Result<(), AppError> {
        match self {
            Expected::Version(v) if v == current => Ok(()),
            Expected::Version(_) | Expected::Unreadable => Err(AppError::VersionMismatch),
            Expected::Missing => Err(AppError::VersionRequired),
        }
    }
}
