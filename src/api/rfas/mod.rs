//! Requests for assistance: intake, the queue, reading, corrections, lifecycle actions, bulk
//! triage, history, and the audit-chain check. Each handler reads the request into a typed
//! command (`wire`), calls one service function with the caller, and maps the answer.

pub mod documents;
pub mod wire;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use utoipa::openapi::path::PathItem;
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required};

use crate::api::extract::{Auth, BulkTriage, Permit, VerifyAudit};
use crate::api::json::Json;
use crate::api::jurisdictions::path_id;
use crate::api::problem::Problem;
use crate::api::users::PageQuery;
use crate::api::versioned::if_match;
use crate::domain::ids::RfaId;
use crate::domain::lifecycle::RfaAction;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;
use crate::service::chain::Verification;
use crate::service::rfas::{self, EventPage, IdempotencyKey, RfaView};
use wire::{BulkRequest, BulkResult};

fn with_etag(builder: actix_web::HttpResponseBuilder, rfa: &RfaView) -> HttpResponse {
    crate::api::versioned::with_etag(builder, rfa.version, rfa)
}

fn rfa_id(raw: &str) -> Result<RfaId, AppError> {
    path_id(raw, "request for assistance").map(RfaId::from_stored)
}

/// An action's body: empty means `{}`; otherwise JSON, with the usual checks (415 for
/// another media type, as every other JSON body).
fn action_body(req: &HttpRequest, bytes: &[u8]) -> Result<serde_json::Value, actix_web::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::json!({}));
    }
    if !crate::api::json::is_json(req) {
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
    request_body = rfas::NewRfa,
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
#[post("/rfas")]
pub async fn create(
    svc: web::Data<Services>,
    req: HttpRequest,
    auth: Auth,
    body: Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    // Refused early so that a 403 comes before any complaint about the body; the service
    // checks again.
    auth.require(Action::LogRfa)?;
    let key = match req.headers().get("idempotency-key") {
        Some(v) => Some(IdempotencyKey::parse(v.to_str().map_err(|_| {
            AppError::Malformed("Idempotency-Key must be visible ASCII.".into())
        })?)?),
        None => None,
    };
    let request = wire::parse_intake(body.into_inner(), svc.rules())?;
    let created = rfas::intake(&svc, auth.into(), request, key).await?;
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
/// Filters: `state` (repeat or comma-separate; without it the open requests only; `open` stands for every state but `closed`, `all` for every state, the archive included), `jurisdiction_id`, `assignee_id` (or
/// `unassigned`), `priority`, `overdue`, `due_before`, `received_from`/`received_to`
/// (inclusive days in the reporting time zone), `tag`, `eligibility`, `q` (text in the
/// reference, subject and description; `%` and `_` are literal). `sort` = `due_at`
/// (default), `received_at`, `priority` or `updated_at`; `order` = `asc` or `desc`;
/// `limit` (1–200, default 50) and `cursor` from the previous page.
///
/// Each item is a list row (`RfaSummary`: reference, subject, state, priority, the
/// jurisdiction and assignee with their names, due date, eligibility outcome, allowed
/// actions, version); `view=full` gives every field of each request instead, as
/// `GET /api/v1/rfas/{id}` does.
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
        ("view" = Option<String>, Query, description = "`summary` (default) or `full`"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = rfas::QueuePage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/rfas")]
pub async fn list(
    svc: web::Data<Services>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, AppError> {
    let query = match wire::parse_queue(req.query_string()) {
        Ok(q) => q,
        // Who is asking, and may they, comes before what is wrong with the question.
        Err(e) => return Err(refused_first(&svc, caller, e).await),
    };
    let page = rfas::queue(&svc, caller, query).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The caller's own refusal (401, 403) if there is one, else `e`: for the reads that check
/// the session in their service call, when the request fails before it.
async fn refused_first(svc: &Services, caller: Caller, e: AppError) -> AppError {
    match caller.resolve(svc, Some(Action::ReadRfa)).await {
        Ok(_) => e,
        Err(refusal) => refusal,
    }
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
#[get("/rfas/{id}")]
pub async fn get(
    svc: web::Data<Services>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = match rfa_id(&id) {
        Ok(id) => id,
        Err(e) => return Err(refused_first(&svc, caller, e).await),
    };
    let rfa = rfas::get(&svc, caller, id).await?;
    Ok(with_etag(HttpResponse::Ok(), &rfa))
}

/// Correct intake details (until the request is accepted). Needs `If-Match`.
#[utoipa::path(
    tag = "rfas",
    params(("id" = String, Path, description = "RFA id"), ("If-Match" = String, Header)),
    request_body = rfas::IntakeCorrection,
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
#[patch("/rfas/{id}")]
pub async fn update(
    svc: web::Data<Services>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<String>,
    body: Json<rfas::IntakeCorrection>,
) -> Result<HttpResponse, AppError> {
    let id = rfa_id(&id)?;
    let rfa =
        rfas::correct_intake(&svc, auth.into(), id, body.into_inner(), if_match(&req)).await?;
    Ok(with_etag(HttpResponse::Ok(), &rfa))
}

/// Take a lifecycle action. Needs `If-Match`.
///
/// Each action is its own operation, with its own body, at `/api/v1/rfas/{id}/actions/<action>`;
/// a path naming no action is 404. A 409 lists the actions allowed now.
#[utoipa::path(
    tag = "rfas",
    params(
        ("id" = String, Path, description = "RFA id"),
        ("action" = RfaAction, Path, description = "The action"),
        ("If-Match" = String, Header),
    ),
    request_body(content = Option<Object>, description = "Replaced by each action's own body (`ActionOperations`)"),
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
#[post("/rfas/{id}/actions/{action}")]
pub async fn act(
    svc: web::Data<Services>,
    req: HttpRequest,
    auth: Auth,
    path: web::Path<(String, String)>,
    body: crate::api::json::Body,
) -> actix_web::Result<HttpResponse> {
    let (id, action) = path.into_inner();
    let id = rfa_id(&id)?;
    let action = RfaAction::parse(&action)
        .ok_or_else(|| AppError::NotFound(format!("There is no action `{action}`.")))?;
    let command = wire::parse_command(action, &action_body(&req, &body.0)?)?;
    let rfa = rfas::act(&svc, auth.into(), id, command, if_match(&req)).await?;
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
#[get("/rfas/{id}/events")]
pub async fn events(
    svc: web::Data<Services>,
    auth: Auth,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = rfa_id(&id)?;
    let q = query.into_inner();
    let limit = q.limit()?;
    Ok(HttpResponse::Ok().json(rfas::events(&svc, auth.into(), id, q.cursor, limit).await?))
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
#[post("/rfas/bulk")]
pub async fn bulk(
    svc: web::Data<Services>,
    permit: Permit<BulkTriage>,
    body: Json<BulkRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let ids = body.ids.clone();
    let outcome = rfas::bulk(&svc, permit.into(), body.into_triage()?).await?;
    Ok(HttpResponse::Ok().json(BulkResult::new(ids, outcome)))
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
#[get("/audit/verify")]
pub async fn verify(
    svc: web::Data<Services>,
    permit: Permit<VerifyAudit>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(rfas::verify_chain(&svc, permit.into()).await?))
}

/// The document's operations for the lifecycle actions. One route serves them all (the
/// handler reads the action from the last segment), but each action is its own operation
/// with its own body, and OpenAPI cannot tie a body schema to a value of a path parameter:
/// a `oneOf` of the bodies under `{action}` would let any body go with any action, and is
/// not even a valid `oneOf` (four actions take `{}`, two take `{reason}`). So the template
/// `{action}` operation is replaced by one operation per action path, each with the body
/// type `wire::with_body` parses that action's JSON into, so the document can neither miss
/// an action nor describe a body other than the one the parser reads. A body without
/// required fields may be left out or be `null` (it means `{}`), as the handler takes it.
pub struct ActionOperations;

/// The path of the template operation the handler's `#[utoipa::path]` describes.
pub const ACTION_TEMPLATE: &str = "/api/v1/rfas/{id}/actions/{action}";

/// Registers an action's body schema (and those it refers to) and builds its request body.
struct BodyOf<'a>(&'a mut std::collections::BTreeMap<String, RefOr<Schema>>);

impl wire::BodyVisitor for BodyOf<'_> {
    type Out = (Option<String>, RefOr<RequestBody>);

    fn visit<B: wire::ActionBody>(self) -> Self::Out {
        let name = B::name().to_string();
        let schema = B::schema();
        let (description, bodyless) = match &schema {
            RefOr::T(Schema::Object(o)) => (o.description.clone(), o.required.is_empty()),
            _ => (None, false),
        };
        let mut nested = Vec::new();
        B::schemas(&mut nested);
        for (n, s) in nested {
            self.0.entry(n).or_insert(s);
        }
        self.0.insert(name.clone(), schema);
        let reference = Ref::from_schema_name(&name);
        let content: RefOr<Schema> = if bodyless {
            OneOfBuilder::new()
                .item(reference)
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .into()
        } else {
            reference.into()
        };
        let body = RequestBodyBuilder::new()
            .description(Some(if bodyless {
                format!("`{name}`; may be left out or `null` (both mean `{{}}`)")
            } else {
                format!("`{name}`")
            }))
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(content)).build(),
            )
            .required(Some(if bodyless {
                Required::False
            } else {
                Required::True
            }))
            .build();
        (description, RefOr::T(body))
    }
}

impl utoipa::Modify for ActionOperations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(template) = openapi
            .paths
            .paths
            .remove(ACTION_TEMPLATE)
            .and_then(|item| item.post)
        else {
            return;
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        for action in RfaAction::ALL {
            let mut op = template.clone();
            let (about, body) = wire::with_body(*action, BodyOf(&mut components.schemas));
            // The body type's documentation says what the action does: its first sentence
            // is the summary, all of it leads the description.
            let about = about.unwrap_or_default().replace('\n', " ");
            let summary = about
                .split_inclusive(". ")
                .next()
                .unwrap_or_default()
                .trim();
            op.operation_id = Some(format!("act_{action}"));
            op.summary = Some(summary.to_string()).filter(|s| !s.is_empty());
            op.description = Some(match op.description.take() {
                Some(general) => format!("{about}\n\n{general}"),
                None => about,
            });
            op.request_body = Some(body);
            if let Some(params) = op.parameters.as_mut() {
                params.retain(|p| !matches!(p, RefOr::T(p) if p.name == "action"));
            }
            let mut item = PathItem::default();
            item.post = Some(op);
            openapi
                .paths
                .paths
                .insert(ACTION_TEMPLATE.replace("{action}", action.as_str()), item);
        }
    }
}
