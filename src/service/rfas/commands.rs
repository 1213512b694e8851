//! The lifecycle commands: one typed command per action, checked before anything is read,
//! and one function per command that says what it changes; `apply` is the small dispatch
//! around them that every command shares (the transition table, the version, the event and
//! the figures' facts, the notice).

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use super::notify::{Notice, notify};
use super::view::{self, Extension, Override, RfaView, due_parts, from_json, refresh_due, to_json};
use super::{Expected, change_one};
use crate::db::DbConnection;
use crate::db::rfas::{self as store, RfaAssuranceRow, RfaRow};
use crate::domain::eligibility::{Decision, Outcome};
use crate::domain::ids::{RfaId, UserId};
use crate::domain::lifecycle::{self, ClosingOutcome, Priority, ResponseKind, RfaAction, State};
use crate::domain::policy::Principal;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::service::accounts::{Caller, new_id};
use crate::service::chain::{Appender, NewEvent};
use crate::service::eligibility::{apply_decision, evaluate, record_decision};
use crate::service::validate::Errors;
use crate::service::{Rules, Services};

const MAX_TEXT: usize = 10_000;

/// A lifecycle action with its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    StartReview,
    Accept,
    Resume,
    EvaluateEligibility,
    Decline {
        outcome: ClosingOutcome,
        reason: String,
    },
    RequestInformation {
        message: String,
    },
    RecordResponse {
        kind: ResponseKind,
        description: String,
        shared_on: NaiveDate,
        /// The request's documents that were sent (their ids), named in the event.
        documents: Vec<String>,
    },
    Close {
        outcome: ClosingOutcome,
        reason: Option<String>,
    },
    Withdraw {
        reason: String,
    },
    Reopen {
        reason: String,
    },
    Assign {
        assignee: UserId,
    },
    SetPriority {
        priority: Priority,
    },
    ExtendDeadline {
        due_on: NaiveDate,
        reason: String,
    },
    AddNote {
        text: String,
    },
    OverrideEligibility {
        justification: String,
    },
    RecordAssurance {
        reference: String,
        given_on: NaiveDate,
    },
}

impl Command {
    pub fn action(&self) -> RfaAction {
        match self {
            Command::StartReview => RfaAction::StartReview,
            Command::Accept => RfaAction::Accept,
            Command::Resume => RfaAction::Resume,
            Command::EvaluateEligibility => RfaAction::EvaluateEligibility,
            Command::Decline { .. } => RfaAction::Decline,
            Command::RequestInformation { .. } => RfaAction::RequestInformation,
            Command::RecordResponse { .. } => RfaAction::RecordResponse,
            Command::Close { .. } => RfaAction::Close,
            Command::Withdraw { .. } => RfaAction::Withdraw,
            Command::Reopen { .. } => RfaAction::Reopen,
            Command::Assign { .. } => RfaAction::Assign,
            Command::SetPriority { .. } => RfaAction::SetPriority,
            Command::ExtendDeadline { .. } => RfaAction::ExtendDeadline,
            Command::AddNote { .. } => RfaAction::AddNote,
            Command::OverrideEligibility { .. } => RfaAction::OverrideEligibility,
            Command::RecordAssurance { .. } => RfaAction::RecordAssurance,
        }
    }

