//! Optimistic concurrency, the same on every resource that has a version: answers carry it as
//! the `ETag`, and a change names the version it was based on in `If-Match` (428 without
//! one, 412 when it is no longer current).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;

use crate::service::validate::Expected;

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The answer with its version as the `ETag` (and never cached).
pub fn with_etag(
    mut builder: HttpResponseBuilder,
    version: i64,
    body: &impl Serialize,
) -> HttpResponse {
    builder
        .insert_header((header::ETAG, etag(version)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// `If-Match` as sent: the version it names (`"3"`, `W/"3"` or `3`).
pub fn if_match(req: &HttpRequest) -> Expected {
    match req.headers().get(header::IF_MATCH) {
        None => Expected::Missing,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| {
                v.trim()
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .parse()
                    .ok()
            })
            .map_or(Expected::Unreadable, Expected::Version),
    }
}
