//! The actions on a case, each on a short confirm page with its fields: the form is read into
//! the service's typed command, and the answer is the case again with a banner (after a
//! redirect), or the same form with an error summary and what was typed kept. A form for a
//! case that changed meanwhile says so, shows where the case is now and keeps the text.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use chrono::NaiveDate;

use super::page::{PageError, UserBar, render, see_other};
use super::session::{self, Signed};
use super::words;
use crate::domain::ids::{RfaId, UserId};
use crate::domain::lifecycle::{ClosingOutcome, Priority, ResponseKind, RfaAction};
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::rfas::{self, Command, Expected, RfaView};

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One field of an action's form.
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// `textarea`, `text`, `date`, `radios` or `select`.
    pub kind: &'static str,
    pub hint: Option<&'static str>,
    pub value: String,
    pub options: Vec<Choice>,
    pub error: Option<String>,
}

/// A confirm page: an action's (or a document withdrawal's) fields and its button.
#[derive(Template)]
#[template(path = "action.html")]
pub(super) struct ActionPage {
    pub(super) user: Option<UserBar>,
    pub(super) csrf: String,
    pub(super) case_href: String,
    pub(super) reference: String,
    pub(super) subject: String,
    pub(super) title: &'static str,
    pub(super) button: &'static str,
    pub(super) warning: bool,
    pub(super) post_to: String,
    pub(super) version: i64,
    pub(super) fields: Vec<Field>,
    pub(super) errors: Vec<(String, String)>,
    pub(super) changed: Option<String>,
}

fn choices<T: Copy>(all: &[T], name: impl Fn(T) -> (String, String), chosen: &str) -> Vec<Choice> {
    all.iter()
        .map(|v| {
            let (value, label) = name(*v);
            Choice {
                selected: value == chosen,
                value,
                label,
            }
        })
        .collect()
}

