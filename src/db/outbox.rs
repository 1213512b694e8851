//! The outbox table: enqueue, claim with a lease, record the result.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::outbox;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub rfa_id: Option<String>,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub leased_until: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub dedupe_key: Option<String>,
}

pub fn insert(c: &mut DbConnection, row: &OutboxRow) -> QueryResult<()> {
    diesel::insert_into(outbox::table).values(row).execute(c)?;
    Ok(())
}

pub fn find(c: &mut DbConnection, id: &str) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(c)
        .optional()
}

pub fn dedupe_exists(c: &mut DbConnection, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        outbox::table.filter(outbox::dedupe_key.eq(key)),
    ))
    .get_result(c)
}

/// Messages due now: pending and due, or claimed by a worker whose lease ran out.
pub fn due(c: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    outbox::table
        .filter(
            outbox::status
                .eq("pending")
                .and(outbox::next_attempt_at.le(now))
                .or(outbox::status
                    .eq("sending")
                    .and(outbox::leased_until.lt(now))),
        )
        .order(outbox::next_attempt_at)
        .select(outbox::id)
        .limit(limit)
        .load(c)
}

/// Claims one message for `owner` until `until`. The condition is checked again by the
/// update itself, so of two workers racing for a message exactly one gets 1.
pub fn claim(
    c: &mut DbConnection,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        outbox::table.find(id).filter(
            outbox::status
                .eq("pending")
                .and(outbox::next_attempt_at.le(now))
                .or(outbox::status
                    .eq("sending")
                    .and(outbox::leased_until.lt(now))),
        ),
    )
    .set((
        outbox::status.eq("sending"),
        outbox::leased_until.eq(until),
        outbox::lease_owner.eq(owner),
        outbox::attempts.eq(outbox::attempts + 1),
    ))
    .execute(c)
}

pub fn mark_sent(
    c: &mut DbConnection,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq("sending"))
            .filter(outbox::lease_owner.eq(owner)),
    )
    .set((
        outbox::status.eq("sent"),
        outbox::sent_at.eq(now),
        outbox::leased_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(c)
}

pub fn mark_failed_attempt(
    c: &mut DbConnection,
    id: &str,
    owner: &str,
    error: &str,
    next: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let status = if next.is_some() { "pending" } else { "failed" };
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq("sending"))
            .filter(outbox::lease_owner.eq(owner)),
    )
    .set((
        outbox::status.eq(status),
        outbox::last_error.eq(error),
        outbox::leased_until.eq(None::<NaiveDateTime>),
        outbox::next_attempt_at.eq(next.unwrap_or_else(|| chrono::Utc::now().naive_utc())),
    ))
    .execute(c)
}

/// An administrator sends a failed message again from scratch.
pub fn retry(c: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id).filter(outbox::status.eq("failed")))
        .set((
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::lease_owner.eq(None::<String>),
        ))
        .execute(c)
}

pub fn list(
    c: &mut DbConnection,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let mut q = outbox::table
        .select(OutboxRow::as_select())
        .order(outbox::id)
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(outbox::status.eq(s.to_string()));
    }
    if let Some(a) = after {
        q = q.filter(outbox::id.gt(a.to_string()));
    }
    q.load(c)
}

/// When the latest message of a kind to a recipient was queued (the last digest a supervisor
/// got: the next lists what happened since).
pub fn latest_queued(
    c: &mut DbConnection,
    kind: &str,
    recipient: &str,
) -> QueryResult<Option<NaiveDateTime>> {
    outbox::table
        .filter(outbox::kind.eq(kind))
        .filter(outbox::recipient.eq(recipient))
        .select(diesel::dsl::max(outbox::created_at))
        .get_result(c)
}
