//! The registry on the screens: jurisdictions with the facts eligibility reads (competence,
//! death penalty, human-rights assessments, assurances, cooperation frameworks), their
//! requesting authorities and each one's history of changes. Everyone who may read the
//! registry sees it; administrators change it, through forms that name every wrong field as
//! the API does.

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use chrono::NaiveDate;

use super::actions::{Choice, Field};
use super::intake::{Values, values_of};
use super::page::{PageError, UserBar, ok, render, see_other};
use super::session::{self, Signed};
use super::words::{self, plain};
use crate::domain::ids::{AuthorityId, JurisdictionId};
use crate::domain::policy::{Action, reach};
use crate::domain::registry::{
    AssessmentOutcome, AuthorityKind, CompetenceBasis, CompetenceBasisEntry, Crime,
    DeathPenaltyStatus, FrameworkKind,
};
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::registry::{
    self, AuthorityView, CreateAuthority, CreateJurisdiction, JurisdictionView, NewAssessment,
    NewAssurance, NewFramework, UpdateAuthority, UpdateJurisdiction,
};
use crate::service::validate::Expected;

fn may_write(signed: &Signed) -> bool {
    reach(&signed.0.who.principal().roles, Action::WriteRegistry).is_some()
}

fn jurisdiction_id(raw: &str) -> Result<JurisdictionId, PageError> {
    JurisdictionId::parse(raw)
        .ok_or_else(|| PageError::Service(AppError::NotFound("no such jurisdiction".into())))
}

fn assessment_words(o: AssessmentOutcome) -> (&'static str, &'static str) {
    match o {
        AssessmentOutcome::Meets => ("Meets the standards", "green"),
        AssessmentOutcome::Concerns => ("Concerns", "yellow"),
        AssessmentOutcome::Fails => ("Fails the standards", "red"),
    }
}

