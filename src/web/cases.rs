//! The case list, the home page: tabs, filters kept in the URL (shown as removable chips),
//! sorting by a column, and pages by the queue's keyset cursor.

use actix_web::HttpResponse;
use actix_web::get;
use actix_web::web::{Data, Query};
use askama::Template;
use serde::Deserialize;

use super::page::{PageError, UserBar, ok, urlencode};
use super::session::Signed;
use super::words;
use crate::domain::eligibility::Outcome;
use crate::domain::ids::{JurisdictionId, UserId};
use crate::domain::lifecycle::{Priority, State};
use crate::service::Services;
use crate::service::registry;
use crate::service::rfas::{self, Assignee, QueuePage, QueueQuery, QueueSort, QueueView};

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
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    cursor: Option<String>,
}

impl ListParams {
    fn tab(&self) -> &str {
        self.tab
            .as_deref()
            .filter(|t| TABS.iter().any(|(k, _)| k == t))
            .unwrap_or("open")
    }

    fn query(&self, me: &str) -> QueueQuery {
        let mut q = QueueQuery {
            limit: 25,
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
        q.jurisdiction = self.jurisdiction.as_deref().and_then(JurisdictionId::parse);
        q.priority = self.priority.as_deref().and_then(Priority::parse);
        q.eligibility = self.eligibility.as_deref().and_then(Outcome::parse);
        q.text = self
            .q
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(200).collect());
        q.sort = match self.sort.as_deref() {
            Some("received") => QueueSort::ReceivedAt,
            Some("priority") => QueueSort::Priority,
            Some("updated") => QueueSort::UpdatedAt,
            _ => QueueSort::DueOn,
        };
        q.descending = self.order.as_deref() == Some("desc");
        q
    }

    /// This list's URL with some parameters changed (`None` removes one); the cursor goes,
    /// since any change starts the list again.
    fn with(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(&str, String)> = [
            ("tab", &self.tab),
            ("jurisdiction", &self.jurisdiction),
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
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    user: Option<UserBar>,
    heading: &'static str,
    tabs: Vec<Tab>,
    tab: String,
    jurisdictions: Vec<Choice>,
    priorities: Vec<Choice>,
    eligibilities: Vec<Choice>,
    q: String,
    chips: Vec<Chip>,
    clear_href: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    next_href: Option<String>,
    first_href: Option<String>,
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

#[get("/")]
pub async fn list(
    svc: Data<Services>,
    signed: Signed,
    params: Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let p = params.into_inner();
    let me = signed.0.who.user_id().to_string();
    let QueuePage::Summaries(page) = rfas::queue(&svc, signed.caller(), p.query(&me)).await? else {
        return Err(PageError::Service(crate::error::AppError::internal(
            "the queue answered full rows",
        )));
    };
    let places = registry::list_jurisdictions(&svc, signed.caller(), None, 200).await?;
    let today = svc.rules().today();
    let rows = page
        .items
        .into_iter()
        .map(|r| Row {
            href: format!("/cases/{}", r.id),
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
            due: words::due(r.state, r.due_on, today),
            due_on: words::day(r.due_on),
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
    let mut chips = Vec::new();
    let chosen = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    if let Some(j) = chosen(&p.jurisdiction) {
        let name = jurisdiction_names
            .iter()
            .find(|(id, _)| *id == j)
            .map(|(_, n)| n.clone())
            .unwrap_or(j);
        chips.push(("jurisdiction", format!("Jurisdiction: {name}")));
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
    if let Some(v) = chosen(&p.q) {
        chips.push(("q", format!("Text: {v}")));
    }
    let chips = chips
        .into_iter()
        .map(|(key, label)| Chip {
            label,
            remove_href: p.with(&[(key, None)]),
        })
        .collect();
    let sorted_by = p.sort.clone().unwrap_or_else(|| "due".into());
    let descending = p.order.as_deref() == Some("desc");
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
    let priorities = Priority::ALL
        .iter()
        .map(|v| (v.as_str().to_string(), words::priority(*v).0.to_string()))
        .collect();
    let eligibilities = [Outcome::Eligible, Outcome::NeedsReview, Outcome::Ineligible]
        .iter()
        .map(|v| (v.as_str().to_string(), words::eligibility(*v).0.to_string()))
        .collect();
    let next_href = page.next_cursor.as_deref().map(|c| {
        let base = p.with(&[]);
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}cursor={}", urlencode(c))
    });
    let heading = TABS
        .iter()
        .find(|(k, _)| *k == tab)
        .map(|(_, l)| *l)
        .unwrap_or("Cases");
    Ok(ok(&CasesPage {
        user: Some(UserBar::of(&signed.0)),
        heading,
        jurisdictions: choices(jurisdiction_names, p.jurisdiction.as_deref()),
        priorities: choices(priorities, p.priority.as_deref()),
        eligibilities: choices(eligibilities, p.eligibility.as_deref()),
        q: p.q.clone().unwrap_or_default(),
        clear_href: p.with(&[
            ("jurisdiction", None),
            ("priority", None),
            ("eligibility", None),
            ("q", None),
        ]),
        first_href: p.cursor.is_some().then(|| p.with(&[])),
        tab,
        tabs,
        chips,
        columns,
        rows,
        next_href,
    }))
}
