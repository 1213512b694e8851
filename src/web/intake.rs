//! Logging a new request. Without JavaScript the form has two steps: the jurisdiction first
//! (so that the authority list is that jurisdiction's), then the request. The day of receipt
//! is a date, its time optional (the start of that day in the reporting time zone without
//! one). A one-time token in the form is the intake's idempotency key, so a refresh or a
//! double click never logs the request twice.

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data, Query};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use chrono::{NaiveTime, TimeZone, Utc};
use serde::Deserialize;

use super::actions::{Choice, Field};
use super::page::{PageError, UserBar, render, see_other};
use super::session::{self, Signed};
use super::words;
use crate::auth::tokens::random_token;
use crate::domain::ids::{AuthorityId, JurisdictionId};
use crate::domain::lifecycle::{AssistanceType, Channel, Confidentiality, Priority};
use crate::domain::policy::ListScope;
use crate::domain::registry::{Crime, ProceedingType};
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::registry;
use crate::service::rfas::{self, Conduct, IdempotencyKey, NewRfa, Requester};

#[derive(Template)]
#[template(path = "new_case.html")]
struct NewCasePage {
    user: Option<UserBar>,
    csrf: String,
    /// Step one: the jurisdictions to choose from.
    places: Vec<Choice>,
    /// Step two: the chosen jurisdiction's name, and the form.
    place: Option<(String, String)>,
    token: String,
    fields: Vec<Field>,
    errors: Vec<(String, String)>,
}

/// The jurisdictions the caller may log requests for, as (id, name).
async fn places(svc: &Services, signed: &Signed) -> Result<Vec<(String, String)>, PageError> {
    let all = registry::list_jurisdictions(svc, signed.caller(), None, 200).await?;
    let scope = crate::domain::policy::rfa_list_scope(signed.0.who.principal());
    Ok(all
        .items
        .into_iter()
        .filter(|j| j.active)
        .filter(|j| match &scope {
            Some(ListScope::All) => true,
            Some(ListScope::Jurisdictions(own)) => own.contains(&j.id),
            None => false,
        })
        .map(|j| (j.id, j.name))
        .collect())
}

/// The form's values: one per name, or all of them for the checkboxes.
pub(super) struct Values(pub(super) Vec<(String, String)>);

impl Values {
    pub(super) fn one(&self, name: &str) -> String {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn field(name: &'static str, label: &'static str, kind: &'static str, v: &Values) -> Field {
    Field {
        name,
        label,
        kind,
        hint: None,
        value: v.one(name),
        options: Vec::new(),
        error: None,
    }
}

fn options<T: Copy>(
    all: &[T],
    wire: impl Fn(T) -> &'static str,
    chosen: &[String],
    label: impl Fn(T) -> String,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: wire(*v).to_string(),
            label: label(*v),
            selected: chosen.iter().any(|c| c == wire(*v)),
        })
        .collect()
}