    /// The command with its texts trimmed and checked; every wrong field is named at once.
    pub fn checked(mut self) -> Result<Self, AppError> {
        let mut errors = Errors::new();
        let text = |errors: &mut Errors, field: &str, value: &mut String| {
            *value = errors.text(field, value, MAX_TEXT, true);
        };
        match &mut self {
            Command::StartReview
            | Command::Accept
            | Command::Resume
            | Command::EvaluateEligibility
            | Command::Assign { .. }
            | Command::SetPriority { .. } => {}
            Command::Decline { reason, .. }
            | Command::Withdraw { reason }
            | Command::Reopen { reason }
            | Command::ExtendDeadline { reason, .. } => text(&mut errors, "reason", reason),
            Command::RequestInformation { message } => text(&mut errors, "message", message),
            Command::RecordResponse {
                description,
                shared_on,
                documents,
                ..
            } => {
                text(&mut errors, "description", description);
                errors.not_future("shared_on", *shared_on);
                if documents.len() > 50 {
                    errors.add("documents", "lists more than 50 documents");
                }
                let mut seen = std::collections::HashSet::new();
                if !documents.iter().all(|d| seen.insert(d.as_str())) {
                    errors.add("documents", "must not repeat a document");
                }
            }
            Command::Close { reason, .. } => {
                if let Some(reason) = reason {
                    text(&mut errors, "reason", reason);
                }
            }
            Command::AddNote { text: note } => text(&mut errors, "text", note),
            Command::OverrideEligibility { justification } => {
                text(&mut errors, "justification", justification);
                if !errors.mentions("justification") && justification.chars().count() < 20 {
                    errors.add(
                        "justification",
                        "must explain the override in at least 20 characters",
                    );
                }
            }
            Command::RecordAssurance {
                reference,
                given_on,
            } => {
                *reference = errors.text("reference", reference, 200, false);
                errors.not_future("given_on", *given_on);
            }
        }
        errors.finish()?;
        Ok(self)
    }
}

/// Takes a lifecycle action on a request for the caller.
pub async fn act(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    cmd: Command,
    expected: Expected,
) -> Result<RfaView, AppError> {
    let cmd = cmd.checked()?;
    let action = lifecycle::permission(cmd.action());
    change_one(
        svc,
        caller,
        id,
        action,
        expected,
        move |c, rules, chain, who, row| {
            let row = apply(c, rules, chain, who, row, &cmd, rules.now())?;
            view::view(c, rules, who, row)
        },
    )
    .await
}

/// What a command changed, for the shared part of `apply` to record.
struct Effect<'a> {
    details: Value,
    /// A new eligibility decision to store (and record if it changed).
    evaluation: Option<Decision>,
    notice: Option<Notice<'a>>,
}

impl Effect<'_> {
    fn details(details: Value) -> Self {
        Effect {
            details,
            evaluation: None,
            notice: None,
        }
    }
}

/// Why a command is refused now, with what can be done instead (409).
struct Refusal<'a> {
    action: RfaAction,
    state: State,
    allowed: &'a [RfaAction],
}

impl Refusal<'_> {
    fn because(&self, why: &str) -> AppError {
        not_now(self.action, self.state, self.allowed, Some(why))
    }
}

fn not_now(action: RfaAction, state: State, allowed: &[RfaAction], why: Option<&str>) -> AppError {
    AppError::NotAllowedNow {
        detail: match why {
            Some(why) => format!("`{}` is not possible now: {why}", action.as_str()),
            None => format!(
                "`{}` is not possible while the request is `{}`.",
                action.as_str(),
                state.as_str()
            ),
        },
        allowed_actions: allowed.iter().map(|a| a.as_str().to_string()).collect(),
    }
}

/// Applies a command to a loaded row (already authorized, version checked) and appends its
/// events. Returns the new row.
pub fn apply(
    c: &mut DbConnection,
    rules: &Rules,
    chain: &mut Appender,
    who: &Principal,
    mut row: RfaRow,
    cmd: &Command,
    at: NaiveDateTime,
) -> Result<RfaRow, AppError> {
    let action = cmd.action();
    let was = row.clone();
    let before = view::state_of(&row)?;
    let allowed = view::allowed_actions(who, before, &row.jurisdiction_id);
    let Some(after) = lifecycle::transition(before, action) else {
        return Err(not_now(action, before, &allowed, None));
    };
    let refuse = Refusal {
        action,
        state: before,
        allowed: &allowed,
    };
    let r = &mut row;
    let effect = match cmd {
        Command::StartReview => Effect::details(json!({})),
        Command::Accept => accept(r, &refuse)?,
        Command::Resume => resume(rules, r, at)?,
        Command::EvaluateEligibility => evaluate_now(c, rules, r, at)?,
        Command::Decline { outcome, reason } => decline(r, *outcome, reason)?,
        Command::RequestInformation { message } => request_information(r, message, at),
        Command::RecordResponse {
            kind,
            description,
            shared_on,
            documents,
        } => Effect::details(json!({
            "kind": kind,
            "description": description,
            "shared_on": shared_on,
            "documents": documents_sent(c, r, documents)?,
        })),
        Command::Close { outcome, reason } => close(c, rules, r, &refuse, *outcome, reason, at)?,
        Command::Withdraw { reason } => withdraw(rules, r, reason, at)?,
        Command::Reopen { reason } => {
            let previous = r.outcome.take();
            Effect::details(json!({"reason": reason, "previous_outcome": previous}))
        }
        Command::Assign { assignee } => assign(c, r, assignee)?,
        Command::SetPriority { priority } => set_priority(rules, r, *priority)?,
        Command::ExtendDeadline { due_on, reason } => {
            extend_deadline(rules, r, who, *due_on, reason, at)?
        }
        Command::AddNote { text } => Effect::details(json!({"text": text})),
        Command::OverrideEligibility { justification } => {
            override_eligibility(r, &refuse, who, justification, at)?
        }
        Command::RecordAssurance {
            reference,
            given_on,
        } => record_assurance(c, rules, r, who, reference, *given_on, at)?,
    };
    record(
        c, rules, chain, who, &was, row, action, before, after, effect, at,
    )
}

