//! The mapping from errors to HTTP answers, in one place: `application/problem+json`
//! (RFC 9457) with `type`, `title`, `status`, `detail` and, for validation, `errors`.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::{AppError, FieldError};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer. `type` is a stable URN naming the kind of problem, for clients to
/// branch on; `title` is its short human name; `detail` says what happened this time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<String>>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let (code, title) = describe(status);
        Self {
            kind: format!("urn:rfa-tracker:problem:{code}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            allowed_actions: None,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                r#"{{"type":"about:blank","status":{},"title":"error"}}"#,
                self.status
            )
        });
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .body(body)
    }
}

/// Machine code and title for each status the service answers with.
fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("bad-request", "Bad request"),
        401 => ("unauthenticated", "Authentication required"),
        403 => ("forbidden", "Forbidden"),
        404 => ("not-found", "Not found"),
        405 => ("method-not-allowed", "Method not allowed"),
        406 => ("not-acceptable", "Not acceptable"),
        408 => ("request-timeout", "Request timeout"),
        409 => ("conflict", "Conflict"),
        412 => ("precondition-failed", "Precondition failed"),
        413 => ("payload-too-large", "Payload too large"),
        414 => ("uri-too-long", "URI too long"),
        415 => ("unsupported-media-type", "Unsupported media type"),
        422 => ("validation", "Validation failed"),
        428 => ("precondition-required", "Precondition required"),
        429 => ("too-many-requests", "Too many requests"),
        431 => ("headers-too-large", "Request header fields too large"),
        501 => ("not-implemented", "Method not implemented"),
        503 => ("unavailable", "Service unavailable"),
        s if s >= 500 => ("internal", "Internal server error"),
        _ => ("error", "Error"),
    }
}

/// The HTTP status of each kind of error, in one place (bulk triage reports it per item).
pub fn status_of(e: &AppError) -> StatusCode {
    e.status()
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::Malformed(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::PasswordChangeRequired => StatusCode::FORBIDDEN,
            AppError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Integrity(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::NotAllowedNow { .. } => StatusCode::CONFLICT,
            AppError::VersionMismatch => StatusCode::PRECONDITION_FAILED,
            AppError::VersionRequired => StatusCode::PRECONDITION_REQUIRED,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable | AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        match self {
            AppError::Malformed(d)
            | AppError::Unauthenticated(d)
            | AppError::Forbidden(d)
            | AppError::NotFound(d)
            | AppError::Conflict(d)
            | AppError::UnsupportedType(d)
            | AppError::TooLarge(d)
            | AppError::Integrity(d) => Problem::new(status, d.clone()),
            AppError::NotAllowedNow {
                detail,
                allowed_actions,
            } => {
                let mut p = Problem::new(status, detail.clone());
                p.allowed_actions = Some(allowed_actions.clone());
                p
            }
            AppError::PasswordChangeRequired => Problem::new(
                status,
                "Your password was generated for you: choose your own with POST /api/v1/me/password first.",
            ),
            AppError::VersionMismatch => Problem::new(
                status,
                "The request changed since you read it (If-Match is stale): read it again and retry.",
            ),
            AppError::VersionRequired => Problem::new(
                status,
                "Send If-Match with the ETag of the version you read.",
            ),
            AppError::Validation(errors) => {
                let mut p = Problem::new(status, validation_detail(errors));
                p.errors = errors.clone();
                p
            }
            AppError::RateLimited { retry_after_secs } => Problem::new(
                status,
                format!("Too many attempts; try again in {retry_after_secs} s."),
            ),
            AppError::Unavailable => Problem::new(
                status,
                "The database cannot take this request now; try again shortly.",
            ),
            AppError::Busy { retry_after_secs } => Problem::new(
                status,
                format!("Too many sign-ins are waiting; try again in {retry_after_secs} s."),
            ),
            AppError::Internal(_) => Problem::new(
                status,
                "Something went wrong on our side; it has been logged.",
            ),
        }
    }
}

fn validation_detail(errors: &[FieldError]) -> String {
    match errors {
        [one] => format!("`{}` {}", one.field, one.message),
        many => format!("{} fields are invalid; see `errors`.", many.len()),
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(message) => tracing::error!(error = %message, "internal error"),
            AppError::Unavailable => tracing::warn!("database unavailable"),
            _ => {}
        }
        let mut response = self.problem().response();
        if let AppError::RateLimited { retry_after_secs } | AppError::Busy { retry_after_secs } =
            self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Last line of defence for answers not built from an `AppError` (actix's own 404, 405,
/// 413, timeouts…): any 4xx/5xx without a problem body is given one, and its original
/// body (which may carry internal detail) is dropped. An HTML error page is left alone:
/// that is a scope for people (the screens) answering in its own way.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_own = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(PROBLEM_JSON.as_bytes()) || v.starts_with(b"text/html")
    });
    if is_own {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status.as_u16() {
        404 => "No such resource.".to_string(),
        405 => "This resource does not accept that method.".to_string(),
        413 => "The request body is larger than the server accepts.".to_string(),
        s if s >= 500 => "Something went wrong on our side; it has been logged.".to_string(),
        _ => describe(status).1.to_string(),
    };
    let (req, old) = res.into_parts();
    let mut new = Problem::new(status, detail).response();
    // Keep headers that carry meaning for the client (Allow, Retry-After, …).
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = old.headers().get(&name) {
            new.headers_mut().insert(name, v.clone());
        }
    }
    let new = new.map_body(|_, body| EitherBody::right(BoxBody::new(body)));
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(
        req, new,
    )))
}
