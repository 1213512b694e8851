//! Requests for assistance: intake, reading, the queue, lifecycle actions, bulk triage,
//! eligibility (at intake, on demand and when the registry's facts change) and the event
//! log. Every change and its events are written in one transaction that holds the chain
//! lock, so references and the hash chain stay single lines across instances.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::db::DbConnection;
use crate::db::registry as registry_store;
use crate::db::rfas::{self as store, RfaAssuranceRow, RfaRow};
use crate::domain::eligibility::{self, Assurance, Decision, Outcome, RequestFacts, Rules};
use crate::domain::email::Email;
use crate::domain::lifecycle::{
    self, AssistanceType, Channel, ClosingOutcome, Confidentiality, DueParts, Priority,
    ResponseKind, RfaAction, State, Targets,
};
use crate::domain::policy::{self, Decision as Access, Principal, Resource, authorize};
use crate::domain::registry::{AuthorityKind, Crime, ProceedingType, country_code};
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::service::accounts::{Caller, new_id};
use crate::service::chain::{self, Appender, NewEvent, micros};
use crate::service::fields::Fields;
use crate::service::paging;
use crate::service::validate::Errors;
use crate::state::AppState;

/// Settings the RFA rules need, taken once from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub tz: Tz,
    pub targets: Targets,
    pub rules: Rules,
    /// Which notifications changes put in the outbox.
    pub mail: crate::mail::Kinds,
}

impl Context {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            tz: s.time_zone().unwrap_or(chrono_tz::UTC),
            targets: Targets {
                urgent_days: s.deadlines.urgent_days,
                high_days: s.deadlines.high_days,
                routine_days: s.deadlines.routine_days,
            },
            rules: Rules {
                mandate_start: s.eligibility.mandate_start,
            },
            mail: crate::mail::Kinds::from_settings(&s.mail),
        }
    }

    /// The calendar day of a moment in the reporting time zone.
    pub fn day_of(&self, t: NaiveDateTime) -> NaiveDate {
        self.tz.from_utc_datetime(&t).date_naive()
    }

    pub fn today(&self) -> NaiveDate {
        self.day_of(Utc::now().naive_utc())
    }

    /// The first moment (UTC) of a day in the reporting time zone.
    pub fn start_of(&self, day: NaiveDate) -> NaiveDateTime {
        // Where a clock change skips midnight, the day starts at the first hour that exists.
        (0..4)
            .filter_map(|h| day.and_hms_opt(h, 0, 0))
            .find_map(|local| self.tz.from_local_datetime(&local).earliest())
            .map(|t| t.naive_utc())
            .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default())
    }
}

// ---------------------------------------------------------------------------------------
// Wire types

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

/// A new request for assistance. Every wrong field is named at once in a 422 answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    pub jurisdiction_id: String,
    pub authority_id: String,
    /// When the request reached the mechanism (not in the future; may be before it is logged).
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

/// Intake fields that can be corrected until the request is accepted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakePatch {
    pub authority_id: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
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

const INTAKE_FIELDS: [&str; 15] = [
    "jurisdiction_id",
    "authority_id",
    "received_at",
    "channel",
    "subject",
    "description",
    "requester",
    "assistance_types",
    "proceeding_type",
    "crimes",
    "conduct",
    "national_case_reference",
    "priority",
    "confidentiality",
    "tags",
];

/// The intake as stored beside the queried columns.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IntakeDetails {
    channel: Channel,
    requester: Requester,
    assistance_types: Vec<AssistanceType>,
    proceeding_type: ProceedingType,
    crimes: Vec<Crime>,
    conduct: Conduct,
    national_case_reference: Option<String>,
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
    /// A supervisor's written override of a non-eligible outcome.
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
    /// Send as `If-Match` (it is also the `ETag`).
    pub version: i64,
    pub created_by: String,
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

// ---------------------------------------------------------------------------------------
// Rows and views

fn from_json<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, AppError> {
    serde_json::from_str(json).map_err(|e| AppError::internal(format!("stored {what}: {e}")))
}

