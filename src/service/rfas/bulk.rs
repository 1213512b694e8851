//! Bulk triage: one change (assign or set the priority) to many requests, each its own
//! transaction and event, with a dry run that says what would happen and changes nothing.

use super::commands::{Command, apply};
use super::load_for;
use super::summary::{RfaSummary, summaries, summary_row};
use crate::domain::ids::{RfaId, UserId};
use crate::domain::lifecycle::{self, Priority};
use crate::domain::policy;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;
use crate::service::chain::Appender;
use crate::service::validate::Errors;

/// What bulk triage may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkChange {
    Assign(UserId),
    SetPriority(Priority),
}

impl BulkChange {
    fn command(&self) -> Command {
        match self {
            BulkChange::Assign(assignee) => Command::Assign {
                assignee: assignee.clone(),
            },
            BulkChange::SetPriority(priority) => Command::SetPriority {
                priority: *priority,
            },
        }
    }
}

/// At most 200 requests; `None` stands for an id that names no request (it is reported as
/// not found in its place, like a request the caller may not see).
#[derive(Debug, Clone)]
pub struct BulkTriage {
    pub ids: Vec<Option<RfaId>>,
    pub change: BulkChange,
    pub dry_run: bool,
}

/// One request's result, in the order asked: the request as it now is (or as it would be,
/// in a dry run), or why it was refused.
#[derive(Debug)]
pub struct BulkItem {
    pub result: Result<RfaSummary, AppError>,
}

#[derive(Debug)]
pub struct BulkOutcome {
    pub dry_run: bool,
    pub items: Vec<BulkItem>,
}

impl BulkOutcome {
    pub fn succeeded(&self) -> usize {
        self.items.iter().filter(|i| i.result.is_ok()).count()
    }
}

/// A rolled-back dry run still carries what would have happened.
enum Trial {
    Done(AppError),
    Would(Box<RfaSummary>),
}

impl From<diesel::result::Error> for Trial {
    fn from(e: diesel::result::Error) -> Self {
        Trial::Done(e.into())
    }
}

impl From<AppError> for Trial {
    fn from(e: AppError) -> Self {
        Trial::Done(e)
    }
}

pub async fn bulk(
    svc: &Services,
    caller: Caller,
    req: BulkTriage,
) -> Result<BulkOutcome, AppError> {
    let who = caller
        .resolve(svc, Some(policy::Action::BulkTriage))
        .await?;
    if req.ids.is_empty() || req.ids.len() > 200 {
        return Err(AppError::field("ids", "must list 1 to 200 requests"));
    }
    let named: Vec<&RfaId> = req.ids.iter().flatten().collect();
    let mut errors = Errors::new();
    errors.distinct("ids", &named, 200);
    errors.finish()?;
    let cmd = req.change.command().checked()?;
    let rules = svc.rules;
    let BulkTriage { ids, dry_run, .. } = req;
    svc.db
        .run(move |c| {
            let who = who.principal();
            let mut items = Vec::with_capacity(ids.len());
            for id in ids {
                let Some(id) = id else {
                    items.push(BulkItem {
                        result: Err(AppError::NotFound("No such request for assistance.".into())),
                    });
                    continue;
                };
                // Each RFA is its own change, in its own transaction.
                let outcome = c.write(|c| {
                    let mut chain = Appender::lock(c)?;
                    let row = load_for(c, who, &id, lifecycle::permission(cmd.action()))?;
                    let row = apply(c, &rules, &mut chain, who, row, &cmd, rules.now())?;
                    // Named inside the change, so a dry run shows the assignee it would have.
                    let summary = summaries(c, &rules, who, vec![summary_row(&row)])?
                        .pop()
                        .ok_or_else(|| AppError::internal("no summary of a changed request"))?;
                    if dry_run {
                        return Err(Trial::Would(Box::new(summary)));
                    }
                    Ok::<_, Trial>(summary)
                });
                let result = match outcome {
                    Ok(summary) => Ok(summary),
                    Err(Trial::Would(summary)) => Ok(*summary),
                    // The store failing stops the whole batch; a refusal is this item's.
                    Err(Trial::Done(e @ (AppError::Unavailable | AppError::Internal(_)))) => {
                        return Err(e);
                    }
                    Err(Trial::Done(e)) => Err(e),
                };
                items.push(BulkItem { result });
            }
            Ok(BulkOutcome { dry_run, items })
        })
        .await
}