fn crimes_words(crimes: &[Crime]) -> String {
    if crimes.is_empty() {
        return "every crime".into();
    }
    crimes
        .iter()
        .map(|c| plain(c.as_str()).to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// The list and a jurisdiction's page

pub struct PlaceLine {
    href: String,
    name: String,
    country: String,
    death_penalty: String,
    assessment: (String, &'static str),
    active: bool,
}

#[derive(Template)]
#[template(path = "registry.html")]
struct RegistryPage {
    user: Option<UserBar>,
    may_write: bool,
    items: Vec<PlaceLine>,
}

fn assessment_state(j: &JurisdictionView, today: NaiveDate) -> (String, &'static str) {
    match &j.latest_assessment {
        None => ("No assessment".into(), "grey"),
        Some(a) if a.review_due < today => (
            format!("Lapsed since {}", words::day(a.review_due)),
            "orange",
        ),
        Some(a) => {
            let (w, colour) = assessment_words(a.outcome);
            (
                format!("{w}, review by {}", words::day(a.review_due)),
                colour,
            )
        }
    }
}

#[get("/registry")]
pub async fn list(svc: Data<Services>, signed: Signed) -> Result<HttpResponse, PageError> {
    let page = registry::list_jurisdictions(&svc, signed.caller(), None, 200).await?;
    let today = svc.rules().today();
    let items = page
        .items
        .iter()
        .map(|j| PlaceLine {
            href: format!("/registry/{}", j.id),
            name: j.name.clone(),
            country: j.country_code.clone(),
            death_penalty: plain(j.death_penalty_status.describe()),
            assessment: assessment_state(j, today),
            active: j.active,
        })
        .collect();
    Ok(ok(&RegistryPage {
        user: Some(UserBar::of(&signed.0)),
        may_write: may_write(&signed),
        items,
    }))
}

pub struct Line {
    cells: Vec<String>,
    tag: Option<(String, &'static str)>,
    href: Option<String>,
}

pub struct ChangeLine {
    what: String,
    at: String,
    by: String,
    details: String,
}

#[derive(Template)]
#[template(path = "jurisdiction.html")]
struct JurisdictionPage {
    user: Option<UserBar>,
    may_write: bool,
    id: String,
    name: String,
    facts: Vec<(&'static str, String)>,
    assessments: Vec<Line>,
    assurances: Vec<Line>,
    frameworks: Vec<Line>,
    authorities: Vec<Line>,
    changes: Vec<ChangeLine>,
    banner: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// A change in the registry's history, in a line of words.
fn details_words(details: &serde_json::Value) -> String {
    let Some(map) = details.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(k, _)| {
            ![
                "id",
                "jurisdiction_id",
                "created_at",
                "updated_at",
                "recorded_by",
                "recorded_at",
            ]
            .contains(&k.as_str())
        })
        .filter(|(_, v)| !v.is_array() && !v.is_object() && !v.is_null())
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => plain(s),
                other => other.to_string(),
            };
            format!("{}: {v}", plain(k).to_lowercase())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[get("/registry/{id}")]
pub async fn show(
    svc: Data<Services>,
    signed: Signed,
    path: Path<String>,
    done: actix_web::web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let id = jurisdiction_id(&path)?;
    let j = registry::get_jurisdiction(&svc, signed.caller(), id.clone()).await?;
    let authorities = registry::list_authorities(&svc, signed.caller(), id.clone(), None, 200)
        .await?
        .items;
    let history = registry::history(&svc, signed.caller(), id, None, 100)
        .await?
        .items;
    let today = svc.rules().today();
    let writer = may_write(&signed);
    let bases = if j.competence_bases.is_empty() {
        "None recorded".to_string()
    } else {
        j.competence_bases
            .iter()
            .map(|b| {
                format!(
                    "{} over {}",
                    plain(b.basis.as_str()),
                    crimes_words(&b.crimes)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let facts = vec![
        ("Country", j.country_code.clone()),
        ("Death penalty", plain(j.death_penalty_status.describe())),
        ("Jurisdiction over the crimes", bases),
        ("Human-rights standards", assessment_state(&j, today).0),
        (
            "State",
            if j.active {
                "Active"
            } else {
                "Inactive: no new requests"
            }
            .into(),
        ),
    ];
    let assessments = j
        .assessments
        .iter()
        .map(|a| Line {
            cells: vec![
                words::day(a.assessed_on),
                words::day(a.review_due),
                a.assessor.clone(),
                a.summary.clone(),
            ],
            tag: Some({
                let (w, c) = assessment_words(a.outcome);
                (w.into(), c)
            }),
            href: None,
        })
        .collect();
    let assurances = j
        .assurances
        .iter()
        .map(|a| Line {
            cells: vec![
                a.reference.clone(),
                words::day(a.given_on),
                a.expires_on
                    .map(words::day)
                    .unwrap_or_else(|| "No expiry".into()),
                crimes_words(&a.scope),
            ],
            tag: a
                .expires_on
                .filter(|d| *d < today)
                .map(|_| ("Expired".to_string(), "orange")),
            href: None,
        })
        .collect();
    let frameworks = j
        .frameworks
        .iter()
        .map(|f| Line {
            cells: vec![
                plain(f.kind.as_str()),
                f.reference.clone(),
                words::day(f.signed_on),
            ],
            tag: None,
            href: None,
        })
        .collect();
    let authorities = authorities
        .iter()
        .map(|a| Line {
            cells: vec![
                a.name.clone(),
                plain(a.kind.describe()),
                a.contact_email.clone().unwrap_or_else(|| "–".into()),
            ],
            tag: (!a.active).then(|| ("Inactive".to_string(), "grey")),
            href: writer.then(|| format!("/registry/{}/authorities/{}", j.id, a.id)),
        })
        .collect();
    let changes = history
        .iter()
        .map(|c| ChangeLine {
            what: format!("{} {}", plain(&c.entity), c.action),
            at: c.at.format("%-d %B %Y, %H:%M UTC").to_string(),
            by: c.actor_name.clone(),
            details: details_words(&c.details),
        })
        .collect();
    let banner = done.done.as_deref().map(|d| match d {
        "created" => "The jurisdiction is added.".to_string(),
        "assessment" => "The assessment is recorded; open requests are evaluated again.".into(),
        "assurance" => "The assurance is recorded; open requests are evaluated again.".into(),
        "framework" => "The framework is recorded.".into(),
        "authority" => "The authority is saved.".into(),
        _ => "The changes are saved; open requests are evaluated again.".into(),
    });
    Ok(ok(&JurisdictionPage {
        user: Some(UserBar::of(&signed.0)),
        may_write: writer,
        id: j.id.clone(),
        name: j.name.clone(),
        facts,
        assessments,
        assurances,
        frameworks,
        authorities,
        changes,
        banner,
    }))
}

// ---------------------------------------------------------------------------------------
// Forms

#[derive(Template)]
#[template(path = "registry_form.html")]
struct FormPage {
    user: Option<UserBar>,
    csrf: String,
    caption: String,
    title: &'static str,
    post_to: String,
    back_href: String,
    button: &'static str,
    fields: Vec<Field>,
    errors: Vec<(String, String)>,
    /// The version an edit is based on, sent back with it (If-Match's counterpart).
    version: Option<String>,
}

/// What a form was given and what was wrong with it, field by field.
struct Filled<'a> {
    values: &'a Values,
    errors: &'a [FieldError],
}

impl Filled<'_> {
    /// The first error of a field (the service names `competence_bases[1].crimes`; the form
    /// shows it at `competence_bases`).
    fn error(&self, name: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| base_name(&e.field) == name)
            .map(|e| e.message.clone())
    }

    fn input(
        &self,
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        hint: Option<&'static str>,
    ) -> Field {
        Field {
            name,
            label,
            kind,
            hint,
            value: self.values.one(name),
            options: vec![],
            error: self.error(name),
        }
    }

    fn choose(
        &self,
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        options: Vec<(String, String)>,
    ) -> Field {
        let chosen = self.values.all(name);
        Field {
            name,
            label,
            kind,
            hint: None,
            value: String::new(),
            options: options
                .into_iter()
                .map(|(value, label)| Choice {
                    selected: chosen.contains(&value),
                    value,
                    label,
                })
                .collect(),
            error: self.error(name),
        }
    }
}

/// Whether a jurisdiction or an authority may send new requests.
fn active_field(f: &Filled<'_>) -> Field {
    f.choose(
        "active",
        "State",
        "checkboxes",
        vec![("yes".into(), "Active: may send new requests".into())],
    )
}

fn base_name(field: &str) -> &str {
    field.split(['[', '.']).next().unwrap_or(field)
}

/// The competence bases, one group of crime checkboxes each: field names for the form.
const BASES: [(&str, CompetenceBasis); 5] = [
    (
        "basis_universal_jurisdiction",
        CompetenceBasis::UniversalJurisdiction,
    ),
    (
        "basis_active_personality",
        CompetenceBasis::ActivePersonality,
    ),
    (
        "basis_passive_personality",
        CompetenceBasis::PassivePersonality,
    ),
    ("basis_territorial", CompetenceBasis::Territorial),
    ("basis_other", CompetenceBasis::Other),
];

fn basis_label(b: CompetenceBasis) -> &'static str {
    match b {
        CompetenceBasis::UniversalJurisdiction => "Universal jurisdiction over",
        CompetenceBasis::ActivePersonality => "Active personality (its nationals) over",
        CompetenceBasis::PassivePersonality => {
            "Passive personality (its nationals as victims) over"
        }
        CompetenceBasis::Territorial => "Territorial jurisdiction over",
        CompetenceBasis::Other => "Another basis, over",
    }
}

fn crime_options() -> Vec<(String, String)> {
    Crime::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), plain(c.as_str())))
        .collect()
}

fn vocabulary<T: Copy>(
    all: &[T],
    wire: fn(T) -> &'static str,
    label: fn(T) -> String,
) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (wire(*v).to_string(), label(*v)))
        .collect()
}

