//! The registry: jurisdictions with the facts the eligibility rules read, and the
//! authorities that send requests. Administrators write; liaison officers and supervisors
//! read; every entry point checks the caller itself. Every change is recorded with who made
//! it and when, and open requests of the jurisdiction are evaluated again.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::registry::{
    self as store, AssessmentRow, AssuranceRow, AuthorityChanges, AuthorityRow, ChangeRow,
    FrameworkRow, JurisdictionChanges, JurisdictionRow,
};
use crate::domain::email::Email;
use crate::domain::ids::{AuthorityId, JurisdictionId};
use crate::domain::policy::Action;
pub use crate::domain::registry::CompetenceBasisEntry;
use crate::domain::registry::{
    AssessmentOutcome, AuthorityKind, CompetenceBasis, Crime, DeathPenaltyStatus, FrameworkKind,
    country_code,
};
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::{Caller, new_id};
use crate::service::eligibility::facts_changed;
use crate::service::paging::{decode_cursor, encode_cursor, page};
use crate::service::trail::{Subject, Trail};
use crate::service::validate::Errors;
use crate::service::validate::Expected;

const MAX_NAME: usize = 200;
const MAX_SUMMARY: usize = 10_000;
const MAX_BASES: usize = 10;

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn not_found() -> AppError {
    AppError::NotFound("No such jurisdiction.".into())
}

