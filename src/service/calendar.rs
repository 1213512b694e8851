//! The daily check: eligibility that follows the calendar. A human-rights assessment past its
//! review date, or a standing assurance past its expiry, changes a decision without anyone
//! touching the registry; once a day every open request of every jurisdiction that has one is
//! evaluated again for that day, and each changed decision is recorded as an
//! `evaluate_eligibility` event by the system account (`db::users::SYSTEM_USER_ID`).
//!
//! Exactly once per day and jurisdiction across instances: the row of `calendar_runs` for the
//! day and jurisdiction is written in the same write transaction as the re-evaluation and its
//! events. A crash rolls both back (another instance, or the next round, does it); a second
//! instance meets the primary key and leaves that jurisdiction. Evaluating for the day itself
//! (not for the dates in the window since the last run) means a lapse on a day the service
//! was down is found on the first day it runs again.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use crate::db::calendar as calendar_store;
use crate::db::rfas as store;
use crate::db::users::SYSTEM_USER_ID;
use crate::db::{Database, DbConnection};
use crate::domain::eligibility::{Criterion, CriterionResult, Decision, Outcome};
use crate::domain::lifecycle::{RfaAction, State};
use crate::error::AppError;
use crate::service::Rules;
use crate::service::chain::{Appender, NewEvent};
use crate::service::eligibility::{apply_decision, evaluate, jurisdiction_facts};

/// A decision the check changed.
#[derive(Debug, Clone)]
pub struct Changed {
    pub rfa_id: String,
    pub reference: String,
    pub from: Option<Outcome>,
    pub to: Outcome,
    pub trigger: String,
}

/// What one pass of the check did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub day: Option<NaiveDate>,
    /// Jurisdictions this pass checked.
    pub checked: usize,
    /// Jurisdictions already checked that day (by this instance or another).
    pub already: usize,
    pub changed: Vec<Changed>,
}

/// Runs the check for the day of `rules.now()` in the reporting time zone, for every
/// jurisdiction with open requests that has not been checked that day.
pub async fn run(db: &Database, rules: Rules) -> Result<Report, AppError> {
    db.run(move |c| check_day(c, &rules)).await
}

