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

/// A message in the outbox, as administrators see it. Administrators read no case content:
/// the bodies are not shown, the recipient's address only by its first letter and its
/// domain (`a…@justice.example`, what a delivery problem is about), the subject of a
/// message about a case only by its kind and the case's reference, and addresses in an
/// error masked the same way.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub kind: String,
    pub rfa_id: Option<String>,
    /// Masked: `a…@justice.example`.
    pub recipient: String,
    /// For a message about a case: its kind and the case's reference.
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

/// An address with its mailbox hidden but for its first letter: `a…@justice.example`.
pub fn mask_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => "…".into(),
    }
}

/// Every address in a text masked (an SMTP error quotes the recipient).
fn mask_addresses(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_end();
            let core = trimmed.trim_matches(|c: char| "<>\"'(),;:".contains(c));
            if core.contains('@') && !core.is_empty() {
                word.replacen(core, &mask_address(core), 1)
            } else {
                word.to_string()
            }
        })
        .collect()
}

/// What a message about a case is called without its content.
fn case_subject(kind: &str, reference: Option<&str>) -> String {
    let what = match kind {
        "acknowledgement" => "Acknowledgement",
        "request_information" => "Request for information",
        "assignment" => "Assignment",
        "decision" => "Decision",
        _ => "Message",
    };
    match reference {
        Some(r) => format!("{what} about {r}"),
        None => format!("{what} about a request"),
    }
}

fn message(r: OutboxRow, reference: Option<&str>) -> OutboxMessage {
    let subject = match &r.rfa_id {
        Some(_) => case_subject(&r.kind, reference),
        None => r.subject,
    };
    OutboxMessage {
        id: r.id,
        kind: r.kind,
        rfa_id: r.rfa_id,
        recipient: mask_address(&r.recipient),
        subject,
        message_id: r.message_id,
        status: r.status,
        attempts: r.attempts,
        next_attempt_at: r.next_attempt_at.and_utc(),
        last_error: r.last_error.as_deref().map(mask_addresses),
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
            let ids: Vec<String> = rows.iter().filter_map(|r| r.rfa_id.clone()).collect();
            let references: std::collections::HashMap<String, String> =
                crate::db::reports::references_of(c, &ids)?
                    .into_iter()
                    .collect();
            Ok(OutboxPage {
                items: rows
                    .into_iter()
                    .map(|r| {
                        let reference = r.rfa_id.as_ref().and_then(|i| references.get(i)).cloned();
                        message(r, reference.as_deref())
                    })
                    .collect(),
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
                let row =
                    outbox::find(c, id)?.ok_or_else(|| AppError::internal("message vanished"))?;
                let reference = crate::db::reports::references_of(
                    c,
                    &row.rfa_id.iter().cloned().collect::<Vec<_>>(),
                )?
                .pop()
                .map(|(_, r)| r);
                Ok((row, reference))
            })
        })
        .await?;
    let (row, reference) = row;
    Ok(message(row, reference.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_show_their_first_letter_and_domain_only() {
        assert_eq!(
            mask_address("a.prosecutor@justice.example"),
            "a…@justice.example"
        );
        assert_eq!(mask_address("not an address"), "…");
        assert_eq!(
            mask_addresses("550 5.1.1 <a.prosecutor@justice.example>: user unknown"),
            "550 5.1.1 <a…@justice.example>: user unknown"
        );
    }
}