/// The page's title, its button, whether it is a warning, and its fields' shapes. `people`
/// is what the form offers to choose from, as (id, name): the people an assignment may go
/// to, or the documents a response may name.
fn form_of(
    action: RfaAction,
    people: &[(String, String)],
    values: &HashMap<String, String>,
) -> (&'static str, &'static str, bool, Vec<Field>) {
    let value = |name: &str| values.get(name).cloned().unwrap_or_default();
    let text = |name: &'static str, label: &'static str, kind: &'static str| Field {
        name,
        label,
        kind,
        hint: None,
        value: value(name),
        options: Vec::new(),
        error: None,
    };
    let radios = |name: &'static str, label: &'static str, options: Vec<Choice>| Field {
        name,
        label,
        kind: "radios",
        hint: None,
        value: String::new(),
        options,
        error: None,
    };
    let outcome = |all: &[ClosingOutcome]| {
        radios(
            "outcome",
            "Outcome",
            choices(
                all,
                |o| (o.as_str().into(), words::plain(words::outcome(o))),
                &value("outcome"),
            ),
        )
    };
    match action {
        RfaAction::StartReview => ("Start the review", "Start review", false, vec![]),
        RfaAction::Accept => ("Accept the request", "Accept", false, vec![]),
        RfaAction::Resume => ("Resume work", "Resume", false, vec![]),
        RfaAction::EvaluateEligibility => ("Evaluate eligibility again", "Evaluate", false, vec![]),
        RfaAction::Decline => (
            "Decline the request",
            "Decline",
            true,
            vec![
                outcome(&[
                    ClosingOutcome::DeclinedIneligible,
                    ClosingOutcome::DeclinedOther,
                ]),
                text("reason", "Reason", "textarea"),
            ],
        ),
        RfaAction::RequestInformation => (
            "Ask the requester for information",
            "Send the request",
            false,
            vec![Field {
                hint: Some(
                    "The requester receives this by email; the deadline pauses until you resume.",
                ),
                ..text("message", "Message", "textarea")
            }],
        ),
        RfaAction::RecordResponse => (
            "Record a response sent",
            "Record response",
            false,
            vec![
                radios(
                    "kind",
                    "What was sent",
                    choices(
                        ResponseKind::ALL,
                        |k| (k.as_str().into(), words::plain(k.as_str())),
                        &value("kind"),
                    ),
                ),
                text("description", "Description", "textarea"),
                text("shared_on", "Sent on", "date"),
            ]
            .into_iter()
            .chain((!people.is_empty()).then(|| {
                let chosen = value("documents");
                Field {
                    name: "documents",
                    label: "Documents sent (optional)",
                    kind: "checkboxes",
                    hint: None,
                    value: String::new(),
                    options: people
                        .iter()
                        .map(|(id, name)| Choice {
                            selected: chosen.lines().any(|c| c == id),
                            value: id.clone(),
                            label: name.clone(),
                        })
                        .collect(),
                    error: None,
                }
            }))
            .collect(),
        ),
        RfaAction::Close => (
            "Close the request",
            "Close",
            false,
            vec![
                outcome(&[
                    ClosingOutcome::Fulfilled,
                    ClosingOutcome::PartiallyFulfilled,
                ]),
                Field {
                    hint: Some("Optional."),
                    ..text("reason", "Note on the closing", "textarea")
                },
            ],
        ),
        RfaAction::Withdraw => (
            "Record that the request was withdrawn",
            "Withdraw",
            true,
            vec![text("reason", "Reason", "textarea")],
        ),
        RfaAction::Reopen => (
            "Reopen the request",
            "Reopen",
            false,
            vec![text("reason", "Reason", "textarea")],
        ),
        RfaAction::Assign => (
            "Assign the request",
            "Assign",
            false,
            vec![Field {
                options: std::iter::once(Choice {
                    value: String::new(),
                    label: "Choose a person".into(),
                    selected: value("assignee_id").is_empty(),
                })
                .chain(people.iter().map(|(id, name)| Choice {
                    selected: value("assignee_id") == *id,
                    value: id.clone(),
                    label: name.clone(),
                }))
                .collect(),
                ..text("assignee_id", "Assign to", "select")
            }],
        ),
        RfaAction::SetPriority => (
            "Set the priority",
            "Set priority",
            false,
            vec![radios(
                "priority",
                "Priority",
                choices(
                    Priority::ALL,
                    |p| (p.as_str().into(), words::priority(p).0.into()),
                    &value("priority"),
                ),
            )],
        ),
        RfaAction::ExtendDeadline => (
            "Extend the deadline",
            "Extend",
            false,
            vec![
                text("due_on", "New due date", "date"),
                text("reason", "Reason", "textarea"),
            ],
        ),
        RfaAction::AddNote => (
            "Add a note",
            "Add note",
            false,
            vec![text("text", "Note", "textarea")],
        ),
        RfaAction::OverrideEligibility => (
            "Override the eligibility outcome",
            "Override",
            true,
            vec![Field {
                hint: Some(
                    "At least 20 characters: why the request may go ahead although it is not eligible.",
                ),
                ..text("justification", "Justification", "textarea")
            }],
        ),
        RfaAction::RecordAssurance => (
            "Record a death-penalty assurance for this request",
            "Record assurance",
            false,
            vec![
                text("reference", "Reference of the assurance", "text"),
                text("given_on", "Given on", "date"),
            ],
        ),
    }
}