// ---------------------------------------------------------------------------------------
// Wire types

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJurisdiction {
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    pub death_penalty_status: DeathPenaltyStatus,
    pub competence_bases: Vec<CompetenceBasisEntry>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateJurisdiction {
    pub name: Option<String>,
    pub country_code: Option<String>,
    pub death_penalty_status: Option<DeathPenaltyStatus>,
    pub competence_bases: Option<Vec<CompetenceBasisEntry>>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssessment {
    pub outcome: AssessmentOutcome,
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub assessed_on: NaiveDate,
    /// When the assessment must be reviewed; after that it no longer counts as current.
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub review_due: NaiveDate,
    pub assessor: String,
    pub summary: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssurance {
    pub reference: String,
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub given_on: NaiveDate,
    /// The crimes it covers; empty or absent means every crime.
    #[serde(default)]
    pub scope: Vec<Crime>,
    #[serde(default, deserialize_with = "crate::service::day::optional")]
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFramework {
    pub kind: FrameworkKind,
    pub reference: String,
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub signed_on: NaiveDate,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAuthority {
    pub name: String,
    pub kind: AuthorityKind,
    pub contact_email: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAuthority {
    pub name: Option<String>,
    pub kind: Option<AuthorityKind>,
    /// An empty string removes the contact address.
    pub contact_email: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentView {
    pub id: String,
    pub outcome: AssessmentOutcome,
    pub assessed_on: NaiveDate,
    pub review_due: NaiveDate,
    pub assessor: String,
    pub summary: String,
    pub recorded_by: String,
    pub recorded_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssuranceView {
    pub id: String,
    pub reference: String,
    pub given_on: NaiveDate,
    pub scope: Vec<Crime>,
    pub expires_on: Option<NaiveDate>,
    pub recorded_by: String,
    pub recorded_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameworkView {
    pub id: String,
    pub kind: FrameworkKind,
    pub reference: String,
    pub signed_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JurisdictionView {
    pub id: String,
    pub name: String,
    pub country_code: String,
    pub death_penalty_status: DeathPenaltyStatus,
    pub competence_bases: Vec<CompetenceBasisEntry>,
    pub active: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
    /// Counts the changes to the fields above; a PATCH names it in `If-Match` (also the
    /// `ETag` header).
    pub version: i64,
    /// The assessment that counts (the latest by assessment date).
    pub latest_assessment: Option<AssessmentView>,
    /// Every assessment, newest first.
    pub assessments: Vec<AssessmentView>,
    pub assurances: Vec<AssuranceView>,
    pub frameworks: Vec<FrameworkView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JurisdictionPage {
    pub items: Vec<JurisdictionView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorityView {
    pub id: String,
    pub jurisdiction_id: String,
    pub name: String,
    pub kind: AuthorityKind,
    pub contact_email: Option<String>,
    pub active: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
    /// Counts its changes; a PATCH names it in `If-Match` (also the `ETag` header).
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorityPage {
    pub items: Vec<AuthorityView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub id: String,
    /// `jurisdiction`, `assessment`, `assurance`, `framework` or `authority`.
    pub entity: String,
    pub entity_id: String,
    /// `created` or `updated`.
    pub action: String,
    pub actor_id: String,
    /// Who made the change, by name.
    pub actor_name: String,
    pub at: chrono::DateTime<Utc>,
    /// The values after the change.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub items: Vec<ChangeView>,
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Rows to views

fn parse_or_internal<T>(
    what: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, AppError> {
    parse(value).ok_or_else(|| AppError::internal(format!("stored {what} `{value}` is not known")))
}

fn crimes_from_json(json: &str) -> Result<Vec<Crime>, AppError> {
    serde_json::from_str(json).map_err(|e| AppError::internal(format!("stored crimes: {e}")))
}

fn bases_from_json(json: &str) -> Result<Vec<CompetenceBasisEntry>, AppError> {
    serde_json::from_str(json)
        .map_err(|e| AppError::internal(format!("stored competence bases: {e}")))
}

fn assessment_view(r: AssessmentRow) -> Result<AssessmentView, AppError> {
    Ok(AssessmentView {
        outcome: parse_or_internal("assessment outcome", &r.outcome, AssessmentOutcome::parse)?,
        id: r.id,
        assessed_on: r.assessed_on,
        review_due: r.review_due,
        assessor: r.assessor,
        summary: r.summary,
        recorded_by: r.recorded_by,
        recorded_at: r.recorded_at.and_utc(),
    })
}

fn assurance_view(r: AssuranceRow) -> Result<AssuranceView, AppError> {
    Ok(AssuranceView {
        scope: crimes_from_json(&r.scope)?,
        id: r.id,
        reference: r.reference,
        given_on: r.given_on,
        expires_on: r.expires_on,
        recorded_by: r.recorded_by,
        recorded_at: r.recorded_at.and_utc(),
    })
}

fn framework_view(r: FrameworkRow) -> Result<FrameworkView, AppError> {
    Ok(FrameworkView {
        kind: parse_or_internal("framework kind", &r.kind, FrameworkKind::parse)?,
        id: r.id,
        reference: r.reference,
        signed_on: r.signed_on,
        recorded_by: r.recorded_by,
        recorded_at: r.recorded_at.and_utc(),
    })
}

fn authority_view(r: AuthorityRow) -> Result<AuthorityView, AppError> {
    Ok(AuthorityView {
        kind: parse_or_internal("authority kind", &r.kind, AuthorityKind::parse)?,
        id: r.id,
        jurisdiction_id: r.jurisdiction_id,
        name: r.name,
        contact_email: r.contact_email,
        active: r.active,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
        version: r.version,
    })
}

fn jurisdiction_view(
    c: &mut DbConnection,
    r: JurisdictionRow,
) -> Result<JurisdictionView, AppError> {
    let assessments = store::assessments_of(c, &r.id)?
        .into_iter()
        .map(assessment_view)
        .collect::<Result<Vec<_>, _>>()?;
    let assurances = store::assurances_of(c, &r.id)?
        .into_iter()
        .map(assurance_view)
        .collect::<Result<Vec<_>, _>>()?;
    let frameworks = store::frameworks_of(c, &r.id)?
        .into_iter()
        .map(framework_view)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JurisdictionView {
        death_penalty_status: parse_or_internal(
            "death-penalty status",
            &r.death_penalty_status,
            DeathPenaltyStatus::parse,
        )?,
        competence_bases: bases_from_json(&r.competence_bases)?,
        latest_assessment: assessments.first().cloned(),
        assessments,
        assurances,
        frameworks,
        id: r.id,
        name: r.name,
        country_code: r.country_code,
        active: r.active,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
        version: r.version,
    })
}

// ---------------------------------------------------------------------------------------
// Validation

fn check_bases(errors: &mut Errors, bases: &[CompetenceBasisEntry]) -> String {
    let kinds: Vec<CompetenceBasis> = bases.iter().map(|b| b.basis).collect();
    errors.distinct("competence_bases", &kinds, MAX_BASES);
    for (i, b) in bases.iter().enumerate() {
        if b.crimes.is_empty() {
            errors.add(
                format!("competence_bases[{i}].crimes"),
                "must name at least one crime",
            );
        }
        errors.distinct(
            &format!("competence_bases[{i}].crimes"),
            &b.crimes,
            Crime::ALL.len(),
        );
    }
    serde_json::to_string(bases).unwrap_or_else(|_| "[]".into())
}

fn check_country(errors: &mut Errors, raw: &str) -> String {
    match country_code(raw) {
        Some(code) => code,
        None => {
            errors.add("country_code", "is not an ISO 3166-1 alpha-2 country code");
            String::new()
        }
    }
}

fn check_contact(errors: &mut Errors, raw: &str) -> Option<String> {
    if raw.trim().is_empty() {
        return None;
    }
    match Email::parse(raw) {
        Ok(e) => Some(e.into_string()),
        Err(m) => {
            errors.add("contact_email", m);
            None
        }
    }
}

/// Appends to the registry's record of changes, and the change's event to the trail of
/// accounts and the registry (`trail`: taken before the change).
#[allow(clippy::too_many_arguments)]
fn record(
    c: &mut DbConnection,
    trail: Trail,
    jurisdiction_id: &str,
    entity: &str,
    entity_id: &str,
    action: &str,
    actor: &str,
    details: &impl Serialize,
) -> Result<(), AppError> {
    trail.append(
        c,
        actor,
        now(),
        &format!("{entity}_{action}"),
        Some((entity, entity_id)),
    )?;
    store::record_change(
        c,
        &ChangeRow {
            id: new_id(),
            jurisdiction_id: jurisdiction_id.to_string(),
            entity: entity.to_string(),
            entity_id: entity_id.to_string(),
            action: action.to_string(),
            actor_id: actor.to_string(),
            at: now(),
            details: serde_json::to_string(details).unwrap_or_else(|_| "{}".into()),
        },
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Jurisdictions

/// The caller, if they may write the registry: the actor its records name.
async fn writer(svc: &Services, caller: Caller) -> Result<String, AppError> {
    let who = caller.resolve(svc, Some(Action::WriteRegistry)).await?;
    Ok(who.user_id().to_string())
}

pub async fn create_jurisdiction(
    svc: &Services,
    caller: Caller,
    req: CreateJurisdiction,
) -> Result<JurisdictionView, AppError> {
    let actor = writer(svc, caller).await?;
    let mut errors = Errors::new();
    let name = errors.text("name", &req.name, MAX_NAME, false);
    let country = check_country(&mut errors, &req.country_code);
    let bases = check_bases(&mut errors, &req.competence_bases);
    errors.finish()?;
    svc.db
        .run(move |c| {
            c.write(|c| {
                let id = new_id();
                let trail = Trail::before(c, Subject::Jurisdiction(id.clone()))?;
                if store::jurisdiction_name_taken(c, &name, &id)? {
                    return Err(AppError::Conflict(
                        "A jurisdiction with this name exists.".into(),
                    ));
                }
                let now = now();
                store::insert_jurisdiction(
                    c,
                    &JurisdictionRow {
                        id: id.clone(),
                        name,
                        country_code: country,
                        death_penalty_status: req.death_penalty_status.as_str().into(),
                        competence_bases: bases,
                        active: req.active.unwrap_or(true),
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    },
                )?;
                let row = store::find_jurisdiction(c, &id)?.ok_or_else(not_found)?;
                let view = jurisdiction_view(c, row)?;
                record(c, trail, &id, "jurisdiction", &id, "created", &actor, &view)?;
                Ok(view)
            })
        })
        .await
}

pub async fn get_jurisdiction(
    svc: &Services,
    caller: Caller,
    id: JurisdictionId,
) -> Result<JurisdictionView, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ReadRegistry)?;
            let id = id.into_string();
            let row = store::find_jurisdiction(c, &id)?.ok_or_else(not_found)?;
            jurisdiction_view(c, row)
        })
        .await
}

pub async fn list_jurisdictions(
    svc: &Services,
    caller: Caller,
    cursor: Option<String>,
    limit: i64,
) -> Result<JurisdictionPage, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ReadRegistry)?;
            let after = cursor.map(|c| decode_cursor(&c)).transpose()?;
            let rows = store::list_jurisdictions(c, after.as_deref(), limit + 1)?;
            let (rows, next_cursor) = page(rows, limit, |r| encode_cursor(&r.id));
            let items = rows
                .into_iter()
                .map(|r| jurisdiction_view(c, r))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(JurisdictionPage { items, next_cursor })
        })
        .await
}

pub async fn update_jurisdiction(
    svc: &Services,
    caller: Caller,
    id: JurisdictionId,
    req: UpdateJurisdiction,
    expected: Expected,
) -> Result<JurisdictionView, AppError> {
    let actor = writer(svc, caller).await?;
    let id = id.into_string();
    let mut errors = Errors::new();
    let name = req
        .name
        .as_deref()
        .map(|n| errors.text("name", n, MAX_NAME, false));
    let country = req
        .country_code
        .as_deref()
        .map(|c| check_country(&mut errors, c));
    let bases = req
        .competence_bases
        .as_deref()
        .map(|b| check_bases(&mut errors, b));
    errors.finish()?;
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            c.write(|c| {
                let trail = Trail::before(c, Subject::Jurisdiction(id.clone()))?;
                let current = store::find_jurisdiction(c, &id)?.ok_or_else(not_found)?;
                expected.check(current.version)?;
                if let Some(name) = &name
                    && store::jurisdiction_name_taken(c, name, &id)?
                {
                    return Err(AppError::Conflict(
                        "A jurisdiction with this name exists.".into(),
                    ));
                }
                store::update_jurisdiction(
                    c,
                    &id,
                    &JurisdictionChanges {
                        name,
                        country_code: country,
                        death_penalty_status: req.death_penalty_status.map(|s| s.as_str().into()),
                        competence_bases: bases,
                        active: req.active,
                        updated_at: Some(now()),
                    },
                )?;
                let row = store::find_jurisdiction(c, &id)?.ok_or_else(not_found)?;
                let view = jurisdiction_view(c, row)?;
                record(c, trail, &id, "jurisdiction", &id, "updated", &actor, &view)?;
                facts_changed(c, &rules, &id, &actor, "jurisdiction updated")?;
                Ok(view)
            })
        })
        .await
}

pub async fn add_assessment(
    svc: &Services,
    caller: Caller,
    jurisdiction_id: JurisdictionId,
    req: NewAssessment,
) -> Result<AssessmentView, AppError> {
    let actor = writer(svc, caller).await?;
    let jurisdiction_id = jurisdiction_id.into_string();
    let mut errors = Errors::new();
    let assessor = errors.text("assessor", &req.assessor, MAX_NAME, false);
    let summary = errors.text("summary", &req.summary, MAX_SUMMARY, true);
    errors.not_future("assessed_on", req.assessed_on);
    if req.review_due < req.assessed_on {
        errors.add("review_due", "must not be before assessed_on");
    }
    errors.finish()?;
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            c.write(|c| {
                store::find_jurisdiction(c, &jurisdiction_id)?.ok_or_else(not_found)?;
                let trail = Trail::before(c, Subject::Jurisdiction(jurisdiction_id.clone()))?;
                let row = AssessmentRow {
                    id: new_id(),
                    jurisdiction_id: jurisdiction_id.clone(),
                    outcome: req.outcome.as_str().into(),
                    assessed_on: req.assessed_on,
                    review_due: req.review_due,
                    assessor,
                    summary,
                    recorded_by: actor.clone(),
                    recorded_at: now(),
                };
                store::insert_assessment(c, &row)?;
                let view = assessment_view(row)?;
                record(
                    c,
                    trail,
                    &jurisdiction_id,
                    "assessment",
                    &view.id,
                    "created",
                    &actor,
                    &view,
                )?;
                facts_changed(c, &rules, &jurisdiction_id, &actor, "assessment recorded")?;
                Ok(view)
            })
        })
        .await
}

pub async fn add_assurance(
    svc: &Services,
    caller: Caller,
    jurisdiction_id: JurisdictionId,
    req: NewAssurance,
) -> Result<AssuranceView, AppError> {
    let actor = writer(svc, caller).await?;
    let jurisdiction_id = jurisdiction_id.into_string();
    let mut errors = Errors::new();
    let reference = errors.text("reference", &req.reference, MAX_NAME, false);
    errors.not_future("given_on", req.given_on);
    if req.expires_on.is_some_and(|e| e < req.given_on) {
        errors.add("expires_on", "must not be before given_on");
    }
    errors.distinct("scope", &req.scope, Crime::ALL.len());
    errors.finish()?;
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            c.write(|c| {
                store::find_jurisdiction(c, &jurisdiction_id)?.ok_or_else(not_found)?;
                let trail = Trail::before(c, Subject::Jurisdiction(jurisdiction_id.clone()))?;
                let row = AssuranceRow {
                    id: new_id(),
                    jurisdiction_id: jurisdiction_id.clone(),
                    reference,
                    given_on: req.given_on,
                    scope: serde_json::to_string(&req.scope).unwrap_or_else(|_| "[]".into()),
                    expires_on: req.expires_on,
                    recorded_by: actor.clone(),
                    recorded_at: now(),
                };
                store::insert_assurance(c, &row)?;
                let view = assurance_view(row)?;
                record(
                    c,
                    trail,
                    &jurisdiction_id,
                    "assurance",
                    &view.id,
                    "created",
                    &actor,
                    &view,
                )?;
                facts_changed(c, &rules, &jurisdiction_id, &actor, "assurance recorded")?;
                Ok(view)
            })
        })
        .await
}

pub async fn add_framework(
    svc: &Services,
    caller: Caller,
    jurisdiction_id: JurisdictionId,
    req: NewFramework,
) -> Result<FrameworkView, AppError> {
    let actor = writer(svc, caller).await?;
    let jurisdiction_id = jurisdiction_id.into_string();
    let mut errors = Errors::new();
    let reference = errors.text("reference", &req.reference, MAX_NAME, false);
    errors.not_future("signed_on", req.signed_on);
    errors.finish()?;
    svc.db
        .run(move |c| {
            c.write(|c| {
                store::find_jurisdiction(c, &jurisdiction_id)?.ok_or_else(not_found)?;
                let trail = Trail::before(c, Subject::Jurisdiction(jurisdiction_id.clone()))?;
                let row = FrameworkRow {
                    id: new_id(),
                    jurisdiction_id: jurisdiction_id.clone(),
                    kind: req.kind.as_str().into(),
                    reference,
                    signed_on: req.signed_on,
                    recorded_by: actor.clone(),
                    recorded_at: now(),
                };
                store::insert_framework(c, &row)?;
                let view = framework_view(row)?;
                record(
                    c,
                    trail,
                    &jurisdiction_id,
                    "framework",
                    &view.id,
                    "created",
                    &actor,
                    &view,
                )?;
                Ok(view)
            })
        })
        .await
}

pub async fn history(
    svc: &Services,
    caller: Caller,
    jurisdiction_id: JurisdictionId,
    cursor: Option<String>,
    limit: i64,
) -> Result<ChangePage, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ReadRegistry)?;
            let after = cursor.map(|c| decode_cursor(&c)).transpose()?;
            let jurisdiction_id = jurisdiction_id.into_string();
            store::find_jurisdiction(c, &jurisdiction_id)?.ok_or_else(not_found)?;
            let rows = store::changes_of(c, &jurisdiction_id, after.as_deref(), limit + 1)?;
            let (rows, next_cursor) = page(rows, limit, |r| encode_cursor(&r.id));
            let mut actors: Vec<String> = rows.iter().map(|r| r.actor_id.clone()).collect();
            actors.sort();
            actors.dedup();
            let names: std::collections::HashMap<String, String> =
                crate::db::users::display_names(c, &actors)?
                    .into_iter()
                    .collect();
            let items = rows
                .into_iter()
                .map(|r| ChangeView {
                    actor_name: names
                        .get(&r.actor_id)
                        .cloned()
                        .unwrap_or_else(|| "a former user".into()),
                    details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
                    id: r.id,
                    entity: r.entity,
                    entity_id: r.entity_id,
                    action: r.action,
                    actor_id: r.actor_id,
                    at: r.at.and_utc(),
                })
                .collect();
            Ok(ChangePage { items, next_cursor })
        })
        .await
}

