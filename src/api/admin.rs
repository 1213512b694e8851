//! Administrators' view of outgoing mail: what is queued, sent or failed, and a retry.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::extract::{ManageOutbox, Permit};
use crate::api::jurisdictions::path_id;
use crate::api::problem::Problem;
use crate::domain::ids::MessageId;
use crate::error::AppError;
use crate::service::outbox::{self, OutboxMessage, OutboxPage};
use crate::service::{Services, paging};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending`, `sending`, `sent`, `failed` or `skipped`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Outgoing mail, oldest first, optionally by status.
#[utoipa::path(
    tag = "admin",
    params(OutboxQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OutboxPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/outbox")]
pub async fn list(
    svc: web::Data<Services>,
    permit: Permit<ManageOutbox>,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let limit = paging::limit(q.limit)?;
    let page = outbox::list(&svc, permit.into(), q.status, q.cursor, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Send a failed message again (attempts start over).
#[utoipa::path(
    tag = "admin",
    params(("id" = String, Path, description = "Outbox message id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OutboxMessage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not failed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/outbox/{id}/retry")]
pub async fn retry(
    svc: web::Data<Services>,
    permit: Permit<ManageOutbox>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = MessageId::from_stored(path_id(&id, "message")?);
    Ok(HttpResponse::Ok().json(outbox::retry(&svc, permit.into(), id).await?))
}