/// The form read into the action's command; what cannot be read is named by field. (Where a
/// required choice is missing, a stand-in command fills the match; the errors are returned
/// instead of it.)
fn command(action: RfaAction, f: &HashMap<String, String>) -> Result<Command, Vec<FieldError>> {
    let mut errors = Vec::new();
    let text = |name: &str| f.get(name).cloned().unwrap_or_default();
    let pick = |name: &str, message: &str, errors: &mut Vec<FieldError>| {
        let v = text(name);
        if v.is_empty() {
            errors.push(FieldError::new(name, message));
        }
        v
    };
    let date = |name: &str, errors: &mut Vec<FieldError>| {
        let parsed = crate::service::day::parse(text(name).trim());
        if parsed.is_none() {
            errors.push(FieldError::new(name, "Enter a date as day, month and year"));
        }
        parsed.unwrap_or(NaiveDate::MIN)
    };
    let outcome = |v: String| ClosingOutcome::parse(&v);
    let cmd = match action {
        RfaAction::StartReview => Command::StartReview,
        RfaAction::Accept => Command::Accept,
        RfaAction::Resume => Command::Resume,
        RfaAction::EvaluateEligibility => Command::EvaluateEligibility,
        RfaAction::Decline | RfaAction::Close => {
            let o = outcome(pick("outcome", "Choose an outcome", &mut errors));
            let reason = text("reason");
            match (action, o) {
                (_, None) => Command::AddNote { text: reason },
                (RfaAction::Decline, Some(outcome)) => Command::Decline { outcome, reason },
                (_, Some(outcome)) => Command::Close {
                    outcome,
                    reason: Some(reason).filter(|r| !r.trim().is_empty()),
                },
            }
        }
        RfaAction::RequestInformation => Command::RequestInformation {
            message: text("message"),
        },
        RfaAction::RecordResponse => {
            let kind = ResponseKind::parse(&pick("kind", "Choose what was sent", &mut errors));
            Command::RecordResponse {
                kind: kind.unwrap_or(ResponseKind::Other),
                description: text("description"),
                shared_on: date("shared_on", &mut errors),
                documents: text("documents")
                    .lines()
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect(),
            }
        }
        RfaAction::Withdraw => Command::Withdraw {
            reason: text("reason"),
        },
        RfaAction::Reopen => Command::Reopen {
            reason: text("reason"),
        },
        RfaAction::Assign => {
            let id = UserId::parse(&pick("assignee_id", "Choose a person", &mut errors));
            match id {
                Some(assignee) => Command::Assign { assignee },
                None => Command::StartReview,
            }
        }
        RfaAction::SetPriority => {
            match Priority::parse(&pick("priority", "Choose a priority", &mut errors)) {
                Some(priority) => Command::SetPriority { priority },
                None => Command::StartReview,
            }
        }
        RfaAction::ExtendDeadline => Command::ExtendDeadline {
            due_on: date("due_on", &mut errors),
            reason: text("reason"),
        },
        RfaAction::AddNote => Command::AddNote { text: text("text") },
        RfaAction::OverrideEligibility => Command::OverrideEligibility {
            justification: text("justification"),
        },
        RfaAction::RecordAssurance => Command::RecordAssurance {
            reference: text("reference"),
            given_on: date("given_on", &mut errors),
        },
    };
    if errors.is_empty() {
        Ok(cmd)
    } else {
        Err(errors)
    }
}

/// How a field's error reads on the page: the service's words, with the field's label.
fn sentence(label: &str, message: &str) -> String {
    let message = message.trim_end_matches('.');
    if message.chars().next().is_some_and(char::is_uppercase) {
        format!("{message}.")
    } else {
        format!("{label} {message}.")
    }
}

struct Shown {
    signed: Signed,
    rfa: RfaView,
    action: RfaAction,
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
    changed: Option<String>,
}

async fn page(svc: &Services, shown: Shown, status: StatusCode) -> Result<HttpResponse, PageError> {
    let Shown {
        signed,
        rfa,
        action,
        values,
        errors,
        changed,
    } = shown;
    // What the form offers to choose from: people to assign, documents sent with a response.
    let id = RfaId::from_stored(rfa.id.clone());
    let people = match action {
        RfaAction::Assign => rfas::assignable(svc, signed.caller(), id)
            .await?
            .into_iter()
            .map(|p| (p.id, p.display_name))
            .collect(),
        RfaAction::RecordResponse => rfas::documents::list(svc, signed.caller(), id, false)
            .await?
            .items
            .into_iter()
            .map(|d| (d.id, d.file_name))
            .collect(),
        _ => Vec::new(),
    };
    let (title, button, warning, mut fields) = form_of(action, &people, &values);
    let mut summary = Vec::new();
    for e in &errors {
        let field = fields.iter_mut().find(|f| f.name == e.field);
        let (target, label) = match &field {
            Some(f) => (f.name.to_string(), f.label),
            None => (String::new(), "This"),
        };
        let words = sentence(label, &e.message);
        if let Some(f) = field {
            f.error = Some(words.clone());
        }
        summary.push((target, words));
    }
    Ok(render(
        status,
        &ActionPage {
            user: Some(UserBar::of(&signed.0)),
            csrf: signed.0.csrf.clone(),
            case_href: format!("/cases/{}", rfa.id),
            post_to: format!("/cases/{}/actions/{}", rfa.id, action.as_str()),
            reference: rfa.reference,
            subject: rfa.subject,
            version: rfa.version,
            title,
            button,
            warning,
            fields,
            errors: summary,
            changed,
        },
    ))
}

