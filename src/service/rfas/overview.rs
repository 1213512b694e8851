//! The supervisors' overview: how much open work there is, in which state, against which
//! deadlines and with whom. Every figure is counted with the queue's own filters, so the
//! list it links to shows exactly the requests it counts.

use super::queue::{Assignee, QueueQuery, filter_of};
use super::summary::PersonName;
use super::view::{names_of, person};
use crate::db::rfas as store;
use crate::domain::lifecycle::State;
use crate::domain::policy;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;

pub const OPEN: [State; 4] = [
    State::Received,
    State::UnderReview,
    State::InProgress,
    State::AwaitingRequester,
];

/// Days ahead that count as "due soon".
pub const DUE_SOON_DAYS: u64 = 7;

#[derive(Debug, Clone)]
pub struct Workload {
    /// `None`: not assigned to anyone.
    pub assignee: Option<PersonName>,
    pub open: i64,
    pub overdue: i64,
}

#[derive(Debug, Clone)]
pub struct Overview {
    pub open: i64,
    /// Every open state, in lifecycle order, with its count (zero included).
    pub by_state: Vec<(State, i64)>,
    pub unassigned: i64,
    pub overdue: i64,
    /// Open, not overdue, not paused, due within `DUE_SOON_DAYS` days from today.
    pub due_soon: i64,
    pub awaiting_requester: i64,
    /// Open requests per assignee, most first; the unassigned last.
    pub workload: Vec<Workload>,
}

/// The queries behind each figure, for the counts here and for the links to the list.
pub fn open_query() -> QueueQuery {
    QueueQuery {
        states: OPEN.to_vec(),
        ..QueueQuery::default()
    }
}

pub async fn overview(svc: &Services, caller: Caller) -> Result<Overview, AppError> {
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            let who = caller.permitted(c, policy::Action::ReadOverview)?;
            let who = who.principal();
            let count = |c: &mut _, q: QueueQuery| -> Result<i64, AppError> {
                Ok(store::matching_count(c, &filter_of(&q, who, &rules)?)?)
            };
            let mut by_state = Vec::new();
            for s in OPEN {
                let q = QueueQuery {
                    states: vec![s],
                    ..QueueQuery::default()
                };
                by_state.push((s, count(c, q)?));
            }
            let open = by_state.iter().map(|(_, n)| n).sum();
            let unassigned = count(
                c,
                QueueQuery {
                    assignee: Some(Assignee::Unassigned),
                    ..open_query()
                },
            )?;
            let overdue_q = QueueQuery {
                overdue: Some(true),
                ..QueueQuery::default()
            };
            let overdue = count(c, overdue_q.clone())?;
            let due_soon = count(c, due_soon_query(rules.today()))?;
            let awaiting_requester = by_state
                .iter()
                .find(|(s, _)| *s == State::AwaitingRequester)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let open_by = store::matching_by_assignee(c, &filter_of(&open_query(), who, &rules)?)?;
            let late_by = store::matching_by_assignee(c, &filter_of(&overdue_q, who, &rules)?)?;
            let names = names_of(c, open_by.iter().filter_map(|(a, _)| a.as_deref()))?;
            let mut workload: Vec<Workload> = open_by
                .iter()
                .map(|(a, n)| Workload {
                    assignee: a.as_deref().map(|id| person(&names, id)),
                    open: *n,
                    overdue: late_by
                        .iter()
                        .find(|(b, _)| b == a)
                        .map(|(_, n)| *n)
                        .unwrap_or(0),
                })
                .collect();
            workload.sort_by(|x, y| {
                x.assignee
                    .is_none()
                    .cmp(&y.assignee.is_none())
                    .then(y.open.cmp(&x.open))
                    .then_with(|| {
                        let name = |w: &Workload| {
                            w.assignee
                                .as_ref()
                                .map(|p| p.display_name.clone())
                                .unwrap_or_default()
                        };
                        name(x).cmp(&name(y))
                    })
            });
            Ok(Overview {
                open,
                by_state,
                unassigned,
                overdue,
                due_soon,
                awaiting_requester,
                workload,
            })
        })
        .await
}

/// Open, not overdue, not paused, due before the day after the window.
pub fn due_soon_query(today: chrono::NaiveDate) -> QueueQuery {
    QueueQuery {
        states: vec![State::Received, State::UnderReview, State::InProgress],
        overdue: Some(false),
        due_before: today.checked_add_days(chrono::Days::new(DUE_SOON_DAYS + 1)),
        ..QueueQuery::default()
    }
}