pub(super) fn fields(authorities: &[(String, String)], v: &Values) -> Vec<Field> {
    let plain = |s: &'static str| words::plain(s);
    let one = |name: &str| vec![v.one(name)];
    let mut priority = one("priority");
    if priority[0].is_empty() {
        priority = vec!["routine".into()];
    }
    vec![
        Field {
            options: std::iter::once(Choice {
                value: String::new(),
                label: "Choose the authority".into(),
                selected: v.one("authority_id").is_empty(),
            })
            .chain(authorities.iter().map(|(id, name)| Choice {
                selected: v.one("authority_id") == *id,
                value: id.clone(),
                label: name.clone(),
            }))
            .collect(),
            ..field("authority_id", "Requesting authority", "select", v)
        },
        Field {
            hint: Some("The day the request reached the mechanism."),
            ..field("received_on", "Received on", "date", v)
        },
        Field {
            hint: Some("Optional, 24-hour clock, in the reporting time zone."),
            ..field("received_time", "Received at (time)", "time", v)
        },
        Field {
            options: options(Channel::ALL, Channel::as_str, &one("channel"), |c| {
                plain(c.as_str())
            }),
            ..field("channel", "How it arrived", "select", v)
        },
        field("subject", "Subject", "text", v),
        field("description", "Description", "textarea", v),
        field("requester_name", "Requester's name", "text", v),
        Field {
            hint: Some("Optional."),
            ..field("requester_email", "Requester's email address", "email", v)
        },
        Field {
            options: options(
                AssistanceType::ALL,
                AssistanceType::as_str,
                &v.all("assistance_types"),
                |a| plain(a.as_str()),
            ),
            ..field("assistance_types", "Assistance asked for", "checkboxes", v)
        },
        Field {
            options: options(
                ProceedingType::ALL,
                ProceedingType::as_str,
                &one("proceeding_type"),
                |p| plain(p.as_str()),
            ),
            ..field("proceeding_type", "Proceedings", "select", v)
        },
        Field {
            options: options(Crime::ALL, Crime::as_str, &v.all("crimes"), |c| {
                plain(c.as_str())
            }),
            ..field("crimes", "Crimes", "checkboxes", v)
        },
        Field {
            hint: Some("Two letters, for example SY."),
            value: Some(v.one("conduct_country"))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "SY".into()),
            ..field("conduct_country", "Country of the conduct", "text", v)
        },
        field("conduct_from", "Conduct from", "date", v),
        Field {
            hint: Some(
                "The last day known. Leave it empty only when the conduct was on one day: \
                 without it, the conduct is taken to be on the first day alone.",
            ),
            ..field("conduct_to", "Conduct until", "date", v)
        },
        Field {
            hint: Some("Optional."),
            ..field(
                "national_case_reference",
                "National case reference",
                "text",
                v,
            )
        },
        Field {
            options: options(Priority::ALL, Priority::as_str, &priority, |p| {
                words::priority(p).0.into()
            }),
            ..field("priority", "Priority", "radios", v)
        },
        Field {
            options: options(
                Confidentiality::ALL,
                Confidentiality::as_str,
                &one("confidentiality"),
                |c| plain(c.as_str()),
            ),
            ..field("confidentiality", "Confidentiality", "select", v)
        },
        Field {
            hint: Some("Optional: words of a-z, 0-9 and _, separated by commas."),
            ..field("tags", "Tags", "text", v)
        },
    ]
}

/// The service's field names (JSON paths) as the form's.
fn form_name(service_field: &str) -> &str {
    match service_field {
        "requester.name" => "requester_name",
        "requester.email" => "requester_email",
        "conduct.country_code" => "conduct_country",
        "conduct.from" => "conduct_from",
        "conduct.to" => "conduct_to",
        "received_at" => "received_on",
        f if f.starts_with("tags") => "tags",
        f => f,
    }
}

