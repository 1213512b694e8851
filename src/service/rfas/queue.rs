//! The queue: the requests the caller may see, filtered, sorted and paged by keyset, as list
//! rows (summaries) or, when asked, as full views.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::summary::{RfaSummaryPage, summaries};
use super::view::{self, RfaPage, to_json};
use crate::db::rfas::{self as store, QueueKeys};
use crate::domain::eligibility::Outcome;
use crate::domain::ids::{JurisdictionId, UserId};
use crate::domain::lifecycle::{Priority, State};
use crate::domain::policy;
use crate::domain::search::{MAX_QUERY_WORDS, Query, QueryError};
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;
use crate::service::paging;
use crate::service::validate::Errors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    #[default]
    DueOn,
    ReceivedAt,
    Priority,
    UpdatedAt,
}

impl QueueSort {
    /// The name the queue's `sort` takes (and its cursors carry).
    pub fn as_str(self) -> &'static str {
        match self {
            QueueSort::DueOn => "due_at",
            QueueSort::ReceivedAt => "received_at",
            QueueSort::Priority => "priority",
            QueueSort::UpdatedAt => "updated_at",
        }
    }

    fn key(self) -> store::SortKey {
        match self {
            QueueSort::DueOn => store::SortKey::DueOn,
            QueueSort::ReceivedAt => store::SortKey::ReceivedAt,
            QueueSort::Priority => store::SortKey::Priority,
            QueueSort::UpdatedAt => store::SortKey::UpdatedAt,
        }
    }
}

/// How much of each request a queue page carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueView {
    /// List rows (`RfaSummary`): what a list shows, with names.
    #[default]
    Summary,
    /// Every field of each request, as `GET /api/v1/rfas/{id}` gives it.
    Full,
}

/// A queue page in the view asked for.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum QueuePage {
    Summaries(RfaSummaryPage),
    Full(RfaPage),
}

/// Documented as `anyOf` the two pages (the derive would make the untagged enum a `oneOf`).
impl utoipa::PartialSchema for QueuePage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::AnyOfBuilder;
        use utoipa::openapi::{Ref, RefOr};
        RefOr::T(
            AnyOfBuilder::new()
                .item(Ref::from_schema_name(RfaSummaryPage::name()))
                .item(Ref::from_schema_name(RfaPage::name()))
                .description(Some(
                    "List rows (`RfaSummaryPage`), or full requests with `view=full` (`RfaPage`).",
                ))
                .into(),
        )
    }
}

impl utoipa::ToSchema for QueuePage {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push((RfaSummaryPage::name().into(), RfaSummaryPage::schema()));
        RfaSummaryPage::schemas(schemas);
        schemas.push((RfaPage::name().into(), RfaPage::schema()));
        RfaPage::schemas(schemas);
    }
}

/// Whose requests: nobody's yet, or one person's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Unassigned,
    User(UserId),
}

/// A queue page to read: every filter is optional; days are inclusive days in the reporting
/// time zone.
#[derive(Debug, Clone)]
pub struct QueueQuery {
    /// Any of these states (none: every state).
    pub states: Vec<State>,
    pub jurisdiction: Option<JurisdictionId>,
    pub assignee: Option<Assignee>,
    pub priority: Option<Priority>,
    pub overdue: Option<bool>,
    pub due_before: Option<NaiveDate>,
    pub received_from: Option<NaiveDate>,
    pub received_to: Option<NaiveDate>,
    pub tag: Option<String>,
    pub eligibility: Option<Outcome>,
    /// Words that begin words of the reference, subject, description, requester's name,
    /// national case reference or notes, in any case and with or without accents.
    pub text: Option<String>,
    pub sort: QueueSort,
    pub descending: bool,
    /// 1 to 200.
    pub limit: i64,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub view: QueueView,
}

