//! Administrators' view of outgoing mail: what is queued, sent or failed, and a retry.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{ManageOutbox, Permit};
use crate::api::jurisdictions::path_id;
use crate::api::problem::Problem;
use crate::db::outbox::{self, OutboxRow};
use crate::error::AppError;
use crate::service::paging::{self, decode_cursor, encode_cursor, page};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending`, `sending`, `sent`, `failed` or `skipped`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A message in the outbox (its bodies are not shown: they can hold case details).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub kind: String,
    pub rfa_id: Option<String>,
    pub recipient: String,
    pub subject: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxPage {
    pub items: Vec<OutboxMessage>,
    pub next_cursor: Option<String>,
}

fn message(r: OutboxRow) -> OutboxMessage {
    OutboxMessage {
        id: r.id,
        kind: r.kind,
        rfa_id: r.rfa_id,
        recipient: r.recipient,
        subject: r.subject,
        message_id: r.message_id,
        status: r.status,
        attempts: r.attempts,
        next_attempt_at: r.next_attempt_at.and_utc(),
        last_error: r.last_error,
        created_at: r.created_at.and_utc(),
        sent_at: r.sent_at.map(|t| t.and_utc()),
    }
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
#[get("/api/v1/admin/outbox")]
pub async fn list(
    state: web::Data<AppState>,
    _: Permit<ManageOutbox>,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    if let Some(s) = &q.status
        && !["pending", "sending", "sent", "failed", "skipped"].contains(&s.as_str())
    {
        return Err(AppError::field(
            "status",
            "must be pending, sending, sent, failed or skipped",
        ));
    }
    let limit = paging::limit(q.limit)?;
    let after = q.cursor.map(|c| decode_cursor(&c)).transpose()?;
    let page = state
        .db
        .run(move |c| {
            let rows = outbox::list(c, q.status.as_deref(), after.as_deref(), limit + 1)?;
            let (rows, next_cursor) = page(rows, limit, |r| encode_cursor(&r.id));
            Ok(OutboxPage {
                items: rows.into_iter().map(message).collect(),
                next_cursor,
            })
        })
        .await?;
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
#[post("/api/v1/admin/outbox/{id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    _: Permit<ManageOutbox>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "message")?;
    let row = state
        .db
        .run(move |c| {
            c.write(|c| {
                let row = outbox::find(c, &id)?
                    .ok_or_else(|| AppError::NotFound("No such message.".into()))?;
                if outbox::retry(c, &id, crate::service::chain::now())? == 0 {
                    return Err(AppError::Conflict(format!(
                        "Only failed messages are retried; this one is {}.",
                        row.status
                    )));
                }
                outbox::find(c, &id)?.ok_or_else(|| AppError::internal("message vanished"))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(message(row)))
}
