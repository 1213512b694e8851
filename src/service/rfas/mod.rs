//! Requests for assistance: intake, reading, the queue, lifecycle commands, corrections and
//! bulk triage. Every change and its events are written in one transaction that holds the
//! chain lock, so references and the hash chain stay single lines across instances. Every
//! entry point takes the caller and checks it against the access policy itself.

mod bulk;
mod commands;
mod correct;
mod intake;
mod notify;
pub mod overview;
mod queue;
mod search;
mod summary;
mod view;

pub mod documents;
pub use bulk::{BulkChange, BulkItem, BulkOutcome, BulkTriage, bulk};
pub use commands::{Command, act, apply};
pub use correct::{IntakeCorrection, correct_intake};
pub use intake::{Created, IdempotencyKey, NewRfa, intake, intake_in};
pub use queue::{
    Assignee, QueuePage, QueueQuery, QueueSort, QueueView, queue, queue_count, queue_export,
};
pub use search::{fill_search_words, words_of};
pub use summary::{EligibilitySummary, JurisdictionName, PersonName, RfaSummary, RfaSummaryPage};
pub use view::{
    Conduct, DueExplanation, EligibilityView, EventPage, EventView, Extension, Override, Requester,
    RfaPage, RfaView, allowed_actions, fill_pause_keys, why_not_accept_now,
};

use crate::db::DbConnection;
use crate::db::rfas::{self as store, RfaRow};
use crate::domain::ids::RfaId;
use crate::domain::policy::{self, Decision as Access, Principal, Resource, authorize};
use crate::error::AppError;
use crate::service::accounts::Caller;
use crate::service::{Rules, Services, chain, paging};

pub use crate::service::validate::Expected;

fn not_found() -> AppError {
    AppError::NotFound("No such request for assistance.".into())
}

/// Loads an RFA the caller may see for `action`: 404 when it is outside their reach, 403
/// when they can see it but not do this.
fn load_for(
    c: &mut DbConnection,
    who: &Principal,
    id: &RfaId,
    action: policy::Action,
) -> Result<RfaRow, AppError> {
    // A role that may read no request at all is refused before the lookup, so that it learns
    // nothing about which ids exist.
    if authorize(who, policy::Action::ReadRfa, Resource::Service) != Access::Allow {
        return Err(AppError::Forbidden("Your roles do not permit this.".into()));
    }
    let row = store::find(c, id.as_str())?.ok_or_else(not_found)?;
    match authorize(
        who,
        action,
        Resource::Rfa {
            jurisdiction_id: &row.jurisdiction_id,
        },
    ) {
        Access::Allow => Ok(row),
        Access::Hidden => Err(not_found()),
        Access::Forbidden => Err(AppError::Forbidden("Your roles do not permit this.".into())),
    }
}

/// The shape of every change to one request: the caller checked, then in one write
/// transaction the chain locked, the request loaded for `action` (404/403 first) and the
/// version it is based on compared (412/428 after), then `change` with all of it.
async fn change_one<T, F>(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    action: policy::Action,
    expected: Expected,
    change: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(
            &mut DbConnection,
            &Rules,
            &mut chain::Appender,
            &Principal,
            RfaRow,
        ) -> Result<T, AppError>
        + Send
        + 'static,
{
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            let who = caller.check(c)?;
            let who = who.principal();
            c.write(|c| {
                let mut chain = chain::Appender::lock(c)?;
                let row = load_for(c, who, &id, action)?;
                expected.check(row.version)?;
                change(c, &rules, &mut chain, who, row)
            })
        })
        .await
}

/// One request for the caller. The session is checked first, in the same database call, so
/// a revoked session gets 401 even for an id that names nothing.
pub async fn get(svc: &Services, caller: Caller, id: RfaId) -> Result<RfaView, AppError> {
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            let who = caller.permitted(c, policy::Action::ReadRfa)?;
            let row = load_for(c, who.principal(), &id, policy::Action::ReadRfa)?;
            view::view(c, &rules, who.principal(), row)
        })
        .await
}

/// The request's history, oldest first, a page at a time (`cursor` is the last sequence
/// number seen).
pub async fn events(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    cursor: Option<String>,
    limit: i64,
) -> Result<EventPage, AppError> {
    svc.db
        .run(move |c| {
            let who = caller.check(c)?;
            let after = match cursor {
                Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    AppError::Malformed("The cursor is not one this service issued.".into())
                })?,
                None => 0,
            };
            load_for(c, who.principal(), &id, policy::Action::ReadRfa)?;
            let rows = store::events_of(c, id.as_str(), after, limit + 1)?;
            let (rows, next_cursor) = paging::page(rows, limit, |e| e.seq.to_string());
            let names = view::names_of(c, rows.iter().map(|e| e.actor_id.as_str()))?;
            Ok(EventPage {
                items: rows
                    .into_iter()
                    .map(|e| view::event_view(e, &names))
                    .collect(),
                next_cursor,
            })
        })
        .await
}

/// The people a request may be assigned to, by name: active supervisors and the active
/// liaison officers of its jurisdiction (those who can see it). For those who may assign it.
pub async fn assignable(
    svc: &Services,
    caller: Caller,
    id: RfaId,
) -> Result<Vec<PersonName>, AppError> {
    svc.db
        .run(move |c| {
            let who = caller.check(c)?;
            let row = load_for(c, who.principal(), &id, policy::Action::Assign)?;
            let mut people: Vec<(String, String)> = crate::db::users::active_supervisors(c)?
                .into_iter()
                .map(|(id, _, name)| (id, name))
                .collect();
            people.extend(crate::db::users::active_liaison_officers_of(
                c,
                &row.jurisdiction_id,
            )?);
            people.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
            people.dedup_by(|a, b| a.0 == b.0);
            Ok(people
                .into_iter()
                .map(|(id, display_name)| PersonName { id, display_name })
                .collect())
        })
        .await
}

/// Walks the whole event log, checks every hash link, that nothing lies outside the chain,
/// every request's stored row against its history, every frozen snapshot against its
/// digest and every signed checkpoint, in one consistent read (administrators).
pub async fn verify_chain(svc: &Services, caller: Caller) -> Result<chain::Verification, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, policy::Action::VerifyAudit)?;
            c.snapshot(|c| {
                let mut v = chain::verify(c)?;
                crate::service::reports::check_snapshots(c, &mut v)?;
                crate::service::trail::verify(c, &mut v)?;
                crate::service::access::verify(c, &mut v)?;
                crate::service::checkpoint::check_all(c, &mut v)?;
                if !v.ok {
                    tracing::error!(
                        findings = v.findings.len(),
                        "audit verification found the record altered"
                    );
                }
                Ok(v)
            })
        })
        .await
}
