//! The supervisors' overview: the open work in numbers, each number a link to the case list
//! that shows exactly those cases.

use actix_web::web::Data;
use actix_web::{HttpResponse, get};
use askama::Template;

use super::page::{PageError, UserBar, ok};
use super::session::Signed;
use super::words;
use crate::service::Services;
use crate::service::rfas::overview::{self, DUE_SOON_DAYS};

pub struct Figure {
    label: String,
    value: i64,
    href: String,
}

pub struct Load {
    name: String,
    open: i64,
    open_href: String,
    overdue: i64,
    overdue_href: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    user: Option<UserBar>,
    headline: Vec<Figure>,
    states: Vec<Figure>,
    workload: Vec<Load>,
}

#[get("/overview")]
pub async fn show(svc: Data<Services>, signed: Signed) -> Result<HttpResponse, PageError> {
    let o = overview::overview(&svc, signed.caller()).await?;
    let figure = |label: &str, value: i64, href: &str| Figure {
        label: label.into(),
        value,
        href: href.into(),
    };
    let headline = vec![
        figure("Open", o.open, "/?tab=open"),
        figure("Unassigned", o.unassigned, "/?tab=unassigned"),
        figure("Overdue", o.overdue, "/?tab=overdue"),
        figure(
            &format!("Due in the next {DUE_SOON_DAYS} days"),
            o.due_soon,
            "/?tab=open&due=soon",
        ),
        figure(
            "Awaiting the requester",
            o.awaiting_requester,
            "/?tab=awaiting",
        ),
    ];
    let states = o
        .by_state
        .iter()
        .map(|(s, n)| Figure {
            label: words::state(*s).0.into(),
            value: *n,
            href: format!("/?tab=open&state={}", s.as_str()),
        })
        .collect();
    let workload = o
        .workload
        .iter()
        .map(|w| {
            let (name, who) = match &w.assignee {
                Some(p) => (p.display_name.clone(), p.id.clone()),
                None => ("Not assigned".to_string(), "none".to_string()),
            };
            Load {
                name,
                open: w.open,
                open_href: format!("/?tab=open&assignee={who}"),
                overdue: w.overdue,
                overdue_href: format!("/?tab=overdue&assignee={who}"),
            }
        })
        .collect();
    Ok(ok(&OverviewPage {
        user: Some(UserBar::of(&signed.0)),
        headline,
        states,
        workload,
    }))
}
