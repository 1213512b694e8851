//! Limits on the request head, so that an over-long URL (414) or an oversized or overcrowded
//! header section (431) is answered with a problem document like every other error.
//!
//! actix-http refuses heads on its own before any middleware runs: a request target over
//! 65,534 bytes (the `http` crate's URI limit) with an empty 400, a head over its 128 KiB
//! read buffer or with more than 96 header lines with an empty 431. These limits sit well
//! below those (the configuration refuses higher ones), so every size between them and
//! actix's gets this answer; beyond, actix's stays (docs/security.md).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use actix_web::web;

use crate::api::problem::Problem;
use crate::config::ServerSettings;
use crate::service::Services;

/// The request target's length as sent: path and query (or the whole URI in absolute form).
pub fn target_len(req: &ServiceRequest) -> usize {
    let uri = req.uri();
    let path_and_query = uri.path_and_query().map_or(0, |p| p.as_str().len());
    match (uri.scheme_str(), uri.authority()) {
        // `http://host:port` before the path.
        (Some(scheme), Some(authority)) => {
            scheme.len() + 3 + authority.as_str().len() + path_and_query
        }
        _ => path_and_query,
    }
}

/// The header section's size as counted for the limit: each line's name and value, plus 4
/// bytes for `": "` and the line end (the wire may differ by optional whitespace).
pub fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// Why a head is refused, if it is.
fn refusal(req: &ServiceRequest, limits: &ServerSettings) -> Option<Problem> {
    let len = target_len(req);
    if len > limits.max_uri_bytes {
        return Some(Problem::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "The URL is {len} bytes long; the service accepts at most {} (path and query).",
                limits.max_uri_bytes
            ),
        ));
    }
    let count = req.headers().len();
    if count > limits.max_headers {
        return Some(Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "The request has {count} header fields; the service accepts at most {}.",
                limits.max_headers
            ),
        ));
    }
    let bytes = header_bytes(req.headers());
    if bytes > limits.max_header_bytes {
        return Some(Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "The request's header fields take {bytes} bytes; the service accepts at most {}.",
                limits.max_header_bytes
            ),
        ));
    }
    None
}

/// The middleware: a head over a limit is answered at once, before routing and extractors.
pub async fn head_limits(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let problem = req
        .app_data::<web::Data<Services>>()
        .and_then(|svc| refusal(&req, &svc.settings.server));
    if let Some(problem) = problem {
        tracing::info!(detail = %problem.detail, "request head refused");
        return Ok(req.into_response(problem.response()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
