//! The case list, the home page: tabs, filters kept in the URL (shown as removable chips),
//! sorting by a column, and pages by the queue's keyset cursor.

use actix_web::HttpResponse;
use actix_web::get;
use actix_web::http::header;
use actix_web::web::{Data, Query};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::page::{PageError, UserBar, ok, see_other, urlencode};
use super::session::Signed;
use super::words;
use crate::domain::eligibility::Outcome;
use crate::domain::ids::{JurisdictionId, UserId};
use crate::domain::lifecycle::{Priority, State};
use crate::domain::policy;
use crate::domain::search::{Query as SearchQuery, QueryError};
use crate::service::Services;
use crate::service::accounts;
use crate::service::registry;
use crate::service::rfas::{self, Assignee, QueuePage, QueueQuery, QueueSort, QueueView, overview};

const OPEN: [State; 4] = [
    State::Received,
    State::UnderReview,
    State::InProgress,
    State::AwaitingRequester,
];

/// The tabs: which requests, by name in the URL (`?tab=mine`).
const TABS: [(&str, &str); 6] = [
    ("mine", "My cases"),
    ("unassigned", "Unassigned"),
    ("open", "Open"),
    ("overdue", "Overdue"),
    ("awaiting", "Awaiting requester"),
    ("closed", "Closed"),
];

/// The list's query string, as the screens write it. Unknown or malformed values are left
/// out rather than refused: a bookmarked list keeps working after its filter is gone.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListParams {
    tab: Option<String>,
    jurisdiction: Option<String>,
    priority: Option<String>,
    eligibility: Option<String>,
    /// A person's id, or `none` for the unassigned.
    assignee: Option<String>,
    /// Received on or after this day (`YYYY-MM-DD`).
    from: Option<String>,
    /// Received on or before this day.
    to: Option<String>,
    tag: Option<String>,
    /// On the Open tab: one open state only (`under_review`).
    state: Option<String>,
    /// `soon`: due within the next days (see `overview::DUE_SOON_DAYS`), not yet overdue.
    due: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    cursor: Option<String>,
    /// The cursors of the pages before this one, oldest first, joined by `.` (cursors are
    /// base64url): what the Previous link goes back through.
    back: Option<String>,
    /// After bulk triage: what was done (see `web::bulk`).
    bulk: Option<String>,
    ok: Option<String>,
    failed: Option<String>,
}

/// At most this many pages back are remembered in the URL; beyond, only First page.
const MAX_TRAIL: usize = 40;
/// A list counts its cases up to this many.
const COUNT_CAP: i64 = 1000;

fn day_param(v: &Option<String>) -> Result<Option<NaiveDate>, ()> {
    match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ()),
    }
}

impl ListParams {
    /// The search text if there is one to search for (at most 200 characters), or why not.
    fn search(&self) -> Result<Option<String>, QueryError> {
        let Some(text) = self.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let text: String = text.chars().take(200).collect();
        SearchQuery::parse(&text).map(|_| Some(text))
    }

    fn tab(&self) -> &str {
        self.tab
            .as_deref()
            .filter(|t| TABS.iter().any(|(k, _)| k == t))
            .unwrap_or("open")
    }

    fn open_state(&self) -> Option<State> {
        self.state
            .as_deref()
            .and_then(State::parse)
            .filter(|s| self.tab() == "open" && s.is_open())
    }

    /// The column sorted by: as asked, else received for the Closed tab (the archive is
    /// read newest first) and the due date for the others.
    fn sort_key(&self) -> &str {
        match self.sort.as_deref() {
            Some(s) => s,
            None if self.tab() == "closed" => "received",
            None => "due",
        }
    }

    fn descending(&self) -> bool {
        match self.order.as_deref() {
            Some(o) => o == "desc",
            None => self.sort.is_none() && self.tab() == "closed",
        }
    }

    fn due_soon(&self) -> bool {
        self.due.as_deref() == Some("soon") && self.tab() == "open"
    }

