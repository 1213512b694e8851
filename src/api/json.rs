//! The JSON body extractor used by every handler: it checks the content type, enforces the
//! configured size limit, and tells syntax errors (400) from well-formed JSON of the wrong
//! shape (422 naming the field, including unknown fields).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// A request body parsed from JSON into `T` (a request type with `deny_unknown_fields`).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let body = read_body(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(unsupported_media_type());
            }
            let bytes = body.await?;
            parse(&bytes).map(Json).map_err(Into::into)
        })
    }
}

/// An optional request body: none (only whitespace) or JSON `null` is `None`; anything else
/// is held to the same rules as [`Json`] (415, 413, 400, 422), so a wrong body is refused,
/// not ignored.
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let body = read_body(req, payload);
        Box::pin(async move {
            let bytes = body.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(None));
            }
            if !content_type_ok {
                return Err(unsupported_media_type());
            }
            parse::<Option<T>>(&bytes)
                .map(OptionalJson)
                .map_err(Into::into)
        })
    }
}

pub(crate) fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || m.ends_with("+json")
        })
        .unwrap_or(false)
}

/// A raw request body, read under the same size and time limits as [`Json`].
#[derive(Debug)]
pub struct Body(pub web::Bytes);

impl FromRequest for Body {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move { body.await.map(Body) })
    }
}

/// Reads the body within `server.client_request_timeout_ms`: actix-web's own timeout
/// covers only the request head, so a client that announces a body and then stops sending
/// it would otherwise hold its connection (and a worker's connection slot) for ever.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<web::Bytes, actix_web::Error>> + 'static {
    let limit = req
        .app_data::<web::Data<crate::service::Services>>()
        .map(|s| s.settings().server.client_request_timeout_ms)
        .unwrap_or(5_000);
    let body = web::Bytes::from_request(req, payload);
    async move {
        match tokio::time::timeout(std::time::Duration::from_millis(limit), body).await {
            Ok(read) => read.map_err(|e| map_payload_error(&e)),
            Err(_) => {
                let problem = super::problem::Problem::new(
                    actix_web::http::StatusCode::REQUEST_TIMEOUT,
                    "The request body did not arrive in time.",
                );
                let mut response = problem.response();
                // The rest of the body may still be on its way: do not wait for it.
                response
                    .head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
                Err(actix_web::error::InternalError::from_response("body timeout", response).into())
            }
        }
    }
}

pub(crate) fn unsupported_media_type() -> actix_web::Error {
    let problem = super::problem::Problem::new(
        actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Send the body as application/json.",
    );
    actix_web::error::InternalError::from_response("unsupported media type", problem.response())
        .into()
}

fn map_payload_error(e: &actix_web::Error) -> actix_web::Error {
    let status = e.as_response_error().status_code();
    if status == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
        || e.as_error::<PayloadError>()
            .is_some_and(|p| matches!(p, PayloadError::Overflow))
    {
        let problem = super::problem::Problem::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than the server accepts.",
        );
        return actix_web::error::InternalError::from_response("too large", problem.response())
            .into();
    }
    AppError::Malformed("The request body could not be read.".into()).into()
}

/// Parses a body; public so other extractors (and tests) share the exact rules.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // The whole document's syntax first: reading into `T` stops at the first value of the
    // wrong shape, which would answer a truncated, unclosed or too deeply nested body (or
    // one with invalid UTF-8 further on) with 422 instead of 400.
    serde_json::from_slice::<serde_json::Value>(bytes)
        .map_err(|e| AppError::Malformed(format!("Malformed JSON: {e}")))?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => return Err(classify(e)),
    };
    de.end()
        .map_err(|e| AppError::Malformed(format!("Malformed JSON: {e}")))?;
    Ok(value)
}

fn classify(e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    use serde_json::error::Category;
    let path = e.path().to_string();
    let inner = e.into_inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            AppError::Malformed(format!("Malformed JSON: {inner}"))
        }
        Category::Data => {
            let message = strip_position(&inner.to_string());
            // serde_path_to_error names an unknown field in the path, but a missing one only
            // by its parent; join them.
            let parent = if path == "." { String::new() } else { path };
            let field = match (message.strip_prefix("missing field `"), parent.is_empty()) {
                (Some(rest), true) => rest.split('`').next().unwrap_or_default().to_string(),
                (Some(rest), false) => {
                    format!("{parent}.{}", rest.split('`').next().unwrap_or_default())
                }
                (None, true) => unknown_field_name(&message).unwrap_or_default(),
                (None, false) => parent,
            };
            AppError::Validation(vec![FieldError::new(field, message)])
        }
    }
}

/// serde_json appends " at line 1 column 12"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        roles: Vec<u8>,
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert!(matches!(
            parse::<Body>(b"{\"name\": "),
            Err(AppError::Malformed(_))
        ));
        assert!(matches!(
            parse::<Body>(br#"{"name":"a","roles":[]} trailing"#),
            Err(AppError::Malformed(_))
        ));
    }

    #[test]
    fn shape_errors_name_the_field() {
        let Err(AppError::Validation(errs)) = parse::<Body>(br#"{"name":"a","roles":[1,"x"]}"#)
        else {
            panic!("expected a validation error")
        };
        assert_eq!(errs[0].field, "roles[1]");
        let Err(AppError::Validation(errs)) =
            parse::<Body>(br#"{"name":"a","roles":[],"admin":true}"#)
        else {
            panic!("expected a validation error")
        };
        assert_eq!(errs[0].field, "admin");
        let Err(AppError::Validation(errs)) = parse::<Body>(br#"{"name":"a"}"#) else {
            panic!("expected a validation error")
        };
        assert_eq!(errs[0].field, "roles");
    }
}
