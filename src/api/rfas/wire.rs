//! The RFA routes' JSON and query strings, read into the service's typed commands. The
//! answers name every wrong field at once, as they did when the service read JSON itself.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::fields::Fields;
use crate::domain::eligibility::Outcome;
use crate::domain::ids::{AuthorityId, JurisdictionId, RfaId, UserId};
use crate::domain::lifecycle::{ClosingOutcome, Priority, ResponseKind, RfaAction, State};
use crate::error::AppError;
use crate::service::Rules;
use crate::service::rfas::{
    Assignee, BulkChange, BulkOutcome, BulkTriage, Command, NewRfa, QueueQuery, QueueSort,
    QueueView, RfaSummary,
};
use crate::service::validate::Errors;

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

/// Reads an intake body field by field, so every wrong field is named at once: the shape
/// of each field here, and (when every field has a value) the service's checks of their
/// content in the same answer.
pub fn parse_intake(body: Value, rules: &Rules) -> Result<NewRfa, AppError> {
    let mut f = Fields::new(body, &INTAKE_FIELDS)?;
    let id = |f: &mut Fields, name: &str| {
        let raw: Option<String> = f.required(name);
        let parsed = raw.as_deref().and_then(uuid_text);
        if raw.is_some() && parsed.is_none() {
            f.errors.add(name, "is not a UUID");
        }
        parsed
    };
    let jurisdiction_id = id(&mut f, "jurisdiction_id").map(JurisdictionId::from_stored);
    let authority_id = id(&mut f, "authority_id").map(AuthorityId::from_stored);
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
        national_case_reference,
        Some(priority),
        Some(confidentiality),
        tags,
    ) = (
        jurisdiction_id,
        authority_id,
        f.required::<crate::service::day::ReceivedAt>("received_at")
            .map(|r| r.moment(rules)),
        f.required("channel"),
        f.required("subject"),
        f.required("description"),
        f.required("requester"),
        f.required("assistance_types"),
        f.required("proceeding_type"),
        f.required("crimes"),
        f.required("conduct"),
        f.optional("national_case_reference"),
        f.required("priority"),
        f.required("confidentiality"),
        f.optional::<Vec<String>>("tags"),
    )
    else {
        // Some required field is missing or malformed; the errors say which.
        return Err(f.errors.finish().err().unwrap_or_else(|| {
            AppError::internal("a required intake field was refused without an error")
        }));
    };
    let request = NewRfa {
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
        national_case_reference,
        priority,
        confidentiality,
        tags: tags.unwrap_or_default(),
    };
    if f.errors.is_empty() {
        return Ok(request);
    }
    // An optional field was wrong: add what the service would say of the rest.
    let mut errors = f.errors;
    if let Err(AppError::Validation(more)) = request.checked(rules) {
        for e in more {
            errors.add(e.field, e.message);
        }
    }
    errors.finish()?;
    Err(AppError::internal("intake errors vanished"))
}

/// A UUID in its canonical text, if `raw` is one.
fn uuid_text(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw).ok().map(|u| u.to_string())
}