// ---------------------------------------------------------------------------------------
// Requesting authorities

fn authority_not_found() -> AppError {
    AppError::NotFound("No such authority in this jurisdiction.".into())
}

pub async fn create_authority(
    svc: &Services,
    caller: Caller,
    jurisdiction_id: JurisdictionId,
    req: CreateAuthority,
) -> Result<AuthorityView, AppError> {
    let actor = writer(svc, caller).await?;
    let jurisdiction_id = jurisdiction_id.into_string();
    let mut errors = Errors::new();
    let name = errors.text("name", &req.name, MAX_NAME, false);
    let contact = req
        .contact_email
        .as_deref()
        .and_then(|e| check_contact(&mut errors, e));
    errors.finish()?;
    svc.db
        .run(move |c| {
            c.write(|c| {
                store::find_jurisdiction(c, &jurisdiction_id)?.ok_or_else(not_found)?;
                let trail = Trail::before(c, Subject::Jurisdiction(jurisdiction_id.clone()))?;
                let id = new_id();
                if store::authority_name_taken(c, &jurisdiction_id, &name, &id)? {
                    return Err(AppError::Conflict(
                        "This jurisdiction already has an authority with this name.".into(),
                    ));
                }
                let now = now();
                let row = AuthorityRow {
                    id,
                    jurisdiction_id: jurisdiction_id.clone(),
                    name,
                    kind: req.kind.as_str().into(),
                    contact_email: contact,
                    active: req.active.unwrap_or(true),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                store::insert_authority(c, &row)?;
                let view = authority_view(row)?;
                record(
                    c,
                    trail,
                    &jurisdiction_id,
                    "authority",
                    &view.id,
                    "created",
                    &actor,
                    &view,
                )?;
                Ok(view)
            })
        })
        .await
}

pub async fn list_authorities(
    svc: &Services,
    caller: Caller,
    jurisdiction_id: JurisdictionId,
    cursor: Option<String>,
    limit: i64,
) -> Result<AuthorityPage, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ReadRegistry)?;
            let after = cursor.map(|c| decode_cursor(&c)).transpose()?;
            let jurisdiction_id = jurisdiction_id.into_string();
            store::find_jurisdiction(c, &jurisdiction_id)?.ok_or_else(not_found)?;
            let rows = store::authorities_of(c, &jurisdiction_id, after.as_deref(), limit + 1)?;
            let (rows, next_cursor) = page(rows, limit, |r| encode_cursor(&r.id));
            let items = rows
                .into_iter()
                .map(authority_view)
                .collect::<Result<_, _>>()?;
            Ok(AuthorityPage { items, next_cursor })
        })
        .await
}

