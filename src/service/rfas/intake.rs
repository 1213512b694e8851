//! Logging a new request: the typed command, its checks (shared with corrections), the
//! idempotency key, and the write that gives the request its reference and first events.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::notify::{Notice, notify};
use super::view::{self, Conduct, IntakeDetails, Requester, RfaView, from_json, to_json};
use crate::db::DbConnection;
use crate::db::registry as registry_store;
use crate::db::rfas::{self as store, RfaRow};
use crate::domain::canonical::canonical;
use crate::domain::email::Email;
use crate::domain::ids::{AuthorityId, JurisdictionId, RfaId};
use crate::domain::lifecycle::{AssistanceType, Channel, Confidentiality, Priority, State};
use crate::domain::policy::{self, Decision as Access, Principal, Resource, authorize};
use crate::domain::registry::{Crime, ProceedingType, country_code};
use crate::error::AppError;
use crate::service::accounts::Caller;
use crate::service::chain::{Appender, NewEvent};
use crate::service::eligibility::{apply_decision, evaluate, record_decision};
use crate::service::validate::Errors;
use crate::service::{Rules, Services, day};

const MAX_SUBJECT: usize = 300;
const MAX_DESCRIPTION: usize = 20_000;
const MAX_TAGS: usize = 20;

// Front ends read it their own way (the API field by field from JSON, so that it can name
// every wrong field); clients see it described as `IntakeRequest`.
/// A new request for assistance. Every wrong field is named at once in a 422 answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IntakeRequest)]
pub struct NewRfa {
    #[schema(value_type = String)]
    pub jurisdiction_id: JurisdictionId,
    #[schema(value_type = String)]
    pub authority_id: AuthorityId,
    /// When the request reached the mechanism (not in the future; may be before it is logged):
    /// an RFC 3339 date-time, or a date alone (`YYYY-MM-DD`) for the start of that day in the
    /// reporting time zone.
    #[schema(value_type = String, example = "2026-03-02T09:30:00Z")]
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    #[schema(min_length = 1)]
    pub subject: String,
    #[schema(min_length = 1)]
    pub description: String,
    pub requester: Requester,
    #[schema(min_items = 1)]
    pub assistance_types: Vec<AssistanceType>,
    pub proceeding_type: ProceedingType,
    #[schema(min_items = 1)]
    pub crimes: Vec<Crime>,
    pub conduct: Conduct,
    pub national_case_reference: Option<String>,
    pub priority: Priority,
    pub confidentiality: Confidentiality,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl NewRfa {
    /// The request checked as a whole and normalised (text trimmed, the email and country
    /// code in their canonical forms); every wrong field is named at once.
    pub fn checked(self, rules: &Rules) -> Result<Self, AppError> {
        let mut errors = Errors::new();
        let r = self.check(rules, &mut errors);
        errors.finish()?;
        Ok(r)
    }

    pub(super) fn check(mut self, rules: &Rules, errors: &mut Errors) -> Self {
        self.subject = errors.text("subject", &self.subject, MAX_SUBJECT, false);
        self.description = errors.text("description", &self.description, MAX_DESCRIPTION, true);
        self.requester.name = errors.text("requester.name", &self.requester.name, 200, false);
        self.requester.email = match self.requester.email.as_deref() {
            Some(e) if !e.trim().is_empty() => match Email::parse(e) {
                Ok(e) => Some(e.into_string()),
                Err(m) => {
                    errors.add("requester.email", m);
                    self.requester.email
                }
            },
            _ => None,
        };
        if self.assistance_types.is_empty() {
            errors.add("assistance_types", "must name at least one");
        }
        errors.distinct(
            "assistance_types",
            &self.assistance_types,
            AssistanceType::ALL.len(),
        );
        if self.crimes.is_empty() {
            errors.add("crimes", "must name at least one");
        }
        errors.distinct("crimes", &self.crimes, Crime::ALL.len());
        match country_code(&self.conduct.country_code) {
            Some(code) => self.conduct.country_code = code,
            None => errors.add(
                "conduct.country_code",
                "is not an ISO 3166-1 alpha-2 country code",
            ),
        }
        errors.not_future("conduct.from", self.conduct.from);
        if self.conduct.to.is_some_and(|to| to < self.conduct.from) {
            errors.add(
                "conduct.to",
                "must not be before the first day of the conduct",
            );
        }
        // A little clock skew between a client and the server is not "the future".
        if self.received_at > Utc::now() + chrono::Duration::minutes(5) {
            errors.add("received_at", "must not be in the future");
        } else if !crate::service::day::in_range(&self.received_at.naive_utc())
            || !day::in_report_years(rules.day_of(self.received_at.naive_utc()))
        {
            // The day of receipt in the reporting time zone is what the figures count.
            errors.add("received_at", day::REPORT_YEARS_MESSAGE);
        }
        self.national_case_reference = self
            .national_case_reference
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| errors.text("national_case_reference", s, 200, false));
        check_tags(errors, &self.tags);
        self
    }