fn jurisdiction_fields(f: &Filled<'_>) -> Vec<Field> {
    let mut fields = vec![
        f.input(
            "name",
            "Name",
            "text",
            Some("As requests and reports will name it."),
        ),
        f.input(
            "country_code",
            "Country code",
            "text",
            Some("Two letters (ISO 3166-1), for example DE."),
        ),
        f.choose(
            "death_penalty_status",
            "Death penalty",
            "radios",
            vocabulary(DeathPenaltyStatus::ALL, DeathPenaltyStatus::as_str, |d| {
                plain(d.describe())
            }),
        ),
    ];
    for (i, (name, basis)) in BASES.iter().enumerate() {
        let mut field = f.choose(name, basis_label(*basis), "checkboxes", crime_options());
        if i == 0 {
            field.error = f.error("competence_bases");
        }
        fields.push(field);
    }
    fields
}

/// Reads a date field; a value that is not one is named.
fn day(values: &Values, name: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let raw = values.one(name);
    match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) if raw.trim().is_empty() => {
            errors.push(FieldError::new(name, "is required"));
            None
        }
        Err(_) => {
            errors.push(FieldError::new(name, "must be a date"));
            None
        }
    }
}

/// Reads one choice of a vocabulary; none or an unknown one is named.
fn one_of<T>(
    values: &Values,
    name: &str,
    parse: fn(&str) -> Option<T>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let v = parse(&values.one(name));
    if v.is_none() {
        errors.push(FieldError::new(name, "choose one"));
    }
    v
}