/// The form read into the service's command, with the errors of what cannot be read.
pub(super) fn request(
    svc: &Services,
    jurisdiction: &JurisdictionId,
    v: &Values,
) -> Result<NewRfa, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut need = |name: &str, ok: bool, message: &str| {
        if !ok {
            errors.push(FieldError::new(name, message));
        }
    };
    let day = |name: &str| crate::service::day::parse(v.one(name).trim());
    let received_on = day("received_on");
    need(
        "received_on",
        received_on.is_some(),
        "Enter the day of receipt",
    );
    let time = v.one("received_time");
    let time = time.trim();
    let at = if time.is_empty() {
        None
    } else {
        let t = NaiveTime::parse_from_str(time, "%H:%M").ok();
        need(
            "received_time",
            t.is_some(),
            "Enter the time as hours and minutes, like 09:30",
        );
        t
    };
    let authority = AuthorityId::parse(&v.one("authority_id"));
    need(
        "authority_id",
        authority.is_some(),
        "Choose the requesting authority",
    );
    let channel = Channel::parse(&v.one("channel"));
    need(
        "channel",
        channel.is_some(),
        "Choose how the request arrived",
    );
    let proceeding = ProceedingType::parse(&v.one("proceeding_type"));
    need(
        "proceeding_type",
        proceeding.is_some(),
        "Choose the proceedings",
    );
    let priority = Priority::parse(&v.one("priority"));
    need("priority", priority.is_some(), "Choose a priority");
    let confidentiality = Confidentiality::parse(&v.one("confidentiality"));
    need(
        "confidentiality",
        confidentiality.is_some(),
        "Choose the confidentiality",
    );
    let conduct_from = day("conduct_from");
    need(
        "conduct_from",
        conduct_from.is_some(),
        "Enter the day the conduct began",
    );
    let conduct_to = v.one("conduct_to");
    let conduct_to = if conduct_to.trim().is_empty() {
        None
    } else {
        let d = day("conduct_to");
        need(
            "conduct_to",
            d.is_some(),
            "Enter a date as day, month and year",
        );
        d
    };
    let listed = |name: &str| v.all(name);
    let assistance_types: Vec<AssistanceType> = listed("assistance_types")
        .iter()
        .filter_map(|a| AssistanceType::parse(a))
        .collect();
    let crimes: Vec<Crime> = listed("crimes")
        .iter()
        .filter_map(|c| Crime::parse(c))
        .collect();
    // What the form could not read is stood in for, so that the service's own checks of
    // the other fields run now too and the person sees every error in one round; errors on
    // a stand-in (or that follow from one) are left out.
    let rules = svc.rules();
    let read_all = errors.is_empty();
    let from_missing = conduct_from.is_none();
    let received_on = received_on.unwrap_or_else(|| rules.today());
    let authority_id = authority
        .unwrap_or_else(|| AuthorityId::from_stored("00000000-0000-0000-0000-000000000000".into()));
    let channel = channel.unwrap_or(Channel::ALL[0]);
    let proceeding_type = proceeding.unwrap_or(ProceedingType::ALL[0]);
    let priority = priority.unwrap_or(Priority::ALL[0]);
    let confidentiality = confidentiality.unwrap_or(Confidentiality::ALL[0]);
    let from = conduct_from.unwrap_or_else(|| rules.today());
    let received_at = match at {
        Some(t) => rules
            .tz
            .from_local_datetime(&received_on.and_time(t))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| rules.start_of(received_on).and_utc()),
        None => rules.start_of(received_on).and_utc(),
    };
    let email = v.one("requester_email");
    let reference = v.one("national_case_reference");
    let request = NewRfa {
        jurisdiction_id: jurisdiction.clone(),
        authority_id,
        received_at,
        channel,
        subject: v.one("subject"),
        description: v.one("description"),
        requester: Requester {
            name: v.one("requester_name"),
            email: Some(email).filter(|e| !e.trim().is_empty()),
        },
        assistance_types,
        proceeding_type,
        crimes,
        conduct: Conduct {
            country_code: v.one("conduct_country"),
            from,
            to: conduct_to,
        },
        national_case_reference: Some(reference).filter(|r| !r.trim().is_empty()),
        priority,
        confidentiality,
        tags: v
            .one("tags")
            .split(',')
            // Tags are lower case; the form spares people the retyping.
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect(),
    };
    if read_all {
        return Ok(request);
    }
    if let Err(AppError::Validation(more)) = request.checked(rules) {
        let stood_in: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        errors.extend(more.into_iter().filter(|e| {
            let name = form_name(&e.field);
            let stood_in = stood_in.iter().any(|f| f == name);
            let follows = from_missing && name == "conduct_to";
            !stood_in && !follows
        }));
    }
    Err(errors)
}

