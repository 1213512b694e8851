//! The one application error type. Services return it; `api::problem` maps it to an
//! `application/problem+json` answer in one place. Internal details (SQL, paths, panics)
//! go to the log, never into the answer.

use serde::Serialize;

/// One wrong field of a request, named by its JSON path (`roles[1]`, `requester.email`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What went wrong, named for the domain, not for a transport: `api::problem` maps each kind
/// to an HTTP status and a problem document, and the web screens to a page or an error
/// summary, each in one place.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input cannot be read at all (malformed JSON, a cursor this service did not issue).
    #[error("malformed input: {0}")]
    Malformed(String),
    /// The input can be read but some fields are wrong; every wrong field is named.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// No caller, or a caller whose session, token or account is no longer good.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller is known but their roles do not permit this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The caller's password was generated for them and must be changed before anything
    /// but their own account.
    #[error("the password must be changed first")]
    PasswordChangeRequired,
    /// The content of an upload is not a type the case file accepts.
    #[error("unsupported type: {0}")]
    UnsupportedType(String),
    /// An upload larger than the configured limit.
    #[error("too large: {0}")]
    TooLarge(String),
    /// Stored data no longer matches what was recorded of it (a document's SHA-256): not
    /// served, and reported.
    #[error("integrity failure: {0}")]
    Integrity(String),
    /// No such record, or one outside the caller's reach (its existence is not revealed).
    #[error("not found: {0}")]
    NotFound(String),
    /// The change collides with the stored state (a taken name, the last administrator).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A lifecycle action the RFA's state (or a rule) does not allow now.
    #[error("not allowed now: {detail}")]
    NotAllowedNow {
        detail: String,
        allowed_actions: Vec<String>,
    },
    /// The change was based on a version that is no longer the current one.
    #[error("the record changed since it was read")]
    VersionMismatch,
    /// A change that must name the version it is based on did not.
    #[error("the version the change is based on is missing")]
    VersionRequired,
    /// Too many attempts from one client; try again after the given time.
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error("the database is unavailable")]
    Unavailable,
    /// Too much of one kind of work is waiting (password hashes): 503, try again after the
    /// given time.
    #[error("busy")]
    Busy { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(message: impl Into<String>) -> Self {
        AppError::Internal(message.into())
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => AppError::Unavailable,
            // A concurrent writer got there first (the same email, name or key).
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => AppError::Conflict(
                "Another record with the same unique value was written at the same time.".into(),
            ),
            Error::DatabaseError(_, info) if is_outage(info.message()) => AppError::Unavailable,
            _ => AppError::Internal(e.to_string()),
        }
    }
}

/// Messages by which SQLite and PostgreSQL say the store cannot take the work now
/// (as opposed to a bug in the query): these become 503, not 500.
fn is_outage(message: &str) -> bool {
    const SIGNS: [&str; 12] = [
        "database is locked",
        "database or disk is full",
        "attempt to write a readonly database",
        "unable to open database",
        "disk I/O error",
        "terminating connection",
        "server closed the connection",
        "no connection to the server",
        "could not receive data from server",
        "SSL SYSCALL error",
        "the database system is shutting down",
        "the database system is starting up",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}
