//! Requests for assistance, their tags and assurances, reference numbers, and the event log
//! with its hash chain.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::dates::{Day, MaybeDay, MaybeTime, Time};
use super::schema::{chain_head, reference_counters, rfa_assurances, rfa_events, rfa_tags, rfas};

/// Serialize gives the case record its fields (`service::record`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, serde::Serialize)]
#[diesel(table_name = rfas, treat_none_as_null = true)]
pub struct RfaRow {
    pub id: String,
    pub reference: String,
    pub jurisdiction_id: String,
    pub authority_id: String,
    pub received_at: NaiveDateTime,
    pub subject: String,
    pub description: String,
    /// JSON of the remaining intake fields.
    pub intake: String,
    pub priority: String,
    pub priority_rank: i32,
    pub confidentiality: String,
    pub tags: String,
    pub state: String,
    pub outcome: Option<String>,
    pub assignee_id: Option<String>,
    pub eligibility_outcome: String,
    pub eligibility: String,
    pub eligibility_override: Option<String>,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub paused_days: i32,
    pub paused_since: Option<NaiveDateTime>,
    pub extended_to: Option<NaiveDate>,
    pub extensions: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub idempotency_key: Option<String>,
    pub request_digest: Option<String>,
    /// While paused, the due date as if the pause had begun on [`PAUSE_EPOCH`] (an index
    /// key derived from `due_on` and `paused_since`, so not part of the case record).
    #[serde(skip)]
    pub paused_due_key: Option<NaiveDate>,
}

/// The day a paused request's due key counts from: its due date today is the key plus the
/// days from this day to today.
pub const PAUSE_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("2000-01-01 is a day"),
};

/// How far a paused request's due date has moved from its key by `today`.
fn pause_shift(today: NaiveDate) -> chrono::Days {
    chrono::Days::new(u64::try_from((today - PAUSE_EPOCH).num_days()).unwrap_or(0))
}

/// The key of a request whose due date without the running pause is `due_on` and whose
/// pause began on `paused_on`.
pub fn pause_key(due_on: NaiveDate, paused_on: NaiveDate) -> NaiveDate {
    due_on
        .checked_sub_days(pause_shift(paused_on))
        .unwrap_or(due_on)
}

/// A paused request's due date today, from its key.
pub fn due_from_key(key: NaiveDate, today: NaiveDate) -> NaiveDate {
    key.checked_add_days(pause_shift(today)).unwrap_or(key)
}

/// The key a paused request has when its due date today is `due`.
fn key_of_due(due: NaiveDate, today: NaiveDate) -> NaiveDate {
    due.checked_sub_days(pause_shift(today)).unwrap_or(due)
}

/// What a list row shows of a request: no description, no intake details, no eligibility
/// criteria (`db::rfas::queue_summaries`). The one JSON column, the rare eligibility
/// override, is read only when present, to say whether the request can be accepted.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rfas)]
#[diesel(check_for_backend(crate::db::QueryBackend))]
pub struct RfaSummaryRow {
    pub id: String,
    pub reference: String,
    pub jurisdiction_id: String,
    #[diesel(deserialize_as = Time)]
    pub received_at: NaiveDateTime,
    pub subject: String,
    pub priority: String,
    pub priority_rank: i32,
    pub state: String,
    pub outcome: Option<String>,
    pub assignee_id: Option<String>,
    pub eligibility_outcome: String,
    pub eligibility_override: Option<String>,
    #[diesel(deserialize_as = Day)]
    pub received_on: NaiveDate,
    #[diesel(deserialize_as = Day)]
    pub due_on: NaiveDate,
    pub paused_days: i32,
    #[diesel(deserialize_as = MaybeTime)]
    pub paused_since: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeDay)]
    pub extended_to: Option<NaiveDate>,
    pub version: i64,
    #[diesel(deserialize_as = Time)]
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeDay)]
    pub paused_due_key: Option<NaiveDate>,
}

/// The columns a queue page is ordered and paged by, whichever row shape it loads.
pub trait QueueKeys {
    fn id(&self) -> &str;
    fn due_on(&self) -> NaiveDate;
    fn received_at(&self) -> NaiveDateTime;
    fn updated_at(&self) -> NaiveDateTime;
    fn priority_rank(&self) -> i32;
    fn paused_due_key(&self) -> Option<NaiveDate>;

    /// The due date on `today`: a running pause moves it on a day each day.
    fn due_now(&self, today: NaiveDate) -> NaiveDate {
        self.paused_due_key()
            .map_or(self.due_on(), |key| due_from_key(key, today))
    }
}

macro_rules! queue_keys {
    ($($row:ty),*) => {$(
        impl QueueKeys for $row {
            fn id(&self) -> &str {
                &self.id
            }
            fn due_on(&self) -> NaiveDate {
                self.due_on
            }
            fn received_at(&self) -> NaiveDateTime {
                self.received_at
            }
            fn updated_at(&self) -> NaiveDateTime {
                self.updated_at
            }
            fn priority_rank(&self) -> i32 {
                self.priority_rank
            }
            fn paused_due_key(&self) -> Option<NaiveDate> {
                self.paused_due_key
            }
        }
    )*};
}