/// The part every command shares once it has made its change: the figures' facts, the new
/// state and version, the event, the notice and a changed eligibility decision.
#[allow(clippy::too_many_arguments)]
fn record(
    c: &mut DbConnection,
    rules: &Rules,
    chain: &mut Appender,
    who: &Principal,
    was: &RfaRow,
    mut row: RfaRow,
    action: RfaAction,
    before: State,
    after: State,
    effect: Effect<'_>,
    at: NaiveDateTime,
) -> Result<RfaRow, AppError> {
    let Effect {
        mut details,
        evaluation,
        notice,
    } = effect;
    // What the figures count: closings (processed) and reopenings, on the day they happen.
    let day = rules.day_of(at);
    if after == State::Closed && before != State::Closed {
        details["report"] = json!({
            "kind": "processed",
            "day": day,
            "jurisdiction_id": row.jurisdiction_id,
            "outcome": row.outcome,
            "processing_days": (day - row.received_on).num_days(),
            "paused_days": row.paused_days,
        });
    } else if action == RfaAction::Reopen {
        details["report"] =
            json!({"kind": "reopened", "day": day, "jurisdiction_id": row.jurisdiction_id});
    }
    row.state = after.as_str().into();
    row.version += 1;
    row.updated_at = at;
    let changed = evaluation
        .as_ref()
        .is_some_and(|d| apply_decision(&mut row, d));
    view::set_pause_key(rules, &mut row);
    store::save(c, &row)?;
    chain.append(
        c,
        NewEvent {
            rfa_id: &row.id,
            actor_id: &who.user_id,
            at,
            action: action.as_str(),
            state_before: Some(before.as_str()),
            state_after: after.as_str(),
            details,
            was: Some(was),
        },
    )?;
    if action == RfaAction::AddNote {
        // The note is now in the history, and so among the words the request is found by.
        super::search::reindex(c, &row)?;
    }
    if let Some(notice) = notice {
        notify(c, rules, &row, notice, at)?;
    }
    if let (Some(decision), true) = (evaluation, changed) {
        let trigger = "assurance recorded";
        record_decision(c, chain, &row, None, &who.user_id, at, trigger, &decision)?;
    }
    Ok(row)
}

fn accept<'a>(row: &RfaRow, refuse: &Refusal<'_>) -> Result<Effect<'a>, AppError> {
    let why = view::why_not_accept(
        row.assignee_id.is_some(),
        &row.eligibility_outcome,
        row.eligibility_override.as_deref(),
    );
    if let Some(why) = why {
        return Err(refuse.because(why));
    }
    Ok(Effect {
        notice: Some(Notice::Decision { accepted: true }),
        ..Effect::details(json!({}))
    })
}

/// Ends a running pause, adding its whole days to the paused total.
fn end_pause(rules: &Rules, row: &mut RfaRow, at: NaiveDateTime) {
    if let Some(since) = row.paused_since.take() {
        let days = lifecycle::pause_days(rules.day_of(since), rules.day_of(at));
        row.paused_days = row
            .paused_days
            .saturating_add(i32::try_from(days).unwrap_or(i32::MAX));
    }
}

