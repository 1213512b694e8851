//! The RFA routes' JSON and query strings, read into the service's typed commands. The
//! answers name every wrong field at once, as they did when the service read JSON itself.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::Ref;
use utoipa::openapi::schema::{Object, ObjectBuilder, OneOfBuilder, Schema, Type};

use crate::api::fields::Fields;
use crate::domain::eligibility::Outcome;
use crate::domain::ids::{AuthorityId, JurisdictionId, RfaId, UserId};
use crate::domain::lifecycle::{self, ClosingOutcome, Priority, ResponseKind, RfaAction, State};
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
//
// Each action's body is a type serde reads it into, and the same type's derived schema is
// what the OpenAPI document gives that action (`POST /rfas/{id}/actions/<action>`), so the
// document cannot say other than the parser does. `with_body` is the one table from an
// action to its body type: parsing and the document both go through it.

/// One action's body: what serde reads it into, documented by its own schema.
pub trait ActionBody: DeserializeOwned + ToSchema {
    /// The action this is the body of.
    const ACTION: RfaAction;
    /// The command the body makes (the service checks its content).
    fn command(self) -> Result<Command, AppError>;
}

/// Something done with an action's body type, for [`with_body`].
pub trait BodyVisitor {
    type Out;
    fn visit<B: ActionBody>(self) -> Self::Out;
}

/// Calls `v` with the body type of `action`: the parser and the document's schemas both
/// read this table.
pub fn with_body<V: BodyVisitor>(action: RfaAction, v: V) -> V::Out {
    match action {
        RfaAction::StartReview => v.visit::<StartReviewBody>(),
        RfaAction::Accept => v.visit::<AcceptBody>(),
        RfaAction::Decline => v.visit::<DeclineBody>(),
        RfaAction::RequestInformation => v.visit::<RequestInformationBody>(),
        RfaAction::Resume => v.visit::<ResumeBody>(),
        RfaAction::RecordResponse => v.visit::<RecordResponseBody>(),
        RfaAction::Close => v.visit::<CloseBody>(),
        RfaAction::Withdraw => v.visit::<WithdrawBody>(),
        RfaAction::Reopen => v.visit::<ReopenBody>(),
        RfaAction::Assign => v.visit::<AssignBody>(),
        RfaAction::SetPriority => v.visit::<SetPriorityBody>(),
        RfaAction::ExtendDeadline => v.visit::<ExtendDeadlineBody>(),
        RfaAction::AddNote => v.visit::<AddNoteBody>(),
        RfaAction::EvaluateEligibility => v.visit::<EvaluateEligibilityBody>(),
        RfaAction::OverrideEligibility => v.visit::<OverrideEligibilityBody>(),
        RfaAction::RecordAssurance => v.visit::<RecordAssuranceBody>(),
    }
}

/// The closing outcomes an action may record, as a string enumeration from
/// [`lifecycle::closing_outcomes`], the list the service checks against.
fn outcomes_of(action: RfaAction) -> Object {
    let allowed = lifecycle::closing_outcomes(action);
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(allowed.iter().map(|o| o.as_str())))
        .description(Some(format!(
            "The closing outcome `{}` records: {}.",
            action.as_str(),
            allowed
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        )))
        .build()
}

fn decline_outcomes() -> Object {
    outcomes_of(RfaAction::Decline)
}

fn close_outcomes() -> Object {
    outcomes_of(RfaAction::Close)
}

/// Bodies without fields: `{}`, `null` or no body at all.
macro_rules! no_fields {
    ($($(#[$doc:meta])* $name:ident => $action:ident;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {}

        impl ActionBody for $name {
            const ACTION: RfaAction = RfaAction::$action;
            fn command(self) -> Result<Command, AppError> {
                Ok(Command::$action)
            }
        }
    )+};
}

no_fields! {
    /// `start_review`: begins reviewing a received request. No fields: `{}`, `null` or no
    /// body.
    StartReviewBody => StartReview;
    /// `accept`: takes the request on; it needs an assignee, and an eligible decision or an
    /// override. No fields: `{}`, `null` or no body.
    AcceptBody => Accept;
    /// `resume`: the requester has answered, and the clock runs again. No fields: `{}`,
    /// `null` or no body.
    ResumeBody => Resume;
    /// `evaluate_eligibility`: evaluates the request's eligibility again, now. No fields:
    /// `{}`, `null` or no body.
    EvaluateEligibilityBody => EvaluateEligibility;
}

/// `decline`: closes the request as declined.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineBody {
    #[schema(schema_with = decline_outcomes)]
    pub outcome: ClosingOutcome,
    /// Why (1 to 10 000 characters once trimmed).
    #[schema(min_length = 1)]
    pub reason: String,
}