fn check_day(c: &mut DbConnection, rules: &Rules) -> Result<Report, AppError> {
    let at = rules.now();
    let day = rules.day_of(at);
    let done: HashSet<String> = calendar_store::done_on(c, day)?.into_iter().collect();
    let mut report = Report {
        day: Some(day),
        ..Report::default()
    };
    for jurisdiction in calendar_store::jurisdictions_with_open_requests(c)? {
        if done.contains(&jurisdiction) {
            report.already += 1;
            continue;
        }
        match c.write(|c| check_jurisdiction(c, rules, day, at, &jurisdiction)) {
            Ok(changed) => {
                report.checked += 1;
                report.changed.extend(changed);
            }
            // Another instance checked it meanwhile (its row committed first).
            Err(AppError::Conflict(_)) => report.already += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// One jurisdiction on one day, inside the caller's write transaction.
fn check_jurisdiction(
    c: &mut DbConnection,
    rules: &Rules,
    day: NaiveDate,
    at: NaiveDateTime,
    jurisdiction_id: &str,
) -> Result<Vec<Changed>, AppError> {
    // The chain lock first, as every writer of events takes it: an intake or a registry
    // change racing this either committed before (and is read here) or waits.
    let mut chain = Appender::lock(c)?;
    calendar_store::insert_run(c, day, jurisdiction_id, at)?;
    let open = store::open_of_jurisdiction(c, jurisdiction_id)?;
    let evaluated = open.len();
    let mut changed = Vec::new();
    for mut row in open
        .into_iter()
        .filter(|r| r.state != State::Closed.as_str())
    {
        let was = row.clone();
        let old: Option<Decision> = serde_json::from_str(&row.eligibility).ok();
        let decision = evaluate(c, rules, &row, day)?;
        if !apply_decision(&mut row, &decision) {
            continue;
        }
        let trigger = trigger(c, jurisdiction_id, old.as_ref(), &decision, day)?;
        row.version += 1;
        row.updated_at = at;
        store::save(c, &row)?;
        let from = old.as_ref().map(|o| o.outcome);
        chain.append(
            c,
            NewEvent {
                rfa_id: &row.id,
                actor_id: SYSTEM_USER_ID,
                at,
                action: RfaAction::EvaluateEligibility.as_str(),
                state_before: Some(&row.state),
                state_after: &row.state,
                details: json!({
                    "trigger": trigger,
                    "decision": decision,
                    "previous_outcome": from.map(Outcome::as_str),
                }),
                was: Some(&was),
            },
        )?;
        changed.push(Changed {
            rfa_id: row.id.clone(),
            reference: row.reference.clone(),
            from,
            to: decision.outcome,
            trigger,
        });
    }
    calendar_store::finish_run(
        c,
        day,
        jurisdiction_id,
        i32::try_from(evaluated).unwrap_or(i32::MAX),
        i32::try_from(changed.len()).unwrap_or(i32::MAX),
    )?;
    Ok(changed)
}

/// What happened, in words a supervisor reads: which criterion the date changed, and why.
fn trigger(
    c: &mut DbConnection,
    jurisdiction_id: &str,
    old: Option<&Decision>,
    new: &Decision,
    day: NaiveDate,
) -> Result<String, AppError> {
    let result_of = |d: Option<&Decision>, which: Criterion| {
        d.and_then(|d| d.criteria.iter().find(|c| c.criterion == which))
            .map(|c| c.result)
    };
    let moved = |which| result_of(old, which) != result_of(Some(new), which);
    let facts = jurisdiction_facts(c, jurisdiction_id)?;
    let mut what = Vec::new();
    if moved(Criterion::HumanRights) {
        let lapsed = facts
            .as_ref()
            .and_then(|f| {
                f.assessments
                    .iter()
                    .filter(|a| a.assessed_on <= day)
                    .max_by_key(|a| a.assessed_on)
            })
            .filter(|a| a.review_due < day);
        what.push(match lapsed {
            Some(a)
                if result_of(Some(new), Criterion::HumanRights) != Some(CriterionResult::Pass) =>
            {
                format!(
                    "the human-rights assessment's review date ({}) passed",
                    a.review_due
                )
            }
            _ => "the human-rights assessment that applies changed with the date".into(),
        });
    }
    if moved(Criterion::DeathPenalty) {
        let expired = facts.as_ref().and_then(|f| {
            f.standing_assurances
                .iter()
                .filter(|a| a.expires_on.is_some_and(|e| e < day))
                .max_by_key(|a| a.expires_on)
        });
        what.push(match expired {
            Some(a) => format!(
                "an assurance expired ({}, valid until {})",
                a.reference,
                a.expires_on.map(|e| e.to_string()).unwrap_or_default()
            ),
            None => "the assurances that apply changed with the date".into(),
        });
    }
    if what.is_empty() {
        what.push(format!("the rules give another decision on {day}"));
    }
    Ok(format!("daily check: {}", what.join("; ")))
}

/// The check as the worker runs it: at its first round of each day, and again at later rounds
/// of that day until a pass completes (a failed pass is retried, a finished one not repeated).
pub struct DailyCheck {
    db: Database,
    rules: Rules,
    done: Mutex<Option<NaiveDate>>,
}

impl DailyCheck {
    pub fn new(db: Database, rules: Rules) -> Self {
        Self {
            db,
            rules,
            done: Mutex::new(None),
        }
    }

    /// Runs the check unless this instance finished it today; logs what it changed.
    pub async fn run_if_due(&self) {
        let today = self.rules.today();
        if self.done.lock().is_ok_and(|d| *d == Some(today)) {
            return;
        }
        match run(&self.db, self.rules).await {
            Ok(report) => {
                for ch in &report.changed {
                    tracing::info!(
                        rfa = %ch.reference,
                        from = ch.from.map_or("none", Outcome::as_str),
                        to = ch.to.as_str(),
                        trigger = %ch.trigger,
                        "the daily check changed an eligibility decision"
                    );
                }
                if report.checked > 0 {
                    tracing::info!(
                        day = %today,
                        checked = report.checked,
                        changed = report.changed.len(),
                        "daily eligibility check done"
                    );
                }
                if let Ok(mut d) = self.done.lock() {
                    *d = report.day;
                }
            }
            Err(e) => tracing::warn!(error = %e, "the daily eligibility check failed"),
        }
    }
}
