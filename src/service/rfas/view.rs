//! What the RFA services answer with: the case view (with its eligibility, due date and the
//! actions the caller may take now) and the events of its history, built from stored rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use std::collections::HashMap;

use super::summary::PersonName;
use crate::db::DbConnection;
use crate::db::rfas::{EventRow, RfaRow};
use crate::domain::eligibility::{Decision, Outcome};
use crate::domain::lifecycle::{
    self, AssistanceType, Channel, ClosingOutcome, Confidentiality, DueParts, Priority, RfaAction,
    State,
};
use crate::domain::policy::{Decision as Access, Principal, Resource, authorize};
use crate::domain::registry::{Crime, ProceedingType};
use crate::error::AppError;
use crate::service::Rules;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    #[schema(min_length = 1)]
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Conduct {
    /// ISO 3166-1 alpha-2 code of where the alleged conduct took place.
    pub country_code: String,
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub from: NaiveDate,
    #[serde(default, deserialize_with = "crate::service::day::optional")]
    pub to: Option<NaiveDate>,
}

/// The intake as stored beside the queried columns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct IntakeDetails {
    pub channel: Channel,
    pub requester: Requester,
    pub assistance_types: Vec<AssistanceType>,
    pub proceeding_type: ProceedingType,
    pub crimes: Vec<Crime>,
    pub conduct: Conduct,
    pub national_case_reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Extension {
    pub due_on: NaiveDate,
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Override {
    pub justification: String,
    pub by: String,
    pub at: DateTime<Utc>,
    /// The outcome that was overridden.
    pub overridden: Outcome,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityView {
    #[serde(flatten)]
    pub decision: Decision,
    /// A supervisor's written override of a non-eligible outcome (`override` in JSON).
    #[serde(rename = "override")]
    pub override_: Option<Override>,
}

/// How the due date was reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueExplanation {
    pub due_on: NaiveDate,
    #[serde(flatten)]
    pub parts: DueParts,
    /// Set while the clock is paused (awaiting the requester).
    pub paused_since: Option<DateTime<Utc>>,
    pub extensions: Vec<Extension>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfaView {
    pub id: String,
    pub reference: String,
    pub state: State,
    pub outcome: Option<ClosingOutcome>,
    pub priority: Priority,
    pub assignee_id: Option<String>,
    /// The assignee by name (`null` when unassigned).
    pub assignee: Option<PersonName>,
    pub jurisdiction_id: String,
    pub authority_id: String,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub subject: String,
    pub description: String,
    pub requester: Requester,
    pub assistance_types: Vec<AssistanceType>,
    pub proceeding_type: ProceedingType,
    pub crimes: Vec<Crime>,
    pub conduct: Conduct,
    pub national_case_reference: Option<String>,
    pub confidentiality: Confidentiality,
    pub tags: Vec<String>,
    pub due_on: NaiveDate,
    pub overdue: bool,
    pub due: DueExplanation,
    pub eligibility: EligibilityView,
    /// What the caller may do now, given the state and their roles.
    pub allowed_actions: Vec<RfaAction>,
    /// The caller may correct the intake details now (`PATCH /api/v1/rfas/{id}`): until
    /// the request is accepted, for those who may edit it.
    pub intake_editable: bool,
    /// Send as `If-Match` (it is also the `ETag`).
    pub version: i64,
    pub created_by: String,
    /// Who logged the request, by name.
    pub creator: PersonName,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfaPage {
    pub items: Vec<RfaView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub rfa_id: String,
    pub actor_id: String,
    /// Who did it, by name.
    pub actor: PersonName,
    pub at: DateTime<Utc>,
    pub action: String,
    pub state_before: Option<String>,
    pub state_after: String,
    #[schema(value_type = Object)]
    pub details: Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventView>,
    pub next_cursor: Option<String>,
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    json: &str,
) -> Result<T, AppError> {
    serde_json::from_str(json).map_err(|e| AppError::internal(format!("stored {what}: {e}")))
}

pub(super) fn to_json(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

pub(super) fn state_of(row: &RfaRow) -> Result<State, AppError> {
    State::parse(&row.state).ok_or_else(|| AppError::internal("stored state unknown"))
}

pub(super) fn priority_of(row: &RfaRow) -> Result<Priority, AppError> {
    Priority::parse(&row.priority).ok_or_else(|| AppError::internal("stored priority unknown"))
}

pub(super) fn confidentiality_of(row: &RfaRow) -> Result<Confidentiality, AppError> {
    Confidentiality::parse(&row.confidentiality)
        .ok_or_else(|| AppError::internal("stored confidentiality unknown"))
}

/// The parts of the due date; with a running pause counted up to today, or without it (as
/// stored).
pub(super) fn due_parts(
    rules: &Rules,
    row: &RfaRow,
    with_running_pause: bool,
) -> Result<DueParts, AppError> {
    Ok(due_of(
        rules,
        priority_of(row)?,
        row.received_on,
        row.paused_days,
        row.paused_since,
        row.extended_to,
        with_running_pause,
    ))
}

/// The parts of a due date from the stored columns they come from.
pub(super) fn due_of(
    rules: &Rules,
    priority: Priority,
    received_on: NaiveDate,
    paused_days: i32,
    paused_since: Option<NaiveDateTime>,
    extended_to: Option<NaiveDate>,
    with_running_pause: bool,
) -> DueParts {
    let running = match (with_running_pause, paused_since) {
        (true, Some(since)) => lifecycle::pause_days(rules.day_of(since), rules.today()),
        _ => 0,
    };
    DueParts {
        received_on,
        priority,
        target_days: rules.targets.days(priority),
        paused_days: u32::try_from(paused_days).unwrap_or(0) + running,
        extended_to,
    }
}

/// The index key of a paused request's due date (`db::rfas::PAUSE_EPOCH`), kept with every
/// write of the row: none while the clock runs.
pub(super) fn set_pause_key(rules: &Rules, row: &mut RfaRow) {
    row.paused_due_key = row
        .paused_since
        .map(|since| crate::db::rfas::pause_key(row.due_on, rules.day_of(since)));
}

/// Gives requests paused before the due key existed their key (at start; once).
pub fn fill_pause_keys(c: &mut DbConnection, rules: &Rules) -> Result<usize, AppError> {
    let rows = crate::db::rfas::paused_without_key(c)?;
    for (id, due_on, since) in &rows {
        let key = crate::db::rfas::pause_key(*due_on, rules.day_of(*since));
        crate::db::rfas::set_pause_key(c, id, key)?;
    }
    Ok(rows.len())
}

/// Recomputes the stored due date (without a running pause) from its parts.
pub(super) fn refresh_due(rules: &Rules, row: &mut RfaRow) -> Result<(), AppError> {
    row.due_on = due_parts(rules, row, false)?.due_on();
    Ok(())
}

/// Actions the state allows and the user's roles permit on this RFA.
pub fn allowed_actions(p: &Principal, state: State, jurisdiction_id: &str) -> Vec<RfaAction> {
    lifecycle::allowed_in(state)
        .into_iter()
        .filter(|a| {
            authorize(
                p,
                lifecycle::permission(*a),
                Resource::Rfa { jurisdiction_id },
            ) == Access::Allow
        })
        .collect()
}

/// Why a request cannot be accepted now, if it cannot: it needs an assignee, and to be
/// eligible or overridden (an override answers the outcome it was given for; a later,
/// different outcome needs a new look).
pub(super) fn why_not_accept(
    assigned: bool,
    eligibility_outcome: &str,
    eligibility_override: Option<&str>,
) -> Option<&'static str> {
    let overridden = eligibility_override
        .and_then(|o| serde_json::from_str::<Override>(o).ok())
        .map(|o| o.overridden);
    accept_blocker(assigned, eligibility_outcome, overridden)
}

fn accept_blocker(
    assigned: bool,
    eligibility_outcome: &str,
    overridden: Option<Outcome>,
) -> Option<&'static str> {
    if !assigned {
        return Some("assign it to someone first.");
    }
    let eligible = eligibility_outcome == Outcome::Eligible.as_str();
    let overridden = overridden.is_some_and(|o| o.as_str() == eligibility_outcome);
    (!eligible && !overridden)
        .then_some("it is not eligible and no supervisor has overridden that with a justification.")
}

/// For a caller whose roles would let them accept `rfa` in its state, why they cannot yet
/// (the screens say it beside the actions rather than leave the button out unexplained).
pub fn why_not_accept_now(p: &Principal, rfa: &RfaView) -> Option<&'static str> {
    let state_and_roles = allowed_actions(p, rfa.state, &rfa.jurisdiction_id);
    if !state_and_roles.contains(&RfaAction::Accept) {
        return None;
    }
    accept_blocker(
        rfa.assignee_id.is_some(),
        rfa.eligibility.decision.outcome.as_str(),
        rfa.eligibility.override_.as_ref().map(|o| o.overridden),
    )
}

/// What the caller may do now: what the state allows and their roles permit, less what a
/// rule would refuse at once (accepting before there is an assignee or while not eligible
/// and not overridden; overriding an outcome that is eligible).
pub(super) fn actions_now(
    p: &Principal,
    state: State,
    jurisdiction_id: &str,
    assigned: bool,
    eligibility_outcome: &str,
    eligibility_override: Option<&str>,
) -> Vec<RfaAction> {
    let mut actions = allowed_actions(p, state, jurisdiction_id);
    actions.retain(|a| match a {
        RfaAction::Accept => {
            why_not_accept(assigned, eligibility_outcome, eligibility_override).is_none()
        }
        RfaAction::OverrideEligibility => eligibility_outcome != Outcome::Eligible.as_str(),
        _ => true,
    });
    actions
}

/// The display names of users, by id, for views that name people.
pub(super) type Names = HashMap<String, String>;

/// The names of the users given, in one query.
pub(super) fn names_of<'a>(
    c: &mut DbConnection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Names, AppError> {
    let mut ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
    ids.sort();
    ids.dedup();
    Ok(crate::db::users::display_names(c, &ids)?
        .into_iter()
        .collect())
}

/// A user by name; one the database no longer names (or the command line's nil user) is
/// shown as such rather than refused.
pub(super) fn person(names: &Names, id: &str) -> PersonName {
    PersonName {
        id: id.to_string(),
        display_name: names
            .get(id)
            .cloned()
            .unwrap_or_else(|| "Unknown user".into()),
    }
}

/// The full view of one request, with its people named.
pub(super) fn view(
    c: &mut DbConnection,
    rules: &Rules,
    p: &Principal,
    row: RfaRow,
) -> Result<RfaView, AppError> {
    let names = names_of(
        c,
        std::iter::once(row.created_by.as_str()).chain(row.assignee_id.as_deref()),
    )?;
    view_named(rules, p, row, &names)
}

/// The full view, with names already looked up (a page of requests needs one query).
pub(super) fn view_named(
    rules: &Rules,
    p: &Principal,
    row: RfaRow,
    names: &Names,
) -> Result<RfaView, AppError> {
    let state = state_of(&row)?;
    let details: IntakeDetails = from_json("intake", &row.intake)?;
    let parts = due_parts(rules, &row, true)?;
    let due_on = parts.due_on();
    Ok(RfaView {
        allowed_actions: actions_now(
            p,
            state,
            &row.jurisdiction_id,
            row.assignee_id.is_some(),
            &row.eligibility_outcome,
            row.eligibility_override.as_deref(),
        ),
        intake_editable: lifecycle::intake_correctable(state)
            && authorize(
                p,
                crate::domain::policy::Action::EditIntake,
                Resource::Rfa {
                    jurisdiction_id: &row.jurisdiction_id,
                },
            ) == Access::Allow,
        overdue: lifecycle::overdue(state, due_on, rules.today()),
        due: DueExplanation {
            due_on,
            parts,
            paused_since: row.paused_since.map(|t| t.and_utc()),
            extensions: from_json("extensions", &row.extensions)?,
        },
        due_on,
        eligibility: EligibilityView {
            decision: from_json("eligibility", &row.eligibility)?,
            override_: row
                .eligibility_override
                .as_deref()
                .map(|o| from_json("override", o))
                .transpose()?,
        },
        outcome: row.outcome.as_deref().and_then(ClosingOutcome::parse),
        priority: priority_of(&row)?,
        confidentiality: confidentiality_of(&row)?,
        state,
        id: row.id,
        reference: row.reference,
        assignee: row.assignee_id.as_deref().map(|id| person(names, id)),
        assignee_id: row.assignee_id,
        jurisdiction_id: row.jurisdiction_id,
        authority_id: row.authority_id,
        received_at: row.received_at.and_utc(),
        channel: details.channel,
        subject: row.subject,
        description: row.description,
        requester: details.requester,
        assistance_types: details.assistance_types,
        proceeding_type: details.proceeding_type,
        crimes: details.crimes,
        conduct: details.conduct,
        national_case_reference: details.national_case_reference,
        tags: from_json("tags", &row.tags)?,
        version: row.version,
        creator: person(names, &row.created_by),
        created_by: row.created_by,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

pub(super) fn event_view(e: EventRow, names: &Names) -> EventView {
    EventView {
        actor: person(names, &e.actor_id),
        details: serde_json::from_str(&e.details).unwrap_or(Value::Null),
        seq: e.seq,
        rfa_id: e.rfa_id,
        actor_id: e.actor_id,
        at: e.at.and_utc(),
        action: e.action,
        state_before: e.state_before,
        state_after: e.state_after,
        prev_hash: e.prev_hash,
        hash: e.hash,
    }
}
