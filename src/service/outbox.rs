//! Administrators' view of outgoing mail: what is queued, sent or failed, and a retry.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::outbox::{self, OutboxRow};
use crate::domain::ids::MessageId;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;
use crate::service::paging::{decode_cursor, encode_cursor, page};

/// The states of a message.
pub const STATUSES: [&str; 5] = ["pending", "sending", "sent", "failed", "skipped"];

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

/// Outgoing mail, oldest first, optionally only messages in one status.
pub async fn list(
    svc: &Services,
    caller: Caller,
    status: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> Result<OutboxPage, AppError> {
    caller.resolve(svc, Some(Action::ManageOutbox)).await?;
    if let Some(s) = &status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(AppError::field(
            "status",
            "must be pending, sending, sent, failed or skipped",
        ));
    }
    let after = cursor.map(|c| decode_cursor(&c)).transpose()?;
    svc.db
        .run(move |c| {
            let rows = outbox::list(c, status.as_deref(), after.as_deref(), limit + 1)?;
            let (rows, next_cursor) = page(rows, limit, |r| encode_cursor(&r.id));
            Ok(OutboxPage {
                items: rows.into_iter().map(message).collect(),
                next_cursor,
            })
        })
        .await
}

/// Sends a failed message again (attempts start over).
pub async fn retry(
    svc: &Services,
    caller: Caller,
    id: MessageId,
) -> Result<OutboxMessage, AppError> {
    caller.resolve(svc, Some(Action::ManageOutbox)).await?;
    let now = svc.rules.now();
    let row = svc
        .db
        .run(move |c| {
            c.write(|c| {
                let id = id.as_str();
                let row = outbox::find(c, id)?
                    .ok_or_else(|| AppError::NotFound("No such message.".into()))?;
                if outbox::retry(c, id, now)? == 0 {
                    return Err(AppError::Conflict(format!(
                        "Only failed messages are retried; this one is {}.",
                        row.status
                    )));
                }
                outbox::find(c, id)?.ok_or_else(|| AppError::internal("message vanished"))
            })
        })
        .await?;
    Ok(message(row))
}
