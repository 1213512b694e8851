//! Administrators' checks on the record: the event log's hash chain and every stored
//! document's bytes, run on demand and shown in words; and outgoing mail that failed, with
//! a way to send it again.

use actix_web::web::{Bytes, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use serde::Deserialize;

use super::intake::values_of;
use super::page::{PageError, UserBar, ok, see_other, urlencode};
use super::session::{self, Signed};
use crate::domain::ids::MessageId;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::Services;
use crate::service::access::{self, AccessQuery};
use crate::service::accounts;
use crate::service::chain::FindingKind;
use crate::service::checkpoint;
use crate::service::outbox;
use crate::service::rfas::{self, documents};

/// One check's result in words: what, the finding, whether it holds, and each thing found.
pub struct Finding {
    what: &'static str,
    words: String,
    holds: bool,
    details: Vec<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    user: Option<UserBar>,
    csrf: String,
    findings: Option<Vec<Finding>>,
    checked_at: String,
    /// The latest signed statement of the history, in words, and this instance's key.
    latest: Option<Statement>,
    key_id: String,
    signed_now: bool,
}

/// A signed checkpoint as an administrator reads it.
pub struct Statement {
    seq: i64,
    trail_seq: i64,
    access_seq: i64,
    at: String,
    key_id: String,
    /// The statement itself, to copy or keep.
    json: String,
}

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    run: Option<String>,
    done: Option<String>,
}

#[get("/admin/audit")]
pub async fn audit(
    svc: Data<Services>,
    signed: Signed,
    params: Query<AuditParams>,
) -> Result<HttpResponse, PageError> {
    signed
        .caller()
        .resolve(&svc, Some(Action::VerifyAudit))
        .await?;
    let findings = if params.run.is_some() {
        let chain = rfas::verify_chain(&svc, signed.caller()).await?;
        let docs = documents::verify_documents(&svc, signed.caller()).await?;
        // Each finding once, under the part of the record it concerns.
        const TRAIL: [&str; 5] = [
            "trail_events",
            "trail_head",
            "users",
            "jurisdictions",
            "chain_checkpoints",
        ];
        let of = |kinds: &[FindingKind], trail: bool| -> Vec<String> {
            chain
                .findings
                .iter()
                .filter(|f| kinds.contains(&f.kind) && TRAIL.contains(&f.table) == trail)
                .map(|f| f.detail.clone())
                .collect()
        };
        let records_kinds = [
            FindingKind::RecordAltered,
            FindingKind::RecordChangedOutside,
            FindingKind::RecordInconsistent,
            FindingKind::RecordMissing,
            FindingKind::RecordWithoutHistory,
        ];
        let log_kinds = [
            FindingKind::BrokenLink,
            FindingKind::HeadMismatch,
            FindingKind::OutsideChain,
        ];
        let log = of(&log_kinds, false);
        let records = of(&records_kinds, false);
        let snapshots = of(&[FindingKind::SnapshotAltered], false);
        let mut trail = of(&log_kinds, true);
        trail.extend(of(&records_kinds, true));
        let checkpoints = of(&[FindingKind::CheckpointContradicted], true);
        let uncovered = match chain.records_not_covered {
            0 => String::new(),
            n => format!(
                " {n} requests recorded before records were kept have nothing to compare with until their next event."
            ),
        };
        Some(vec![
            Finding {
                what: "The event log",
                words: if log.is_empty() {
                    format!(
                        "Every link of the hash chain holds, and nothing lies outside it: {} events checked, up to event {}.",
                        chain.events_checked, chain.head_seq
                    )
                } else {
                    format!(
                        "{} events checked. Report it; do not publish figures until it is explained.",
                        chain.events_checked
                    )
                },
                holds: log.is_empty(),
                details: log,
            },
            Finding {
                what: "The case records",
                words: if records.is_empty() {
                    format!(
                        "Every request's stored record matches its history: {} checked.{uncovered}",
                        chain.records_checked
                    )
                } else {
                    format!(
                        "{} checked. These were changed behind the service's back:{uncovered}",
                        chain.records_checked
                    )
                },
                holds: records.is_empty(),
                details: records,
            },
            Finding {
                what: "The accounts and the registry",
                words: if trail.is_empty() {
                    format!(
                        "Every user and jurisdiction matches its trail: {} checked, {} trail events walked.",
                        chain.trail_records_checked, chain.trail_events_checked
                    )
                } else {
                    format!(
                        "{} checked. Report it: these were changed behind the service's back.",
                        chain.trail_records_checked
                    )
                },
                holds: trail.is_empty(),
                details: trail,
            },
            Finding {
                what: "The signed checkpoints",
                words: if checkpoints.is_empty() {
                    format!(
                        "Every signed checkpoint holds: {} checked. The history they signed is unchanged.",
                        chain.checkpoints_checked
                    )
                } else {
                    format!(
                        "{} checked. The history a checkpoint signed was cut short or rewritten:",
                        chain.checkpoints_checked
                    )
                },
                holds: checkpoints.is_empty(),
                details: checkpoints,
            },
            Finding {
                what: "The frozen figures",
                words: if snapshots.is_empty() {
                    format!(
                        "Every snapshot matches the digest it was frozen with: {} checked.",
                        chain.snapshots_checked
                    )
                } else {
                    format!("{} checked.", chain.snapshots_checked)
                },
                holds: snapshots.is_empty(),
                details: snapshots,
            },
            Finding {
                what: "The documents",
                words: if docs.ok {
                    format!(
                        "Every stored document matches its SHA-256: {} checked.",
                        docs.checked
                    )
                } else {
                    format!(
                        "{} checked. Missing from the store: {}. Bytes no longer matching their SHA-256: {}.",
                        docs.checked,
                        if docs.missing.is_empty() {
                            "none".into()
                        } else {
                            docs.missing.join(", ")
                        },
                        if docs.mismatched.is_empty() {
                            "none".into()
                        } else {
                            docs.mismatched.join(", ")
                        },
                    )
                },
                holds: docs.ok,
                details: Vec::new(),
            },
        ])
    } else {
        None
    };
    let latest = checkpoint::checkpoints(&svc, signed.caller(), None, 1)
        .await?
        .into_iter()
        .next()
        .map(|cp| Statement {
            seq: cp.seq,
            trail_seq: cp.trail_seq,
            access_seq: cp.access_seq,
            at: cp.at.format("%-d %B %Y, %H:%M:%S UTC").to_string(),
            key_id: cp.key_id.clone(),
            json: serde_json::to_string_pretty(&cp).unwrap_or_default(),
        });
    Ok(ok(&AuditPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        findings,
        checked_at: chrono::Utc::now()
            .format("%-d %B %Y, %H:%M:%S UTC")
            .to_string(),
        latest,
        key_id: checkpoint::key_of(&svc).0,
        signed_now: params.done.as_deref() == Some("signed"),
    }))
}