fn resume<'a>(rules: &Rules, row: &mut RfaRow, at: NaiveDateTime) -> Result<Effect<'a>, AppError> {
    end_pause(rules, row, at);
    refresh_due(rules, row)?;
    Ok(Effect::details(
        json!({"paused_days_total": row.paused_days, "due_on": row.due_on}),
    ))
}

fn evaluate_now<'a>(
    c: &mut DbConnection,
    rules: &Rules,
    row: &mut RfaRow,
    at: NaiveDateTime,
) -> Result<Effect<'a>, AppError> {
    let decision = evaluate(c, rules, row, rules.day_of(at))?;
    apply_decision(row, &decision);
    Ok(Effect::details(
        json!({"trigger": "on demand", "decision": decision}),
    ))
}

fn decline<'a>(
    row: &mut RfaRow,
    outcome: ClosingOutcome,
    reason: &str,
) -> Result<Effect<'a>, AppError> {
    if !lifecycle::closing_outcomes(RfaAction::Decline).contains(&outcome) {
        return Err(AppError::field(
            "outcome",
            "must be declined_ineligible or declined_other",
        ));
    }
    row.outcome = Some(outcome.as_str().into());
    Ok(Effect {
        notice: Some(Notice::Decision { accepted: false }),
        ..Effect::details(json!({"outcome": outcome, "reason": reason}))
    })
}

fn request_information<'a>(row: &mut RfaRow, message: &'a str, at: NaiveDateTime) -> Effect<'a> {
    row.paused_since = Some(at);
    Effect {
        notice: Some(Notice::RequestInformation(message)),
        ..Effect::details(json!({"message": message}))
    }
}

fn close<'a>(
    c: &mut DbConnection,
    rules: &Rules,
    row: &mut RfaRow,
    refuse: &Refusal<'_>,
    outcome: ClosingOutcome,
    reason: &Option<String>,
    at: NaiveDateTime,
) -> Result<Effect<'a>, AppError> {
    if !lifecycle::closing_outcomes(RfaAction::Close).contains(&outcome) {
        return Err(AppError::field(
            "outcome",
            "must be fulfilled or partially_fulfilled (use decline or withdraw for the others)",
        ));
    }
    if outcome == ClosingOutcome::Fulfilled
        && store::count_events(c, &row.id, RfaAction::RecordResponse.as_str())? == 0
    {
        return Err(
            refuse.because("a request closed as fulfilled needs at least one recorded response.")
        );
    }
    end_pause(rules, row, at);
    refresh_due(rules, row)?;
    row.outcome = Some(outcome.as_str().into());
    Ok(Effect::details(
        json!({"outcome": outcome, "reason": reason}),
    ))
}

fn withdraw<'a>(
    rules: &Rules,
    row: &mut RfaRow,
    reason: &str,
    at: NaiveDateTime,
) -> Result<Effect<'a>, AppError> {
    end_pause(rules, row, at);
    refresh_due(rules, row)?;
    row.outcome = Some(ClosingOutcome::Withdrawn.as_str().into());
    Ok(Effect::details(
        json!({"outcome": ClosingOutcome::Withdrawn, "reason": reason}),
    ))
}

fn assign<'a>(
    c: &mut DbConnection,
    row: &mut RfaRow,
    assignee: &UserId,
) -> Result<Effect<'a>, AppError> {
    check_assignee(c, assignee, &row.jurisdiction_id)?;
    let details = json!({"assignee_id": assignee, "previous_assignee_id": row.assignee_id});
    row.assignee_id = Some(assignee.to_string());
    Ok(Effect {
        notice: Some(Notice::Assignment),
        ..Effect::details(details)
    })
}

/// An assignee must be an active supervisor, or an active liaison officer for the RFA's
/// jurisdiction: someone who can see it.
fn check_assignee(
    c: &mut DbConnection,
    id: &UserId,
    jurisdiction_id: &str,
) -> Result<(), AppError> {
    let refuse = || {
        AppError::field(
            "assignee_id",
            "is not an active supervisor or liaison officer of this jurisdiction",
        )
    };
    let user = crate::db::users::find(c, id.as_str())?
        .filter(|u| u.active)
        .ok_or_else(refuse)?;
    let roles = crate::db::users::roles_of(c, &user.id)?;
    let covers = crate::db::users::jurisdictions_of(c, &user.id)?
        .iter()
        .any(|j| j == jurisdiction_id);
    if roles.contains(&Role::Supervisor) || (roles.contains(&Role::LiaisonOfficer) && covers) {
        Ok(())
    } else {
        Err(refuse())
    }
}

