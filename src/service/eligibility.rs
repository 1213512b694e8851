//! The glue between the registry and the RFAs: the facts the eligibility rules read about a
//! jurisdiction, evaluating an RFA against them, and evaluating every open RFA of a
//! jurisdiction again when its facts change. Both the registry and the RFA services use
//! this module; neither imports the other.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use crate::db::DbConnection;
use crate::db::registry as registry_store;
use crate::db::rfas::{self as store, RfaRow};
use crate::domain::eligibility::{
    self, Assessment, Assurance, Decision, JurisdictionFacts, RequestFacts,
};
use crate::domain::lifecycle::{RfaAction, State};
use crate::domain::registry::{
    AssessmentOutcome, AuthorityKind, CompetenceBasisEntry, Crime, DeathPenaltyStatus,
    ProceedingType,
};
use crate::error::AppError;
use crate::service::Rules;
use crate::service::chain::{Appender, NewEvent};

/// The part of a stored intake (`rfas.intake`, JSON) that the rules read.
#[derive(serde::Deserialize)]
struct StoredIntake {
    crimes: Vec<Crime>,
    conduct: StoredConduct,
    proceeding_type: ProceedingType,
}

#[derive(serde::Deserialize)]
struct StoredConduct {
    country_code: String,
    from: NaiveDate,
    to: Option<NaiveDate>,
}

fn stored<T>(what: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, AppError> {
    parse(value).ok_or_else(|| AppError::internal(format!("stored {what} `{value}` is not known")))
}

fn stored_json<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, AppError> {
    serde_json::from_str(json).map_err(|e| AppError::internal(format!("stored {what}: {e}")))
}

/// What the eligibility rules need to know about a jurisdiction.
pub fn jurisdiction_facts(
    c: &mut DbConnection,
    id: &str,
) -> Result<Option<JurisdictionFacts>, AppError> {
    let Some(row) = registry_store::find_jurisdiction(c, id)? else {
        return Ok(None);
    };
    let bases: Vec<CompetenceBasisEntry> = stored_json("competence bases", &row.competence_bases)?;
    // The store lists assessments newest first; the engine takes them in recording order.
    let assessments = registry_store::assessments_of(c, id)?
        .into_iter()
        .rev()
        .map(|a| {
            Ok(Assessment {
                outcome: stored("assessment outcome", &a.outcome, AssessmentOutcome::parse)?,
                assessed_on: a.assessed_on,
                review_due: a.review_due,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let standing_assurances = registry_store::assurances_of(c, id)?
        .into_iter()
        .map(|a| {
            Ok(Assurance {
                scope: stored_json::<Vec<Crime>>("crimes", &a.scope)?,
                reference: a.reference,
                given_on: a.given_on,
                expires_on: a.expires_on,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Some(JurisdictionFacts {
        death_penalty: stored(
            "death-penalty status",
            &row.death_penalty_status,
            DeathPenaltyStatus::parse,
        )?,
        country_code: row.country_code,
        active: row.active,
        bases: bases.into_iter().map(|b| (b.basis, b.crimes)).collect(),
        assessments,
        standing_assurances,
    }))
}

/// Evaluates an RFA against the registry's current facts, for the day `on`.
pub fn evaluate(
    c: &mut DbConnection,
    rules: &Rules,
    row: &RfaRow,
    on: NaiveDate,
) -> Result<Decision, AppError> {
    let intake: StoredIntake = stored_json("intake", &row.intake)?;
    let jurisdiction = jurisdiction_facts(c, &row.jurisdiction_id)?
        .ok_or_else(|| AppError::internal("the RFA's jurisdiction is gone"))?;
    let authority = registry_store::find_authority(c, &row.jurisdiction_id, &row.authority_id)?
        .ok_or_else(|| AppError::internal("the RFA's authority is gone"))?;
    let assurances = store::assurances_of(c, &row.id)?
        .into_iter()
        .map(|a| Assurance {
            reference: a.reference,
            given_on: a.given_on,
            expires_on: None,
            scope: Vec::new(),
        })
        .collect();
    let facts = RequestFacts {
        crimes: intake.crimes,
        conduct_country: intake.conduct.country_code,
        conduct_from: intake.conduct.from,
        conduct_to: intake.conduct.to,
        proceeding: intake.proceeding_type,
        authority_kind: stored("authority kind", &authority.kind, AuthorityKind::parse)?,
        authority_active: authority.active,
        assurances,
    };
    Ok(eligibility::evaluate(
        &facts,
        &jurisdiction,
        &rules.eligibility,
        on,
    ))
}

/// Stores a new decision on the row (not saved) and says whether it differs from the old one.
pub fn apply_decision(row: &mut RfaRow, decision: &Decision) -> bool {
    let old: Option<Decision> = serde_json::from_str(&row.eligibility).ok();
    let changed = old.is_none_or(|o| {
        o.outcome != decision.outcome
            || o.criteria
                .iter()
                .map(|c| c.result)
                .ne(decision.criteria.iter().map(|c| c.result))
    });
    row.eligibility = serde_json::to_string(decision).unwrap_or_else(|_| "null".into());
    row.eligibility_outcome = decision.outcome.as_str().into();
    changed
}

/// Records an eligibility decision as an event of the request's own (its state unchanged).
/// `was` is the row before the decision was applied, when the caller has not recorded that
/// change in an event of its own.
#[allow(clippy::too_many_arguments)]
pub fn record_decision(
    c: &mut DbConnection,
    chain: &mut Appender,
    row: &RfaRow,
    was: Option<&RfaRow>,
    actor: &str,
    at: NaiveDateTime,
    trigger: &str,
    decision: &Decision,
) -> Result<(), AppError> {
    chain.append(
        c,
        NewEvent {
            rfa_id: &row.id,
            actor_id: actor,
            at,
            action: RfaAction::EvaluateEligibility.as_str(),
            state_before: Some(&row.state),
            state_after: &row.state,
            details: json!({"trigger": trigger, "decision": decision}),
            was,
        },
    )?;
    Ok(())
}

/// When the registry's facts about a jurisdiction change, every open RFA of it is evaluated
/// again inside the same transaction; each changed decision is recorded as an event.
pub fn facts_changed(
    c: &mut DbConnection,
    rules: &Rules,
    jurisdiction_id: &str,
    actor: &str,
    what: &str,
) -> Result<usize, AppError> {
    // Lock first: an intake racing this change either committed before (and is listed) or
    // waits and reads the new facts.
    let mut chain = Appender::lock(c)?;
    let open = store::open_of_jurisdiction(c, jurisdiction_id)?;
    let mut changed = 0;
    let at = rules.now();
    // Read again under the lock: a concurrent change may have landed meanwhile.
    for rfa in open {
        let Some(mut row) = store::find(c, &rfa.id)?.filter(|r| r.state != State::Closed.as_str())
        else {
            continue;
        };
        let was = row.clone();
        let decision = evaluate(c, rules, &row, rules.day_of(at))?;
        if !apply_decision(&mut row, &decision) {
            continue;
        }
        row.version += 1;
        row.updated_at = at;
        store::save(c, &row)?;
        record_decision(c, &mut chain, &row, Some(&was), actor, at, what, &decision)?;
        changed += 1;
    }
    Ok(changed)
}