/// The keys of a queue row alone: what a search's count reads (`queue_count`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rfas)]
#[diesel(check_for_backend(crate::db::QueryBackend))]
pub struct QueueKeyRow {
    pub id: String,
    #[diesel(deserialize_as = Time)]
    pub received_at: NaiveDateTime,
    pub priority_rank: i32,
    #[diesel(deserialize_as = Day)]
    pub due_on: NaiveDate,
    #[diesel(deserialize_as = Time)]
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeDay)]
    pub paused_due_key: Option<NaiveDate>,
}

queue_keys!(RfaRow, RfaSummaryRow, QueueKeyRow);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rfa_events)]
pub struct EventRow {
    pub seq: i64,
    pub rfa_id: String,
    pub actor_id: String,
    pub at: NaiveDateTime,
    pub action: String,
    pub state_before: Option<String>,
    pub state_after: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
    #[diesel(embed)]
    pub report: ReportFacts,
}

/// The reporting copy of an event's `details.report` (see migration 4).
#[derive(Debug, Clone, Default, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rfa_events)]
pub struct ReportFacts {
    pub report_kind: Option<String>,
    pub report_day: Option<NaiveDate>,
    pub report_day_from: Option<NaiveDate>,
    pub jurisdiction_id: Option<String>,
    pub outcome: Option<String>,
    pub priority: Option<String>,
    pub assistance_types: Option<String>,
    pub processing_days: Option<i32>,
    pub paused_days: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rfa_assurances)]
pub struct RfaAssuranceRow {
    pub id: String,
    pub rfa_id: String,
    pub reference: String,
    pub given_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &RfaRow) -> QueryResult<()> {
    diesel::insert_into(rfas::table).values(row).execute(conn)?;
    Ok(())
}