fn bases_from(values: &Values, errors: &mut Vec<FieldError>) -> Vec<CompetenceBasisEntry> {
    let mut out = Vec::new();
    for (name, basis) in BASES {
        let crimes: Vec<Crime> = values
            .all(name)
            .iter()
            .filter_map(|c| Crime::parse(c))
            .collect();
        if values.all(name).len() != crimes.len() {
            errors.push(FieldError::new(
                name,
                "names a crime the service does not know",
            ));
        }
        if !crimes.is_empty() {
            out.push(CompetenceBasisEntry { basis, crimes });
        }
    }
    out
}

/// The errors a form shows: its own and the service's, each with its field's label.
fn summary(
    fields: &[Field],
    errors: &[FieldError],
    conflict: Option<String>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            let base = base_name(&e.field);
            let (target, label) = fields
                .iter()
                .find(|f| f.name == base)
                .map(|f| (f.name.to_string(), f.label))
                .unwrap_or_else(|| match base {
                    "competence_bases" => (BASES[0].0.to_string(), "Jurisdiction over the crimes"),
                    _ => (String::new(), ""),
                });
            let label = if label.is_empty() { base } else { label };
            (target, format!("{label}: {}", e.message))
        })
        .collect();
    if let Some(m) = conflict {
        out.push((String::new(), m));
    }
    out
}

/// Where a form sits: what its caption says, where it posts, where Back leads.
struct Place {
    caption: String,
    post_to: String,
    back: String,
}

/// A form of this kind with these values and what was wrong with them.
fn show_form(
    signed: &Signed,
    status: StatusCode,
    kind: Kind,
    place: Place,
    values: &Values,
    errors: &[FieldError],
    conflict: Option<String>,
) -> HttpResponse {
    let fields = kind.fields(&Filled { values, errors });
    let (title, button) = kind.words();
    let errors = summary(&fields, errors, conflict);
    render(
        status,
        &FormPage {
            user: Some(UserBar::of(&signed.0)),
            csrf: signed.0.csrf.clone(),
            caption: place.caption,
            title,
            post_to: place.post_to,
            back_href: place.back,
            button,
            fields,
            errors,
            version: Some(values.one("version")).filter(|v| !v.is_empty()),
        },
    )
}

/// After a form: to where it led, or the form again with what was wrong.
fn answer(
    signed: &Signed,
    kind: Kind,
    place: Place,
    values: &Values,
    result: Outcome,
) -> HttpResponse {
    match result {
        Outcome::Done(to) => see_other(&to),
        Outcome::Refused(errors, conflict) => show_form(
            signed,
            StatusCode::UNPROCESSABLE_ENTITY,
            kind,
            place,
            values,
            &errors,
            conflict,
        ),
    }
}

/// What became of a form: done (go there), or shown again with what was wrong.
enum Outcome {
    Done(String),
    Refused(Vec<FieldError>, Option<String>),
}

fn outcome<T>(
    result: Result<T, AppError>,
    done: impl FnOnce(T) -> String,
) -> Result<Outcome, PageError> {
    match result {
        Ok(v) => Ok(Outcome::Done(done(v))),
        Err(AppError::Validation(errors)) => Ok(Outcome::Refused(errors, None)),
        Err(AppError::Conflict(m)) => Ok(Outcome::Refused(vec![], Some(m))),
        Err(AppError::VersionMismatch | AppError::VersionRequired) => {
            Ok(Outcome::Refused(vec![], Some(STALE.into())))
        }
        Err(e) => Err(e.into()),
    }
}