    pub(super) fn query(&self, me: &str, today: NaiveDate) -> QueueQuery {
        let mut q = QueueQuery {
            limit: 50,
            cursor: self.cursor.clone(),
            view: QueueView::Summary,
            ..QueueQuery::default()
        };
        match self.tab() {
            "mine" => {
                q.states = OPEN.to_vec();
                q.assignee = UserId::parse(me).map(Assignee::User);
            }
            "unassigned" => {
                q.states = OPEN.to_vec();
                q.assignee = Some(Assignee::Unassigned);
            }
            "overdue" => q.overdue = Some(true),
            "awaiting" => q.states = vec![State::AwaitingRequester],
            "closed" => q.states = vec![State::Closed],
            _ => q.states = OPEN.to_vec(),
        }
        if let Some(state) = self.open_state() {
            q.states = vec![state];
        }
        if self.due_soon() {
            let soon = overview::due_soon_query(today);
            q.states.retain(|s| soon.states.contains(s));
            q.overdue = soon.overdue;
            q.due_before = soon.due_before;
        }
        q.jurisdiction = self.jurisdiction.as_deref().and_then(JurisdictionId::parse);
        if self.tab() != "mine" && self.tab() != "unassigned" {
            q.assignee = match self.assignee.as_deref() {
                Some("none") => Some(Assignee::Unassigned),
                Some(id) => UserId::parse(id).map(Assignee::User),
                None => None,
            };
        }
        q.received_from = day_param(&self.from).ok().flatten();
        q.received_to = day_param(&self.to).ok().flatten();
        q.tag = self
            .tag
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(100).collect());
        q.priority = self.priority.as_deref().and_then(Priority::parse);
        q.eligibility = self.eligibility.as_deref().and_then(Outcome::parse);
        q.text = self.search().ok().flatten();
        q.sort = match self.sort_key() {
            "received" => QueueSort::ReceivedAt,
            "priority" => QueueSort::Priority,
            "updated" => QueueSort::UpdatedAt,
            _ => QueueSort::DueOn,
        };
        q.descending = self.descending();
        q
    }

    /// This list's URL with some parameters changed (`None` removes one); the cursor goes,
    /// since any change starts the list again.
    pub(super) fn with(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(&str, String)> = [
            ("tab", &self.tab),
            ("jurisdiction", &self.jurisdiction),
            ("assignee", &self.assignee),
            ("from", &self.from),
            ("to", &self.to),
            ("tag", &self.tag),
            ("state", &self.state),
            ("due", &self.due),
            ("priority", &self.priority),
            ("eligibility", &self.eligibility),
            ("q", &self.q),
            ("sort", &self.sort),
            ("order", &self.order),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().filter(|v| !v.is_empty()).map(|v| (k, v.clone())))
        .collect();
        for (key, value) in changes {
            pairs.retain(|(k, _)| k != key);
            if let Some(v) = value {
                pairs.push((key, (*v).to_string()));
            }
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        if query.is_empty() {
            "/".into()
        } else {
            format!("/?{}", query.join("&"))
        }
    }
}

pub struct Tab {
    label: &'static str,
    href: String,
    current: bool,
}

pub struct Chip {
    label: String,
    remove_href: String,
}

pub struct Column {
    label: &'static str,
    href: String,
    /// `ascending` or `descending` when the list is sorted by it.
    sorted: Option<&'static str>,
}