pub fn save(conn: &mut DbConnection, row: &RfaRow) -> QueryResult<()> {
    diesel::update(rfas::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RfaRow>> {
    rfas::table
        .find(id)
        .select(RfaRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_idempotency_key(
    conn: &mut DbConnection,
    created_by: &str,
    key: &str,
) -> QueryResult<Option<RfaRow>> {
    rfas::table
        .filter(rfas::created_by.eq(created_by))
        .filter(rfas::idempotency_key.eq(key))
        .select(RfaRow::as_select())
        .first(conn)
        .optional()
}

pub fn set_tags(conn: &mut DbConnection, rfa_id: &str, tags: &[String]) -> QueryResult<()> {
    diesel::delete(rfa_tags::table.filter(rfa_tags::rfa_id.eq(rfa_id))).execute(conn)?;
    for tag in tags {
        diesel::insert_into(rfa_tags::table)
            .values((rfa_tags::rfa_id.eq(rfa_id), rfa_tags::tag.eq(tag)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_assurance(conn: &mut DbConnection, row: &RfaAssuranceRow) -> QueryResult<()> {
    diesel::insert_into(rfa_assurances::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn assurances_of(conn: &mut DbConnection, rfa_id: &str) -> QueryResult<Vec<RfaAssuranceRow>> {
    rfa_assurances::table
        .filter(rfa_assurances::rfa_id.eq(rfa_id))
        .select(RfaAssuranceRow::as_select())
        .order(rfa_assurances::id)
        .load(conn)
}

/// The next sequence number for a year of receipt. Called only with the chain locked, so
/// two writers never read the same counter.
pub fn next_reference(conn: &mut DbConnection, year: i32) -> QueryResult<i32> {
    let updated = diesel::update(reference_counters::table.find(year))
        .set(reference_counters::last.eq(reference_counters::last + 1))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(reference_counters::table)
            .values((
                reference_counters::year.eq(year),
                reference_counters::last.eq(1),
            ))
            .execute(conn)?;
    }
    reference_counters::table
        .find(year)
        .select(reference_counters::last)
        .first(conn)
}

/// Takes the chain's lock for the rest of the transaction and returns its head. The update
/// (to the same values) is what locks the row on PostgreSQL; on SQLite the IMMEDIATE
/// transaction already holds the database's write lock.
pub fn lock_chain(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    diesel::update(chain_head::table.find(1))
        .set(chain_head::seq.eq(chain_head::seq))
        .execute(conn)?;
    chain_head::table
        .find(1)
        .select((chain_head::seq, chain_head::hash))
        .first(conn)
}

pub fn append_event(conn: &mut DbConnection, event: &EventRow) -> QueryResult<()> {
    diesel::insert_into(rfa_events::table)
        .values(event)
        .execute(conn)?;
    diesel::update(chain_head::table.find(1))
        .set((
            chain_head::seq.eq(event.seq),
            chain_head::hash.eq(&event.hash),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn events_of(
    conn: &mut DbConnection,
    rfa_id: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    // Only the chain: a row numbered past the head (or below 1) was not written here.
    let (head, _) = chain_head(conn)?;
    rfa_events::table
        .filter(rfa_events::rfa_id.eq(rfa_id))
        .filter(rfa_events::seq.gt(after.max(0)))
        .filter(rfa_events::seq.le(head))
        .select(EventRow::as_select())
        .order(rfa_events::seq)
        .limit(limit)
        .load(conn)
}

/// The id of the request with this id or reference, if there is one.
pub fn find_id_by_id_or_reference(
    conn: &mut DbConnection,
    key: &str,
) -> QueryResult<Option<String>> {
    rfas::table
        .filter(rfas::id.eq(key).or(rfas::reference.eq(key)))
        .select(rfas::id)
        .first(conn)
        .optional()
}

/// The details of a request's last event (what its record entry is read from).
pub fn last_details(conn: &mut DbConnection, rfa_id: &str) -> QueryResult<Option<String>> {
    rfa_events::table
        .filter(rfa_events::rfa_id.eq(rfa_id))
        .select(rfa_events::details)
        .order(rfa_events::seq.desc())
        .first(conn)
        .optional()
}

/// The details of a request's events in order, up to `upto` (its record's history).
pub fn details_of(
    conn: &mut DbConnection,
    rfa_id: &str,
    upto: i64,
) -> QueryResult<Vec<(i64, String)>> {
    rfa_events::table
        .filter(rfa_events::rfa_id.eq(rfa_id))
        .filter(rfa_events::seq.between(1, upto))
        .select((rfa_events::seq, rfa_events::details))
        .order(rfa_events::seq)
        .load(conn)
}

/// The requests after `after` in id order, a batch at a time (for verification).
pub fn rows_after(conn: &mut DbConnection, after: &str, limit: i64) -> QueryResult<Vec<RfaRow>> {
    rfas::table
        .filter(rfas::id.gt(after))
        .select(RfaRow::as_select())
        .order(rfas::id)
        .limit(limit)
        .load(conn)
}

/// The details of the events of these requests in [1, upto], by request then sequence.
pub fn details_of_many(
    conn: &mut DbConnection,
    ids: &[String],
    upto: i64,
) -> QueryResult<Vec<(String, i64, String)>> {
    rfa_events::table
        .filter(rfa_events::rfa_id.eq_any(ids))
        .filter(rfa_events::seq.between(1, upto))
        .select((rfa_events::rfa_id, rfa_events::seq, rfa_events::details))
        .order((rfa_events::rfa_id, rfa_events::seq))
        .load(conn)
}

/// Requests named by events in [1, upto] that have no stored row, a few at most.
pub fn events_without_row(
    conn: &mut DbConnection,
    upto: i64,
    limit: i64,
) -> QueryResult<Vec<(String, i64)>> {
    rfa_events::table
        .left_join(rfas::table)
        .filter(rfas::id.is_null())
        .filter(rfa_events::seq.between(1, upto))
        .select((rfa_events::rfa_id, rfa_events::seq))
        .order(rfa_events::seq)
        .limit(limit)
        .load(conn)
}

/// Event rows outside [1, head]: forged, since every append moves the head with it.
pub fn events_outside(conn: &mut DbConnection, head: i64, limit: i64) -> QueryResult<Vec<i64>> {
    rfa_events::table
        .filter(rfa_events::seq.lt(1).or(rfa_events::seq.gt(head)))
        .select(rfa_events::seq)
        .order(rfa_events::seq)
        .limit(limit)
        .load(conn)
}

/// A batch of the whole log in order, for verification.
pub fn events_after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<EventRow>> {
    rfa_events::table
        .filter(rfa_events::seq.gt(after))
        .select(EventRow::as_select())
        .order(rfa_events::seq)
        .limit(limit)
        .load(conn)
}

/// The hash of event `seq`, if there is one.
pub fn event_hash(conn: &mut DbConnection, seq: i64) -> QueryResult<Option<String>> {
    rfa_events::table
        .find(seq)
        .select(rfa_events::hash)
        .first(conn)
        .optional()
}

pub fn chain_head(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    chain_head::table
        .find(1)
        .select((chain_head::seq, chain_head::hash))
        .first(conn)
}

pub fn count_events(conn: &mut DbConnection, rfa_id: &str, action: &str) -> QueryResult<i64> {
    rfa_events::table
        .filter(rfa_events::rfa_id.eq(rfa_id))
        .filter(rfa_events::action.eq(action))
        .count()
        .get_result(conn)
}

pub fn open_of_jurisdiction(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
) -> QueryResult<Vec<RfaRow>> {
    rfas::table
        .filter(rfas::jurisdiction_id.eq(jurisdiction_id))
        .filter(rfas::state.ne("closed"))
        .select(RfaRow::as_select())
        .order(rfas::id)
        .load(conn)
}

/// Queue filters, already validated.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// `None`: every jurisdiction; `Some(list)`: only these (a liaison officer's).
    pub scope: Option<Vec<String>>,
    pub states: Vec<String>,
    pub jurisdiction_id: Option<String>,
    /// `Some(None)`: unassigned only.
    pub assignee: Option<Option<String>>,
    pub priority: Option<String>,
    /// Overdue as of this day (open, not awaiting the requester, due before it).
    pub overdue_on: Option<(bool, NaiveDate)>,
    /// Due (as of `today`, a running pause counted) before this day.
    pub due_before: Option<NaiveDate>,
    /// The day in the reporting time zone that running pauses are counted to.
    pub today: NaiveDate,
    pub received_from: Option<NaiveDateTime>,
    pub received_to: Option<NaiveDateTime>,
    pub tag: Option<String>,
    pub eligibility: Option<String>,
    /// Words every match begins a word with (`db::search`).
    pub text: Option<crate::domain::search::Query>,
}

impl QueueFilter {
    /// Whether the filter passes every open request and no other (a search aside).
    fn only_open_states(&self) -> bool {
        let open = [
            "received",
            "under_review",
            "in_progress",
            "awaiting_requester",
        ];
        let QueueFilter {
            scope,
            states,
            jurisdiction_id,
            assignee,
            priority,
            overdue_on,
            due_before,
            today: _,
            received_from,
            received_to,
            tag,
            eligibility,
            text: _,
        } = self;
        scope.is_none()
            && open.iter().all(|s| states.iter().any(|t| t == s))
            && states.iter().all(|s| open.contains(&s.as_str()))
            && jurisdiction_id.is_none()
            && assignee.is_none()
            && priority.is_none()
            && overdue_on.is_none()
            && due_before.is_none()
            && received_from.is_none()
            && received_to.is_none()
            && tag.is_none()
            && eligibility.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    DueOn,
    ReceivedAt,
    Priority,
    UpdatedAt,
}

/// Where the previous page ended: the sort value and the id.
#[derive(Debug, Clone)]
pub enum After {
    Date(NaiveDate, String),
    Time(NaiveDateTime, String),
    Rank(i32, String),
}

type Backend = <DbConnection as diesel::Connection>::Backend;

/// Paused requests without a due key (paused before the key existed), as (id, due_on,
/// paused_since).
pub fn paused_without_key(
    conn: &mut DbConnection,
) -> QueryResult<Vec<(String, NaiveDate, NaiveDateTime)>> {
    rfas::table
        .filter(rfas::paused_since.is_not_null())
        .filter(rfas::paused_due_key.is_null())
        .select((rfas::id, rfas::due_on, rfas::paused_since.assume_not_null()))
        .load(conn)
}

pub fn set_pause_key(conn: &mut DbConnection, id: &str, key: NaiveDate) -> QueryResult<usize> {
    diesel::update(rfas::table.find(id))
        .set(rfas::paused_due_key.eq(key))
        .execute(conn)
}

/// Which requests a due-date query reads: paused ones are ordered by their key, the
/// others by their due date, so each part is read in index order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    Running,
    Paused,
}

/// The parts a page sorted by due date is read in: a running pause moves a request's due
/// date every day, so paused requests and the others are read apart (each as far as the
/// page goes) and merged.
fn parts(f: &QueueFilter, sort: SortKey) -> &'static [Part] {
    let paused = "awaiting_requester";
    if sort != SortKey::DueOn {
        &[Part::All]
    } else if f.states.is_empty() || f.states.len() > 1 && f.states.iter().any(|s| s == paused) {
        &[Part::Running, Part::Paused]
    } else if f.states.iter().all(|s| s == paused) {
        &[Part::Paused]
    } else {
        &[Part::Running]
    }
}

/// The order of a page by due date: the due date today, then id.
fn due_order<R: QueueKeys>(a: &R, b: &R, descending: bool, today: NaiveDate) -> std::cmp::Ordering {
    let order = (a.due_now(today), a.id()).cmp(&(b.due_now(today), b.id()));
    if descending { order.reverse() } else { order }
}

/// The order of a page: its sort key (the due date today for `DueOn`), then id.
fn page_order<R: QueueKeys>(
    a: &R,
    b: &R,
    sort: SortKey,
    descending: bool,
    today: NaiveDate,
) -> std::cmp::Ordering {
    let order = match sort {
        SortKey::DueOn => return due_order(a, b, descending, today),
        SortKey::ReceivedAt => a.received_at().cmp(&b.received_at()),
        SortKey::UpdatedAt => a.updated_at().cmp(&b.updated_at()),
        SortKey::Priority => a.priority_rank().cmp(&b.priority_rank()),
    }
    .then_with(|| a.id().cmp(b.id()));
    if descending { order.reverse() } else { order }
}

/// The parts of a page, merged in the page's order (`page_order`); one part is already in
/// its order.
fn merged<R: QueueKeys>(
    parts: Vec<Vec<R>>,
    (sort, descending): (SortKey, bool),
    limit: i64,
    today: NaiveDate,
) -> Vec<R> {
    let merging = parts.len() > 1;
    let mut rows: Vec<R> = parts.into_iter().flatten().collect();
    if merging {
        rows.sort_by(|a, b| page_order(a, b, sort, descending, today));
    }
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    rows
}

/// One queue page of full rows: filters, a stable order (the sort key, then id) and keyset
/// pagination, so rows arriving meanwhile never shift a page.
pub fn queue(
    conn: &mut DbConnection,
    f: &QueueFilter,
    sort: SortKey,
    descending: bool,
    after: Option<&After>,
    limit: i64,
) -> QueryResult<Vec<RfaRow>> {
    let select = || rfas::table.select(RfaRow::as_select()).into_boxed();
    read_page(conn, select, f, (sort, descending, after, limit))
}

/// The same page as `queue`, reading only the columns a list row shows.
pub fn queue_summaries(
    conn: &mut DbConnection,
    f: &QueueFilter,
    sort: SortKey,
    descending: bool,
    after: Option<&After>,
    limit: i64,
) -> QueryResult<Vec<RfaSummaryRow>> {
    let select = || rfas::table.select(RfaSummaryRow::as_select()).into_boxed();
    read_page(conn, select, f, (sort, descending, after, limit))
}

/// A page in the row shape `select` reads: each of its parts, merged.
fn read_page<'a, ST: 'static, R: QueueKeys>(
    conn: &mut DbConnection,
    select: impl Fn() -> rfas::BoxedQuery<'a, Backend, ST>,
    f: &QueueFilter,
    (sort, descending, after, limit): (SortKey, bool, Option<&After>, i64),
) -> QueryResult<Vec<R>>
where
    rfas::BoxedQuery<'a, Backend, ST>: diesel::query_dsl::LoadQuery<'a, DbConnection, R>,
{
    let mut read = Vec::new();
    if let Some(words) = open_words(conn, f, sort)? {
        let plan = if words.every_word {
            super::search::Plan::Held
        } else {
            super::search::Plan::Postings
        };
        let searching = Searching {
            backend: conn.backend(),
            plan,
        };
        for &part in parts(f, sort) {
            let page = (descending, after, limit);
            read.push(in_rounds(conn, &select, f, searching, &words, page, part)?);
        }
        return Ok(merged(read, (sort, descending), limit, f.today));
    }
    let searching = Searching::of(conn, f)?;
    for &part in parts(f, sort) {
        for f in each_state(f, part, searching) {
            let q = narrowed(select(), &f, searching, (sort, descending, after), part).limit(limit);
            read.push(q.load(conn)?);
        }
    }
    Ok(merged(read, (sort, descending), limit, f.today))
}

/// The filters a part of a page is read by: on SQLite, a page of several states is read one
/// state at a time, each an ordered range of the state's index for the page's order
/// (`rfas_queue_due`, `rfas_state_received`, …) that stops at the page, and merged. Without
/// statistics per value (no STAT4), SQLite reckons each state a fifth of the table, so four
/// states the whole of it, and scans and sorts every request instead (the open queue by due
/// date at 1,000,000 RFAs: 380 ms a page against 1.6 ms). Paused requests are few and have
/// their own index; where the states are not read by an index (a search the index lists,
/// written `+state`), or on PostgreSQL, the filter is read as it is.
fn each_state(
    f: &QueueFilter,
    part: Part,
    searching: Searching,
) -> Vec<std::borrow::Cow<'_, QueueFilter>> {
    use std::borrow::Cow;
    let listed = f.text.is_some() && searching.plan == super::search::Plan::Index;
    if searching.backend != super::Backend::Sqlite
        || part == Part::Paused
        || f.states.len() < 2
        || listed
    {
        return vec![Cow::Borrowed(f)];
    }
    f.states
        .iter()
        .map(|state| {
            Cow::Owned(QueueFilter {
                states: vec![state.clone()],
                ..f.clone()
            })
        })
        .collect()
}

/// A search of the open queue by due date is read through `rfa_open_words` (`Plan::Postings`):
/// its words as that table knows them, the rarest search word driving; or `None` when the
/// page is another kind (another order, or closed requests wanted) or every word of the search
/// begins too many words (`db::search::MAX_EXPANSIONS`; a short prefix of common words, which
/// a walk of the queue finds soon enough). No driving words: no open request holds one.
fn open_words(
    conn: &mut DbConnection,
    f: &QueueFilter,
    sort: SortKey,
) -> QueryResult<Option<super::search::OpenWords>> {
    /// Rows counted per word, at most, to compare words (past it, by how far into the
    /// queue they reach).
    const COUNTED: i64 = 500;
    let Some(query) = &f.text else {
        return Ok(None);
    };
    if sort != SortKey::DueOn || f.states.is_empty() || f.states.iter().any(|s| s == "closed") {
        return Ok(None);
    }
    let words: Vec<&str> = query.words().iter().map(String::as_str).collect();
    // One word drives alone: nothing to compare.
    let counted = if words.len() > 1 { COUNTED } else { 0 };
    let mut listed = Vec::new();
    for prefix in super::search::open_prefixes(conn, &words, counted)? {
        match &prefix.words {
            Some(words) if words.is_empty() => {
                return Ok(Some(super::search::OpenWords::default()));
            }
            Some(_) => listed.push(prefix),
            None => {}
        }
    }
    // The sparsest drives (the first of equals: the search's own order).
    let mut best = 0;
    for i in 1..listed.len() {
        if listed[i].sparser_than(&listed[best]) {
            best = i;
        }
    }
    if !listed.is_empty() {
        listed.swap(0, best);
    }
    let listed: Vec<Vec<String>> = listed
        .into_iter()
        .map(|p| p.words.unwrap_or_default())
        .collect();
    let every_word = listed.len() == query.words().len();
    let mut listed = listed.into_iter();
    Ok(listed.next().map(|driving| super::search::OpenWords {
        driving,
        also: listed.collect(),
        every_word,
    }))
}

/// One part of a search page read in rounds: the next requests holding the search's words,
/// in due order, from `rfa_open_words`; those of them that pass the page's filters and the
/// whole search, from `rfas`. Each round reads four times as many as the last (up to a
/// bound), until the page is full or no request is left, so a filter that passes few costs
/// rounds, not a walk of the queue.
fn in_rounds<'a, ST: 'static, R: QueueKeys>(
    conn: &mut DbConnection,
    select: &impl Fn() -> rfas::BoxedQuery<'a, Backend, ST>,
    f: &QueueFilter,
    searching: Searching,
    words: &super::search::OpenWords,
    (descending, after, limit): (bool, Option<&After>, i64),
    part: Part,
) -> QueryResult<Vec<R>>
where
    rfas::BoxedQuery<'a, Backend, ST>: diesel::query_dsl::LoadQuery<'a, DbConnection, R>,
{
    const FIRST: i64 = 64;
    const LARGEST: i64 = 4_096;
    if words.driving.is_empty() {
        return Ok(Vec::new());
    }
    let paused = part == Part::Paused;
    let mut from = match after {
        Some(After::Date(due, id)) if paused => Some((key_of_due(*due, f.today), id.clone())),
        Some(After::Date(due, id)) => Some((*due, id.clone())),
        _ => None,
    };
    // Where every row read passes, a round of a page is enough; else four pages, at least.
    let mut round = if words.every_word && f.only_open_states() {
        limit
    } else {
        (limit * 4).clamp(FIRST, LARGEST)
    };
    let mut rows: Vec<R> = Vec::new();
    loop {
        let postings =
            super::search::in_due_order(conn, words, paused, from.as_ref(), descending, round)?;
        let mut ids: Vec<String> = postings.iter().map(|(_, id)| id.clone()).collect();
        ids.dedup();
        if ids.is_empty() {
            break;
        }
        // The round's candidates that pass, fetched by id and ordered here, so that no
        // planner is tempted to walk the queue by its due index looking for the few.
        let q = narrowed(
            select(),
            f,
            searching,
            (SortKey::DueOn, descending, after),
            part,
        )
        .filter(rfas::id.eq_any(ids))
        .order(rfas::id);
        let mut passed = q.load::<R>(conn)?;
        passed.sort_by(|a, b| due_order(a, b, descending, f.today));
        passed.truncate(
            usize::try_from(limit)
                .unwrap_or(0)
                .saturating_sub(rows.len()),
        );
        rows.extend(passed);
        if rows.len() as i64 >= limit || (postings.len() as i64) < round {
            break;
        }
        from = postings.last().cloned();
        round = (round * 4).min(LARGEST);
    }
    Ok(rows)
}

/// How many requests match the filters, counting no further than `cap` (a list says "more
/// than 1,000" rather than paying for a count of a million rows).
pub fn queue_count(conn: &mut DbConnection, f: &QueueFilter, cap: i64) -> QueryResult<i64> {
    // A search of open requests is counted as its pages are read, through the open requests'
    // words in due order (`read_page`): the backends' own search plans list every match of a
    // common word first (59 ms for `aleppo` at 1,000,000 RFAs on SQLite).
    let open = !f.states.is_empty() && f.states.iter().all(|s| s != "closed");
    if f.text.is_some() && open {
        let select = || rfas::table.select(QueueKeyRow::as_select()).into_boxed();
        let rows: Vec<QueueKeyRow> =
            read_page(conn, select, f, (SortKey::DueOn, false, None, cap))?;
        return Ok(rows.len() as i64);
    }
    let searching = Searching::of(conn, f)?;
    let ids: Vec<String> = matching(rfas::table.select(rfas::id).into_boxed(), f, searching)
        .limit(cap)
        .load(conn)?;
    Ok(ids.len() as i64)
}

/// How many RFAs a queue filter matches, counted by the database.
pub fn matching_count(conn: &mut DbConnection, f: &QueueFilter) -> QueryResult<i64> {
    let searching = Searching::of(conn, f)?;
    matching(rfas::table.into_boxed(), f, searching)
        .count()
        .get_result(conn)
}

/// How many RFAs a queue filter matches per assignee (`None`: unassigned).
pub fn matching_by_assignee(
    conn: &mut DbConnection,
    f: &QueueFilter,
) -> QueryResult<Vec<(Option<String>, i64)>> {
    let searching = Searching::of(conn, f)?;
    matching(
        rfas::table
            .group_by(rfas::assignee_id)
            .select((rfas::assignee_id, diesel::dsl::count_star()))
            .into_boxed(),
        f,
        searching,
    )
    .load(conn)
}

/// How this connection answers the filter's text search (`db::search::plan`), settled
/// before the query is built.
#[derive(Debug, Clone, Copy)]
struct Searching {
    backend: super::Backend,
    plan: super::search::Plan,
}

impl Searching {
    fn of(conn: &mut DbConnection, f: &QueueFilter) -> QueryResult<Self> {
        let plan = match &f.text {
            Some(query) => super::search::plan(conn, query)?,
            None => super::search::Plan::Index,
        };
        Ok(Searching {
            backend: conn.backend(),
            plan,
        })
    }
}

/// A queue query's filters, keyset and order, whatever it selects.
fn narrowed<'a, ST: 'static>(
    q: rfas::BoxedQuery<'a, Backend, ST>,
    f: &QueueFilter,
    searching: Searching,
    (sort, descending, after): (SortKey, bool, Option<&After>),
    part: Part,
) -> rfas::BoxedQuery<'a, Backend, ST> {
    let mut q = matching(q, f, searching);
    match part {
        Part::All => {}
        Part::Running => q = q.filter(rfas::paused_due_key.is_null()),
        Part::Paused => q = q.filter(rfas::paused_due_key.is_not_null()),
    }
    macro_rules! keyset {
        ($col:expr, $value:expr, $id:expr) => {{
            let (v, id) = ($value, $id.clone());
            if descending {
                q = q.filter($col.lt(v).or($col.eq(v).and(rfas::id.lt(id))));
            } else {
                q = q.filter($col.gt(v).or($col.eq(v).and(rfas::id.gt(id))));
            }
        }};
    }
    match (sort, after) {
        (SortKey::DueOn, Some(After::Date(v, id))) if part == Part::Paused => {
            let key = key_of_due(*v, f.today);
            let (k, id) = (rfas::paused_due_key.assume_not_null(), id.clone());
            if descending {
                q = q.filter(k.lt(key).or(k.eq(key).and(rfas::id.lt(id))));
            } else {
                q = q.filter(k.gt(key).or(k.eq(key).and(rfas::id.gt(id))));
            }
        }
        (SortKey::DueOn, Some(After::Date(v, id))) => keyset!(rfas::due_on, *v, id),
        (SortKey::ReceivedAt, Some(After::Time(v, id))) => keyset!(rfas::received_at, *v, id),
        (SortKey::UpdatedAt, Some(After::Time(v, id))) => keyset!(rfas::updated_at, *v, id),
        (SortKey::Priority, Some(After::Rank(v, id))) => keyset!(rfas::priority_rank, *v, id),
        _ => {}
    }
    q = match (sort, descending) {
        (SortKey::DueOn, false) if part == Part::Paused => {
            q.order((rfas::paused_due_key.asc(), rfas::id.asc()))
        }
        (SortKey::DueOn, true) if part == Part::Paused => {
            q.order((rfas::paused_due_key.desc(), rfas::id.desc()))
        }
        (SortKey::DueOn, false) => q.order((rfas::due_on.asc(), rfas::id.asc())),
        (SortKey::DueOn, true) => q.order((rfas::due_on.desc(), rfas::id.desc())),
        (SortKey::ReceivedAt, false) => q.order((rfas::received_at.asc(), rfas::id.asc())),
        (SortKey::ReceivedAt, true) => q.order((rfas::received_at.desc(), rfas::id.desc())),
        (SortKey::Priority, false) => q.order((rfas::priority_rank.asc(), rfas::id.asc())),
        (SortKey::Priority, true) => q.order((rfas::priority_rank.desc(), rfas::id.desc())),
        (SortKey::UpdatedAt, false) => q.order((rfas::updated_at.asc(), rfas::id.asc())),
        (SortKey::UpdatedAt, true) => q.order((rfas::updated_at.desc(), rfas::id.desc())),
    };
    q
}

/// A queue query's filters alone.
type Grouped<'a, ST, GB> = diesel::internal::table_macro::BoxedSelectStatement<
    'a,
    ST,
    diesel::internal::table_macro::FromClause<rfas::table>,
    Backend,
    GB,
>;

fn matching<'a, ST: 'static, GB: 'static>(
    mut q: Grouped<'a, ST, GB>,
    f: &QueueFilter,
    searching: Searching,
) -> Grouped<'a, ST, GB> {
    // On SQLite a list of values is written as `col = ? OR col = ? …`, not `col IN (?, ?)`:
    // diesel prepares an `IN` list afresh on every call (its number of binds varies), while
    // a statement without one is kept in the connection's cache by its text.
    let sqlite = searching.backend == super::Backend::Sqlite;
    match &f.scope {
        Some(scope) if sqlite && !scope.is_empty() => {
            q = q.filter(super::any_of(rfas::jurisdiction_id, scope));
        }
        Some(scope) => q = q.filter(rfas::jurisdiction_id.eq_any(scope.clone())),
        None => {}
    }
    // One state is written as an equality: PostgreSQL reads an ordered index range for
    // `state = $1` but not for `state = ANY($1)`, even with a one-element array.
    //
    // With a search whose few matches the index lists (SQLite's Plan::Index), the state is
    // written `+state`, which SQLite does not read by an index: it then fetches the matches
    // by id instead of walking every open request in due order to test each against the list
    // (1 ms against 78 ms for one match among 150,000 open requests).
    let listed = f.text.is_some()
        && searching.backend == super::Backend::Sqlite
        && matches!(
            searching.plan,
            super::search::Plan::Index | super::search::Plan::Postings | super::search::Plan::Held
        );
    match (f.states.as_slice(), listed) {
        ([], _) => {}
        (states, true) => {
            let state = diesel::dsl::sql::<diesel::sql_types::Text>("+\"rfas\".\"state\"");
            q = q.filter(state.eq_any(states.to_vec()));
        }
        ([one], false) => q = q.filter(rfas::state.eq(one.clone())),
        (many, false) if sqlite => q = q.filter(super::any_of(rfas::state, many)),
        (many, false) => q = q.filter(rfas::state.eq_any(many.to_vec())),
    }
    if let Some(j) = &f.jurisdiction_id {
        q = q.filter(rfas::jurisdiction_id.eq(j.clone()));
    }
    match &f.assignee {
        Some(Some(a)) => q = q.filter(rfas::assignee_id.eq(a.clone())),
        Some(None) => q = q.filter(rfas::assignee_id.is_null()),
        None => {}
    }
    if let Some(p) = &f.priority {
        q = q.filter(rfas::priority.eq(p.clone()));
    }
    if let Some((wanted, today)) = f.overdue_on {
        let late_states = vec!["received", "under_review", "in_progress"];
        if wanted {
            q = q
                .filter(rfas::state.eq_any(late_states))
                .filter(rfas::due_on.lt(today));
        } else {
            q = q.filter(rfas::state.ne_all(late_states).or(rfas::due_on.ge(today)));
        }
    }
    if let Some(d) = f.due_before {
        let key = rfas::paused_due_key;
        q = q.filter(
            key.is_null().and(rfas::due_on.lt(d)).or(key
                .is_not_null()
                .and(key.assume_not_null().lt(key_of_due(d, f.today)))),
        );
    }
    if let Some(t) = f.received_from {
        q = q.filter(rfas::received_at.ge(t));
    }
    if let Some(t) = f.received_to {
        q = q.filter(rfas::received_at.lt(t));
    }
    if let Some(tag) = &f.tag {
        q = q.filter(
            rfas::id.eq_any(
                rfa_tags::table
                    .filter(rfa_tags::tag.eq(tag.clone()))
                    .select(rfa_tags::rfa_id),
            ),
        );
    }
    if let Some(e) = &f.eligibility {
        q = q.filter(rfas::eligibility_outcome.eq(e.clone()));
    }
    if let Some(query) = &f.text
        && searching.plan != super::search::Plan::Held
    {
        q = q.filter(super::search::matches(
            searching.backend,
            searching.plan,
            query,
        ));
    }
    q
}

/// Requests still to be worked (received, under review, in progress) due on or before a
/// day, soonest first, as (reference, subject, due date): the daily digest's lines.
pub fn open_due_by(
    conn: &mut DbConnection,
    horizon: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<(String, String, NaiveDate)>> {
    rfas::table
        .filter(rfas::state.eq_any(["received", "under_review", "in_progress"]))
        .filter(rfas::due_on.le(horizon))
        .order(rfas::due_on)
        .limit(limit)
        .select((rfas::reference, rfas::subject, rfas::due_on))
        .load(conn)
}

impl ReportFacts {
    /// The indexed copy of an event's `details.report`, which is what the figures count.
    pub fn from_details(details: &serde_json::Value) -> Self {
        let r = &details["report"];
        let text = |k: &str| r[k].as_str().map(str::to_string);
        let day = |k: &str| r[k].as_str().and_then(|d| d.parse().ok());
        let int = |k: &str| r[k].as_i64().and_then(|n| i32::try_from(n).ok());
        Self {
            report_kind: text("kind"),
            report_day: day("day"),
            report_day_from: day("day_from"),
            jurisdiction_id: text("jurisdiction_id"),
            outcome: text("outcome"),
            priority: text("priority"),
            assistance_types: r
                .get("assistance_types")
                .filter(|v| !v.is_null())
                .map(crate::domain::canonical::canonical),
            processing_days: int("processing_days"),
            paused_days: int("paused_days"),
        }
    }
}
