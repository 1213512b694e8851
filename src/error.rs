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

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("unauthenticated: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A lifecycle action the RFA's state (or a rule) does not allow now.
    #[error("not allowed now: {detail}")]
    NotAllowedNow {
        detail: String,
        allowed_actions: Vec<String>,
    },
    #[error("stale If-Match")]
    PreconditionFailed,
    #[error("If-Match missing")]
    PreconditionRequired,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the database is unavailable")]
    Unavailable,
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