pub struct Row {
    id: String,
    reference: String,
    href: String,
    subject: String,
    jurisdiction: String,
    assignee: String,
    received: String,
    priority: (&'static str, &'static str),
    state: (&'static str, &'static str),
    due: (String, &'static str),
    due_on: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    user: Option<UserBar>,
    csrf: String,
    heading: &'static str,
    tabs: Vec<Tab>,
    tab: String,
    jurisdictions: Vec<Choice>,
    assignees: Vec<Choice>,
    priorities: Vec<Choice>,
    eligibilities: Vec<Choice>,
    q: String,
    tag: String,
    from: String,
    to: String,
    /// Filters that could not be read, in words.
    problems: Vec<(&'static str, &'static str)>,
    chips: Vec<Chip>,
    clear_href: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    count: String,
    next_href: Option<String>,
    previous_href: Option<String>,
    first_href: Option<String>,
    /// A supervisor's: the list as CSV, and bulk triage of the rows chosen.
    csv_href: Option<String>,
    bulk: Option<Vec<Choice>>,
    this_href: String,
    banner: Option<super::bulk::Banner>,
}

fn choices(options: Vec<(String, String)>, chosen: Option<&str>) -> Vec<Choice> {
    std::iter::once((String::new(), "Any".to_string()))
        .chain(options)
        .map(|(value, label)| Choice {
            selected: chosen.unwrap_or("") == value,
            value,
            label,
        })
        .collect()
}

/// "N cases", in words.
fn count_words(n: i64, more: bool) -> String {
    match (n, more) {
        (_, true) => format!("More than {} cases", n - 1),
        (1, _) => "1 case".into(),
        (n, _) => format!("{n} cases"),
    }
}

#[get("/")]
pub async fn list(
    svc: Data<Services>,
    signed: Signed,
    params: Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let home = UserBar::home(&signed.0);
    if home != "/" {
        // Reporting staff and administrators have no case list: their own start page.
        return Ok(see_other(home));
    }
    let p = params.into_inner();
    let me = signed.0.who.user_id().to_string();
    let query = p.query(&me, svc.rules().today());
    let (count, more) =
        rfas::queue_count(&svc, signed.caller(), query.clone(), COUNT_CAP + 1).await?;
    let QueuePage::Summaries(page) = rfas::queue(&svc, signed.caller(), query).await? else {
        return Err(PageError::Service(crate::error::AppError::internal(
            "the queue answered full rows",
        )));
    };
    let places = registry::list_jurisdictions(&svc, signed.caller(), None, 200).await?;
    let people = accounts::people(&svc, signed.caller()).await?.items;
    let principal = signed.0.who.principal();
    let may = |a| policy::reach(&principal.roles, a).is_some();
    let today = svc.rules().today();
    let rows = page
        .items
        .into_iter()
        .map(|r| Row {
            href: format!("/cases/{}", r.id),
            id: r.id,
            reference: r.reference,
            subject: r.subject,
            jurisdiction: r.jurisdiction.name,
            assignee: r
                .assignee
                .map(|a| a.display_name)
                .unwrap_or_else(|| "Unassigned".into()),
            received: words::day(r.received_at.date_naive()),
            priority: words::priority(r.priority),
            state: words::state(r.state),
            due: words::due(r.state, r.outcome, r.due_on, today),
            // A closed request's deadline no longer counts: its cell says how it ended.
            due_on: if r.state == State::Closed {
                String::new()
            } else {
                words::day(r.due_on)
            },
        })
        .collect();
    let tab = p.tab().to_string();
    let tabs = TABS
        .iter()
        .map(|(key, label)| Tab {
            label,
            href: p.with(&[("tab", Some(key))]),
            current: *key == tab,
        })
        .collect();
    let jurisdiction_names: Vec<(String, String)> =
        places.items.into_iter().map(|j| (j.id, j.name)).collect();
    let person_names: Vec<(String, String)> = people
        .iter()
        .map(|c| (c.id.clone(), c.display_name.clone()))
        .collect();
    let mut chips = Vec::new();
    let chosen = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let name_in = |list: &[(String, String)], id: String| {
        list.iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or(id)
    };
    if let Some(j) = chosen(&p.jurisdiction) {
        let name = name_in(&jurisdiction_names, j);
        chips.push(("jurisdiction", format!("Jurisdiction: {name}")));
    }
    let assignee_filter = !matches!(tab.as_str(), "mine" | "unassigned");
    if let Some(a) = chosen(&p.assignee).filter(|_| assignee_filter) {
        let name = if a == "none" {
            "nobody".to_string()
        } else {
            name_in(&person_names, a)
        };
        chips.push(("assignee", format!("Assigned to: {name}")));
    }
    if let Some(v) = chosen(&p.priority).and_then(|v| Priority::parse(&v)) {
        chips.push(("priority", format!("Priority: {}", words::priority(v).0)));
    }
    if let Some(v) = chosen(&p.eligibility).and_then(|v| Outcome::parse(&v)) {
        chips.push((
            "eligibility",
            format!("Eligibility: {}", words::eligibility(v).0),
        ));
    }
    let mut problems = Vec::new();
    match day_param(&p.from) {
        Ok(Some(d)) => chips.push(("from", format!("Received from: {}", words::day(d)))),
        Ok(None) => {}
        Err(()) => problems.push((
            "from",
            "The first day of receipt is not a date, so it was left out.",
        )),
    }
    match day_param(&p.to) {
        Ok(Some(d)) => chips.push(("to", format!("Received until: {}", words::day(d)))),
        Ok(None) => {}
        Err(()) => problems.push((
            "to",
            "The last day of receipt is not a date, so it was left out.",
        )),
    }
    if let (Ok(Some(from)), Ok(Some(to))) = (day_param(&p.from), day_param(&p.to))
        && to < from
    {
        // Kept as asked (no case matches), but said, so that "0 cases" is not a mystery.
        problems.push((
            "to",
            "The last day of receipt is before the first, so no case can match: swap them.",
        ));
    }
    match p.search() {
        Ok(_) => {}
        Err(QueryError::NoWords) => problems.push((
            "q",
            "The text has no letters or digits to search for, so it was left out.",
        )),
        Err(QueryError::TooManyWords) => problems.push((
            "q",
            "The text has more than 8 words, so it was left out: search for fewer.",
        )),
    }
    if let Some(v) = chosen(&p.tag) {
        chips.push(("tag", format!("Tag: {v}")));
    }
    if let Some(s) = p.open_state() {
        chips.push(("state", format!("State: {}", words::state(s).0)));
    }
    if p.due_soon() {
        chips.push((
            "due",
            format!("Due in the next {} days", overview::DUE_SOON_DAYS),
        ));
    }
    if let Ok(Some(v)) = p.search() {
        chips.push(("q", format!("Text: {v}")));
    }
    let chips = chips
        .into_iter()
        .map(|(key, label)| Chip {
            label,
            remove_href: p.with(&[(key, None)]),
        })
        .collect();
    let sorted_by = p.sort_key().to_string();
    let descending = p.descending();
    let columns = [
        ("Received", "received"),
        ("Priority", "priority"),
        ("Due", "due"),
    ]
    .into_iter()
    .map(|(label, key)| {
        let current = sorted_by == key;
        let order = if current && !descending {
            "desc"
        } else {
            "asc"
        };
        Column {
            label,
            href: p.with(&[("sort", Some(key)), ("order", Some(order))]),
            sorted: current.then_some(if descending {
                "descending"
            } else {
                "ascending"
            }),
        }
    })
    .collect();
    let priorities: Vec<(String, String)> = Priority::ALL
        .iter()
        .map(|v| (v.as_str().to_string(), words::priority(*v).0.to_string()))
        .collect();
    let eligibilities = [Outcome::Eligible, Outcome::NeedsReview, Outcome::Ineligible]
        .iter()
        .map(|v| (v.as_str().to_string(), words::eligibility(*v).0.to_string()))
        .collect();
    // The pages before this one: Previous goes to the last of them.
    let trail: Vec<&str> = p
        .back
        .as_deref()
        .map(|b| b.split('.').filter(|c| !c.is_empty()).collect())
        .unwrap_or_default();
    let base = p.with(&[]);
    let sep = if base.contains('?') { '&' } else { '?' };
    let at = |cursor: Option<&str>, back: &[&str]| {
        let mut href = base.clone();
        let mut sep = sep;
        if let Some(c) = cursor {
            href.push_str(&format!("{sep}cursor={}", urlencode(c)));
            sep = '&';
        }
        if !back.is_empty() {
            href.push_str(&format!("{sep}back={}", urlencode(&back.join("."))));
        }
        href
    };
    let next_href = page.next_cursor.as_deref().map(|c| {
        let mut back = trail.clone();
        if let Some(here) = p.cursor.as_deref() {
            back.push(here);
        }
        if back.len() > MAX_TRAIL {
            back.clear();
        }
        at(Some(c), &back)
    });
    let previous_href = p.cursor.as_ref().and_then(|_| match trail.split_last() {
        Some((last, rest)) => Some(at(Some(last), rest)),
        // The page after the first: Previous is the first page.
        None if p.back.is_none() => Some(base.clone()),
        None => None,
    });
    let heading = TABS
        .iter()
        .find(|(k, _)| *k == tab)
        .map(|(_, l)| *l)
        .unwrap_or("Cases");
    let this_href = at(p.cursor.as_deref(), &trail);
    // Closed cases take no assignment or priority: no bulk triage on their tab.
    let bulk = (may(policy::Action::BulkTriage) && tab != "closed").then(|| {
        let mut options = vec![Choice {
            value: String::new(),
            label: "Choose a change".into(),
            selected: true,
        }];
        options.extend(people.iter().map(|c| Choice {
            value: format!("assign~{}", c.id),
            label: format!("Assign to {}", c.display_name),
            selected: false,
        }));
        options.extend(priorities.iter().map(|(v, l)| Choice {
            value: format!("priority~{v}"),
            label: format!("Set the priority to {l}"),
            selected: false,
        }));
        options
    });
    let banner = super::bulk::Banner::from_params(
        p.bulk.as_deref(),
        p.ok.as_deref(),
        p.failed.as_deref(),
        &person_names,
    );
    let mut assignee_options = vec![("none".to_string(), "Nobody (unassigned)".to_string())];
    assignee_options.extend(person_names);
    Ok(ok(&CasesPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        heading,
        jurisdictions: choices(jurisdiction_names, p.jurisdiction.as_deref()),
        assignees: if assignee_filter {
            choices(assignee_options, p.assignee.as_deref())
        } else {
            Vec::new()
        },
        priorities: choices(priorities, p.priority.as_deref()),
        eligibilities: choices(eligibilities, p.eligibility.as_deref()),
        q: p.q.clone().unwrap_or_default(),
        tag: p.tag.clone().unwrap_or_default(),
        from: p.from.clone().unwrap_or_default(),
        to: p.to.clone().unwrap_or_default(),
        problems,
        clear_href: p.with(&[
            ("jurisdiction", None),
            ("assignee", None),
            ("from", None),
            ("to", None),
            ("tag", None),
            ("priority", None),
            ("eligibility", None),
            ("q", None),
        ]),
        first_href: p.cursor.is_some().then(|| base.clone()),
        csv_href: may(policy::Action::ExportQueue).then(|| {
            let list = p.with(&[]);
            match list.split_once('?') {
                Some((_, query)) => format!("/cases/list.csv?{query}"),
                None => "/cases/list.csv".into(),
            }
        }),
        count: count_words(count, more),
        this_href,
        tab,
        tabs,
        chips,
        columns,
        rows,
        next_href,
        previous_href,
        bulk,
        banner,
    }))
}