/// The service's errors as sentences: each on its field, and all in the error summary as
/// (field name, sentence).
pub(super) fn summarise(fields: &mut [Field], errors: Vec<FieldError>) -> Vec<(String, String)> {
    let mut summary = Vec::new();
    for e in errors {
        let name = form_name(&e.field);
        let f = fields.iter_mut().find(|f| f.name == name);
        let label = f.as_ref().map_or("This", |f| f.label);
        let message = e.message.trim_end_matches('.');
        let sentence = if message.chars().next().is_some_and(char::is_uppercase) {
            format!("{message}.")
        } else {
            format!("{label} {message}.")
        };
        if let Some(f) = f {
            f.error.get_or_insert_with(|| sentence.clone());
        }
        // Two bad tags say the same thing: once is enough.
        if !summary.contains(&(name.to_string(), sentence.clone())) {
            summary.push((name.to_string(), sentence));
        }
    }
    // In the order of the form, as a person reads it top to bottom.
    let place = |name: &str| {
        fields
            .iter()
            .position(|f| f.name == name)
            .unwrap_or(usize::MAX)
    };
    summary.sort_by_key(|(name, _)| place(name));
    summary
}

/// The form's values from the body of a POST (names may repeat, for the checkboxes).
pub(super) fn values_of(body: &Bytes) -> Values {
    Values(
        url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

#[derive(Deserialize)]
pub struct Step {
    jurisdiction: Option<String>,
}

async fn show(
    svc: &Services,
    signed: &Signed,
    jurisdiction: Option<JurisdictionId>,
    values: &Values,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let places = places(svc, signed).await?;
    let place = jurisdiction
        .as_ref()
        .and_then(|j| places.iter().find(|(id, _)| id == j.as_str()).cloned());
    let mut fields = match &place {
        Some((id, _)) => {
            let id = JurisdictionId::from_stored(id.clone());
            let authorities = registry::list_authorities(svc, signed.caller(), id, None, 200)
                .await?
                .items
                .into_iter()
                .filter(|a| a.active)
                .map(|a| (a.id, a.name))
                .collect::<Vec<_>>();
            fields(&authorities, values)
        }
        None => Vec::new(),
    };
    let summary = summarise(&mut fields, errors);
    let token = Some(values.one("intake_token"))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(random_token);
    Ok(render(
        status,
        &NewCasePage {
            user: Some(UserBar::of(&signed.0)),
            csrf: signed.0.csrf.clone(),
            places: places
                .iter()
                .map(|(id, name)| Choice {
                    selected: jurisdiction.as_ref().is_some_and(|j| j.as_str() == id),
                    value: id.clone(),
                    label: name.clone(),
                })
                .collect(),
            place,
            token,
            fields,
            errors: summary,
        },
    ))
}

#[get("/cases/new")]
pub async fn form(
    svc: Data<Services>,
    signed: Signed,
    step: Query<Step>,
) -> Result<HttpResponse, PageError> {
    // Those whose roles never log requests get the answer the service would give them.
    signed
        .0
        .who
        .require(crate::domain::policy::Action::LogRfa)?;
    let jurisdiction = step.jurisdiction.as_deref().and_then(JurisdictionId::parse);
    let values = Values(Vec::new());
    show(
        &svc,
        &signed,
        jurisdiction,
        &values,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

#[post("/cases/new")]
pub async fn log(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let Some(jurisdiction) = JurisdictionId::parse(&values.one("jurisdiction_id")) else {
        return Ok(see_other("/cases/new"));
    };
    let key = IdempotencyKey::parse(&values.one("intake_token")).ok();
    let outcome = match request(&svc, &jurisdiction, &values) {
        Ok(request) => rfas::intake(&svc, signed.caller(), request, key).await,
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match outcome {
        Ok(created) => Ok(see_other(&format!(
            "/cases/{}?done=intake",
            created.view.id
        ))),
        Err(AppError::Validation(errors)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            show(&svc, &signed, Some(jurisdiction), &values, errors, status).await
        }
        Err(e) => Err(PageError::Service(e)),
    }
}