/// A form sent over a version that is no longer current.
const STALE: &str = "Someone else changed this meanwhile. What you typed is kept below: check it against the current entry, then save again.";

/// The form's values with the version replaced by the current one, so that saving again
/// after a stale form is a deliberate choice over what is stored now.
fn at_version(values: &Values, version: i64) -> Values {
    let mut v: Vec<(String, String)> = values
        .0
        .iter()
        .filter(|(k, _)| k != "version")
        .cloned()
        .collect();
    v.push(("version".into(), version.to_string()));
    Values(v)
}

/// The version a form says it was based on.
fn expected_of(values: &Values) -> Expected {
    match values.one("version").trim() {
        "" => Expected::Missing,
        v => v.parse().map_or(Expected::Unreadable, Expected::Version),
    }
}

/// The form's kinds, each with what it shows and what it sends.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    NewJurisdiction,
    EditJurisdiction,
    Assessment,
    Assurance,
    Framework,
    NewAuthority,
    EditAuthority,
}

impl Kind {
    fn from_path(what: &str) -> Option<Kind> {
        Some(match what {
            "edit" => Kind::EditJurisdiction,
            "assessments" => Kind::Assessment,
            "assurances" => Kind::Assurance,
            "frameworks" => Kind::Framework,
            "authorities" => Kind::NewAuthority,
            _ => return None,
        })
    }

    fn words(self) -> (&'static str, &'static str) {
        match self {
            Kind::NewJurisdiction => ("Add a jurisdiction", "Add the jurisdiction"),
            Kind::EditJurisdiction => ("Change the jurisdiction", "Save the changes"),
            Kind::Assessment => ("Record a human-rights assessment", "Record the assessment"),
            Kind::Assurance => ("Record a death-penalty assurance", "Record the assurance"),
            Kind::Framework => ("Record a cooperation framework", "Record the framework"),
            Kind::NewAuthority => ("Add a requesting authority", "Add the authority"),
            Kind::EditAuthority => ("Change the authority", "Save the changes"),
        }
    }

    fn fields(self, f: &Filled<'_>) -> Vec<Field> {
        match self {
            Kind::NewJurisdiction | Kind::EditJurisdiction => {
                let mut fields = jurisdiction_fields(f);
                if self == Kind::EditJurisdiction {
                    fields.push(active_field(f));
                }
                fields
            }
            Kind::Assessment => vec![
                f.choose(
                    "outcome",
                    "Outcome",
                    "radios",
                    vocabulary(AssessmentOutcome::ALL, AssessmentOutcome::as_str, |o| {
                        assessment_words(o).0.into()
                    }),
                ),
                f.input("assessed_on", "Assessed on", "date", None),
                f.input(
                    "review_due",
                    "Review due",
                    "date",
                    Some("After this day the assessment lapses and requests need review."),
                ),
                f.input("assessor", "Assessor", "text", None),
                f.input("summary", "Summary", "textarea", None),
            ],
            Kind::Assurance => vec![
                f.input(
                    "reference",
                    "Reference",
                    "text",
                    Some("The note verbale or letter that gives it."),
                ),
                f.input("given_on", "Given on", "date", None),
                f.input("expires_on", "Expires on (optional)", "date", None),
                f.choose(
                    "scope",
                    "Crimes it covers (none ticked: every crime)",
                    "checkboxes",
                    crime_options(),
                ),
            ],
            Kind::Framework => vec![
                f.choose(
                    "kind",
                    "Kind",
                    "radios",
                    vocabulary(FrameworkKind::ALL, FrameworkKind::as_str, |k| {
                        plain(k.as_str())
                    }),
                ),
                f.input("reference", "Reference", "text", None),
                f.input("signed_on", "Signed on", "date", None),
            ],
            Kind::NewAuthority | Kind::EditAuthority => {
                let mut fields = vec![
                    f.input("name", "Name", "text", None),
                    f.choose(
                        "kind",
                        "Kind",
                        "radios",
                        vocabulary(AuthorityKind::ALL, AuthorityKind::as_str, |k| {
                            plain(k.describe())
                        }),
                    ),
                    f.input("contact_email", "Contact email (optional)", "email", None),
                ];
                if self == Kind::EditAuthority {
                    fields.push(active_field(f));
                }
                fields
            }
        }
    }
}

