//! Correcting a request's intake details, until it is accepted: the intake form, filled in
//! with the request as it is, sent back as a correction of what changed. The service records
//! each changed field (old and new) and evaluates eligibility again. A form for a request
//! someone changed meanwhile comes back with what was typed and the current version.

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use chrono::TimeZone;

use super::actions::Field;
use super::intake::{Values, fields, request, summarise, values_of};
use super::page::{PageError, UserBar, render, see_other};
use super::session::{self, Signed};
use crate::domain::ids::{JurisdictionId, RfaId};
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::day::ReceivedAt;
use crate::service::registry;
use crate::service::rfas::{self, Expected, IntakeCorrection, RfaView};

#[derive(Template)]
#[template(path = "correct_case.html")]
struct CorrectionPage {
    user: Option<UserBar>,
    csrf: String,
    case_href: String,
    reference: String,
    subject: String,
    version: i64,
    fields: Vec<Field>,
    errors: Vec<(String, String)>,
    changed: bool,
}

/// The request's intake as the form's values.
fn values_from(svc: &Services, rfa: &RfaView) -> Values {
    let local = svc
        .rules()
        .tz
        .from_utc_datetime(&rfa.received_at.naive_utc());
    let mut v = vec![
        ("authority_id", rfa.authority_id.clone()),
        ("received_on", local.format("%Y-%m-%d").to_string()),
        ("received_time", local.format("%H:%M").to_string()),
        ("channel", rfa.channel.as_str().to_string()),
        ("subject", rfa.subject.clone()),
        ("description", rfa.description.clone()),
        ("requester_name", rfa.requester.name.clone()),
        (
            "requester_email",
            rfa.requester.email.clone().unwrap_or_default(),
        ),
        ("proceeding_type", rfa.proceeding_type.as_str().to_string()),
        ("conduct_country", rfa.conduct.country_code.clone()),
        ("conduct_from", rfa.conduct.from.to_string()),
        (
            "conduct_to",
            rfa.conduct.to.map(|d| d.to_string()).unwrap_or_default(),
        ),
        (
            "national_case_reference",
            rfa.national_case_reference.clone().unwrap_or_default(),
        ),
        ("priority", rfa.priority.as_str().to_string()),
        ("confidentiality", rfa.confidentiality.as_str().to_string()),
        ("tags", rfa.tags.join(", ")),
    ];
    v.extend(
        rfa.assistance_types
            .iter()
            .map(|a| ("assistance_types", a.as_str().to_string())),
    );
    v.extend(
        rfa.crimes
            .iter()
            .map(|c| ("crimes", c.as_str().to_string())),
    );
    Values(v.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

async fn show(
    svc: &Services,
    signed: &Signed,
    rfa: &RfaView,
    values: &Values,
    errors: Vec<FieldError>,
    changed: bool,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let jurisdiction = JurisdictionId::from_stored(rfa.jurisdiction_id.clone());
    let authorities: Vec<(String, String)> =
        registry::list_authorities(svc, signed.caller(), jurisdiction, None, 200)
            .await?
            .items
            .into_iter()
            .filter(|a| a.active || a.id == rfa.authority_id)
            .map(|a| (a.id, a.name))
            .collect();
    // The priority is a supervisor's action, not an intake detail.
    let mut fields: Vec<Field> = fields(&authorities, values)
        .into_iter()
        .filter(|f| f.name != "priority")
        .collect();
    let errors = summarise(&mut fields, errors);
    Ok(render(
        status,
        &CorrectionPage {
            user: Some(UserBar::of(&signed.0)),
            csrf: signed.0.csrf.clone(),
            case_href: format!("/cases/{}", rfa.id),
            reference: rfa.reference.clone(),
            subject: rfa.subject.clone(),
            version: rfa.version,
            fields,
            errors,
            changed,
        },
    ))
}

fn id_of(raw: &str) -> Result<RfaId, PageError> {
    RfaId::parse(raw)
        .ok_or_else(|| PageError::Service(AppError::NotFound("No such request.".into())))
}

/// The request, if its intake is the caller's to correct now.
async fn editable(svc: &Services, signed: &Signed, id: RfaId) -> Result<RfaView, PageError> {
    let rfa = rfas::get(svc, signed.caller(), id).await?;
    if !rfa.intake_editable {
        return Err(PageError::Service(AppError::NotAllowedNow {
            detail: "The intake details can be corrected only until the request is accepted, \
                     by those who may edit it."
                .into(),
            allowed_actions: Vec::new(),
        }));
    }
    Ok(rfa)
}

#[get("/cases/{id}/intake")]
pub async fn form(
    svc: Data<Services>,
    signed: Signed,
    path: Path<String>,
) -> Result<HttpResponse, PageError> {
    let rfa = editable(&svc, &signed, id_of(&path)?).await?;
    let values = values_from(&svc, &rfa);
    show(
        &svc,
        &signed,
        &rfa,
        &values,
        Vec::new(),
        false,
        StatusCode::OK,
    )
    .await
}

#[post("/cases/{id}/intake")]
pub async fn correct(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let mut values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let id = id_of(&path)?;
    let rfa = editable(&svc, &signed, id.clone()).await?;
    let before = values_from(&svc, &rfa);
    values
        .0
        .push(("priority".into(), rfa.priority.as_str().into()));
    let expected = values
        .one("version")
        .parse()
        .map_or(Expected::Unreadable, Expected::Version);
    let jurisdiction = JurisdictionId::from_stored(rfa.jurisdiction_id.clone());
    let outcome = match request(&svc, &jurisdiction, &values) {
        Ok(new) => {
            // The form shows the time to the minute: an unchanged day and time keep the
            // moment of receipt as it was recorded.
            let same_time = ["received_on", "received_time"]
                .iter()
                .all(|f| values.one(f).trim() == before.one(f));
            let correction = IntakeCorrection {
                authority_id: Some(new.authority_id),
                received_at: (!same_time).then_some(ReceivedAt::Moment(new.received_at)),
                channel: Some(new.channel),
                subject: Some(new.subject),
                description: Some(new.description),
                requester: Some(new.requester),
                assistance_types: Some(new.assistance_types),
                proceeding_type: Some(new.proceeding_type),
                crimes: Some(new.crimes),
                conduct: Some(new.conduct),
                national_case_reference: new.national_case_reference,
                confidentiality: Some(new.confidentiality),
                tags: Some(new.tags),
            };
            rfas::correct_intake(&svc, signed.caller(), id, correction, expected).await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match outcome {
        Ok(view) => Ok(see_other(&format!("/cases/{}?done=edit_intake", view.id))),
        Err(AppError::Validation(errors)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            show(&svc, &signed, &rfa, &values, errors, false, status).await
        }
        Err(AppError::VersionMismatch | AppError::VersionRequired) => {
            // The form comes back with what was typed, on the current version.
            show(
                &svc,
                &signed,
                &rfa,
                &values,
                Vec::new(),
                true,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(PageError::Service(e)),
    }
}