/// The list as a spreadsheet, for supervisors: every case the filters match (up to 10,000),
/// in the columns of the screen, with dates as dates.
#[get("/cases/list.csv")]
pub async fn download(
    svc: Data<Services>,
    signed: Signed,
    params: Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let p = params.into_inner();
    let me = signed.0.who.user_id().to_string();
    let (rows, truncated) = rfas::queue_export(
        &svc,
        signed.caller(),
        p.query(&me, svc.rules().today()),
        10_000,
    )
    .await?;
    let today = svc.rules().today();
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.reference,
                r.subject,
                r.jurisdiction.name,
                r.assignee.map(|a| a.display_name).unwrap_or_default(),
                words::priority(r.priority).0.into(),
                words::state(r.state).0.into(),
                words::eligibility(r.eligibility.outcome).0.into(),
                r.received_at.date_naive().to_string(),
                r.due_on.to_string(),
                words::due(r.state, r.outcome, r.due_on, today).0,
            ]
        })
        .collect();
    let csv = crate::export::table_csv(
        &[
            "Reference",
            "Subject",
            "Jurisdiction",
            "Assigned to",
            "Priority",
            "State",
            "Eligibility",
            "Received",
            "Due",
            "Deadline",
        ],
        &table,
    )?;
    let mut res = HttpResponse::Ok();
    res.content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"cases-{today}.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if truncated {
        res.insert_header(("x-truncated", "10000"));
    }
    Ok(res.body(csv))
}