/// The values of a stored jurisdiction, as its form holds them.
fn jurisdiction_values(j: &JurisdictionView) -> Values {
    let mut v = vec![
        ("name".to_string(), j.name.clone()),
        ("country_code".to_string(), j.country_code.clone()),
        (
            "death_penalty_status".to_string(),
            j.death_penalty_status.as_str().to_string(),
        ),
    ];
    for b in &j.competence_bases {
        let name = BASES
            .iter()
            .find(|(_, basis)| *basis == b.basis)
            .map(|(n, _)| *n)
            .unwrap_or("basis_other");
        v.extend(
            b.crimes
                .iter()
                .map(|c| (name.to_string(), c.as_str().to_string())),
        );
    }
    if j.active {
        v.push(("active".into(), "yes".into()));
    }
    v.push(("version".into(), j.version.to_string()));
    Values(v)
}

fn authority_values(a: &AuthorityView) -> Values {
    let mut v = vec![
        ("name".to_string(), a.name.clone()),
        ("kind".to_string(), a.kind.as_str().to_string()),
        (
            "contact_email".to_string(),
            a.contact_email.clone().unwrap_or_default(),
        ),
    ];
    if a.active {
        v.push(("active".into(), "yes".into()));
    }
    v.push(("version".into(), a.version.to_string()));
    Values(v)
}

async fn place_name(
    svc: &Services,
    signed: &Signed,
    id: &JurisdictionId,
) -> Result<JurisdictionView, PageError> {
    Ok(registry::get_jurisdiction(svc, signed.caller(), id.clone()).await?)
}

fn writer_only(signed: &Signed) -> Result<(), PageError> {
    if may_write(signed) {
        Ok(())
    } else {
        Err(PageError::Service(AppError::Forbidden(
            "registry writes are for administrators".into(),
        )))
    }
}

#[get("/registry/new")]
pub async fn new_form(svc: Data<Services>, signed: Signed) -> Result<HttpResponse, PageError> {
    signed
        .caller()
        .resolve(&svc, Some(Action::WriteRegistry))
        .await?;
    let values = Values(vec![]);
    Ok(show_form(
        &signed,
        StatusCode::OK,
        Kind::NewJurisdiction,
        Place {
            caption: "Registry".into(),
            post_to: "/registry/new".into(),
            back: "/registry".into(),
        },
        &values,
        &[],
        None,
    ))
}

#[post("/registry/new")]
pub async fn create(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    writer_only(&signed)?;
    let mut errors = Vec::new();
    let status = one_of(
        &values,
        "death_penalty_status",
        DeathPenaltyStatus::parse,
        &mut errors,
    );
    let bases = bases_from(&values, &mut errors);
    let result = match (status, errors.is_empty()) {
        (Some(death_penalty_status), true) => outcome(
            registry::create_jurisdiction(
                &svc,
                signed.caller(),
                CreateJurisdiction {
                    name: values.one("name"),
                    country_code: values.one("country_code"),
                    death_penalty_status,
                    competence_bases: bases,
                    active: Some(true),
                },
            )
            .await,
            |j| format!("/registry/{}?done=created", j.id),
        )?,
        _ => Outcome::Refused(errors, None),
    };
    Ok(answer(
        &signed,
        Kind::NewJurisdiction,
        Place {
            caption: "Registry".into(),
            post_to: "/registry/new".into(),
            back: "/registry".into(),
        },
        &values,
        result,
    ))
}

