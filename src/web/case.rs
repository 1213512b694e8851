//! A case: its header, the intake details, eligibility per criterion, how the due date was
//! reached, and its history as a timeline with people's names, newest first.

use actix_web::HttpResponse;
use actix_web::get;
use actix_web::web::{Data, Path, Query};
use askama::Template;

use super::page::{PageError, UserBar, ok};
use super::session::Signed;
use super::words;
use crate::domain::ids::{RfaId, UserId};
use crate::domain::lifecycle::{ClosingOutcome, RfaAction};
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts;
use crate::service::rfas::{self, EventView, RfaView};

pub struct Fact {
    label: &'static str,
    value: String,
}

pub struct CriterionLine {
    name: &'static str,
    result: (&'static str, &'static str),
    reason: String,
}

pub struct ActionLink {
    label: &'static str,
    href: String,
    secondary: bool,
}

#[derive(serde::Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub struct Entry {
    what: String,
    who: String,
    when: String,
    detail: Option<String>,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    user: Option<UserBar>,
    reference: String,
    subject: String,
    state: (&'static str, &'static str),
    priority: (&'static str, &'static str),
    eligibility: (&'static str, &'static str),
    due: (String, &'static str),
    facts: Vec<Fact>,
    criteria: Vec<CriterionLine>,
    ruleset: String,
    evaluated_on: String,
    overridden: Option<String>,
    due_lines: Vec<Fact>,
    timeline: Vec<Entry>,
    actions: Vec<ActionLink>,
    /// Why Accept is missing from the actions, for those who could otherwise take it.
    accept_note: Option<String>,
    done: Option<&'static str>,
    /// While the intake can be corrected: its form.
    correct_href: Option<String>,
    documents: Vec<super::documents::DocumentLine>,
    /// For those who may add documents: the upload form.
    add_document_href: Option<String>,
}

impl CasePage {
    /// The intake form's field for a fact of the request, when it can be corrected now.
    fn change_link(&self, label: &str) -> Option<String> {
        let field = match label {
            "Received" => "received_on",
            "Channel" => "channel",
            "Requester" => "requester_name",
            "Assistance" => "assistance_types",
            "Proceedings" => "proceeding_type",
            "Crimes" => "crimes",
            "Conduct" => "conduct_from",
            "Confidentiality" => "confidentiality",
            "National case reference" => "national_case_reference",
            "Tags" => "tags",
            "Description" => "description",
            _ => return None,
        };
        self.correct_href.as_ref().map(|h| format!("{h}#{field}"))
    }
}