    /// SHA-256 of the command's canonical JSON: a retry of the same request has the same
    /// fingerprint, whichever front end sent it and however its body was laid out.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let value = serde_json::to_value(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical(&value).as_bytes()))
    }
}

fn check_tags(errors: &mut Errors, tags: &[String]) {
    errors.distinct("tags", tags, MAX_TAGS);
    for (i, t) in tags.iter().enumerate() {
        let ok = !t.is_empty()
            && t.len() <= 40
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            errors.add(format!("tags[{i}]"), "must be 1 to 40 of a-z, 0-9 and _");
        }
    }
}

/// A client's name for one intake, so that a retry returns the first request instead of
/// logging a duplicate: 1 to 200 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if raw.is_empty() || raw.len() > 200 || !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(AppError::Malformed(
                "Idempotency-Key must be 1 to 200 visible ASCII characters.".into(),
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug)]
pub struct Created {
    pub view: RfaView,
    /// True when an earlier intake with the same idempotency key was returned.
    pub replayed: bool,
}

/// Logs a new request for the caller (a liaison officer for their own jurisdictions, or a
/// supervisor).
pub async fn intake(
    svc: &Services,
    caller: Caller,
    request: NewRfa,
    key: Option<IdempotencyKey>,
) -> Result<Created, AppError> {
    let who = caller.resolve(svc, Some(policy::Action::LogRfa)).await?;
    let fingerprint = request.fingerprint();
    let request = request.checked(&svc.rules)?;
    match authorize(
        who.principal(),
        policy::Action::LogRfa,
        Resource::Rfa {
            jurisdiction_id: request.jurisdiction_id.as_str(),
        },
    ) {
        Access::Allow => {}
        Access::Forbidden | Access::Hidden => {
            return Err(AppError::Forbidden(
                "You may log requests only for the jurisdictions you liaise with.".into(),
            ));
        }
    }
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            c.write(|c| intake_in(c, &rules, who.principal(), request, key, fingerprint, None))
        })
        .await
}