impl ActionBody for DeclineBody {
    const ACTION: RfaAction = RfaAction::Decline;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::Decline {
            outcome: self.outcome,
            reason: self.reason,
        })
    }
}

/// `request_information`: asks the requester for more, which pauses the clock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInformationBody {
    /// What is asked of the requester (1 to 10 000 characters once trimmed).
    #[schema(min_length = 1)]
    pub message: String,
}

impl ActionBody for RequestInformationBody {
    const ACTION: RfaAction = RfaAction::RequestInformation;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::RequestInformation {
            message: self.message,
        })
    }
}

/// `record_response`: records what was sent to the requester.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordResponseBody {
    pub kind: ResponseKind,
    /// What was sent (1 to 10 000 characters once trimmed).
    #[schema(min_length = 1)]
    pub description: String,
    /// The day it was sent (`YYYY-MM-DD`, not in the future).
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub shared_on: NaiveDate,
    /// Ids of the request's documents that were sent (not withdrawn; at most 50, none
    /// twice); the event records each one's id, name and SHA-256.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub documents: Vec<uuid::Uuid>,
}

impl ActionBody for RecordResponseBody {
    const ACTION: RfaAction = RfaAction::RecordResponse;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::RecordResponse {
            kind: self.kind,
            description: self.description,
            shared_on: self.shared_on,
            documents: self.documents.iter().map(uuid::Uuid::to_string).collect(),
        })
    }
}

/// `close`: closes the request as (partially) fulfilled; `fulfilled` needs a recorded
/// response. Declining and withdrawing are their own actions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    #[schema(schema_with = close_outcomes)]
    pub outcome: ClosingOutcome,
    /// Why, if anything is to be said (1 to 10 000 characters once trimmed).
    pub reason: Option<String>,
}

impl ActionBody for CloseBody {
    const ACTION: RfaAction = RfaAction::Close;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::Close {
            outcome: self.outcome,
            reason: self.reason,
        })
    }
}

/// `withdraw`: closes the request as `withdrawn` (by the requester).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// Why (1 to 10 000 characters once trimmed).
    #[schema(min_length = 1)]
    pub reason: String,
}

impl ActionBody for WithdrawBody {
    const ACTION: RfaAction = RfaAction::Withdraw;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::Withdraw {
            reason: self.reason,
        })
    }
}

/// `reopen`: takes a closed request back into progress.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenBody {
    /// Why (1 to 10 000 characters once trimmed).
    #[schema(min_length = 1)]
    pub reason: String,
}

impl ActionBody for ReopenBody {
    const ACTION: RfaAction = RfaAction::Reopen;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::Reopen {
            reason: self.reason,
        })
    }
}

/// `assign`: gives the request to someone who works on it (also the `fields` of a bulk
/// `assign`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// An active supervisor, or an active liaison officer of the request's jurisdiction.
    #[schema(format = Uuid)]
    pub assignee_id: String,
}

impl ActionBody for AssignBody {
    const ACTION: RfaAction = RfaAction::Assign;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::Assign {
            assignee: UserId::parse(&self.assignee_id)
                .ok_or_else(|| AppError::field("assignee_id", "is not a UUID"))?,
        })
    }
}

/// `set_priority`: changes the priority, and with it the due date (also the `fields` of a
/// bulk `set_priority`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPriorityBody {
    pub priority: Priority,
}

impl ActionBody for SetPriorityBody {
    const ACTION: RfaAction = RfaAction::SetPriority;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::SetPriority {
            priority: self.priority,
        })
    }
}

/// `extend_deadline`: moves the due date later.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendDeadlineBody {
    /// The new due date (`YYYY-MM-DD`, after the current one).
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub due_on: NaiveDate,
    /// Why (1 to 10 000 characters once trimmed).
    #[schema(min_length = 1)]
    pub reason: String,
}

impl ActionBody for ExtendDeadlineBody {
    const ACTION: RfaAction = RfaAction::ExtendDeadline;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::ExtendDeadline {
            due_on: self.due_on,
            reason: self.reason,
        })
    }
}

/// `add_note`: a note in the request's history.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNoteBody {
    /// The note (1 to 10 000 characters once trimmed).
    #[schema(min_length = 1)]
    pub text: String,
}

impl ActionBody for AddNoteBody {
    const ACTION: RfaAction = RfaAction::AddNote;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::AddNote { text: self.text })
    }
}

/// `override_eligibility`: lets a request that is not eligible be accepted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideEligibilityBody {
    /// Why (20 to 10 000 characters once trimmed).
    #[schema(min_length = 20)]
    pub justification: String,
}