fn join(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items
        .into_iter()
        .map(|s| words::plain(s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn facts(rfa: &RfaView, names: &std::collections::HashMap<String, String>) -> Vec<Fact> {
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| "Someone".into());
    let mut facts = vec![
        Fact {
            label: "Received",
            value: rfa.received_at.format("%-d %B %Y, %H:%M UTC").to_string(),
        },
        Fact {
            label: "Channel",
            value: words::plain(rfa.channel.as_str()),
        },
        Fact {
            label: "Requester",
            value: match &rfa.requester.email {
                Some(e) => format!("{} ({e})", rfa.requester.name),
                None => rfa.requester.name.clone(),
            },
        },
        Fact {
            label: "Assistance",
            value: join(rfa.assistance_types.iter().map(|a| a.as_str())),
        },
        Fact {
            label: "Proceedings",
            value: words::plain(rfa.proceeding_type.as_str()),
        },
        Fact {
            label: "Crimes",
            value: join(rfa.crimes.iter().map(|c| c.as_str())),
        },
        Fact {
            label: "Conduct",
            value: match rfa.conduct.to {
                Some(to) => format!(
                    "{}, {} to {}",
                    rfa.conduct.country_code,
                    words::day(rfa.conduct.from),
                    words::day(to)
                ),
                None => format!(
                    "{}, from {}",
                    rfa.conduct.country_code,
                    words::day(rfa.conduct.from)
                ),
            },
        },
        Fact {
            label: "Confidentiality",
            value: words::plain(rfa.confidentiality.as_str()),
        },
        Fact {
            label: "Assigned to",
            value: rfa
                .assignee_id
                .as_deref()
                .map(name_of)
                .unwrap_or_else(|| "Nobody yet".into()),
        },
    ];
    if let Some(r) = &rfa.national_case_reference {
        facts.push(Fact {
            label: "National case reference",
            value: r.clone(),
        });
    }
    if !rfa.tags.is_empty() {
        facts.push(Fact {
            label: "Tags",
            value: rfa.tags.join(", "),
        });
    }
    facts.push(Fact {
        label: "Description",
        value: rfa.description.clone(),
    });
    facts
}

fn due_lines(rfa: &RfaView) -> Vec<Fact> {
    let p = &rfa.due.parts;
    let mut lines = vec![
        Fact {
            label: "Received on",
            value: words::day(p.received_on),
        },
        Fact {
            label: "Target",
            value: format!(
                "{} days for {} priority",
                p.target_days,
                words::priority(p.priority).0.to_lowercase()
            ),
        },
    ];
    if let Some(to) = p.extended_to {
        lines.push(Fact {
            label: "Extended to",
            value: words::day(to),
        });
    }
    lines.push(Fact {
        label: "Paused",
        value: match p.paused_days {
            1 => "1 day awaiting the requester".into(),
            n => format!("{n} days awaiting the requester"),
        },
    });
    lines.push(Fact {
        label: "Due",
        value: words::day(rfa.due_on),
    });
    lines
}

/// An event's detail worth reading: a note's text, a reason, a message, the changed fields.
fn detail(e: &EventView, names: &std::collections::HashMap<String, String>) -> Option<String> {
    let d = &e.details;
    let text = |k: &str| d[k].as_str().map(str::to_string);
    match e.action.as_str() {
        "add_note" => text("text"),
        "request_information" => text("message"),
        "decline" | "close" | "withdraw" | "reopen" | "extend_deadline" => {
            let mut parts = Vec::new();
            if let Some(o) = d["outcome"].as_str() {
                let o = ClosingOutcome::parse(o)
                    .map_or_else(|| words::plain(o), |o| words::plain(words::outcome(o)));
                parts.push(format!("Outcome: {o}"));
            }
            if let Some(due) = d["due_on"].as_str() {
                // Written as every other date on the screens; as stored if it is not a date.
                let due = due
                    .parse::<chrono::NaiveDate>()
                    .map_or_else(|_| due.to_string(), words::day);
                parts.push(format!("New due date: {due}"));
            }
            if let Some(r) = text("reason") {
                parts.push(r);
            }
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        "assign" => d["assignee_id"]
            .as_str()
            .map(|id| format!("To {}", names.get(id).cloned().unwrap_or_else(|| id.into()))),
        "set_priority" => d["priority"]
            .as_str()
            .map(|p| format!("Now {}", words::plain(p))),
        "evaluate_eligibility" => {
            let outcome = d["decision"]["outcome"].as_str().map(words::plain)?;
            let trigger = d["trigger"].as_str().unwrap_or_default();
            Some(format!("{outcome} ({trigger})"))
        }
        "record_response" => {
            let sent: Vec<&str> = d["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|doc| doc["file_name"].as_str())
                .collect();
            match (text("description"), sent.is_empty()) {
                (Some(t), false) => Some(format!("{t} Sent: {}.", sent.join(", "))),
                (t, _) => t,
            }
        }
        "add_document" => text("file_name"),
        "withdraw_document" => text("reason"),
        "override_eligibility" => text("justification"),
        "edit_intake" => d["changes"].as_object().map(|m| {
            let fields: Vec<String> = m.keys().map(|k| words::plain(k)).collect();
            format!("Changed: {}", fields.join(", "))
        }),
        _ => None,
    }
}

#[get("/cases/{id}")]
pub async fn show(
    svc: Data<Services>,
    signed: Signed,
    id: Path<String>,
    done: Query<Done>,
) -> Result<HttpResponse, PageError> {
    let id = RfaId::parse(&id).ok_or_else(|| AppError::NotFound("no such case".into()))?;
    let rfa = rfas::get(&svc, signed.caller(), id.clone()).await?;
    let events = rfas::events(&svc, signed.caller(), id, None, 200).await?;
    let mut people: Vec<UserId> = events
        .items
        .iter()
        .filter_map(|e| UserId::parse(&e.actor_id))
        .chain(rfa.assignee_id.as_deref().and_then(UserId::parse))
        .chain(
            events
                .items
                .iter()
                .filter_map(|e| e.details["assignee_id"].as_str().and_then(UserId::parse)),
        )
        .collect();
    people.sort();
    people.dedup();
    let names = accounts::display_names(&svc, signed.caller(), people).await?;
    let decision = &rfa.eligibility.decision;
    let timeline = events
        .items
        .iter()
        .rev()
        .map(|e| Entry {
            what: words::event(&e.action),
            who: names
                .get(&e.actor_id)
                .cloned()
                .unwrap_or_else(|| "Someone".into()),
            when: e.at.format("%-d %B %Y, %H:%M UTC").to_string(),
            detail: detail(e, &names),
        })
        .collect();
    let today = svc.rules().today();
    let actions = rfa
        .allowed_actions
        .iter()
        .map(|a| ActionLink {
            label: words::action(*a).0,
            href: format!("/cases/{}/actions/{}", rfa.id, a.as_str()),
            secondary: !matches!(
                a,
                RfaAction::StartReview | RfaAction::Accept | RfaAction::Close | RfaAction::Resume
            ),
        })
        .collect();
    let done = match done.into_inner().done.as_deref() {
        Some("intake") => Some("The request is logged."),
        Some("edit_intake") => Some("The intake details are corrected."),
        Some("add_document") => Some("The document is added."),
        Some("withdraw_document") => {
            Some("The document is withdrawn. It is kept, with the reason.")
        }
        Some(a) => RfaAction::parse(a).map(|a| words::action(a).1),
        None => None,
    };
    let documents = super::documents::lines(&svc, &signed, &rfa).await?;
    let add_document_href = signed
        .may(
            crate::domain::policy::Action::AddDocument,
            &rfa.jurisdiction_id,
        )
        .then(|| format!("/cases/{}/documents/new", rfa.id));
    Ok(ok(&CasePage {
        documents,
        add_document_href,
        correct_href: rfa
            .intake_editable
            .then(|| format!("/cases/{}/intake", rfa.id)),
        actions,
        accept_note: rfas::why_not_accept_now(signed.0.who.principal(), &rfa)
            .map(|why| format!("Accept is not possible yet: {why}")),
        done,
        user: Some(UserBar::of(&signed.0)),
        reference: rfa.reference.clone(),
        subject: rfa.subject.clone(),
        state: words::state(rfa.state),
        priority: words::priority(rfa.priority),
        eligibility: match &rfa.eligibility.override_ {
            Some(o) if o.overridden == decision.outcome => {
                words::eligibility_overridden(decision.outcome)
            }
            _ => words::eligibility(decision.outcome),
        },
        due: words::due(rfa.state, rfa.outcome, rfa.due_on, today),
        facts: facts(&rfa, &names),
        criteria: decision
            .criteria
            .iter()
            .map(|c| CriterionLine {
                name: words::criterion_name(c.criterion),
                result: words::criterion(c.result),
                reason: c.reason.clone(),
            })
            .collect(),
        ruleset: decision.ruleset_version.clone(),
        evaluated_on: words::day(decision.evaluated_on),
        overridden: rfa.eligibility.override_.as_ref().map(|o| {
            format!(
                "Overridden by {}: {}",
                names
                    .get(&o.by)
                    .cloned()
                    .unwrap_or_else(|| "a supervisor".into()),
                o.justification
            )
        }),
        due_lines: due_lines(&rfa),
        timeline,
    }))
}