fn set_priority<'a>(
    rules: &Rules,
    row: &mut RfaRow,
    priority: Priority,
) -> Result<Effect<'a>, AppError> {
    let details = json!({"priority": priority, "previous_priority": row.priority});
    row.priority = priority.as_str().into();
    row.priority_rank = priority.rank();
    refresh_due(rules, row)?;
    Ok(Effect::details(details))
}

fn extend_deadline<'a>(
    rules: &Rules,
    row: &mut RfaRow,
    who: &Principal,
    due_on: NaiveDate,
    reason: &str,
    at: NaiveDateTime,
) -> Result<Effect<'a>, AppError> {
    let parts = due_parts(rules, row, true)?;
    let current = parts.due_on();
    if due_on <= current {
        return Err(AppError::field(
            "due_on",
            // A person reads this on the screens and in the API's problem: the date as
            // people write it.
            format!(
                "must be after the current due date, {}",
                crate::domain::words::day(current)
            ),
        ));
    }
    // The extension is stated as the new due date; pause days so far (including a running
    // pause) are already in it, later ones are added on top.
    row.extended_to = Some(due_on - chrono::Duration::days(i64::from(parts.paused_days)));
    let mut extensions: Vec<Extension> = from_json("extensions", &row.extensions)?;
    extensions.push(Extension {
        due_on,
        reason: reason.to_string(),
        by: who.user_id.clone(),
        at: at.and_utc(),
    });
    row.extensions = to_json(&extensions);
    refresh_due(rules, row)?;
    Ok(Effect::details(
        json!({"due_on": due_on, "previous_due_on": current, "reason": reason}),
    ))
}

fn override_eligibility<'a>(
    row: &mut RfaRow,
    refuse: &Refusal<'_>,
    who: &Principal,
    justification: &str,
    at: NaiveDateTime,
) -> Result<Effect<'a>, AppError> {
    let outcome = Outcome::parse(&row.eligibility_outcome).unwrap_or(Outcome::NeedsReview);
    if outcome == Outcome::Eligible {
        return Err(refuse.because("it is already eligible."));
    }
    let o = Override {
        justification: justification.to_string(),
        by: who.user_id.clone(),
        at: at.and_utc(),
        overridden: outcome,
    };
    row.eligibility_override = Some(to_json(&o));
    Ok(Effect::details(
        json!({"justification": justification, "overridden": outcome}),
    ))
}

fn record_assurance<'a>(
    c: &mut DbConnection,
    rules: &Rules,
    row: &mut RfaRow,
    who: &Principal,
    reference: &str,
    given_on: NaiveDate,
    at: NaiveDateTime,
) -> Result<Effect<'a>, AppError> {
    store::insert_assurance(
        c,
        &RfaAssuranceRow {
            id: new_id(),
            rfa_id: row.id.clone(),
            reference: reference.to_string(),
            given_on,
            recorded_by: who.user_id.clone(),
            recorded_at: at,
        },
    )?;
    Ok(Effect {
        evaluation: Some(evaluate(c, rules, row, rules.day_of(at))?),
        ..Effect::details(json!({"reference": reference, "given_on": given_on}))
    })
}

/// The documents a response names, as its event records them (id, name, SHA-256): each must
/// be one of this request's documents, not withdrawn.
fn documents_sent(
    c: &mut DbConnection,
    row: &RfaRow,
    ids: &[String],
) -> Result<Vec<Value>, AppError> {
    let mut errors = Errors::new();
    let mut sent = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match crate::db::documents::find(c, id)? {
            Some(d) if d.rfa_id == row.id && d.withdrawn_at.is_none() => sent.push(json!({
                "id": d.id,
                "file_name": d.file_name,
                "sha256": d.sha256,
            })),
            _ => errors.add(
                format!("documents[{i}]"),
                "is not a document of this request (or it was withdrawn)",
            ),
        }
    }
    errors.finish()?;
    Ok(sent)
}
