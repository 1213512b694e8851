//! A request as a list row: what a queue page or a bulk result shows of each request, with
//! the names a person reads (the jurisdiction, the assignee), read from the columns alone.
//! A page costs one query for its rows and one each for the jurisdictions' and people's
//! names, whatever its length.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::view::{actions_now, due_of};
use crate::db::DbConnection;
use crate::db::registry as registry_store;
use crate::db::rfas::{RfaRow, RfaSummaryRow};
use crate::domain::eligibility::Outcome;
use crate::domain::lifecycle::{self, ClosingOutcome, Priority, RfaAction, State};
use crate::domain::policy::Principal;
use crate::error::AppError;
use crate::service::Rules;

/// A jurisdiction as a list names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JurisdictionName {
    pub id: String,
    pub name: String,
}

/// A colleague as a list names them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonName {
    pub id: String,
    pub display_name: String,
}

/// The eligibility outcome alone (the criteria are on the request itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EligibilitySummary {
    pub outcome: Outcome,
}

/// A request as a list row. `GET /api/v1/rfas/{id}` (or the queue with `view=full`) gives
/// everything else.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RfaSummary {
    pub id: String,
    pub reference: String,
    pub subject: String,
    pub state: State,
    pub outcome: Option<ClosingOutcome>,
    pub priority: Priority,
    pub jurisdiction: JurisdictionName,
    pub assignee_id: Option<String>,
    pub assignee: Option<PersonName>,
    pub received_at: DateTime<Utc>,
    /// With a running pause counted up to today.
    pub due_on: NaiveDate,
    pub overdue: bool,
    pub eligibility: EligibilitySummary,
    /// What the caller may do now, given the state and their roles.
    pub allowed_actions: Vec<RfaAction>,
    /// Send as `If-Match` to change the request.
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RfaSummaryPage {
    pub items: Vec<RfaSummary>,
    pub next_cursor: Option<String>,
}

/// The list row of a full row (a bulk result's request after its change).
pub(super) fn summary_row(r: &RfaRow) -> RfaSummaryRow {
    RfaSummaryRow {
        id: r.id.clone(),
        reference: r.reference.clone(),
        jurisdiction_id: r.jurisdiction_id.clone(),
        received_at: r.received_at,
        subject: r.subject.clone(),
        priority: r.priority.clone(),
        priority_rank: r.priority_rank,
        state: r.state.clone(),
        outcome: r.outcome.clone(),
        assignee_id: r.assignee_id.clone(),
        eligibility_outcome: r.eligibility_outcome.clone(),
        eligibility_override: r.eligibility_override.clone(),
        received_on: r.received_on,
        due_on: r.due_on,
        paused_days: r.paused_days,
        paused_since: r.paused_since,
        extended_to: r.extended_to,
        paused_due_key: r.paused_due_key,
        version: r.version,
        updated_at: r.updated_at,
    }
}

fn names(pairs: Vec<(String, String)>) -> HashMap<String, String> {
    pairs.into_iter().collect()
}

/// The rows as the caller's list shows them, with their names looked up once for all.
pub(super) fn summaries(
    c: &mut DbConnection,
    rules: &Rules,
    who: &Principal,
    rows: Vec<RfaSummaryRow>,
) -> Result<Vec<RfaSummary>, AppError> {
    let distinct = |ids: Vec<&String>| {
        let mut ids: Vec<String> = ids.into_iter().cloned().collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let places = distinct(rows.iter().map(|r| &r.jurisdiction_id).collect());
    let places = names(registry_store::jurisdiction_names_of(c, &places)?);
    let people = super::view::names_of(c, rows.iter().filter_map(|r| r.assignee_id.as_deref()))?;
    let today = rules.today();
    rows.into_iter()
        .map(|r| {
            let state =
                State::parse(&r.state).ok_or_else(|| AppError::internal("stored state unknown"))?;
            let priority = Priority::parse(&r.priority)
                .ok_or_else(|| AppError::internal("stored priority unknown"))?;
            let due_on = due_of(
                rules,
                priority,
                r.received_on,
                r.paused_days,
                r.paused_since,
                r.extended_to,
                true,
            )
            .due_on();
            let eligibility = Outcome::parse(&r.eligibility_outcome)
                .ok_or_else(|| AppError::internal("stored eligibility outcome unknown"))?;
            Ok(RfaSummary {
                allowed_actions: actions_now(
                    who,
                    state,
                    &r.jurisdiction_id,
                    r.assignee_id.is_some(),
                    &r.eligibility_outcome,
                    r.eligibility_override.as_deref(),
                ),
                overdue: lifecycle::overdue(state, due_on, today),
                jurisdiction: JurisdictionName {
                    name: places.get(&r.jurisdiction_id).cloned().unwrap_or_default(),
                    id: r.jurisdiction_id,
                },
                assignee: r
                    .assignee_id
                    .as_deref()
                    .map(|id| super::view::person(&people, id)),
                outcome: r.outcome.as_deref().and_then(ClosingOutcome::parse),
                eligibility: EligibilitySummary {
                    outcome: eligibility,
                },
                due_on,
                state,
                priority,
                id: r.id,
                reference: r.reference,
                subject: r.subject,
                assignee_id: r.assignee_id,
                received_at: r.received_at.and_utc(),
                version: r.version,
            })
        })
        .collect()
}