#[get("/registry/{id}/{what}")]
pub async fn form(
    svc: Data<Services>,
    signed: Signed,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (raw, what) = path.into_inner();
    let id = jurisdiction_id(&raw)?;
    let kind = Kind::from_path(&what)
        .ok_or_else(|| PageError::Service(AppError::NotFound("no such page".into())))?;
    signed
        .caller()
        .resolve(&svc, Some(Action::WriteRegistry))
        .await?;
    let j = place_name(&svc, &signed, &id).await?;
    let values = match kind {
        Kind::EditJurisdiction => jurisdiction_values(&j),
        _ => Values(vec![]),
    };
    Ok(show_form(
        &signed,
        StatusCode::OK,
        kind,
        Place {
            caption: j.name.clone(),
            post_to: format!("/registry/{}/{what}", j.id),
            back: format!("/registry/{}", j.id),
        },
        &values,
        &[],
        None,
    ))
}

#[post("/registry/{id}/{what}")]
pub async fn submit(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let (raw, what) = path.into_inner();
    let id = jurisdiction_id(&raw)?;
    let kind = Kind::from_path(&what)
        .ok_or_else(|| PageError::Service(AppError::NotFound("no such page".into())))?;
    writer_only(&signed)?;
    let j = place_name(&svc, &signed, &id).await?;
    let back = format!("/registry/{}", j.id);
    let mut errors = Vec::new();
    let caller = signed.caller();
    let result = match kind {
        Kind::EditJurisdiction => {
            let status = one_of(
                &values,
                "death_penalty_status",
                DeathPenaltyStatus::parse,
                &mut errors,
            );
            let bases = bases_from(&values, &mut errors);
            match (status, errors.is_empty()) {
                (Some(s), true) => outcome(
                    registry::update_jurisdiction(
                        &svc,
                        caller,
                        id,
                        UpdateJurisdiction {
                            name: Some(values.one("name")),
                            country_code: Some(values.one("country_code")),
                            death_penalty_status: Some(s),
                            competence_bases: Some(bases),
                            active: Some(values.one("active") == "yes"),
                        },
                        expected_of(&values),
                    )
                    .await,
                    |_| format!("{back}?done=updated"),
                )?,
                _ => Outcome::Refused(errors, None),
            }
        }
        Kind::Assessment => {
            let o = one_of(&values, "outcome", AssessmentOutcome::parse, &mut errors);
            let (a, r) = (
                day(&values, "assessed_on", &mut errors),
                day(&values, "review_due", &mut errors),
            );
            match (o, a, r, errors.is_empty()) {
                (Some(outcome_), Some(assessed_on), Some(review_due), true) => outcome(
                    registry::add_assessment(
                        &svc,
                        caller,
                        id,
                        NewAssessment {
                            outcome: outcome_,
                            assessed_on,
                            review_due,
                            assessor: values.one("assessor"),
                            summary: values.one("summary"),
                        },
                    )
                    .await,
                    |_| format!("{back}?done=assessment"),
                )?,
                _ => Outcome::Refused(errors, None),
            }
        }
        Kind::Assurance => {
            let given = day(&values, "given_on", &mut errors);
            let expires = if values.one("expires_on").trim().is_empty() {
                None
            } else {
                day(&values, "expires_on", &mut errors)
            };
            let scope: Vec<Crime> = values
                .all("scope")
                .iter()
                .filter_map(|c| Crime::parse(c))
                .collect();
            match (given, errors.is_empty()) {
                (Some(given_on), true) => outcome(
                    registry::add_assurance(
                        &svc,
                        caller,
                        id,
                        NewAssurance {
                            reference: values.one("reference"),
                            given_on,
                            scope,
                            expires_on: expires,
                        },
                    )
                    .await,
                    |_| format!("{back}?done=assurance"),
                )?,
                _ => Outcome::Refused(errors, None),
            }
        }
        Kind::Framework => {
            let k = one_of(&values, "kind", FrameworkKind::parse, &mut errors);
            let signed_on = day(&values, "signed_on", &mut errors);
            match (k, signed_on, errors.is_empty()) {
                (Some(kind_), Some(signed_on), true) => outcome(
                    registry::add_framework(
                        &svc,
                        caller,
                        id,
                        NewFramework {
                            kind: kind_,
                            reference: values.one("reference"),
                            signed_on,
                        },
                    )
                    .await,
                    |_| format!("{back}?done=framework"),
                )?,
                _ => Outcome::Refused(errors, None),
            }
        }
        Kind::NewAuthority => {
            let k = one_of(&values, "kind", AuthorityKind::parse, &mut errors);
            let email = values.one("contact_email");
            match (k, errors.is_empty()) {
                (Some(kind_), true) => outcome(
                    registry::create_authority(
                        &svc,
                        caller,
                        id,
                        CreateAuthority {
                            name: values.one("name"),
                            kind: kind_,
                            contact_email: (!email.trim().is_empty()).then_some(email),
                            active: Some(true),
                        },
                    )
                    .await,
                    |_| format!("{back}?done=authority"),
                )?,
                _ => Outcome::Refused(errors, None),
            }
        }
        Kind::NewJurisdiction | Kind::EditAuthority => {
            return Err(PageError::Service(AppError::NotFound(
                "no such page".into(),
            )));
        }
    };
    // A stale edit comes back over the version stored now (read before the change was tried).
    let values = match &result {
        Outcome::Refused(_, Some(m)) if m == STALE => at_version(&values, j.version),
        _ => values,
    };
    Ok(answer(
        &signed,
        kind,
        Place {
            caption: j.name.clone(),
            post_to: format!("{back}/{what}"),
            back,
        },
        &values,
        result,
    ))
}