pub async fn update_authority(
    svc: &Services,
    caller: Caller,
    jurisdiction_id: JurisdictionId,
    id: AuthorityId,
    req: UpdateAuthority,
    expected: Expected,
) -> Result<AuthorityView, AppError> {
    let actor = writer(svc, caller).await?;
    let (jurisdiction_id, id) = (jurisdiction_id.into_string(), id.into_string());
    let mut errors = Errors::new();
    let name = req
        .name
        .as_deref()
        .map(|n| errors.text("name", n, MAX_NAME, false));
    let contact = req
        .contact_email
        .as_deref()
        .map(|e| check_contact(&mut errors, e));
    errors.finish()?;
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            c.write(|c| {
                let trail = Trail::before(c, Subject::Jurisdiction(jurisdiction_id.clone()))?;
                let current = store::find_authority(c, &jurisdiction_id, &id)?
                    .ok_or_else(authority_not_found)?;
                expected.check(current.version)?;
                if let Some(name) = &name
                    && store::authority_name_taken(c, &jurisdiction_id, name, &id)?
                {
                    return Err(AppError::Conflict(
                        "This jurisdiction already has an authority with this name.".into(),
                    ));
                }
                store::update_authority(
                    c,
                    &id,
                    &AuthorityChanges {
                        name,
                        kind: req.kind.map(|k| k.as_str().into()),
                        contact_email: contact,
                        active: req.active,
                        updated_at: Some(now()),
                    },
                )?;
                let row = store::find_authority(c, &jurisdiction_id, &id)?
                    .ok_or_else(authority_not_found)?;
                let view = authority_view(row)?;
                record(
                    c,
                    trail,
                    &jurisdiction_id,
                    "authority",
                    &id,
                    "updated",
                    &actor,
                    &view,
                )?;
                facts_changed(c, &rules, &jurisdiction_id, &actor, "authority updated")?;
                Ok(view)
            })
        })
        .await
}