fn to_json(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn state_of(row: &RfaRow) -> Result<State, AppError> {
    State::parse(&row.state).ok_or_else(|| AppError::internal("stored state unknown"))
}

fn priority_of(row: &RfaRow) -> Result<Priority, AppError> {
    Priority::parse(&row.priority).ok_or_else(|| AppError::internal("stored priority unknown"))
}

fn due_parts(ctx: &Context, row: &RfaRow, with_running_pause: bool) -> Result<DueParts, AppError> {
    let priority = priority_of(row)?;
    let running = match (with_running_pause, row.paused_since) {
        (true, Some(since)) => lifecycle::pause_days(ctx.day_of(since), ctx.today()),
        _ => 0,
    };
    Ok(DueParts {
        received_on: row.received_on,
        priority,
        target_days: ctx.targets.days(priority),
        paused_days: u32::try_from(row.paused_days).unwrap_or(0) + running,
        extended_to: row.extended_to,
    })
}

/// Recomputes the stored due date (without a running pause) from its parts.
fn refresh_due(ctx: &Context, row: &mut RfaRow) -> Result<(), AppError> {
    row.due_on = due_parts(ctx, row, false)?.due_on();
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

pub fn view(ctx: &Context, p: &Principal, row: RfaRow) -> Result<RfaView, AppError> {
    let state = state_of(&row)?;
    let details: IntakeDetails = from_json("intake", &row.intake)?;
    let parts = due_parts(ctx, &row, true)?;
    let due_on = parts.due_on();
    Ok(RfaView {
        allowed_actions: allowed_actions(p, state, &row.jurisdiction_id),
        overdue: lifecycle::overdue(state, due_on, ctx.today()),
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
        state,
        id: row.id,
        reference: row.reference,
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
        confidentiality: Confidentiality::parse(&row.confidentiality)
            .ok_or_else(|| AppError::internal("stored confidentiality unknown"))?,
        tags: from_json("tags", &row.tags)?,
        version: row.version,
        created_by: row.created_by,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

fn event_view(e: store::EventRow) -> EventView {
    EventView {
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

// ---------------------------------------------------------------------------------------
// Eligibility

/// Evaluates an RFA against the registry's current facts, for the day `on`.
pub fn evaluate(
    c: &mut DbConnection,
    ctx: &Context,
    row: &RfaRow,
    on: NaiveDate,
) -> Result<Decision, AppError> {
    let details: IntakeDetails = from_json("intake", &row.intake)?;
    let jurisdiction = crate::service::registry::jurisdiction_facts(c, &row.jurisdiction_id)?
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
        crimes: details.crimes,
        conduct_country: details.conduct.country_code,
        conduct_from: details.conduct.from,
        conduct_to: details.conduct.to,
        proceeding: details.proceeding_type,
        authority_kind: AuthorityKind::parse(&authority.kind)
            .ok_or_else(|| AppError::internal("stored authority kind unknown"))?,
        authority_active: authority.active,
        assurances,
    };
    Ok(eligibility::evaluate(&facts, &jurisdiction, &ctx.rules, on))
}

/// Stores a new decision on the row (not saved) and says whether it differs from the old one.
fn apply_decision(row: &mut RfaRow, decision: &Decision) -> Result<bool, AppError> {
    let old: Option<Decision> = serde_json::from_str(&row.eligibility).ok();
    let changed = old.is_none_or(|o| {
        o.outcome != decision.outcome
            || o.criteria
                .iter()
                .map(|c| c.result)
                .ne(decision.criteria.iter().map(|c| c.result))
    });
    row.eligibility = to_json(decision);
    row.eligibility_outcome = decision.outcome.as_str().into();
    Ok(changed)
}

/// When the registry's facts about a jurisdiction change, every open RFA of it is evaluated
/// again inside the same transaction; each changed decision is recorded as an event.
pub fn facts_changed(
    c: &mut DbConnection,
    ctx: &Context,
    jurisdiction_id: &str,
    actor: &str,
    what: &str,
) -> Result<usize, AppError> {
    // Lock first: an intake racing this change either committed before (and is listed) or
    // waits and reads the new facts.
    let mut chain = Appender::lock(c)?;
    let open = store::open_of_jurisdiction(c, jurisdiction_id)?;
    let mut changed = 0;
    let at = chain::now();
    // Read again under the lock: a concurrent change may have landed meanwhile.
    for rfa in open {
        let Some(mut row) = store::find(c, &rfa.id)?.filter(|r| r.state != State::Closed.as_str())
        else {
            continue;
        };
        let decision = evaluate(c, ctx, &row, ctx.day_of(at))?;
        if !apply_decision(&mut row, &decision)? {
            continue;
        }
        row.version += 1;
        row.updated_at = at;
        store::save(c, &row)?;
        chain.append(
            c,
            NewEvent {
                rfa_id: &row.id,
                actor_id: actor,
                at,
                action: RfaAction::EvaluateEligibility.as_str(),
                state_before: Some(&row.state),
                state_after: &row.state,
                details: json!({"trigger": what, "decision": decision}),
            },
        )?;
        changed += 1;
    }
    Ok(changed)
}

// ---------------------------------------------------------------------------------------
// Intake

const MAX_SUBJECT: usize = 300;
const MAX_DESCRIPTION: usize = 20_000;
const MAX_TAGS: usize = 20;

fn check_tags(errors: &mut Errors, tags: &[String]) -> Vec<String> {
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
    tags.to_vec()
}

/// Checks an intake as a whole; returns it normalised.
fn check_intake(errors: &mut Errors, mut r: IntakeRequest) -> IntakeRequest {
    r.subject = errors.text("subject", &r.subject, MAX_SUBJECT, false);
    r.description = errors.text("description", &r.description, MAX_DESCRIPTION, true);
    r.requester.name = errors.text("requester.name", &r.requester.name, 200, false);
    if let Some(e) = r
        .requester
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
    {
        match Email::parse(e) {
            Ok(e) => r.requester.email = Some(e.into_string()),
            Err(m) => errors.add("requester.email", m),
        }
    } else {
        r.requester.email = None;
    }
    if r.assistance_types.is_empty() {
        errors.add("assistance_types", "must name at least one");
    }
    errors.distinct(
        "assistance_types",
        &r.assistance_types,
        AssistanceType::ALL.len(),
    );
    if r.crimes.is_empty() {
        errors.add("crimes", "must name at least one");
    }
    errors.distinct("crimes", &r.crimes, Crime::ALL.len());
    match country_code(&r.conduct.country_code) {
        Some(code) => r.conduct.country_code = code,
        None => errors.add(
            "conduct.country_code",
            "is not an ISO 3166-1 alpha-2 country code",
        ),
    }
    errors.not_future("conduct.from", r.conduct.from);
    if r.conduct.to.is_some_and(|to| to < r.conduct.from) {
        errors.add("conduct.to", "must not be before conduct.from");
    }
    // A little clock skew between a client and the server is not "the future".
    if r.received_at > Utc::now() + chrono::Duration::minutes(5) {
        errors.add("received_at", "must not be in the future");
    } else if !crate::service::day::in_range(&r.received_at.naive_utc()) {
        // chrono also reads years like -5000 or 0000, which no report or cursor can hold.
        errors.add("received_at", "must be in the years 0001 to 9999");
    }
    r.national_case_reference = r
        .national_case_reference
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| errors.text("national_case_reference", s, 200, false));
    r.tags = check_tags(errors, &r.tags);
    r
}

/// Parses an intake body field by field, so every wrong field is named at once.
pub fn parse_intake(body: Value) -> Result<IntakeRequest, AppError> {
    let mut f = Fields::new(body, &INTAKE_FIELDS)?;
    let jurisdiction_id: Option<String> = f.required("jurisdiction_id");
    let authority_id: Option<String> = f.required("authority_id");
    let received_at = f.required("received_at");
    let channel = f.required("channel");
    let subject = f.required("subject");
    let description = f.required("description");
    let requester = f.required("requester");
    let assistance_types = f.required("assistance_types");
    let proceeding_type = f.required("proceeding_type");
    let crimes = f.required("crimes");
    let conduct = f.required("conduct");
    let national_case_reference = f.optional("national_case_reference");
    let priority = f.required("priority");
    let confidentiality = f.required("confidentiality");
    let tags = f.optional("tags");
    for (name, id) in [
        ("jurisdiction_id", &jurisdiction_id),
        ("authority_id", &authority_id),
    ] {
        if id
            .as_deref()
            .is_some_and(|v| uuid::Uuid::parse_str(v).is_err())
        {
            f.errors.add(name, "is not a UUID");
        }
    }
    let (
        Some(jurisdiction_id),
        Some(authority_id),
        Some(received_at),
        Some(channel),
        Some(subject),
        Some(description),
        Some(requester),
        Some(assistance_types),
        Some(proceeding_type),
        Some(crimes),
        Some(conduct),
        Some(priority),
        Some(confidentiality),
    ) = (
        jurisdiction_id,
        authority_id,
        received_at,
        channel,
        subject,
        description,
        requester,
        assistance_types,
        proceeding_type,
        crimes,
        conduct,
        priority,
        confidentiality,
    )
    else {
        // Some required field is missing or malformed; the errors say which.
        return Err(f.errors.finish().err().unwrap_or_else(|| {
            AppError::internal("a required intake field was refused without an error")
        }));
    };
    let request = IntakeRequest {
        jurisdiction_id: normalise_uuid(&jurisdiction_id),
        authority_id: normalise_uuid(&authority_id),
        received_at,
        channel,
        subject,
        description,
        requester,
        assistance_types,
        proceeding_type,
        crimes,
        conduct,
        national_case_reference,
        priority,
        confidentiality,
        tags: tags.unwrap_or_default(),
    };
    let mut errors = f.errors;
    let request = check_intake(&mut errors, request);
    errors.finish()?;
    Ok(request)
}

fn normalise_uuid(s: &str) -> String {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// SHA-256 of the request's canonical JSON: the same body always has the same digest.
fn digest(body: &Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(chain::canonical(body).as_bytes()))
}

pub struct Created {
    pub view: RfaView,
    /// True when an earlier intake with the same Idempotency-Key was returned.
    pub replayed: bool,
}

pub async fn intake(
    state: &AppState,
    who: &Principal,
    body: Value,
    idempotency_key: Option<String>,
) -> Result<Created, AppError> {
    if let Some(k) = &idempotency_key
        && (k.is_empty() || k.len() > 200 || !k.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(AppError::BadRequest(
            "Idempotency-Key must be 1 to 200 visible ASCII characters.".into(),
        ));
    }
    let body_digest = digest(&body);
    let request = parse_intake(body)?;
    match authorize(
        who,
        policy::Action::LogRfa,
        Resource::Rfa {
            jurisdiction_id: &request.jurisdiction_id,
        },
    ) {
        Access::Allow => {}
        Access::Forbidden | Access::Hidden => {
            return Err(AppError::Forbidden(
                "You may log requests only for the jurisdictions you liaise with.".into(),
            ));
        }
    }
    let ctx = Context::from_settings(&state.settings);
    let who = who.clone();
    state
        .db
        .run(move |c| {
            c.write(|c| intake_in(c, &ctx, &who, request, idempotency_key, body_digest, None))
        })
        .await
}

/// An intake inside the caller's write transaction, recorded now (after the chain lock, so
/// event times follow the chain's order) or at `at` for demo data with a clock of its own.
pub fn intake_in(
    c: &mut DbConnection,
    ctx: &Context,
    who: &Principal,
    request: IntakeRequest,
    idempotency_key: Option<String>,
    body_digest: String,
    at: Option<NaiveDateTime>,
) -> Result<Created, AppError> {
    let mut chain = Appender::lock(c)?;
    let at = at.unwrap_or_else(chain::now);
    if let Some(key) = &idempotency_key
        && let Some(existing) = store::find_by_idempotency_key(c, &who.user_id, key)?
    {
        if existing.request_digest.as_deref() != Some(body_digest.as_str()) {
            return Err(AppError::field(
                "Idempotency-Key",
                "was already used with a different request body",
            ));
        }
        return Ok(Created {
            view: view(ctx, who, existing)?,
            replayed: true,
        });
    }
    let mut row = new_rfa(c, ctx, who, request, idempotency_key, body_digest, at)?;
    let decision = evaluate(c, ctx, &row, ctx.day_of(at))?;
    apply_decision(&mut row, &decision)?;
    store::insert(c, &row)?;
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
    chain.append(
        c,
        NewEvent {
            rfa_id: &row.id,
            actor_id: &who.user_id,
            at,
            action: RfaAction::EvaluateEligibility.as_str(),
            state_before: Some(&row.state),
            state_after: &row.state,
            details: json!({"trigger": "intake", "decision": decision}),
        },
    )?;
    notify(c, ctx, &row, Notice::Acknowledgement, at)?;
    Ok(Created {
        view: view(ctx, who, row)?,
        replayed: false,
    })
}

/// What a change tells people outside the service.
enum Notice<'a> {
    Acknowledgement,
    RequestInformation(&'a str),
    Assignment,
    Decision { accepted: bool },
}

/// Puts the notice in the outbox, in the change's own transaction. Requests whose authority
/// and requester have no address get none.
fn notify(
    c: &mut DbConnection,
    ctx: &Context,
    row: &RfaRow,
    notice: Notice<'_>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    use crate::mail::{Kind, enqueue};
    let kind = match notice {
        Notice::Acknowledgement => Kind::Acknowledgement,
        Notice::RequestInformation(_) => Kind::RequestInformation,
        Notice::Assignment => Kind::Assignment,
        Notice::Decision { .. } => Kind::Decision,
    };
    if !ctx.mail.has(kind) {
        return Ok(());
    }
    let details: IntakeDetails = from_json("intake", &row.intake)?;
    let authority = registry_store::find_authority(c, &row.jurisdiction_id, &row.authority_id)?;
    let to_authority = authority
        .and_then(|a| a.contact_email)
        .or_else(|| details.requester.email.clone());
    let mut vars = vec![
        ("reference", row.reference.clone()),
        ("subject", row.subject.clone()),
        ("requester", details.requester.name.clone()),
        ("received_on", row.received_on.to_string()),
        ("due_on", row.due_on.to_string()),
        ("priority", row.priority.clone()),
    ];
    let (recipient, subject) = match notice {
        Notice::Acknowledgement => (
            to_authority,
            format!("[{}] Request for assistance received", row.reference),
        ),
        Notice::RequestInformation(message) => {
            vars.push(("message", message.to_string()));
            (
                details.requester.email.clone().or(to_authority),
                format!("[{}] Further information needed", row.reference),
            )
        }
        Notice::Assignment => {
            let assignee = match &row.assignee_id {
                Some(id) => crate::db::users::find(c, id)?,
                None => None,
            };
            vars.push((
                "assignee",
                assignee
                    .as_ref()
                    .map(|u| u.display_name.clone())
                    .unwrap_or_default(),
            ));
            (
                assignee.map(|u| u.email),
                format!("[{}] Assigned to you", row.reference),
            )
        }
        Notice::Decision { accepted } => {
            let (decision, next) = if accepted {
                (
                    "accepted",
                    "The mechanism is preparing its response and will write to you when it is ready.",
                )
            } else {
                (
                    "declined",
                    "The mechanism is not able to assist with this request.",
                )
            };
            vars.push(("decision", decision.into()));
            vars.push(("next", next.into()));
            (
                to_authority,
                format!("[{}] Request {decision}", row.reference),
            )
        }
    };
    match recipient {
        Some(to) => enqueue(
            c,
            crate::mail::Outgoing {
                kind,
                rfa_id: Some(&row.id),
                recipient: &to,
                subject,
                vars: &vars,
                dedupe_key: None,
            },
            at,
        ),
        None => Ok(()),
    }
}

fn new_rfa(
    c: &mut DbConnection,
    ctx: &Context,
    who: &Principal,
    r: IntakeRequest,
    idempotency_key: Option<String>,
    request_digest: String,
    now: NaiveDateTime,
) -> Result<RfaRow, AppError> {
    let mut errors = Errors::new();
    if registry_store::find_jurisdiction(c, &r.jurisdiction_id)?.is_none() {
        errors.add("jurisdiction_id", "is not a jurisdiction in the registry");
    } else if registry_store::find_authority(c, &r.jurisdiction_id, &r.authority_id)?.is_none() {
        errors.add("authority_id", "is not an authority of this jurisdiction");
    }
    errors.finish()?;
    let received_at = micros(r.received_at.naive_utc());
    let received_on = ctx.day_of(received_at);
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
        id: new_id(),
        reference: format!("RFA-{year}-{seq:04}"),
        jurisdiction_id: r.jurisdiction_id,
        authority_id: r.authority_id,
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
        idempotency_key,
        request_digest: Some(request_digest),
    };
    refresh_due(ctx, &mut row)?;
    Ok(row)
}

// ---------------------------------------------------------------------------------------
// Reading

fn not_found() -> AppError {
    AppError::NotFound("No such request for assistance.".into())
}

/// Loads an RFA the caller may see for `action`: 404 when it is outside their reach, 403
/// when they can see it but not do this.
fn load_for(
    c: &mut DbConnection,
    who: &Principal,
    id: &str,
    action: policy::Action,
) -> Result<RfaRow, AppError> {
    // A role that may read no request at all is refused before the lookup, so that it learns
    // nothing about which ids exist.
    if authorize(who, policy::Action::ReadRfa, Resource::Service) != Access::Allow {
        return Err(AppError::Forbidden("Your roles do not permit this.".into()));
    }
    let row = store::find(c, id)?.ok_or_else(not_found)?;
    match authorize(
        who,
        action,
        Resource::Rfa {
            jurisdiction_id: &row.jurisdiction_id,
        },
    ) {
        Access::Allow => Ok(row),
        Access::Hidden => Err(not_found()),
        Access::Forbidden => Err(AppError::Forbidden("Your roles do not permit this.".into())),
    }
}

/// One request for the caller. The session is checked first, in the same database call, so
/// a revoked session gets 401 even for an id that names nothing.
pub async fn get(
    state: &AppState,
    caller: Caller,
    id: Result<String, AppError>,
) -> Result<RfaView, AppError> {
    let ctx = Context::from_settings(&state.settings);
    state
        .db
        .run(move |c| {
            let who = caller.check(c)?;
            // As in `load_for`, but before the id's own check.
            who.require(policy::Action::ReadRfa)?;
            let who = who.principal;
            let row = load_for(c, &who, &id?, policy::Action::ReadRfa)?;
            view(&ctx, &who, row)
        })
        .await
}

pub async fn events(
    state: &AppState,
    who: &Principal,
    id: String,
    cursor: Option<String>,
    limit: i64,
) -> Result<EventPage, AppError> {
    let after = match cursor {
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            AppError::BadRequest("The cursor is not one this service issued.".into())
        })?,
        None => 0,
    };
    let who = who.clone();
    state
        .db
        .run(move |c| {
            load_for(c, &who, &id, policy::Action::ReadRfa)?;
            let rows = store::events_of(c, &id, after, limit + 1)?;
            let (rows, next_cursor) = paging::page(rows, limit, |e| e.seq.to_string());
            Ok(EventPage {
                items: rows.into_iter().map(event_view).collect(),
                next_cursor,
            })
        })
        .await
}

pub async fn verify_chain(state: &AppState) -> Result<chain::Verification, AppError> {
    state.db.run(chain::verify).await
}

// ---------------------------------------------------------------------------------------
// Lifecycle actions

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineFields {
    pub outcome: ClosingOutcome,
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageFields {
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseFields {
    pub kind: ResponseKind,
    pub description: String,
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub shared_on: NaiveDate,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseFields {
    pub outcome: ClosingOutcome,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonFields {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignFields {
    pub assignee_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityFields {
    pub priority: Priority,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendFields {
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub due_on: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteFields {
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideFields {
    pub justification: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssuranceFields {
    pub reference: String,
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub given_on: NaiveDate,
}

/// An action's fields, checked before anything is read.
#[derive(Debug)]
pub enum Command {
    Plain(RfaAction),
    Decline(DeclineFields),
    RequestInformation(MessageFields),
    RecordResponse(ResponseFields),
    Close(CloseFields),
    Withdraw(ReasonFields),
    Reopen(ReasonFields),
    Assign(String),
    SetPriority(Priority),
    Extend(ExtendFields),
    Note(NoteFields),
    Override(OverrideFields),
    Assurance(AssuranceFields),
}

const MAX_TEXT: usize = 10_000;

fn fields<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, AppError> {
    let bytes = serde_json::to_vec(&body).map_err(|e| AppError::internal(e.to_string()))?;
    crate::api::json::parse(&bytes)
}

impl Command {
    pub fn action(&self) -> RfaAction {
        match self {
            Command::Plain(a) => *a,
            Command::Decline(_) => RfaAction::Decline,
            Command::RequestInformation(_) => RfaAction::RequestInformation,
            Command::RecordResponse(_) => RfaAction::RecordResponse,
            Command::Close(_) => RfaAction::Close,
            Command::Withdraw(_) => RfaAction::Withdraw,
            Command::Reopen(_) => RfaAction::Reopen,
            Command::Assign(_) => RfaAction::Assign,
            Command::SetPriority(_) => RfaAction::SetPriority,
            Command::Extend(_) => RfaAction::ExtendDeadline,
            Command::Note(_) => RfaAction::AddNote,
            Command::Override(_) => RfaAction::OverrideEligibility,
            Command::Assurance(_) => RfaAction::RecordAssurance,
        }
    }

    /// Parses and checks the body of an action (null or absent counts as `{}`).
    pub fn parse(action: RfaAction, body: Value) -> Result<Self, AppError> {
        let body = if body.is_null() { json!({}) } else { body };
        let mut errors = Errors::new();
        let cmd = match action {
            RfaAction::StartReview
            | RfaAction::Accept
            | RfaAction::Resume
            | RfaAction::EvaluateEligibility => {
                fields::<NoFields>(body)?;
                Command::Plain(action)
            }
            RfaAction::Decline => {
                let mut f: DeclineFields = fields(body)?;
                f.reason = errors.text("reason", &f.reason, MAX_TEXT, true);
                Command::Decline(f)
            }
            RfaAction::RequestInformation => {
                let mut f: MessageFields = fields(body)?;
                f.message = errors.text("message", &f.message, MAX_TEXT, true);
                Command::RequestInformation(f)
            }
            RfaAction::RecordResponse => {
                let mut f: ResponseFields = fields(body)?;
                f.description = errors.text("description", &f.description, MAX_TEXT, true);
                errors.not_future("shared_on", f.shared_on);
                Command::RecordResponse(f)
            }
            RfaAction::Close => {
                let mut f: CloseFields = fields(body)?;
                f.reason = f.reason.map(|r| errors.text("reason", &r, MAX_TEXT, true));
                Command::Close(f)
            }
            RfaAction::Withdraw | RfaAction::Reopen => {
                let mut f: ReasonFields = fields(body)?;
                f.reason = errors.text("reason", &f.reason, MAX_TEXT, true);
                if action == RfaAction::Withdraw {
                    Command::Withdraw(f)
                } else {
                    Command::Reopen(f)
                }
            }
            RfaAction::Assign => {
                let f: AssignFields = fields(body)?;
                match uuid::Uuid::parse_str(&f.assignee_id) {
                    Ok(u) => Command::Assign(u.to_string()),
                    Err(_) => return Err(AppError::field("assignee_id", "is not a UUID")),
                }
            }
            RfaAction::SetPriority => {
                Command::SetPriority(fields::<PriorityFields>(body)?.priority)
            }
            RfaAction::ExtendDeadline => {
                let mut f: ExtendFields = fields(body)?;
                f.reason = errors.text("reason", &f.reason, MAX_TEXT, true);
                Command::Extend(f)
            }
            RfaAction::AddNote => {
                let mut f: NoteFields = fields(body)?;
                f.text = errors.text("text", &f.text, MAX_TEXT, true);
                Command::Note(f)
            }
            RfaAction::OverrideEligibility => {
                let mut f: OverrideFields = fields(body)?;
                f.justification = errors.text("justification", &f.justification, MAX_TEXT, true);
                if !errors.mentions("justification") && f.justification.chars().count() < 20 {
                    errors.add(
                        "justification",
                        "must explain the override in at least 20 characters",
                    );
                }
                Command::Override(f)
            }
            RfaAction::RecordAssurance => {
                let mut f: AssuranceFields = fields(body)?;
                f.reference = errors.text("reference", &f.reference, 200, false);
                errors.not_future("given_on", f.given_on);
                Command::Assurance(f)
            }
        };
        errors.finish()?;
        Ok(cmd)
    }
}

/// 409 listing what can be done instead.
fn not_now(action: RfaAction, state: State, allowed: &[RfaAction], why: Option<&str>) -> AppError {
    let allowed: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
    AppError::NotAllowedNow {
        detail: match why {
            Some(why) => format!("`{}` is not possible now: {why}", action.as_str()),
            None => format!(
                "`{}` is not possible while the request is `{}`.",
                action.as_str(),
                state.as_str()
            ),
        },
        allowed_actions: allowed.into_iter().map(str::to_string).collect(),
    }
}

/// Ends a running pause, adding its whole days to the paused total.
fn end_pause(ctx: &Context, row: &mut RfaRow, at: NaiveDateTime) {
    if let Some(since) = row.paused_since.take() {
        let days = lifecycle::pause_days(ctx.day_of(since), ctx.day_of(at));
        row.paused_days = row
            .paused_days
            .saturating_add(i32::try_from(days).unwrap_or(i32::MAX));
    }
}

/// Applies a command to a loaded row (already authorized, version checked) and appends its
/// events. Returns the new row.
pub fn apply(
    c: &mut DbConnection,
    ctx: &Context,
    chain: &mut Appender,
    who: &Principal,
    mut row: RfaRow,
    cmd: &Command,
    at: NaiveDateTime,
) -> Result<RfaRow, AppError> {
    let action = cmd.action();
    let before = state_of(&row)?;
    let allowed = allowed_actions(who, before, &row.jurisdiction_id);
    let Some(after) = lifecycle::transition(before, action) else {
        return Err(not_now(action, before, &allowed, None));
    };
    let mut details = json!({});
    let mut evaluation: Option<Decision> = None;
    match cmd {
        Command::Plain(RfaAction::Accept) => {
            if row.assignee_id.is_none() {
                return Err(not_now(
                    action,
                    before,
                    &allowed,
                    Some("assign it to someone first."),
                ));
            }
            let eligible = row.eligibility_outcome == Outcome::Eligible.as_str();
            // An override answers the decision it was given for; a later, different
            // decision needs a new look.
            let overridden = row
                .eligibility_override
                .as_deref()
                .and_then(|o| serde_json::from_str::<Override>(o).ok())
                .is_some_and(|o| o.overridden.as_str() == row.eligibility_outcome);
            if !eligible && !overridden {
                return Err(not_now(
                    action,
                    before,
                    &allowed,
                    Some(
                        "it is not eligible and no supervisor has overridden that with a justification.",
                    ),
                ));
            }
        }
        Command::Plain(RfaAction::Resume) => {
            end_pause(ctx, &mut row, at);
            refresh_due(ctx, &mut row)?;
            details = json!({"paused_days_total": row.paused_days, "due_on": row.due_on});
        }
        Command::Plain(RfaAction::EvaluateEligibility) => {
            let decision = evaluate(c, ctx, &row, ctx.day_of(at))?;
            apply_decision(&mut row, &decision)?;
            details = json!({"trigger": "on demand", "decision": decision});
        }
        Command::Plain(_) => {}
        Command::Decline(f) => {
            if !lifecycle::closing_outcomes(action).contains(&f.outcome) {
                return Err(AppError::field(
                    "outcome",
                    "must be declined_ineligible or declined_other",
                ));
            }
            row.outcome = Some(f.outcome.as_str().into());
            details = json!({"outcome": f.outcome, "reason": f.reason});
        }
        Command::RequestInformation(f) => {
            row.paused_since = Some(at);
            details = json!({"message": f.message});
        }
        Command::RecordResponse(f) => {
            details =
                json!({"kind": f.kind, "description": f.description, "shared_on": f.shared_on});
        }
        Command::Close(f) => {
            if !lifecycle::closing_outcomes(action).contains(&f.outcome) {
                return Err(AppError::field(
                    "outcome",
                    "must be fulfilled or partially_fulfilled (use decline or withdraw for the others)",
                ));
            }
            if f.outcome == ClosingOutcome::Fulfilled
                && store::count_events(c, &row.id, RfaAction::RecordResponse.as_str())? == 0
            {
                return Err(not_now(
                    action,
                    before,
                    &allowed,
                    Some("a request closed as fulfilled needs at least one recorded response."),
                ));
            }
            end_pause(ctx, &mut row, at);
            refresh_due(ctx, &mut row)?;
            row.outcome = Some(f.outcome.as_str().into());
            details = json!({"outcome": f.outcome, "reason": f.reason});
        }
        Command::Withdraw(f) => {
            end_pause(ctx, &mut row, at);
            refresh_due(ctx, &mut row)?;
            row.outcome = Some(ClosingOutcome::Withdrawn.as_str().into());
            details = json!({"outcome": ClosingOutcome::Withdrawn, "reason": f.reason});
        }
        Command::Reopen(f) => {
            let previous = row.outcome.take();
            details = json!({"reason": f.reason, "previous_outcome": previous});
        }
        Command::Assign(assignee) => {
            check_assignee(c, assignee, &row.jurisdiction_id)?;
            details = json!({"assignee_id": assignee, "previous_assignee_id": row.assignee_id});
            row.assignee_id = Some(assignee.clone());
        }
        Command::SetPriority(p) => {
            details = json!({"priority": p, "previous_priority": row.priority});
            row.priority = p.as_str().into();
            row.priority_rank = p.rank();
            refresh_due(ctx, &mut row)?;
        }
        Command::Extend(f) => {
            let current = due_parts(ctx, &row, true)?.due_on();
            if f.due_on <= current {
                return Err(AppError::field(
                    "due_on",
                    format!("must be after the current due date, {current}"),
                ));
            }
            // The extension is stated as the new due date; pause days so far (including a
            // running pause) are already in it, later ones are added on top.
            let paused = i64::from(due_parts(ctx, &row, true)?.paused_days);
            row.extended_to = Some(f.due_on - chrono::Duration::days(paused));
            let mut extensions: Vec<Extension> = from_json("extensions", &row.extensions)?;
            extensions.push(Extension {
                due_on: f.due_on,
                reason: f.reason.clone(),
                by: who.user_id.clone(),
                at: at.and_utc(),
            });
            row.extensions = to_json(&extensions);
            refresh_due(ctx, &mut row)?;
            details = json!({"due_on": f.due_on, "previous_due_on": current, "reason": f.reason});
        }
        Command::Note(f) => details = json!({"text": f.text}),
        Command::Override(f) => {
            let outcome = Outcome::parse(&row.eligibility_outcome).unwrap_or(Outcome::NeedsReview);
            if outcome == Outcome::Eligible {
                return Err(not_now(
                    action,
                    before,
                    &allowed,
                    Some("it is already eligible."),
                ));
            }
            let o = Override {
                justification: f.justification.clone(),
                by: who.user_id.clone(),
                at: at.and_utc(),
                overridden: outcome,
            };
            row.eligibility_override = Some(to_json(&o));
            details = json!({"justification": f.justification, "overridden": outcome});
        }
        Command::Assurance(f) => {
            store::insert_assurance(
                c,
                &RfaAssuranceRow {
                    id: new_id(),
                    rfa_id: row.id.clone(),
                    reference: f.reference.clone(),
                    given_on: f.given_on,
                    recorded_by: who.user_id.clone(),
                    recorded_at: at,
                },
            )?;
            details = json!({"reference": f.reference, "given_on": f.given_on});
            evaluation = Some(evaluate(c, ctx, &row, ctx.day_of(at))?);
        }
    }
    // What the figures count: closings (processed) and reopenings, on the day they happen.
    let day = ctx.day_of(at);
    if after == State::Closed && before != State::Closed {
        details["report"] = json!({
            "kind": "processed",
            "day": day,
            "jurisdiction_id": row.jurisdiction_id,
            "outcome": row.outcome,
            "processing_days": (day - row.received_on).num_days(),
            "paused_days": row.paused_days,
        });
    } else if action == RfaAction::Reopen {
        details["report"] =
            json!({"kind": "reopened", "day": day, "jurisdiction_id": row.jurisdiction_id});
    }
    row.state = after.as_str().into();
    row.version += 1;
    row.updated_at = at;
    let changed = match &evaluation {
        Some(d) => apply_decision(&mut row, d)?,
        None => false,
    };
    store::save(c, &row)?;
    chain.append(
        c,
        NewEvent {
            rfa_id: &row.id,
            actor_id: &who.user_id,
            at,
            action: action.as_str(),
            state_before: Some(before.as_str()),
            state_after: after.as_str(),
            details,
        },
    )?;
    let notice = match cmd {
        Command::RequestInformation(f) => Some(Notice::RequestInformation(&f.message)),
        Command::Assign(_) => Some(Notice::Assignment),
        Command::Plain(RfaAction::Accept) => Some(Notice::Decision { accepted: true }),
        Command::Decline(_) => Some(Notice::Decision { accepted: false }),
        _ => None,
    };
    if let Some(notice) = notice {
        notify(c, ctx, &row, notice, at)?;
    }
    if let (Some(decision), true) = (evaluation, changed) {
        chain.append(
            c,
            NewEvent {
                rfa_id: &row.id,
                actor_id: &who.user_id,
                at,
                action: RfaAction::EvaluateEligibility.as_str(),
                state_before: Some(after.as_str()),
                state_after: after.as_str(),
                details: json!({"trigger": "assurance recorded", "decision": decision}),
            },
        )?;
    }
    Ok(row)
}

/// An assignee must be an active supervisor, or an active liaison officer for the RFA's
/// jurisdiction: someone who can see it.
fn check_assignee(c: &mut DbConnection, id: &str, jurisdiction_id: &str) -> Result<(), AppError> {
    let refuse = || {
        AppError::field(
            "assignee_id",
            "is not an active supervisor or liaison officer of this jurisdiction",
        )
    };
    let user = crate::db::users::find(c, id)?
        .filter(|u| u.active)
        .ok_or_else(refuse)?;
    let roles = crate::db::users::roles_of(c, &user.id)?;
    let covers = crate::db::users::jurisdictions_of(c, &user.id)?
        .iter()
        .any(|j| j == jurisdiction_id);
    if roles.contains(&Role::Supervisor) || (roles.contains(&Role::LiaisonOfficer) && covers) {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// `If-Match` as sent: the version it names.
pub fn parse_if_match(raw: Option<&str>) -> Result<i64, AppError> {
    let raw = raw.ok_or(AppError::PreconditionRequired)?;
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| AppError::PreconditionFailed)
}

/// `if_match` is the raw header: checked after the caller's access, so that a request they
/// may not see answers 404 (or 403) whatever they send.
pub async fn act(
    state: &AppState,
    who: &Principal,
    id: String,
    cmd: Command,
    if_match: Option<String>,
) -> Result<RfaView, AppError> {
    let ctx = Context::from_settings(&state.settings);
    let who = who.clone();
    state
        .db
        .run(move |c| {
            c.write(|c| {
                let mut chain = Appender::lock(c)?;
                let row = load_for(c, &who, &id, lifecycle::permission(cmd.action()))?;
                if row.version != parse_if_match(if_match.as_deref())? {
                    return Err(AppError::PreconditionFailed);
                }
                let row = apply(c, &ctx, &mut chain, &who, row, &cmd, chain::now())?;
                view(&ctx, &who, row)
            })
        })
        .await
}

// ---------------------------------------------------------------------------------------
// Correcting the intake

pub async fn edit_intake(
    state: &AppState,
    who: &Principal,
    id: String,
    patch: IntakePatch,
    if_match: Option<String>,
) -> Result<RfaView, AppError> {
    let ctx = Context::from_settings(&state.settings);
    let who = who.clone();
    state
        .db
        .run(move |c| {
            c.write(|c| {
                let mut chain = Appender::lock(c)?;
                let mut row = load_for(c, &who, &id, policy::Action::EditIntake)?;
                if row.version != parse_if_match(if_match.as_deref())? {
                    return Err(AppError::PreconditionFailed);
                }
                let before = state_of(&row)?;
                if !matches!(before, State::Received | State::UnderReview) {
                    return Err(AppError::NotAllowedNow {
                        detail: "The intake can be corrected only until the request is accepted.".into(),
                        allowed_actions: allowed_actions(&who, before, &row.jurisdiction_id)
                            .iter()
                            .map(|a| a.as_str().to_string())
                            .collect(),
                    });
                }
                let d: IntakeDetails = from_json("intake", &row.intake)?;
                let old = IntakeRequest {
                    jurisdiction_id: row.jurisdiction_id.clone(),
                    authority_id: row.authority_id.clone(),
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
                    priority: priority_of(&row)?,
                    confidentiality: Confidentiality::parse(&row.confidentiality)
                        .unwrap_or(Confidentiality::Restricted),
                    tags: from_json("tags", &row.tags)?,
                };
                let old_json = serde_json::to_value(&old).unwrap_or_default();
                let mut new = old.clone();
                if let Some(v) = &patch.authority_id {
                    new.authority_id = normalise_uuid(v);
                }
                if let Some(v) = patch.received_at {
                    new.received_at = v;
                }
                if let Some(v) = patch.channel {
                    new.channel = v;
                }
                if let Some(v) = &patch.subject {
                    new.subject = v.clone();
                }
                if let Some(v) = &patch.description {
                    new.description = v.clone();
                }
                if let Some(v) = &patch.requester {
                    new.requester = v.clone();
                }
                if let Some(v) = &patch.assistance_types {
                    new.assistance_types = v.clone();
                }
                if let Some(v) = patch.proceeding_type {
                    new.proceeding_type = v;
                }
                if let Some(v) = &patch.crimes {
                    new.crimes = v.clone();
                }
                if let Some(v) = &patch.conduct {
                    new.conduct = v.clone();
                }
                if let Some(v) = &patch.national_case_reference {
                    new.national_case_reference = Some(v.clone());
                }
                if let Some(v) = patch.confidentiality {
                    new.confidentiality = v;
                }
                if let Some(v) = &patch.tags {
                    new.tags = v.clone();
                }
                let mut errors = Errors::new();
                let new = check_intake(&mut errors, new);
                let received_at = micros(new.received_at.naive_utc());
                let received_on = ctx.day_of(received_at);
                if chrono::Datelike::year(&received_on) != chrono::Datelike::year(&row.received_on) {
                    errors.add("received_at", "would change the year of receipt, which the reference carries; withdraw and log the request again");
                }
                if registry_store::find_authority(c, &row.jurisdiction_id, &new.authority_id)?.is_none() {
                    errors.add("authority_id", "is not an authority of this jurisdiction");
                }
                errors.finish()?;
                let new_json = serde_json::to_value(&new).unwrap_or_default();
                let changed: Vec<String> = new_json
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, v)| old_json.get(k.as_str()) != Some(v))
                    .map(|(k, _)| k.clone())
                    .collect();
                if changed.is_empty() {
                    return view(&ctx, &who, row);
                }
                let at = chain::now();
                let old_received_on = row.received_on;
                row.authority_id = new.authority_id.clone();
                row.received_at = received_at;
                row.received_on = received_on;
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
                refresh_due(&ctx, &mut row)?;
                let decision = evaluate(c, &ctx, &row, ctx.day_of(at))?;
                let eligibility_changed = apply_decision(&mut row, &decision)?;
                row.version += 1;
                row.updated_at = at;
                store::save(c, &row)?;
                store::set_tags(c, &row.id, &new.tags)?;
                let changes: serde_json::Map<String, Value> = changed
                    .iter()
                    .map(|k| (k.clone(), json!({"from": old_json[k.as_str()], "to": new_json[k.as_str()]})))
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
                    },
                )?;
                if eligibility_changed {
                    chain.append(
                        c,
                        NewEvent {
                            rfa_id: &row.id,
                            actor_id: &who.user_id,
                            at,
                            action: RfaAction::EvaluateEligibility.as_str(),
                            state_before: Some(before.as_str()),
                            state_after: before.as_str(),
                            details: json!({"trigger": "intake corrected", "decision": decision}),
                        },
                    )?;
                }
                view(&ctx, &who, row)
            })
        })
        .await
}

/// A correction that moves the day of receipt moves where the request counts as received.
fn redated(mut details: Value, row: &RfaRow, old: NaiveDate, new: &IntakeRequest) -> Value {
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

// ---------------------------------------------------------------------------------------
// Bulk triage

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// At most 200 RFAs.
    pub ids: Vec<String>,
    /// `assign` or `set_priority`.
    pub action: RfaAction,
    /// The action's fields: `{assignee_id}` or `{priority}`.
    #[schema(value_type = Object)]
    pub fields: Value,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItem {
    pub id: String,
    /// The HTTP status this RFA's change would get (or got) on its own.
    pub status: u16,
    /// The new version, when changed (or that it would have in a dry run).
    pub version: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub dry_run: bool,
    pub succeeded: usize,
    pub failed: usize,
    pub items: Vec<BulkItem>,
}

/// A rolled-back dry run still carries what would have happened.
enum Trial {
    Done(AppError),
    Would(i64),
}

impl From<diesel::result::Error> for Trial {
    fn from(e: diesel::result::Error) -> Self {
        Trial::Done(e.into())
    }
}

impl From<AppError> for Trial {
    fn from(e: AppError) -> Self {
        Trial::Done(e)
    }
}

pub async fn bulk(
    state: &AppState,
    who: &Principal,
    req: BulkRequest,
) -> Result<BulkResult, AppError> {
    if !matches!(req.action, RfaAction::Assign | RfaAction::SetPriority) {
        return Err(AppError::field("action", "must be assign or set_priority"));
    }
    if req.ids.is_empty() || req.ids.len() > 200 {
        return Err(AppError::field("ids", "must list 1 to 200 requests"));
    }
    let normalised: Vec<String> = req.ids.iter().map(|i| normalise_uuid(i)).collect();
    let mut errors = Errors::new();
    errors.distinct("ids", &normalised, 200);
    errors.finish()?;
    let cmd = Command::parse(req.action, req.fields)?;
    let ctx = Context::from_settings(&state.settings);
    let who = who.clone();
    let dry_run = req.dry_run;
    let ids = req.ids;
    state
        .db
        .run(move |c| {
            let mut items = Vec::with_capacity(ids.len());
            for raw in ids {
                let id = normalise_uuid(&raw);
                // Each RFA is its own change, in its own transaction.
                let outcome = c.write(|c| {
                    let mut chain = Appender::lock(c)?;
                    let row = load_for(c, &who, &id, lifecycle::permission(cmd.action()))?;
                    let row = apply(c, &ctx, &mut chain, &who, row, &cmd, chain::now())?;
                    if dry_run {
                        return Err(Trial::Would(row.version));
                    }
                    Ok::<_, Trial>(row.version)
                });
                items.push(match outcome {
                    Ok(version) | Err(Trial::Would(version)) => BulkItem {
                        id: raw,
                        status: 200,
                        version: Some(version),
                        error: None,
                    },
                    Err(Trial::Done(AppError::Unavailable)) => return Err(AppError::Unavailable),
                    Err(Trial::Done(AppError::Internal(m))) => return Err(AppError::Internal(m)),
                    Err(Trial::Done(e)) => {
                        use actix_web::ResponseError;
                        BulkItem {
                            id: raw,
                            status: e.status_code().as_u16(),
                            version: None,
                            error: Some(short(&e)),
                        }
                    }
                });
            }
            let succeeded = items.iter().filter(|i| i.status == 200).count();
            Ok(BulkResult {
                dry_run,
                failed: items.len() - succeeded,
                succeeded,
                items,
            })
        })
        .await
}

fn short(e: &AppError) -> String {
    match e {
        AppError::Validation(errs) => errs
            .iter()
            .map(|f| format!("{} {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::NotAllowedNow { detail, .. } => detail.clone(),
        AppError::NotFound(d) | AppError::Forbidden(d) | AppError::Conflict(d) => d.clone(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// The queue

const QUEUE_PARAMS: [&str; 15] = [
    "state",
    "jurisdiction_id",
    "assignee_id",
    "priority",
    "overdue",
    "due_before",
    "received_from",
    "received_to",
    "tag",
    "eligibility",
    "q",
    "sort",
    "order",
    "limit",
    "cursor",
];

/// A parsed queue request.
pub struct QueueQuery {
    filter: store::QueueFilter,
    sort: store::SortKey,
    descending: bool,
    limit: i64,
    cursor: Option<String>,
    overdue: Option<bool>,
}

/// Query parameters are text for the database (the search text, tags): refuse what is not
/// UTF-8 once percent-decoded (400) and control characters such as NUL (422), which
/// PostgreSQL cannot store or compare in text.
fn check_query_text(query: &str) -> Result<(), AppError> {
    let bytes = query.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    decoded.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                    continue;
                }
                _ => decoded.push(b'%'),
            },
            b => decoded.push(b),
        }
        i += 1;
    }
    if std::str::from_utf8(&decoded).is_err() {
        return Err(AppError::BadRequest(
            "The query string is not valid UTF-8.".into(),
        ));
    }
    for (name, value) in url::form_urlencoded::parse(bytes) {
        if value.chars().any(char::is_control) {
            return Err(AppError::field(
                name.into_owned(),
                "must not contain control characters",
            ));
        }
    }
    Ok(())
}

/// Reads the query string (repeated `state=` or comma-separated states both work) and names
/// every wrong parameter at once.
pub fn parse_queue(query: &str) -> Result<QueueQuery, AppError> {
    check_query_text(query)?;
    let mut errors = Errors::new();
    let mut q = QueueQuery {
        filter: store::QueueFilter::default(),
        sort: store::SortKey::DueOn,
        descending: false,
        limit: 50,
        cursor: None,
        overdue: None,
    };
    let uuid = |errors: &mut Errors, name: &str, v: &str| match uuid::Uuid::parse_str(v) {
        Ok(u) => Some(u.to_string()),
        Err(_) => {
            errors.add(name, "is not a UUID");
            None
        }
    };
    let date = |errors: &mut Errors, name: &str, v: &str| match crate::service::day::parse(v) {
        Some(d) => Some(d),
        None => {
            errors.add(name, "is not a date (YYYY-MM-DD)");
            None
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let (key, value) = (key.into_owned(), value.into_owned());
        if !QUEUE_PARAMS.contains(&key.as_str()) {
            errors.add(key, "is not a parameter of this list");
            continue;
        }
        if key != "state" && seen.contains(&key) {
            errors.add(key, "is given more than once");
            continue;
        }
        seen.push(key.clone());
        match key.as_str() {
            "state" => {
                for s in value.split(',').filter(|s| !s.is_empty()) {
                    match State::parse(s) {
                        Some(st) => q.filter.states.push(st.as_str().into()),
                        None => errors.add("state", format!("`{s}` is not a state")),
                    }
                }
            }
            "jurisdiction_id" => {
                q.filter.jurisdiction_id = uuid(&mut errors, "jurisdiction_id", &value)
            }
            "assignee_id" if value == "unassigned" => q.filter.assignee = Some(None),
            "assignee_id" => q.filter.assignee = uuid(&mut errors, "assignee_id", &value).map(Some),
            "priority" => match Priority::parse(&value) {
                Some(p) => q.filter.priority = Some(p.as_str().into()),
                None => errors.add("priority", "must be urgent, high or routine"),
            },
            "overdue" => match value.as_str() {
                "true" => q.overdue = Some(true),
                "false" => q.overdue = Some(false),
                _ => errors.add("overdue", "must be true or false"),
            },
            "due_before" => q.filter.due_before = date(&mut errors, "due_before", &value),
            "received_from" => {
                q.filter.received_from = date(&mut errors, "received_from", &value)
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            }
            "received_to" => {
                q.filter.received_to = date(&mut errors, "received_to", &value)
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            }
            "tag" => q.filter.tag = Some(value),
            "eligibility" => match Outcome::parse(&value) {
                Some(o) => q.filter.eligibility = Some(o.as_str().into()),
                None => errors.add(
                    "eligibility",
                    "must be eligible, needs_review or ineligible",
                ),
            },
            "q" => {
                // Folded by the database on both sides (see db::rfas::queue).
                let text = value.trim().to_string();
                if text.chars().count() > 200 {
                    errors.add("q", "must be at most 200 characters");
                } else if !text.is_empty() {
                    // `%` and `_` are searched for as themselves.
                    let escaped = text
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    q.filter.text = Some(format!("%{escaped}%"));
                }
            }
            "sort" => match value.as_str() {
                "due_at" | "due_on" => q.sort = store::SortKey::DueOn,
                "received_at" => q.sort = store::SortKey::ReceivedAt,
                "priority" => q.sort = store::SortKey::Priority,
                "updated_at" => q.sort = store::SortKey::UpdatedAt,
                _ => errors.add(
                    "sort",
                    "must be due_at, received_at, priority or updated_at",
                ),
            },
            "order" => match value.as_str() {
                "asc" => q.descending = false,
                "desc" => q.descending = true,
                _ => errors.add("order", "must be asc or desc"),
            },
            "limit" => match value.parse::<i64>() {
                Ok(n) if (1..=200).contains(&n) => q.limit = n,
                _ => errors.add("limit", "must be between 1 and 200"),
            },
            "cursor" => q.cursor = Some(value),
            _ => {}
        }
    }
    errors.finish()?;
    Ok(q)
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: String,
    d: bool,
    v: String,
    id: String,
}

fn sort_name(s: store::SortKey) -> &'static str {
    match s {
        store::SortKey::DueOn => "due_at",
        store::SortKey::ReceivedAt => "received_at",
        store::SortKey::Priority => "priority",
        store::SortKey::UpdatedAt => "updated_at",
    }
}

fn encode_cursor(sort: store::SortKey, descending: bool, row: &RfaRow) -> String {
    use base64::Engine;
    let v = match sort {
        store::SortKey::DueOn => row.due_on.to_string(),
        store::SortKey::ReceivedAt => row.received_at.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        store::SortKey::UpdatedAt => row.updated_at.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        store::SortKey::Priority => row.priority_rank.to_string(),
    };
    let c = Cursor {
        s: sort_name(sort).into(),
        d: descending,
        v,
        id: row.id.clone(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(to_json(&c))
}

fn decode_cursor(
    raw: &str,
    sort: store::SortKey,
    descending: bool,
) -> Result<store::After, AppError> {
    use base64::Engine;
    let bad = || {
        AppError::BadRequest(
            "The cursor is not one this service issued for this sort order.".into(),
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .map_err(|_| bad())?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if c.s != sort_name(sort) || c.d != descending || uuid::Uuid::parse_str(&c.id).is_err() {
        return Err(bad());
    }
    let time = |v: &str| {
        NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .filter(crate::service::day::in_range)
            .ok_or_else(bad)
    };
    Ok(match sort {
        store::SortKey::DueOn => {
            store::After::Date(crate::service::day::parse(&c.v).ok_or_else(bad)?, c.id)
        }
        store::SortKey::ReceivedAt | store::SortKey::UpdatedAt => {
            store::After::Time(time(&c.v)?, c.id)
        }
        store::SortKey::Priority => store::After::Rank(c.v.parse().map_err(|_| bad())?, c.id),
    })
}

/// The queue page for the caller: the session is checked, then the permission to read
/// requests, then the query string (`parse_queue`), all in the one database call.
pub async fn queue(state: &AppState, caller: Caller, query: String) -> Result<RfaPage, AppError> {
    let ctx = Context::from_settings(&state.settings);
    state
        .db
        .run(move |c| {
            let who = caller.check(c)?;
            who.require(policy::Action::ReadRfa)?;
            let mut q = parse_queue(&query)?;
            let who = who.principal;
            let scope = policy::rfa_list_scope(&who).ok_or_else(|| {
                AppError::Forbidden("Your roles do not permit reading requests.".into())
            })?;
            q.filter.scope = match scope {
                policy::ListScope::All => None,
                policy::ListScope::Jurisdictions(j) => Some(j),
            };
            // Days are taken in the reporting time zone: received_to is inclusive.
            q.filter.received_from = q.filter.received_from.map(|t| ctx.start_of(t.date()));
            q.filter.received_to = q
                .filter
                .received_to
                .map(|t| ctx.start_of(t.date().succ_opt().unwrap_or(NaiveDate::MAX)));
            q.filter.overdue_on = q.overdue.map(|o| (o, ctx.today()));
            let after = q
                .cursor
                .as_deref()
                .map(|c| decode_cursor(c, q.sort, q.descending))
                .transpose()?;
            let rows = store::queue(
                c,
                &q.filter,
                q.sort,
                q.descending,
                after.as_ref(),
                q.limit + 1,
            )?;
            let (rows, next_cursor) =
                paging::page(rows, q.limit, |r| encode_cursor(q.sort, q.descending, r));
            let items = rows
                .into_iter()
                .map(|r| view(&ctx, &who, r))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RfaPage { items, next_cursor })
        })
        .await
}