/// An intake inside the caller's write transaction, recorded now (after the chain lock, so
/// event times follow the chain's order) or at `at` for demo data with a clock of its own.
/// `fingerprint` is the request's (`NewRfa::fingerprint`), kept to recognise a retry.
pub fn intake_in(
    c: &mut DbConnection,
    rules: &Rules,
    who: &Principal,
    request: NewRfa,
    key: Option<IdempotencyKey>,
    fingerprint: String,
    at: Option<NaiveDateTime>,
) -> Result<Created, AppError> {
    let mut chain = Appender::lock(c)?;
    let at = at.unwrap_or_else(|| rules.now());
    if let Some(key) = &key
        && let Some(existing) = store::find_by_idempotency_key(c, &who.user_id, key.as_str())?
    {
        if existing.request_digest.as_deref() != Some(fingerprint.as_str()) {
            return Err(AppError::field(
                "Idempotency-Key",
                "was already used with a different request body",
            ));
        }
        return Ok(Created {
            view: view::view(c, rules, who, existing)?,
            replayed: true,
        });
    }
    let mut row = new_row(c, rules, who, request, key, fingerprint, at)?;
    let decision = evaluate(c, rules, &row, rules.day_of(at))?;
    apply_decision(&mut row, &decision);
    store::insert(c, &row)?;
    super::search::reindex(c, &row)?;
    let tags: Vec<String> = from_json("tags", &row.tags)?;
    store::set_tags(c, &row.id, &tags)?;
    let details: IntakeDetails = from_json("intake", &row.intake)?;
    chain.append(
        c,
        NewEvent {
            rfa_id: &row.id,
            actor_id: &who.user_id,
            at,
            action: "intake",
            state_before: None,
            state_after: &row.state,
            was: None,
            details: json!({
                "reference": row.reference,
                "jurisdiction_id": row.jurisdiction_id,
                "received_at": row.received_at.and_utc(),
                "priority": row.priority,
                "due_on": row.due_on,
                "report": {
                    "kind": "received",
                    "day": row.received_on,
                    "jurisdiction_id": row.jurisdiction_id,
                    "priority": row.priority,
                    "assistance_types": details.assistance_types,
                },
            }),
        },
    )?;
    record_decision(
        c,
        &mut chain,
        &row,
        None,
        &who.user_id,
        at,
        "intake",
        &decision,
    )?;
    notify(c, rules, &row, Notice::Acknowledgement, at)?;
    Ok(Created {
        view: view::view(c, rules, who, row)?,
        replayed: false,
    })
}

fn new_row(
    c: &mut DbConnection,
    rules: &Rules,
    who: &Principal,
    r: NewRfa,
    key: Option<IdempotencyKey>,
    fingerprint: String,
    now: NaiveDateTime,
) -> Result<RfaRow, AppError> {
    let mut errors = Errors::new();
    if registry_store::find_jurisdiction(c, r.jurisdiction_id.as_str())?.is_none() {
        errors.add("jurisdiction_id", "is not a jurisdiction in the registry");
    } else if registry_store::find_authority(
        c,
        r.jurisdiction_id.as_str(),
        r.authority_id.as_str(),
    )?
    .is_none()
    {
        errors.add("authority_id", "is not an authority of this jurisdiction");
    }
    errors.finish()?;
    let received_at = crate::clock::micros(r.received_at.naive_utc());
    let received_on = rules.day_of(received_at);
    let year = chrono::Datelike::year(&received_on);
    let seq = store::next_reference(c, year)?;
    let details = IntakeDetails {
        channel: r.channel,
        requester: r.requester,
        assistance_types: r.assistance_types,
        proceeding_type: r.proceeding_type,
        crimes: r.crimes,
        conduct: r.conduct,
        national_case_reference: r.national_case_reference,
    };
    let mut row = RfaRow {
        id: RfaId::generate().into_string(),
        reference: format!("RFA-{year}-{seq:04}"),
        jurisdiction_id: r.jurisdiction_id.into_string(),
        authority_id: r.authority_id.into_string(),
        received_at,
        subject: r.subject,
        description: r.description,
        intake: to_json(&details),
        priority: r.priority.as_str().into(),
        priority_rank: r.priority.rank(),
        confidentiality: r.confidentiality.as_str().into(),
        tags: to_json(&r.tags),
        state: State::Received.as_str().into(),
        outcome: None,
        assignee_id: None,
        eligibility_outcome: String::new(),
        eligibility: "null".into(),
        eligibility_override: None,
        received_on,
        due_on: received_on,
        paused_days: 0,
        paused_since: None,
        extended_to: None,
        extensions: "[]".into(),
        version: 1,
        created_by: who.user_id.clone(),
        created_at: now,
        updated_at: now,
        idempotency_key: key.map(|k| k.0),
        paused_due_key: None,
        request_digest: Some(fingerprint),
    };
    view::refresh_due(rules, &mut row)?;
    Ok(row)
}
