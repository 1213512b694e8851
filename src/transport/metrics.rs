//! What reaches the metrics middleware: only the methods HTTP defines (the middleware
//! makes a time series per method string, so made-up methods would grow its memory without
//! bound), and `/metrics` itself only with its token when one is configured.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web;

use crate::api::problem::Problem;
use crate::service::Services;

/// The methods HTTP defines, and QUERY (being standardised); those no route takes get the
/// usual 405 with `Allow`. Every other is refused before it is counted.
fn known(method: &actix_web::http::Method) -> bool {
    matches!(
        method.as_str(),
        "GET"
            | "HEAD"
            | "POST"
            | "PUT"
            | "PATCH"
            | "DELETE"
            | "OPTIONS"
            | "TRACE"
            | "CONNECT"
            | "QUERY"
    )
}

pub async fn guard_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !known(req.method()) {
        let res = Problem::new(
            StatusCode::NOT_IMPLEMENTED,
            "This method is not one the service knows.",
        )
        .response();
        return Ok(req.into_response(res));
    }
    if req.path() == "/metrics" {
        let token = req
            .app_data::<web::Data<Services>>()
            .map(|s| s.settings.server.metrics_token.clone())
            .unwrap_or_default();
        if !token.is_empty() && !bearer_matches(&req, &token) {
            let mut res = Problem::new(
                StatusCode::UNAUTHORIZED,
                "The metrics need the token configured in server.metrics_token.",
            )
            .response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return Ok(req.into_response(res));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Whether the request carries `Authorization: Bearer <token>`, compared in constant time.
fn bearer_matches(req: &ServiceRequest, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes())))
}
