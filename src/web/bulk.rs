//! Bulk triage from the case list (supervisors): the chosen cases, one change (assign or
//! set the priority), a preview from the service's dry run saying what would happen to each,
//! then the change itself and a banner on the list with each case's outcome.

use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, post};
use askama::Template;

use super::page::{PageError, UserBar, ok, see_other, urlencode};
use super::session::{self, Signed};
use super::words;
use crate::domain::ids::{RfaId, UserId};
use crate::domain::lifecycle::Priority;
use crate::error::AppError;
use crate::service::Services;
use crate::service::rfas::{self, BulkChange, BulkTriage};

/// The most cases one bulk change takes (the service's own limit).
const MAX: usize = 200;

/// The change as the form names it: `assign~<user id>` or `priority~<priority>`.
fn change_of(raw: &str) -> Option<BulkChange> {
    match raw.split_once('~')? {
        ("assign", id) => UserId::parse(id).map(BulkChange::Assign),
        ("priority", p) => Priority::parse(p).map(BulkChange::SetPriority),
        _ => None,
    }
}

/// Why a case was (or would be) left as it is, in words, and its short code for the
/// banner's URL.
fn refusal(e: &AppError) -> (&'static str, String) {
    match e {
        AppError::NotFound(_) => (
            "gone",
            "there is no such case, or it is not yours to see".into(),
        ),
        AppError::NotAllowedNow { detail, .. } => ("now", detail.clone()),
        AppError::VersionMismatch | AppError::VersionRequired => {
            ("changed", "it changed meanwhile".into())
        }
        AppError::Forbidden(_) => ("denied", "your roles do not permit this".into()),
        AppError::Validation(errors) => (
            "invalid",
            errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "the change is not valid for it".into()),
        ),
        _ => ("failed", "it could not be changed".into()),
    }
}

fn refusal_words(code: &str) -> &'static str {
    match code {
        "gone" => "there is no such case, or it is not yours to see",
        "now" => "the change is not allowed in its state",
        "changed" => "it changed meanwhile",
        "denied" => "your roles do not permit this",
        "invalid" => "the change is not valid for it",
        _ => "it could not be changed",
    }
}

/// The form's values: the chosen cases (`ids`, repeated), the change, where to go back.
struct Chosen {
    csrf: String,
    ids: Vec<String>,
    change: String,
    back: String,
}

fn read(body: &Bytes) -> Chosen {
    let mut chosen = Chosen {
        csrf: String::new(),
        ids: Vec::new(),
        change: String::new(),
        back: "/".into(),
    };
    for (k, v) in url::form_urlencoded::parse(body) {
        match &*k {
            "csrf" => chosen.csrf = v.into_owned(),
            "ids" => chosen.ids.push(v.into_owned()),
            "change" => chosen.change = v.into_owned(),
            // Only a list of ours is a place to go back to.
            "back" if v == "/" || v.starts_with("/?") => chosen.back = v.into_owned(),
            _ => {}
        }
    }
    chosen
}

pub struct Line {
    reference: String,
    subject: String,
    href: Option<String>,
    ok: bool,
    what: String,
}

#[derive(Template)]
#[template(path = "bulk.html")]
struct PreviewPage {
    user: Option<UserBar>,
    csrf: String,
    change_label: String,
    change: String,
    ids: Vec<String>,
    back: String,
    lines: Vec<Line>,
    would: usize,
    problem: Option<String>,
}

/// What the change does, in words ("Assign to Lukas Brandt").
fn change_label(change: &BulkChange, names: &[(String, String)]) -> String {
    match change {
        BulkChange::Assign(id) => {
            let name = names
                .iter()
                .find(|(i, _)| i == id.as_str())
                .map(|(_, n)| n.as_str())
                .unwrap_or("the person chosen");
            format!("Assign to {name}")
        }
        BulkChange::SetPriority(p) => {
            format!(
                "Set the priority to {}",
                words::priority(*p).0.to_lowercase()
            )
        }
    }
}

fn triage(chosen: &Chosen, dry_run: bool) -> Result<BulkTriage, &'static str> {
    if chosen.ids.is_empty() {
        return Err("Choose at least one case.");
    }
    if chosen.ids.len() > MAX {
        return Err("Choose at most 200 cases at once.");
    }
    let change = change_of(&chosen.change).ok_or("Choose the change to make.")?;
    Ok(BulkTriage {
        ids: chosen.ids.iter().map(|id| RfaId::parse(id)).collect(),
        change,
        dry_run,
    })
}

async fn names(svc: &Services, signed: &Signed) -> Result<Vec<(String, String)>, PageError> {
    Ok(crate::service::accounts::people(svc, signed.caller())
        .await?
        .items
        .into_iter()
        .map(|c| (c.id, c.display_name))
        .collect())
}