fn authority_id(raw: &str) -> Result<AuthorityId, PageError> {
    AuthorityId::parse(raw)
        .ok_or_else(|| PageError::Service(AppError::NotFound("no such authority".into())))
}

async fn stored_authority(
    svc: &Services,
    signed: &Signed,
    id: &JurisdictionId,
    aid: &AuthorityId,
) -> Result<AuthorityView, PageError> {
    registry::list_authorities(svc, signed.caller(), id.clone(), None, 200)
        .await?
        .items
        .into_iter()
        .find(|a| a.id == aid.as_str())
        .ok_or_else(|| PageError::Service(AppError::NotFound("no such authority".into())))
}

#[get("/registry/{id}/authorities/{aid}")]
pub async fn authority_form(
    svc: Data<Services>,
    signed: Signed,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (raw, raw_aid) = path.into_inner();
    let (id, aid) = (jurisdiction_id(&raw)?, authority_id(&raw_aid)?);
    signed
        .caller()
        .resolve(&svc, Some(Action::WriteRegistry))
        .await?;
    let j = place_name(&svc, &signed, &id).await?;
    let a = stored_authority(&svc, &signed, &id, &aid).await?;
    let values = authority_values(&a);
    Ok(show_form(
        &signed,
        StatusCode::OK,
        Kind::EditAuthority,
        Place {
            caption: j.name.clone(),
            post_to: format!("/registry/{}/authorities/{}", j.id, a.id),
            back: format!("/registry/{}", j.id),
        },
        &values,
        &[],
        None,
    ))
}

#[post("/registry/{id}/authorities/{aid}")]
pub async fn authority_edit(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let (raw, raw_aid) = path.into_inner();
    let (id, aid) = (jurisdiction_id(&raw)?, authority_id(&raw_aid)?);
    writer_only(&signed)?;
    let j = place_name(&svc, &signed, &id).await?;
    let j_id = id.clone();
    let back = format!("/registry/{}", j.id);
    let mut errors = Vec::new();
    let k = one_of(&values, "kind", AuthorityKind::parse, &mut errors);
    let result = match (k, errors.is_empty()) {
        (Some(kind), true) => outcome(
            registry::update_authority(
                &svc,
                signed.caller(),
                id,
                aid.clone(),
                UpdateAuthority {
                    name: Some(values.one("name")),
                    kind: Some(kind),
                    contact_email: Some(values.one("contact_email")),
                    active: Some(values.one("active") == "yes"),
                },
                expected_of(&values),
            )
            .await,
            |_| format!("{back}?done=authority"),
        )?,
        _ => Outcome::Refused(errors, None),
    };
    let values = match &result {
        Outcome::Refused(_, Some(m)) if m == STALE => {
            let now = stored_authority(&svc, &signed, &j_id, &aid).await?;
            at_version(&values, now.version)
        }
        _ => values,
    };
    Ok(answer(
        &signed,
        Kind::EditAuthority,
        Place {
            caption: j.name.clone(),
            post_to: format!("{back}/authorities/{}", aid.as_str()),
            back,
        },
        &values,
        result,
    ))
}