/// Signs the history's heads now; the page then shows the statement to hand out.
#[post("/admin/audit/checkpoint")]
pub async fn sign_checkpoint(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    checkpoint::sign_now(&svc, signed.caller()).await?;
    Ok(see_other("/admin/audit?done=signed#checkpoint"))
}

pub struct MessageLine {
    subject: String,
    recipient: String,
    kind: String,
    status: String,
    attempts: i32,
    last_error: String,
    created: String,
    retry_to: Option<String>,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    user: Option<UserBar>,
    csrf: String,
    tabs: Vec<(&'static str, String, bool)>,
    items: Vec<MessageLine>,
    next_href: Option<String>,
    banner: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OutboxParams {
    status: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

#[get("/admin/outbox")]
pub async fn outbox_list(
    svc: Data<Services>,
    signed: Signed,
    params: Query<OutboxParams>,
) -> Result<HttpResponse, PageError> {
    let status = params
        .status
        .clone()
        .filter(|s| outbox::STATUSES.contains(&s.as_str()))
        .unwrap_or_else(|| "failed".into());
    let page = outbox::list(
        &svc,
        signed.caller(),
        Some(status.clone()),
        params.cursor.clone().filter(|c| c.len() <= 200),
        50,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(|m| MessageLine {
            retry_to: (m.status == "failed").then(|| format!("/admin/outbox/{}/retry", m.id)),
            subject: m.subject,
            recipient: m.recipient,
            kind: super::words::plain(&m.kind),
            status: super::words::plain(&m.status),
            attempts: m.attempts,
            last_error: m.last_error.unwrap_or_default(),
            created: m.created_at.format("%-d %B %Y, %H:%M UTC").to_string(),
        })
        .collect();
    let tabs = [
        ("failed", "Failed"),
        ("pending", "Waiting"),
        ("sending", "Being sent"),
        ("sent", "Sent"),
        ("skipped", "Not sent"),
    ]
    .into_iter()
    .map(|(k, label)| (label, format!("/admin/outbox?status={k}"), k == status))
    .collect();
    Ok(ok(&OutboxPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        next_href: page
            .next_cursor
            .map(|c| format!("/admin/outbox?status={status}&cursor={}", urlencode(&c))),
        tabs,
        items,
        banner: params
            .done
            .as_deref()
            .map(|_| "The message is queued to be sent again.".to_string()),
    }))
}

#[post("/admin/outbox/{id}/retry")]
pub async fn retry(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let id = MessageId::parse(&path)
        .ok_or_else(|| PageError::Service(AppError::NotFound("no such message".into())))?;
    outbox::retry(&svc, signed.caller(), id).await?;
    Ok(see_other("/admin/outbox?status=failed&done=retried"))
}

/// One access in words.
pub struct AccessLine {
    at: String,
    who: String,
    what: String,
    case: String,
    answer: String,
    address: String,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessScreen {
    user: Option<UserBar>,
    rfa: String,
    /// (id, name, chosen)
    people: Vec<(String, String, bool)>,
    items: Vec<AccessLine>,
    next_href: Option<String>,
    problem: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AccessScreenParams {
    rfa: Option<String>,
    user: Option<String>,
    cursor: Option<String>,
}

fn access_words(action: &str) -> &'static str {
    match action {
        "read_case" => "Read the case",
        "read_history" => "Read the case's history",
        "read_documents" => "Listed the case's documents",
        "read_document" => "Read a document's details",
        "download_document" => "Downloaded a document",
        "search" => "Searched the cases",
        "export" => "Downloaded figures or a list",
        "report" => "Read figures",
        "read_access_log" => "Read who looked at what",
        "sign_in" => "Signed in",
        "sign_in_failed" => "Failed to sign in",
        "sign_out" => "Signed out",
        _ => "Other",
    }
}

/// An answer's status in words.
fn answer_words(status: &str) -> String {
    match status.parse::<u16>().unwrap_or(0) {
        200..=299 | 303 => "Shown".into(),
        401 => "Not signed in".into(),
        403 => "Refused".into(),
        404 => "Not found or out of reach".into(),
        s => format!("Error {s}"),
    }
}

#[get("/admin/access")]
pub async fn accesses(
    svc: Data<Services>,
    signed: Signed,
    params: Query<AccessScreenParams>,
) -> Result<HttpResponse, PageError> {
    signed
        .caller()
        .resolve(&svc, Some(Action::VerifyAudit))
        .await?;
    let rfa = params.rfa.clone().unwrap_or_default().trim().to_string();
    let chosen = params
        .user
        .clone()
        .filter(|u| !u.is_empty() && u.len() <= 64);
    let users = accounts::list_users(&svc, signed.caller(), None, 200).await?;
    let mut people: Vec<(String, String, bool)> = users
        .items
        .into_iter()
        .map(|u| {
            let is = chosen.as_deref() == Some(u.id.as_str());
            (u.id, u.display_name, is)
        })
        .collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let query = AccessQuery {
        rfa: Some(rfa.clone()).filter(|r| !r.is_empty() && r.len() <= 64),
        user_id: chosen.clone(),
        cursor: params.cursor.clone().filter(|c| c.len() <= 200),
        limit: 50,
    };
    let (page, problem) = match access::list(&svc, signed.caller(), query).await {
        Ok(p) => (Some(p), None),
        Err(AppError::NotFound(_)) => (
            None,
            Some(format!(
                "Case reference: no case has the reference or id \u{201c}{rfa}\u{201d}"
            )),
        ),
        Err(e) => return Err(e.into()),
    };
    let (items, next_cursor) = match page {
        Some(p) => (p.items, p.next_cursor),
        None => (Vec::new(), None),
    };
    let items = items
        .into_iter()
        .map(|a| AccessLine {
            at: a.at.format("%-d %B %Y, %H:%M:%S UTC").to_string(),
            who: a.user_name.unwrap_or_else(|| "Nobody signed in".into()),
            what: match a.detail.get("email").and_then(|e| e.as_str()) {
                Some(email) => format!("{} ({email})", access_words(&a.action)),
                None => access_words(&a.action).to_string(),
            },
            case: a.reference.unwrap_or_default(),
            answer: answer_words(a.detail["status"].as_str().unwrap_or("")),
            address: a.address,
        })
        .collect();
    let next_href = next_cursor.map(|c| {
        format!(
            "/admin/access?rfa={}&user={}&cursor={}",
            urlencode(&rfa),
            urlencode(chosen.as_deref().unwrap_or("")),
            urlencode(&c)
        )
    });
    Ok(ok(&AccessScreen {
        user: Some(UserBar::of(&signed.0)),
        rfa,
        people,
        items,
        next_href,
        problem,
    }))
}