impl Default for QueueQuery {
    fn default() -> Self {
        Self {
            states: Vec::new(),
            jurisdiction: None,
            assignee: None,
            priority: None,
            overdue: None,
            due_before: None,
            received_from: None,
            received_to: None,
            tag: None,
            eligibility: None,
            text: None,
            sort: QueueSort::default(),
            descending: false,
            limit: 50,
            cursor: None,
            view: QueueView::default(),
        }
    }
}

const MAX_TEXT: usize = 200;

impl QueueQuery {
    /// The search, or the reason it cannot be searched for (`domain::search`).
    fn text_query(&self, errors: &mut Errors) -> Option<Query> {
        let text = self.text.as_deref()?.trim();
        if text.chars().count() > MAX_TEXT {
            errors.add("q", "must be at most 200 characters");
            return None;
        }
        if text.is_empty() {
            return None;
        }
        match Query::parse(text) {
            Ok(query) => Some(query),
            Err(QueryError::NoWords) => {
                errors.add("q", "has no letters or digits to search for");
                None
            }
            Err(QueryError::TooManyWords) => {
                errors.add("q", format!("must be at most {MAX_QUERY_WORDS} words"));
                None
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: String,
    d: bool,
    v: String,
    id: String,
}

fn encode_cursor(
    sort: QueueSort,
    descending: bool,
    today: NaiveDate,
    row: &impl QueueKeys,
) -> String {
    use base64::Engine;
    let v = match sort {
        QueueSort::DueOn => row.due_now(today).to_string(),
        QueueSort::ReceivedAt => row.received_at().format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        QueueSort::UpdatedAt => row.updated_at().format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        QueueSort::Priority => row.priority_rank().to_string(),
    };
    let c = Cursor {
        s: sort.as_str().into(),
        d: descending,
        v,
        id: row.id().to_string(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(to_json(&c))
}

fn decode_cursor(raw: &str, sort: QueueSort, descending: bool) -> Result<store::After, AppError> {
    use base64::Engine;
    let bad = || {
        AppError::Malformed("The cursor is not one this service issued for this sort order.".into())
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .map_err(|_| bad())?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if c.s != sort.as_str() || c.d != descending || uuid::Uuid::parse_str(&c.id).is_err() {
        return Err(bad());
    }
    let time = |v: &str| {
        NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .filter(crate::service::day::in_range)
            .ok_or_else(bad)
    };
    Ok(match sort {
        QueueSort::DueOn => {
            store::After::Date(crate::service::day::parse(&c.v).ok_or_else(bad)?, c.id)
        }
        QueueSort::ReceivedAt | QueueSort::UpdatedAt => store::After::Time(time(&c.v)?, c.id),
        QueueSort::Priority => store::After::Rank(c.v.parse().map_err(|_| bad())?, c.id),
    })
}

/// The queue query as the store's filter, within the caller's reach.
pub(super) fn filter_of(
    q: &QueueQuery,
    who: &crate::domain::policy::Principal,
    rules: &crate::service::Rules,
) -> Result<store::QueueFilter, AppError> {
    let mut errors = Errors::new();
    if !(1..=200).contains(&q.limit) {
        errors.add("limit", "must be between 1 and 200");
    }
    let text = q.text_query(&mut errors);
    errors.finish()?;
    let scope = policy::rfa_list_scope(who)
        .ok_or_else(|| AppError::Forbidden("Your roles do not permit reading requests.".into()))?;
    Ok(store::QueueFilter {
        scope: match scope {
            policy::ListScope::All => None,
            policy::ListScope::Jurisdictions(j) => Some(j),
        },
        states: q.states.iter().map(|s| s.as_str().to_string()).collect(),
        jurisdiction_id: q.jurisdiction.as_ref().map(|j| j.to_string()),
        assignee: q.assignee.as_ref().map(|a| match a {
            Assignee::Unassigned => None,
            Assignee::User(u) => Some(u.to_string()),
        }),
        priority: q.priority.map(|p| p.as_str().to_string()),
        overdue_on: q.overdue.map(|o| (o, rules.today())),
        due_before: q.due_before,
        today: rules.today(),
        // Days are taken in the reporting time zone: received_to is inclusive.
        received_from: q.received_from.map(|d| rules.start_of(d)),
        received_to: q
            .received_to
            .map(|d| rules.start_of(d.succ_opt().unwrap_or(NaiveDate::MAX))),
        tag: q.tag.clone(),
        eligibility: q.eligibility.map(|o| o.as_str().to_string()),
        text,
    })
}

/// The queue page for the caller: the session is checked, then the permission to read
/// requests, then the query, all in the one database call.
pub async fn queue(svc: &Services, caller: Caller, q: QueueQuery) -> Result<QueuePage, AppError> {
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            let who = caller.permitted(c, policy::Action::ReadRfa)?;
            let who = who.principal();
            let filter = filter_of(&q, who, &rules)?;
            let after = q
                .cursor
                .as_deref()
                .map(|c| decode_cursor(c, q.sort, q.descending))
                .transpose()?;
            let (sort, descending, after) = (q.sort.key(), q.descending, after.as_ref());
            let (by, desc) = (q.sort, q.descending);
            Ok(match q.view {
                QueueView::Summary => {
                    let rows =
                        store::queue_summaries(c, &filter, sort, descending, after, q.limit + 1)?;
                    let (rows, next_cursor) =
                        paging::page(rows, q.limit, |r| encode_cursor(by, desc, filter.today, r));
                    let items = summaries(c, &rules, who, rows)?;
                    QueuePage::Summaries(RfaSummaryPage { items, next_cursor })
                }
                QueueView::Full => {
                    let rows = store::queue(c, &filter, sort, descending, after, q.limit + 1)?;
                    let (rows, next_cursor) =
                        paging::page(rows, q.limit, |r| encode_cursor(by, desc, filter.today, r));
                    let names = view::names_of(
                        c,
                        rows.iter().flat_map(|r| {
                            std::iter::once(r.created_by.as_str()).chain(r.assignee_id.as_deref())
                        }),
                    )?;
                    let items = rows
                        .into_iter()
                        .map(|r| view::view_named(&rules, who, r, &names))
                        .collect::<Result<Vec<_>, _>>()?;
                    QueuePage::Full(RfaPage { items, next_cursor })
                }
            })
        })
        .await
}

/// How many requests a queue query matches, counted up to `cap`: `(n, true)` when there are
/// at least `cap`. The query's cursor, sort and view do not matter.
pub async fn queue_count(
    svc: &Services,
    caller: Caller,
    q: QueueQuery,
    cap: i64,
) -> Result<(i64, bool), AppError> {
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            let who = caller.permitted(c, policy::Action::ReadRfa)?;
            let filter = filter_of(&q, who.principal(), &rules)?;
            let n = store::queue_count(c, &filter, cap)?;
            Ok((n, n >= cap))
        })
        .await
}

/// Everything a queue query matches, as summaries, for a supervisor's download: at most
/// `max` rows, and whether there were more.
pub async fn queue_export(
    svc: &Services,
    caller: Caller,
    mut q: QueueQuery,
    max: usize,
) -> Result<(Vec<super::RfaSummary>, bool), AppError> {
    let who = caller
        .resolve(svc, Some(policy::Action::ExportQueue))
        .await?;
    q.view = QueueView::Summary;
    q.limit = 200;
    q.cursor = None;
    let mut rows = Vec::new();
    loop {
        let page = match queue(svc, Caller::Checked(who.clone()), q.clone()).await? {
            QueuePage::Summaries(page) => page,
            QueuePage::Full(_) => return Err(AppError::internal("the queue answered full rows")),
        };
        rows.extend(page.items);
        match page.next_cursor {
            Some(next) if rows.len() < max => q.cursor = Some(next),
            more => {
                let truncated = more.is_some() || rows.len() > max;
                rows.truncate(max);
                return Ok((rows, truncated));
            }
        }
    }
}