// ---------------------------------------------------------------------------------------
// Lifecycle actions: each action's body

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclineFields {
    outcome: ClosingOutcome,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageFields {
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseFields {
    kind: ResponseKind,
    description: String,
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    shared_on: NaiveDate,
    /// The request's documents that were sent, by id.
    #[serde(default)]
    documents: Vec<uuid::Uuid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseFields {
    outcome: ClosingOutcome,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonFields {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignFields {
    assignee_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorityFields {
    priority: Priority,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendFields {
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    due_on: NaiveDate,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteFields {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFields {
    justification: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssuranceFields {
    reference: String,
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    given_on: NaiveDate,
}

fn fields<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, AppError> {
    let bytes = serde_json::to_vec(body).map_err(|e| AppError::internal(e.to_string()))?;
    crate::api::json::parse(&bytes)
}

/// Reads an action's body (JSON `null` counts as `{}`) into its command; the service
/// checks the command's content.
pub fn parse_command(action: RfaAction, body: &Value) -> Result<Command, AppError> {
    let empty = Value::Object(Default::default());
    let body = if body.is_null() { &empty } else { body };
    Ok(match action {
        RfaAction::StartReview => fields::<NoFields>(body).map(|_| Command::StartReview)?,
        RfaAction::Accept => fields::<NoFields>(body).map(|_| Command::Accept)?,
        RfaAction::Resume => fields::<NoFields>(body).map(|_| Command::Resume)?,
        RfaAction::EvaluateEligibility => {
            fields::<NoFields>(body).map(|_| Command::EvaluateEligibility)?
        }
        RfaAction::Decline => {
            let f: DeclineFields = fields(body)?;
            Command::Decline {
                outcome: f.outcome,
                reason: f.reason,
            }
        }
        RfaAction::RequestInformation => Command::RequestInformation {
            message: fields::<MessageFields>(body)?.message,
        },
        RfaAction::RecordResponse => {
            let f: ResponseFields = fields(body)?;
            Command::RecordResponse {
                kind: f.kind,
                description: f.description,
                shared_on: f.shared_on,
                documents: f.documents.iter().map(uuid::Uuid::to_string).collect(),
            }
        }
        RfaAction::Close => {
            let f: CloseFields = fields(body)?;
            Command::Close {
                outcome: f.outcome,
                reason: f.reason,
            }
        }
        RfaAction::Withdraw => Command::Withdraw {
            reason: fields::<ReasonFields>(body)?.reason,
        },
        RfaAction::Reopen => Command::Reopen {
            reason: fields::<ReasonFields>(body)?.reason,
        },
        RfaAction::Assign => {
            let f: AssignFields = fields(body)?;
            Command::Assign {
                assignee: UserId::parse(&f.assignee_id)
                    .ok_or_else(|| AppError::field("assignee_id", "is not a UUID"))?,
            }
        }
        RfaAction::SetPriority => Command::SetPriority {
            priority: fields::<PriorityFields>(body)?.priority,
        },
        RfaAction::ExtendDeadline => {
            let f: ExtendFields = fields(body)?;
            Command::ExtendDeadline {
                due_on: f.due_on,
                reason: f.reason,
            }
        }
        RfaAction::AddNote => Command::AddNote {
            text: fields::<NoteFields>(body)?.text,
        },
        RfaAction::OverrideEligibility => Command::OverrideEligibility {
            justification: fields::<OverrideFields>(body)?.justification,
        },
        RfaAction::RecordAssurance => {
            let f: AssuranceFields = fields(body)?;
            Command::RecordAssurance {
                reference: f.reference,
                given_on: f.given_on,
            }
        }
    })
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

impl BulkRequest {
    pub fn into_triage(self) -> Result<BulkTriage, AppError> {
        let change = match (self.action, parse_command(self.action, &self.fields)) {
            (RfaAction::Assign | RfaAction::SetPriority, Err(e)) => return Err(e),
            (_, Ok(Command::Assign { assignee })) => BulkChange::Assign(assignee),
            (_, Ok(Command::SetPriority { priority })) => BulkChange::SetPriority(priority),
            _ => return Err(AppError::field("action", "must be assign or set_priority")),
        };
        Ok(BulkTriage {
            // An id that is no UUID names no request: reported as not found in its place.
            ids: self.ids.iter().map(|raw| RfaId::parse(raw)).collect(),
            change,
            dry_run: self.dry_run,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItem {
    pub id: String,
    /// The HTTP status this RFA's change would get (or got) on its own.
    pub status: u16,
    /// The new version, when changed (or that it would have in a dry run).
    pub version: Option<i64>,
    pub error: Option<String>,
    /// The request as it now is (or would be, in a dry run), when the change succeeded.
    pub rfa: Option<RfaSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub dry_run: bool,
    pub succeeded: usize,
    pub failed: usize,
    pub items: Vec<BulkItem>,
}

impl BulkResult {
    /// The service's outcome, item by item in the order asked, with the ids as sent.
    pub fn new(ids: Vec<String>, outcome: BulkOutcome) -> Self {
        let succeeded = outcome.succeeded();
        let items: Vec<BulkItem> = ids
            .into_iter()
            .zip(outcome.items)
            .map(|(id, item)| match item.result {
                Ok(rfa) => BulkItem {
                    id,
                    status: 200,
                    version: Some(rfa.version),
                    error: None,
                    rfa: Some(rfa),
                },
                Err(e) => BulkItem {
                    id,
                    status: crate::api::problem::status_of(&e).as_u16(),
                    version: None,
                    error: Some(short(&e)),
                    rfa: None,
                },
            })
            .collect();
        BulkResult {
            dry_run: outcome.dry_run,
            failed: items.len() - succeeded,
            succeeded,
            items,
        }
    }
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
// The queue's query string

const QUEUE_PARAMS: [&str; 16] = [
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
    "view",
];

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
        return Err(AppError::Malformed(
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

/// Reads the queue's query string (repeated `state=` or comma-separated states both work)
/// and names every wrong parameter at once.
pub fn parse_queue(query: &str) -> Result<QueueQuery, AppError> {
    check_query_text(query)?;
    let mut errors = Errors::new();
    let mut q = QueueQuery::default();
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
        queue_param(&mut q, &mut errors, &key, value);
    }
    // Without a state the queue is the work still open; the archive only when asked.
    if !seen.iter().any(|k| k == "state") || q.states.is_empty() {
        q.states = State::ALL
            .iter()
            .copied()
            .filter(|st| st.is_open())
            .collect();
        q.states.sort_by_key(|st| st.as_str());
    }
    if State::ALL.iter().all(|st| q.states.contains(st)) {
        // Every state is no filter at all.
        q.states.clear();
    }
    if q.text
        .as_deref()
        .is_some_and(|t| t.trim().chars().count() > 200)
    {
        errors.add("q", "must be at most 200 characters");
    }
    errors.finish()?;
    Ok(q)
}

fn queue_param(q: &mut QueueQuery, errors: &mut Errors, key: &str, value: String) {
    let date = |errors: &mut Errors, v: &str| {
        let d = crate::service::day::parse(v);
        if d.is_none() {
            errors.add(key, "is not a date (YYYY-MM-DD)");
        }
        d
    };
    let uuid = |errors: &mut Errors, v: &str| {
        let id = uuid_text(v);
        if id.is_none() {
            errors.add(key, "is not a UUID");
        }
        id
    };
    match key {
        "state" => {
            for s in value.split(',').filter(|s| !s.is_empty()) {
                match State::parse(s) {
                    Some(st) => q.states.push(st),
                    // Every state but closed: the work still to be done.
                    None if s == "open" => q
                        .states
                        .extend(State::ALL.iter().copied().filter(|st| st.is_open())),
                    // The archive too: every state there is.
                    None if s == "all" => q.states.extend(State::ALL.iter().copied()),
                    None => errors.add("state", format!("`{s}` is not a state")),
                }
            }
            q.states.sort_by_key(|st| st.as_str());
            q.states.dedup();
        }
        "jurisdiction_id" => {
            q.jurisdiction = uuid(errors, &value).map(JurisdictionId::from_stored);
        }
        "assignee_id" if value == "unassigned" => q.assignee = Some(Assignee::Unassigned),
        "assignee_id" => {
            q.assignee = uuid(errors, &value).map(|u| Assignee::User(UserId::from_stored(u)));
        }
        "priority" => match Priority::parse(&value) {
            Some(p) => q.priority = Some(p),
            None => errors.add("priority", "must be urgent, high or routine"),
        },
        "overdue" => match value.as_str() {
            "true" => q.overdue = Some(true),
            "false" => q.overdue = Some(false),
            _ => errors.add("overdue", "must be true or false"),
        },
        "due_before" => q.due_before = date(errors, &value),
        "received_from" => q.received_from = date(errors, &value),
        "received_to" => q.received_to = date(errors, &value),
        "tag" => q.tag = Some(value),
        "eligibility" => match Outcome::parse(&value) {
            Some(o) => q.eligibility = Some(o),
            None => errors.add(
                "eligibility",
                "must be eligible, needs_review or ineligible",
            ),
        },
        "q" => q.text = Some(value),
        "sort" => match value.as_str() {
            "due_at" | "due_on" => q.sort = QueueSort::DueOn,
            "received_at" => q.sort = QueueSort::ReceivedAt,
            "priority" => q.sort = QueueSort::Priority,
            "updated_at" => q.sort = QueueSort::UpdatedAt,
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
        "view" => match value.as_str() {
            "summary" => q.view = QueueView::Summary,
            "full" => q.view = QueueView::Full,
            _ => errors.add("view", "must be summary or full"),
        },
        _ => {}
    }
}
