//! Requests for assistance: intake, the queue, reading, corrections, lifecycle actions, bulk
//! triage, history, and the audit-chain check.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};

use crate::api::extract::{Auth, BulkTriage, Permit, VerifyAudit};
use crate::api::json::Json;
use crate::api::jurisdictions::path_id;
use crate::api::problem::Problem;
use crate::api::users::PageQuery;
use crate::domain::lifecycle::RfaAction;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::accounts::Caller;
use crate::service::chain::Verification;
use crate::service::rfas::{
    self, BulkRequest, BulkResult, Command, EventPage, IntakePatch, IntakeRequest, RfaPage, RfaView,
};
use crate::state::AppState;

fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

fn with_etag(mut builder: actix_web::HttpResponseBuilder, rfa: &RfaView) -> HttpResponse {
    builder
        .insert_header((header::ETAG, etag(rfa.version)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(rfa)
}

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("invalid").to_string())
}

/// An action's body: empty means `{}`; otherwise JSON, with the usual checks (415 for
/// another media type, as every other JSON body).
fn action_body(req: &HttpRequest, bytes: &[u8]) -> Result<serde_json::Value, actix_web::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::json!({}));
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let m = v
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            m == "application/json" || m.ends_with("+json")
        });
    if !json {
        return Err(crate::api::json::unsupported_media_type());
    }
    // JSON `null` is no fields, as no body is (the document marks the body optional).
    match crate::api::json::parse(bytes)? {
        serde_json::Value::Null => Ok(serde_json::json!({})),
        value => Ok(value),
    }
}

/// Log a new request for assistance.
///
/// With `Idempotency-Key`, a retry with the same key and body returns the first RFA (200)
/// instead of logging a duplicate; the same key with another body is refused (422).
#[utoipa::path(
    tag = "rfas",
    request_body = IntakeRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried intake safe")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = RfaView, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "A replay of an earlier intake with the same Idempotency-Key", body = RfaView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/rfas")]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    body: Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    auth.require(Action::LogRfa)?;
    let key = match req.headers().get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| AppError::BadRequest("Idempotency-Key must be visible ASCII.".into()))?
                .to_string(),
        ),
        None => None,
    };
    let created = rfas::intake(&state, &auth.0.principal, body.into_inner(), key).await?;
    let mut builder = if created.replayed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    builder.insert_header((
        header::LOCATION,
        format!("/api/v1/rfas/{}", created.view.id),
    ));
    if created.replayed {
        builder.insert_header(("idempotent-replayed", HeaderValue::from_static("true")));
    }
    Ok(with_etag(builder, &created.view))
}

/// The queue: filter, sort and page through the requests you may see.
///
/// Filters: `state` (repeat or comma-separate), `jurisdiction_id`, `assignee_id` (or
/// `unassigned`), `priority`, `overdue`, `due_before`, `received_from`/`received_to`
/// (inclusive days in the reporting time zone), `tag`, `eligibility`, `q` (text in the
/// reference, subject and description; `%` and `_` are literal). `sort` = `due_at`
/// (default), `received_at`, `priority` or `updated_at`; `order` = `asc` or `desc`;
/// `limit` (1–200, default 50) and `cursor` from the previous page.
#[utoipa::path(
    tag = "rfas",
    params(
        ("state" = Option<String>, Query), ("jurisdiction_id" = Option<String>, Query),
        ("assignee_id" = Option<String>, Query), ("priority" = Option<String>, Query),
        ("overdue" = Option<bool>, Query), ("due_before" = Option<String>, Query),
        ("received_from" = Option<String>, Query), ("received_to" = Option<String>, Query),
        ("tag" = Option<String>, Query), ("eligibility" = Option<String>, Query),
        ("q" = Option<String>, Query), ("sort" = Option<String>, Query),
        ("order" = Option<String>, Query), ("limit" = Option<i64>, Query),
        ("cursor" = Option<String>, Query),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RfaPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/rfas")]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, AppError> {
    let page = rfas::queue(&state, caller, req.query_string().to_string()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One request, with its eligibility, due date (and how it was reached) and the actions you
/// may take now.
#[utoipa::path(
    tag = "rfas",
    params(("id" = String, Path, description = "RFA id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RfaView, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/rfas/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let rfa = rfas::get(&state, caller, path_id(&id, "request for assistance")).await?;
    Ok(with_etag(HttpResponse::Ok(), &rfa))
}

/// Correct intake details (until the request is accepted). Needs `If-Match`.
#[utoipa::path(
    tag = "rfas",
    params(("id" = String, Path, description = "RFA id"), ("If-Match" = String, Header)),
    request_body = IntakePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RfaView, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/api/v1/rfas/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<String>,
    body: Json<IntakePatch>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "request for assistance")?;
    let version = if_match(&req);
    let rfa = rfas::edit_intake(&state, &auth.0.principal, id, body.into_inner(), version).await?;
    Ok(with_etag(HttpResponse::Ok(), &rfa))
}

/// Take a lifecycle action. Needs `If-Match`.
///
/// Bodies: `start_review {}`, `accept {}`, `decline {outcome, reason}`,
/// `request_information {message}`, `resume {}`, `record_response {kind, description, shared_on}`,
/// `close {outcome, reason?}`, `withdraw {reason}`, `reopen {reason}`, `assign {assignee_id}`,
/// `set_priority {priority}`, `extend_deadline {due_on, reason}`, `add_note {text}`,
/// `evaluate_eligibility {}`, `override_eligibility {justification}`,
/// `record_assurance {reference, given_on}`. A 409 lists the actions allowed now.
#[utoipa::path(
    tag = "rfas",
    params(
        ("id" = String, Path, description = "RFA id"),
        ("action" = RfaAction, Path, description = "The action"),
        ("If-Match" = String, Header),
    ),
    request_body(content = Option<Object>, description = "The action's fields (see above); none means `{}`"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RfaView, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/rfas/{id}/actions/{action}")]
pub async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<(String, String)>,
    body: crate::api::json::Body,
) -> actix_web::Result<HttpResponse> {
    let (id, action) = path.into_inner();
    let id = path_id(&id, "request for assistance")?;
    let action = RfaAction::parse(&action)
        .ok_or_else(|| AppError::NotFound(format!("There is no action `{action}`.")))?;
    let version = if_match(&req);
    let command = Command::parse(action, action_body(&req, &body.0)?)?;
    let rfa = rfas::act(&state, &auth.0.principal, id, command, version).await?;
    Ok(with_etag(HttpResponse::Ok(), &rfa))
}

/// The request's history: every event, oldest first, with its place in the hash chain.
#[utoipa::path(
    tag = "rfas",
    params(("id" = String, Path, description = "RFA id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EventPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/rfas/{id}/events")]
pub async fn events(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "request for assistance")?;
    let q = query.into_inner();
    let limit = q.limit()?;
    Ok(
        HttpResponse::Ok()
            .json(rfas::events(&state, &auth.0.principal, id, q.cursor, limit).await?),
    )
}

/// Assign or set the priority of many requests at once (each its own change and event),
/// with `dry_run` to see what would happen.
#[utoipa::path(
    tag = "rfas",
    request_body = BulkRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = BulkResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/rfas/bulk")]
pub async fn bulk(
    state: web::Data<AppState>,
    permit: Permit<BulkTriage>,
    body: Json<BulkRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(rfas::bulk(&state, &permit.0.principal, body.into_inner()).await?))
}

/// Walk the whole event log and check every hash link.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Verification),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/audit/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    _: Permit<VerifyAudit>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(rfas::verify_chain(&state).await?))
}