/// The preview: the dry run's answer for each chosen case.
#[post("/cases/bulk")]
pub async fn preview(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let chosen = read(&body);
    session::checked_form(&req, &svc, &signed, &chosen.csrf)?;
    let people = names(&svc, &signed).await?;
    let page = |lines, would, label: String, problem: Option<String>| PreviewPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        change_label: label,
        change: chosen.change.clone(),
        ids: chosen.ids.clone(),
        back: chosen.back.clone(),
        lines,
        would,
        problem,
    };
    let request = match triage(&chosen, true) {
        Ok(r) => r,
        Err(problem) => {
            let res = ok(&page(Vec::new(), 0, String::new(), Some(problem.into())));
            return Ok(with_status(
                res,
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let label = change_label(&request.change, &people);
    let outcome = rfas::bulk(&svc, signed.caller(), request).await?;
    let mut lines = Vec::with_capacity(outcome.items.len());
    for (item, id) in outcome.items.iter().zip(&chosen.ids) {
        lines.push(match &item.result {
            Ok(s) => Line {
                href: Some(format!("/cases/{}", s.id)),
                reference: s.reference.clone(),
                subject: s.subject.clone(),
                ok: true,
                what: "Will be changed.".into(),
            },
            Err(e) => {
                // A refused case is named if the user can see it.
                let seen = match RfaId::parse(id) {
                    Some(rid) => rfas::get(&svc, signed.caller(), rid).await.ok(),
                    None => None,
                };
                Line {
                    href: seen.as_ref().map(|v| format!("/cases/{}", v.id)),
                    reference: seen
                        .as_ref()
                        .map(|v| v.reference.clone())
                        .unwrap_or_else(|| "A case".into()),
                    subject: seen.map(|v| v.subject).unwrap_or_default(),
                    ok: false,
                    what: format!("Will not be changed: {}.", refusal(e).1),
                }
            }
        });
    }
    let would = outcome.succeeded();
    Ok(ok(&page(lines, would, label, None)))
}

fn with_status(mut res: HttpResponse, status: actix_web::http::StatusCode) -> HttpResponse {
    *res.status_mut() = status;
    res
}

/// The change itself; then back to the list, whose banner says what happened to each.
#[post("/cases/bulk/confirm")]
pub async fn confirm(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let chosen = read(&body);
    session::checked_form(&req, &svc, &signed, &chosen.csrf)?;
    let request =
        triage(&chosen, false).map_err(|m| PageError::Service(AppError::Malformed(m.into())))?;
    let outcome = rfas::bulk(&svc, signed.caller(), request).await?;
    let mut done = Vec::new();
    let mut refused = Vec::new();
    for (item, id) in outcome.items.iter().zip(&chosen.ids) {
        match &item.result {
            Ok(s) => done.push(s.reference.clone()),
            Err(e) => {
                let reference = match RfaId::parse(id) {
                    Some(rid) => rfas::get(&svc, signed.caller(), rid)
                        .await
                        .map(|v| v.reference)
                        .unwrap_or_else(|_| "-".into()),
                    None => "-".into(),
                };
                refused.push(format!("{reference}~{}", refusal(e).0));
            }
        }
    }
    let sep = if chosen.back.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!(
        "{}{sep}bulk={}&ok={}&failed={}",
        chosen.back,
        urlencode(&chosen.change),
        urlencode(&done.join(".")),
        urlencode(&refused.join("."))
    )))
}

/// The banner on the list after a bulk change, read back from its URL.
pub struct Banner {
    pub title: String,
    pub done: Vec<String>,
    pub refused: Vec<(String, &'static str)>,
}

impl Banner {
    pub fn from_params(
        change: Option<&str>,
        done: Option<&str>,
        failed: Option<&str>,
        names: &[(String, String)],
    ) -> Option<Banner> {
        let change = change_of(change?)?;
        let split = |v: Option<&str>| -> Vec<String> {
            v.unwrap_or("")
                .split('.')
                .filter(|r| !r.is_empty())
                .take(MAX)
                .map(str::to_string)
                .collect()
        };
        let done = split(done);
        let refused: Vec<(String, &'static str)> = split(failed)
            .into_iter()
            .map(|r| match r.split_once('~') {
                Some((reference, code)) => (reference.to_string(), refusal_words(code)),
                None => (r, refusal_words("")),
            })
            .collect();
        let n = done.len() + refused.len();
        let title = format!(
            "{}: {} of {n} {} changed",
            change_label(&change, names),
            done.len(),
            if n == 1 { "case" } else { "cases" }
        );
        Some(Banner {
            title,
            done,
            refused,
        })
    }
}