impl ActionBody for OverrideEligibilityBody {
    const ACTION: RfaAction = RfaAction::OverrideEligibility;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::OverrideEligibility {
            justification: self.justification,
        })
    }
}

/// `record_assurance`: an assurance given for this request; eligibility is evaluated again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordAssuranceBody {
    /// The assurance's reference (1 to 200 characters once trimmed, one line).
    #[schema(min_length = 1)]
    pub reference: String,
    /// The day it was given (`YYYY-MM-DD`, not in the future).
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub given_on: NaiveDate,
}

impl ActionBody for RecordAssuranceBody {
    const ACTION: RfaAction = RfaAction::RecordAssurance;
    fn command(self) -> Result<Command, AppError> {
        Ok(Command::RecordAssurance {
            reference: self.reference,
            given_on: self.given_on,
        })
    }
}

struct Parse<'a>(&'a Value);

impl BodyVisitor for Parse<'_> {
    type Out = Result<Command, AppError>;
    fn visit<B: ActionBody>(self) -> Self::Out {
        let bytes = serde_json::to_vec(self.0).map_err(|e| AppError::internal(e.to_string()))?;
        crate::api::json::parse::<B>(&bytes)?.command()
    }
}

/// Reads an action's body (JSON `null` counts as `{}`) into its command; the service
/// checks the command's content.
pub fn parse_command(action: RfaAction, body: &Value) -> Result<Command, AppError> {
    let empty = Value::Object(Default::default());
    let body = if body.is_null() { &empty } else { body };
    let command = with_body(action, Parse(body))?;
    if command.action() != action {
        return Err(AppError::internal(format!(
            "the body of `{action}` made a `{}` command",
            command.action()
        )));
    }
    Ok(command)
}

// ---------------------------------------------------------------------------------------
// Bulk triage

/// The actions bulk triage takes: the document's `action` enumeration and `fields` bodies,
/// and what [`BulkRequest::into_triage`] accepts.
pub const BULK_ACTIONS: [RfaAction; 2] = [RfaAction::Assign, RfaAction::SetPriority];

fn bulk_action() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(BULK_ACTIONS.iter().map(|a| a.as_str())))
        .description(Some("The change made to each request."))
        .build()
}

/// The name of an action's body schema.
struct BodyName;

impl BodyVisitor for BodyName {
    type Out = String;
    fn visit<B: ActionBody>(self) -> String {
        B::name().into_owned()
    }
}

fn bulk_fields() -> Schema {
    let mut one_of = OneOfBuilder::new().description(Some(format!(
        "The fields of the action, exactly the body the single request's action takes \
         (`POST /api/v1/rfas/{{id}}/actions/<action>`): {}.",
        BULK_ACTIONS
            .iter()
            .map(|a| format!("`{a}` takes `{}`", with_body(*a, BodyName)))
            .collect::<Vec<_>>()
            .join(", ")
    )));
    for action in BULK_ACTIONS {
        one_of = one_of.item(Ref::from_schema_name(with_body(action, BodyName)));
    }
    Schema::OneOf(one_of.build())
}

/// One change to many requests: `action` with its `fields`, as the single request's action
/// would take them, for each of `ids`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// 1 to 200 RFAs, none twice. An id that names no request you may see is reported as
    /// not found in its place.
    #[schema(min_items = 1, max_items = 200)]
    pub ids: Vec<String>,
    #[schema(schema_with = bulk_action)]
    pub action: RfaAction,
    #[schema(schema_with = bulk_fields)]
    pub fields: Value,
    /// Run every check and change nothing; the answer says what would happen.
    #[serde(default)]
    pub dry_run: bool,
}

impl BulkRequest {
    pub fn into_triage(self) -> Result<BulkTriage, AppError> {
        if !BULK_ACTIONS.contains(&self.action) {
            return Err(AppError::field(
                "action",
                format!(
                    "must be {}",
                    BULK_ACTIONS.map(RfaAction::as_str).join(" or ")
                ),
            ));
        }
        let change = match parse_command(self.action, &self.fields)? {
            Command::Assign { assignee } => BulkChange::Assign(assignee),
            Command::SetPriority { priority } => BulkChange::SetPriority(priority),
            other => {
                return Err(AppError::internal(format!(
                    "bulk triage has no change for `{}`",
                    other.action()
                )));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    struct ActionOf;

    impl BodyVisitor for ActionOf {
        type Out = RfaAction;
        fn visit<B: ActionBody>(self) -> RfaAction {
            B::ACTION
        }
    }

    #[test]
    fn every_action_reads_its_own_body() {
        for action in RfaAction::ALL {
            assert_eq!(with_body(*action, ActionOf), *action);
        }
    }
}