fn parse(id: &str, action: &str) -> Result<(RfaId, RfaAction), PageError> {
    let id = RfaId::parse(id).ok_or_else(|| AppError::NotFound("no such case".into()))?;
    let action =
        RfaAction::parse(action).ok_or_else(|| AppError::NotFound("no such action".into()))?;
    Ok((id, action))
}

#[get("/cases/{id}/actions/{action}")]
pub async fn confirm(
    svc: Data<Services>,
    signed: Signed,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, action) = parse(&path.0, &path.1)?;
    let rfa = rfas::get(&svc, signed.caller(), id).await?;
    // Not the user's to take at all (403), before not possible now (409), as the API answers.
    if !signed.may(
        crate::domain::lifecycle::permission(action),
        &rfa.jurisdiction_id,
    ) {
        return Err(PageError::Service(AppError::Forbidden(
            "Your roles do not permit this.".into(),
        )));
    }
    if !rfa.allowed_actions.contains(&action) {
        let why = match action {
            RfaAction::Accept => rfas::why_not_accept_now(signed.0.who.principal(), &rfa),
            _ => None,
        };
        let name = words::plain(action.as_str());
        return Err(PageError::NotNow {
            detail: match why {
                Some(why) => format!("{name} is not possible yet: {why}"),
                None => format!("{name} is not possible for this case now."),
            },
            case_href: format!("/cases/{}", rfa.id),
        });
    }
    let shown = Shown {
        signed,
        rfa,
        action,
        values: HashMap::new(),
        errors: Vec::new(),
        changed: None,
    };
    page(&svc, shown, StatusCode::OK).await
}

#[post("/cases/{id}/actions/{action}")]
pub async fn take(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    // One value per name, but the ticked documents, kept one per line.
    let mut values: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        let v = v.into_owned();
        match values.get_mut(&*k) {
            Some(all) if k == "documents" => {
                all.push('\n');
                all.push_str(&v);
            }
            _ => {
                values.insert(k.into_owned(), v);
            }
        }
    }
    session::checked_form(
        &req,
        &svc,
        &signed,
        values.get("csrf").map(String::as_str).unwrap_or(""),
    )?;
    let (id, action) = parse(&path.0, &path.1)?;
    let expected = values
        .get("version")
        .and_then(|v| v.parse().ok())
        .map_or(Expected::Unreadable, Expected::Version);
    let outcome = match command(action, &values) {
        Ok(cmd) => rfas::act(&svc, signed.caller(), id.clone(), cmd, expected)
            .await
            .map(|_| ()),
        Err(errors) => Err(AppError::Validation(errors)),
    };
    let (errors, changed) = match outcome {
        Ok(()) => {
            return Ok(see_other(&format!(
                "/cases/{}?done={}",
                id,
                action.as_str()
            )));
        }
        Err(AppError::Validation(errors)) => (errors, None),
        Err(AppError::VersionMismatch) => (
            Vec::new(),
            Some("Someone changed it meanwhile. What you typed is kept below: check where the case is now, then send the form again.".into()),
        ),
        Err(AppError::NotAllowedNow { detail, .. }) => {
            (vec![FieldError::new("", detail)], None)
        }
        Err(e) => return Err(PageError::Service(e)),
    };
    // The form again, over the case as it is now, with what was typed.
    let rfa = rfas::get(&svc, signed.caller(), id).await?;
    let status = if changed.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let shown = Shown {
        signed,
        rfa,
        action,
        values,
        errors,
        changed,
    };
    page(&svc, shown, status).await
}
