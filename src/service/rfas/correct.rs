//! Correcting the intake until the request is accepted: the corrected fields are checked
//! like a new intake, recorded as one event with each change from and to, and a day of
//! receipt that moves is told to the figures.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::intake::NewRfa;
use super::view::{
    self, Conduct, IntakeDetails, Requester, RfaView, confidentiality_of, from_json, priority_of,
    refresh_due, to_json,
};
use super::{Expected, change_one};
use crate::db::DbConnection;
use crate::db::registry as registry_store;
use crate::db::rfas::{self as store, RfaRow};
use crate::domain::ids::{AuthorityId, JurisdictionId, RfaId};
use crate::domain::lifecycle::{AssistanceType, Channel, Confidentiality};
use crate::domain::policy::{self, Principal};
use crate::domain::registry::{Crime, ProceedingType};
use crate::error::AppError;
use crate::service::accounts::Caller;
use crate::service::chain::{Appender, NewEvent};
use crate::service::day::ReceivedAt;
use crate::service::eligibility::{apply_decision, evaluate, record_decision};
use crate::service::validate::Errors;
use crate::service::{Rules, Services};

// `None` keeps a field as it is; clients see it described as `IntakePatch`.
/// Intake fields that can be corrected until the request is accepted.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IntakePatch)]
pub struct IntakeCorrection {
    #[schema(value_type = Option<String>)]
    pub authority_id: Option<AuthorityId>,
    /// An RFC 3339 date-time, or a day alone (the start of that day in the reporting time zone).
    #[schema(value_type = Option<String>)]
    pub received_at: Option<ReceivedAt>,
    pub channel: Option<Channel>,
    pub subject: Option<String>,
    pub description: Option<String>,
    pub requester: Option<Requester>,
    pub assistance_types: Option<Vec<AssistanceType>>,
    pub proceeding_type: Option<ProceedingType>,
    pub crimes: Option<Vec<Crime>>,
    pub conduct: Option<Conduct>,
    pub national_case_reference: Option<String>,
    pub confidentiality: Option<Confidentiality>,
    pub tags: Option<Vec<String>>,
}

impl IntakeCorrection {
    /// The intake with these corrections made.
    fn applied_to(self, rules: &Rules, mut r: NewRfa) -> NewRfa {
        fn keep<T>(field: &mut T, new: Option<T>) {
            if let Some(v) = new {
                *field = v;
            }
        }
        keep(&mut r.authority_id, self.authority_id);
        keep(
            &mut r.received_at,
            self.received_at.map(|t| t.moment(rules)),
        );
        keep(&mut r.channel, self.channel);
        keep(&mut r.subject, self.subject);
        keep(&mut r.description, self.description);
        keep(&mut r.requester, self.requester);
        keep(&mut r.assistance_types, self.assistance_types);
        keep(&mut r.proceeding_type, self.proceeding_type);
        keep(&mut r.crimes, self.crimes);
        keep(&mut r.conduct, self.conduct);
        keep(
            &mut r.national_case_reference,
            self.national_case_reference.map(Some),
        );
        keep(&mut r.confidentiality, self.confidentiality);
        keep(&mut r.tags, self.tags);
        r
    }
}

/// The stored intake, as the command that would log it.
fn intake_of(row: &RfaRow) -> Result<NewRfa, AppError> {
    let d: IntakeDetails = from_json("intake", &row.intake)?;
    Ok(NewRfa {
        jurisdiction_id: JurisdictionId::from_stored(row.jurisdiction_id.clone()),
        authority_id: AuthorityId::from_stored(row.authority_id.clone()),
        received_at: row.received_at.and_utc(),
        channel: d.channel,
        subject: row.subject.clone(),
        description: row.description.clone(),
        requester: d.requester,
        assistance_types: d.assistance_types,
        proceeding_type: d.proceeding_type,
        crimes: d.crimes,
        conduct: d.conduct,
        national_case_reference: d.national_case_reference,
        priority: priority_of(row)?,
        confidentiality: confidentiality_of(row).unwrap_or(Confidentiality::Restricted),
        tags: from_json("tags", &row.tags)?,
    })
}

/// Corrects the intake of a request for the caller.
pub async fn correct_intake(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    correction: IntakeCorrection,
    expected: Expected,
) -> Result<RfaView, AppError> {
    let action = policy::Action::EditIntake;
    change_one(
        svc,
        caller,
        id,
        action,
        expected,
        move |c, rules, chain, who, row| correct(c, rules, chain, who, row, correction),
    )
    .await
}

