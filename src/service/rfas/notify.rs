//! What a change tells people outside the service: the notice is put in the outbox in the
//! change's own transaction, so it goes out exactly when the change is kept.

use chrono::NaiveDateTime;

use super::view::{IntakeDetails, from_json};
use crate::db::DbConnection;
use crate::db::registry as registry_store;
use crate::db::rfas::RfaRow;
use crate::error::AppError;
use crate::service::Rules;

/// What a change tells people outside the service.
pub(super) enum Notice<'a> {
    Acknowledgement,
    RequestInformation(&'a str),
    Assignment,
    Decision { accepted: bool },
}

/// Puts the notice in the outbox, in the change's own transaction. Requests whose authority
/// and requester have no address get none.
pub(super) fn notify(
    c: &mut DbConnection,
    rules: &Rules,
    row: &RfaRow,
    notice: Notice<'_>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    use crate::mail::{Kind, enqueue};
    let kind = match notice {
        Notice::Acknowledgement => Kind::Acknowledgement,
        Notice::RequestInformation(_) => Kind::RequestInformation,
        Notice::Assignment => Kind::Assignment,
        Notice::Decision { .. } => Kind::Decision,
    };
    if !rules.mail.has(kind) {
        return Ok(());
    }
    let details: IntakeDetails = from_json("intake", &row.intake)?;
    let authority = registry_store::find_authority(c, &row.jurisdiction_id, &row.authority_id)?;
    let to_authority = authority
        .and_then(|a| a.contact_email)
        .or_else(|| details.requester.email.clone());
    let mut vars = vec![
        ("reference", row.reference.clone()),
        ("subject", row.subject.clone()),
        ("requester", details.requester.name.clone()),
        ("received_on", row.received_on.to_string()),
        ("due_on", row.due_on.to_string()),
        ("priority", row.priority.clone()),
    ];
    let (recipient, subject) = addressed(c, row, &details, notice, to_authority, &mut vars)?;
    match recipient {
        Some(to) => enqueue(
            c,
            crate::mail::Outgoing {
                kind,
                rfa_id: Some(&row.id),
                recipient: &to,
                subject,
                vars: &vars,
                dedupe_key: None,
            },
            at,
        ),
        None => Ok(()),
    }
}

/// Who a notice goes to and its subject line, with the template values it adds.
fn addressed(
    c: &mut DbConnection,
    row: &RfaRow,
    details: &IntakeDetails,
    notice: Notice<'_>,
    to_authority: Option<String>,
    vars: &mut Vec<(&'static str, String)>,
) -> Result<(Option<String>, String), AppError> {
    Ok(match notice {
        Notice::Acknowledgement => (
            to_authority,
            format!("[{}] Request for assistance received", row.reference),
        ),
        Notice::RequestInformation(message) => {
            vars.push(("message", message.to_string()));
            (
                details.requester.email.clone().or(to_authority),
                format!("[{}] Further information needed", row.reference),
            )
        }
        Notice::Assignment => {
            let assignee = match &row.assignee_id {
                Some(id) => crate::db::users::find(c, id)?,
                None => None,
            };
            vars.push((
                "assignee",
                assignee
                    .as_ref()
                    .map(|u| u.display_name.clone())
                    .unwrap_or_default(),
            ));
            (
                assignee.map(|u| u.email),
                format!("[{}] Assigned to you", row.reference),
            )
        }
        Notice::Decision { accepted } => {
            let (decision, next) = if accepted {
                (
                    "accepted",
                    "The mechanism is preparing its response and will write to you when it is ready.",
                )
            } else {
                (
                    "declined",
                    "The mechanism is not able to assist with this request.",
                )
            };
            vars.push(("decision", decision.into()));
            vars.push(("next", next.into()));
            (
                to_authority,
                format!("[{}] Request {decision}", row.reference),
            )
        }
    })
}
