//! The audit trail's signed checkpoints (administrators): the statements to hand to an
//! auditor, and signing the head now.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{Permit, VerifyAudit};
use crate::api::problem::Problem;
use crate::error::AppError;
use crate::service::access::{self, AccessPage, AccessQuery};
use crate::service::checkpoint::{self, Checkpoint};
use crate::service::{Services, paging};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Only checkpoints of heads before this sequence number (the next page: the last
    /// item's `seq`).
    pub before_seq: Option<i64>,
}

/// The checkpoints, newest first, and the key this instance signs with.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointList {
    /// The id of the key this instance signs with (the first 16 hex digits of the SHA-256
    /// of its public key).
    pub key_id: String,
    /// That key's public half, hex: what an auditor checks a statement's signature with.
    pub public_key: String,
    pub items: Vec<Checkpoint>,
}

/// The signed checkpoints of the event log, newest first.
#[utoipa::path(
    tag = "audit",
    params(CheckpointQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CheckpointList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit/checkpoints")]
pub async fn list(
    svc: web::Data<Services>,
    permit: Permit<VerifyAudit>,
    query: web::Query<CheckpointQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let limit = paging::limit(q.limit)?;
    let items = checkpoint::checkpoints(&svc, permit.into(), q.before_seq, limit).await?;
    let (key_id, public_key) = checkpoint::key_of(&svc);
    Ok(HttpResponse::Ok().json(CheckpointList {
        key_id,
        public_key,
        items,
    }))
}

/// Sign the event log's head now (once per head and key): the statement to hand to an
/// auditor, who can later check the database against it (`rfa-tracker audit verify
/// --against FILE`).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 201, body = Checkpoint),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/audit/checkpoints")]
pub async fn sign(
    svc: web::Data<Services>,
    permit: Permit<VerifyAudit>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created().json(checkpoint::sign_now(&svc, permit.into()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccessParams {
    /// One case: its id or its reference (`RFA-2024-0045`).
    pub rfa: Option<String>,
    /// One user's accesses.
    pub user_id: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// Who looked at what, newest first: of one case (`rfa`), of one user (`user_id`), or all.
/// Reading this is itself recorded.
#[utoipa::path(
    tag = "audit",
    params(AccessParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccessPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit/access")]
pub async fn accesses(
    svc: web::Data<Services>,
    permit: Permit<VerifyAudit>,
    query: web::Query<AccessParams>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let limit = paging::limit(q.limit)?;
    let page = access::list(
        &svc,
        permit.into(),
        AccessQuery {
            rfa: q.rfa,
            user_id: q.user_id,
            cursor: q.cursor,
            limit,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