fn correct(
    c: &mut DbConnection,
    rules: &Rules,
    chain: &mut Appender,
    who: &Principal,
    mut row: RfaRow,
    correction: IntakeCorrection,
) -> Result<RfaView, AppError> {
    let before = view::state_of(&row)?;
    if !crate::domain::lifecycle::intake_correctable(before) {
        return Err(AppError::NotAllowedNow {
            detail: "The intake can be corrected only until the request is accepted.".into(),
            allowed_actions: view::allowed_actions(who, before, &row.jurisdiction_id)
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
        });
    }
    let old_json = serde_json::to_value(intake_of(&row)?).unwrap_or_default();
    let new = corrected(c, rules, &row, correction)?;
    let new_json = serde_json::to_value(&new).unwrap_or_default();
    let changed: Vec<String> = new_json
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| old_json.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    if changed.is_empty() {
        return view::view(c, rules, who, row);
    }
    let at = rules.now();
    let was = row.clone();
    let old_received_on = row.received_on;
    row.authority_id = new.authority_id.to_string();
    row.received_at = crate::clock::micros(new.received_at.naive_utc());
    row.received_on = rules.day_of(row.received_at);
    row.subject = new.subject.clone();
    row.description = new.description.clone();
    row.confidentiality = new.confidentiality.as_str().into();
    row.tags = to_json(&new.tags);
    row.intake = to_json(&IntakeDetails {
        channel: new.channel,
        requester: new.requester.clone(),
        assistance_types: new.assistance_types.clone(),
        proceeding_type: new.proceeding_type,
        crimes: new.crimes.clone(),
        conduct: new.conduct.clone(),
        national_case_reference: new.national_case_reference.clone(),
    });
    refresh_due(rules, &mut row)?;
    let decision = evaluate(c, rules, &row, rules.day_of(at))?;
    let eligibility_changed = apply_decision(&mut row, &decision);
    row.version += 1;
    row.updated_at = at;
    view::set_pause_key(rules, &mut row);
    store::save(c, &row)?;
    super::search::reindex(c, &row)?;
    store::set_tags(c, &row.id, &new.tags)?;
    let changes: serde_json::Map<String, Value> = changed
        .iter()
        .map(|k| {
            (
                k.clone(),
                json!({"from": old_json[k.as_str()], "to": new_json[k.as_str()]}),
            )
        })
        .collect();
    chain.append(
        c,
        NewEvent {
            rfa_id: &row.id,
            actor_id: &who.user_id,
            at,
            action: "edit_intake",
            state_before: Some(before.as_str()),
            state_after: before.as_str(),
            details: redated(json!({"changes": changes}), &row, old_received_on, &new),
            was: Some(&was),
        },
    )?;
    if eligibility_changed {
        let trigger = "intake corrected";
        record_decision(c, chain, &row, None, &who.user_id, at, trigger, &decision)?;
    }
    view::view(c, rules, who, row)
}

/// The intake with the correction made, checked like a new one. The day of receipt may move
/// into another year: the reference keeps its number (it has been sent to the requester)
/// and the figures follow the corrected day.
fn corrected(
    c: &mut DbConnection,
    rules: &Rules,
    row: &RfaRow,
    correction: IntakeCorrection,
) -> Result<NewRfa, AppError> {
    let mut errors = Errors::new();
    let new = correction
        .applied_to(rules, intake_of(row)?)
        .check(rules, &mut errors);
    let authority = new.authority_id.as_str();
    if registry_store::find_authority(c, &row.jurisdiction_id, authority)?.is_none() {
        errors.add("authority_id", "is not an authority of this jurisdiction");
    }
    errors.finish()?;
    Ok(new)
}

/// A correction that moves the day of receipt moves where the request counts as received.
fn redated(mut details: Value, row: &RfaRow, old: NaiveDate, new: &NewRfa) -> Value {
    if row.received_on != old {
        details["report"] = json!({
            "kind": "redated",
            "day": row.received_on,
            "day_from": old,
            "jurisdiction_id": row.jurisdiction_id,
            "priority": row.priority,
            "assistance_types": new.assistance_types,
        });
    }
    details
}
