//! The queries behind the figures: counts and rows over the indexed report facts of the
//! event log, always limited to events recorded up to `as_of`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, max};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{authorities, chain_head, jurisdictions, report_snapshots, rfa_events, rfas};

/// Which events a report reads: those recorded up to `as_of` (every one without it) and
/// numbered from 1 up to `upto`, read once at the start and never past the chain's head. Writers of events hold the chain
/// lock, so sequence order is commit order and every query of one report sees the same events
/// even while new ones are committed between its queries. The bound is written `seq + 0` so
/// that no planner takes it for an access path: on SQLite `seq` is the rowid, and a rowid
/// range over the whole log was chosen over the report indexes (2.7 times slower).
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    pub as_of: Option<NaiveDateTime>,
    pub upto: i64,
}

/// Events recorded after every real moment: stands in for "no as_of" in a subquery (a
/// four-digit year, so SQLite's text timestamps still compare in order).
fn as_of_or_end(as_of: Option<NaiveDateTime>) -> NaiveDateTime {
    as_of.unwrap_or_else(|| {
        NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .unwrap_or_default()
    })
}

diesel::alias!(rfa_events as corrections: Corrections);

/// The RFAs with a receipt correction recorded up to `until`.
#[diesel::dsl::auto_type]
fn redated_ids(until: NaiveDateTime, upto: i64) -> _ {
    let kind: &'static str = "redated";
    corrections
        .filter(corrections.field(rfa_events::report_kind).eq(kind))
        .filter(corrections.field(rfa_events::at).le(until))
        .filter((corrections.field(rfa_events::seq) + 0_i64).between(1_i64, upto))
        .select(corrections.field(rfa_events::rfa_id))
}

/// Receipts in [from, to] of the RFAs whose receipt date was never corrected, counted per
/// jurisdiction, priority and assistance types in the database. The RFAs with a correction
/// (`redated`, rare) are left out here and followed one by one by [`redated_receipts_touching`].
#[derive(Debug, Clone, Queryable)]
pub struct ReceiptGroup {
    pub jurisdiction_id: Option<String>,
    pub priority: Option<String>,
    pub assistance_types: Option<String>,
    pub count: i64,
}

pub fn receipt_groups(
    c: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    cut: Cut,
) -> QueryResult<Vec<ReceiptGroup>> {
    let until = as_of_or_end(cut.as_of);
    let redated = redated_ids(until, cut.upto);
    rfa_events::table
        .filter(rfa_events::report_kind.eq("received"))
        .filter(rfa_events::report_day.between(from, to))
        .filter(rfa_events::at.le(until))
        .filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto))
        .filter(rfa_events::rfa_id.ne_all(redated))
        .group_by((
            rfa_events::jurisdiction_id,
            rfa_events::priority,
            rfa_events::assistance_types,
        ))
        .select((
            rfa_events::jurisdiction_id,
            rfa_events::priority,
            rfa_events::assistance_types,
            count_star(),
        ))
        .load(c)
}

/// For the breakdowns the events do not carry (crime, proceeding type, channel, authority
/// kind): the intake and authority of each RFA received in [from, to] whose receipt was never
/// corrected, as the request reads now.
pub fn received_intakes(
    c: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    cut: Cut,
) -> QueryResult<Vec<(String, String)>> {
    let until = as_of_or_end(cut.as_of);
    let redated = redated_ids(until, cut.upto);
    rfa_events::table
        .inner_join(rfas::table)
        .filter(rfa_events::report_kind.eq("received"))
        .filter(rfa_events::report_day.between(from, to))
        .filter(rfa_events::at.le(until))
        .filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto))
        .filter(rfa_events::rfa_id.ne_all(redated))
        .select((rfas::intake, rfas::authority_id))
        .load(c)
}

/// The RFAs behind events of one kind (`received`, `processed`, `reopened`) on days in
/// [from, to], within the cut, optionally of one jurisdiction: one entry per event. For
/// `received`, only the RFAs whose receipt was never corrected (the others are followed by
/// [`redated_receipts_touching`]).
pub fn rfas_behind(
    c: &mut DbConnection,
    kind: &str,
    from: NaiveDate,
    to: NaiveDate,
    cut: Cut,
    jurisdiction: Option<&str>,
) -> QueryResult<Vec<String>> {
    let until = as_of_or_end(cut.as_of);
    let redated = redated_ids(until, cut.upto);
    let mut q = rfa_events::table
        .filter(rfa_events::report_kind.eq(kind.to_string()))
        .filter(rfa_events::report_day.between(from, to))
        .filter(rfa_events::at.le(until))
        .filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto))
        .select(rfa_events::rfa_id)
        .into_boxed();
    if kind == "received" {
        q = q.filter(rfa_events::rfa_id.ne_all(redated));
    }
    if let Some(j) = jurisdiction {
        q = q.filter(rfa_events::jurisdiction_id.eq(j.to_string()));
    }
    q.load(c)
}

/// References by RFA id.
pub fn references_of(c: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            rfas::table
                .filter(rfas::id.eq_any(chunk))
                .select((rfas::id, rfas::reference))
                .load::<(String, String)>(c)?,
        );
    }
    Ok(out)
}

/// The intake and authority of the RFAs named (the few with a corrected receipt).
pub fn intakes_of(c: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            rfas::table
                .filter(rfas::id.eq_any(chunk))
                .select((rfas::intake, rfas::authority_id))
                .load::<(String, String)>(c)?,
        );
    }
    Ok(out)
}

/// Every authority's kind, by id.
pub fn authority_kinds(c: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    authorities::table
        .select((authorities::id, authorities::kind))
        .load(c)
}

/// Receipts (of RFAs whose receipt was never corrected) and closings per day in [from, to],
/// within the cut: (kind, day, count), a few thousand rows for a chart of years.
pub fn day_counts(
    c: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    cut: Cut,
) -> QueryResult<Vec<(String, Option<NaiveDate>, i64)>> {
    let until = as_of_or_end(cut.as_of);
    let redated = redated_ids(until, cut.upto);
    rfa_events::table
        .filter(rfa_events::report_kind.eq_any(["received", "processed"]))
        .filter(rfa_events::report_day.between(from, to))
        .filter(rfa_events::at.le(until))
        .filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto))
        .filter(
            rfa_events::report_kind
                .eq("processed")
                .or(rfa_events::rfa_id.ne_all(redated)),
        )
        .group_by((rfa_events::report_kind, rfa_events::report_day))
        .select((
            rfa_events::report_kind.assume_not_null(),
            rfa_events::report_day,
            count_star(),
        ))
        .load(c)
}

/// A receipt or a correction that moved it: enough to decide whether the RFA counts as
/// received in a period and to break it down.
#[derive(Debug, Clone, Queryable)]
pub struct ReceiptRow {
    pub seq: i64,
    pub rfa_id: String,
    pub day: Option<NaiveDate>,
    pub jurisdiction_id: Option<String>,
    pub priority: Option<String>,
    pub assistance_types: Option<String>,
}

/// For the RFAs whose receipt was corrected: their receipts and corrections that touch the
/// period (counted there, or moved in or out of it), in sequence order.
pub fn redated_receipts_touching(
    c: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    cut: Cut,
) -> QueryResult<Vec<ReceiptRow>> {
    let until = as_of_or_end(cut.as_of);
    let redated = redated_ids(until, cut.upto);
    rfa_events::table
        .filter(rfa_events::report_kind.eq_any(["received", "redated"]))
        .filter(
            rfa_events::report_day
                .between(from, to)
                .or(rfa_events::report_day_from.between(from, to)),
        )
        .filter(rfa_events::at.le(until))
        .filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto))
        .filter(rfa_events::rfa_id.eq_any(redated))
        .select((
            rfa_events::seq,
            rfa_events::rfa_id,
            rfa_events::report_day,
            rfa_events::jurisdiction_id,
            rfa_events::priority,
            rfa_events::assistance_types,
        ))
        .order(rfa_events::seq)
        .load(c)
}

/// Closings on days in [from, to], counted per jurisdiction, outcome and duration: a few
/// thousand groups where there are tens of thousands of closings.
#[derive(Debug, Clone, Queryable)]
pub struct ClosingGroup {
    pub jurisdiction_id: Option<String>,
    pub outcome: Option<String>,
    pub processing_days: Option<i32>,
    pub paused_days: Option<i32>,
    pub count: i64,
}

pub fn closing_groups(
    c: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    cut: Cut,
) -> QueryResult<Vec<ClosingGroup>> {
    rfa_events::table
        .filter(rfa_events::report_kind.eq("processed"))
        .filter(rfa_events::report_day.between(from, to))
        .filter(rfa_events::at.le(as_of_or_end(cut.as_of)))
        .filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto))
        .group_by((
            rfa_events::jurisdiction_id,
            rfa_events::outcome,
            rfa_events::processing_days,
            rfa_events::paused_days,
        ))
        .select((
            rfa_events::jurisdiction_id,
            rfa_events::outcome,
            rfa_events::processing_days,
            rfa_events::paused_days,
            count_star(),
        ))
        .load(c)
}

/// Per jurisdiction and kind, the facts on days in [from, to], in one pass.
pub fn counts_by_kind(
    c: &mut DbConnection,
    from: Option<NaiveDate>,
    to: NaiveDate,
    cut: Cut,
) -> QueryResult<Vec<(Option<String>, String, i64)>> {
    let mut q = rfa_events::table
        .filter(rfa_events::report_kind.is_not_null())
        .filter(rfa_events::report_day.le(to))
        // In the order of the rfa_events_report_groups index, so no sort is needed.
        .group_by((rfa_events::report_kind, rfa_events::jurisdiction_id))
        .select((
            rfa_events::jurisdiction_id,
            rfa_events::report_kind.assume_not_null(),
            count_star(),
        ))
        .into_boxed();
    if let Some(from) = from {
        q = q.filter(rfa_events::report_day.ge(from));
    }
    q = q.filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto));
    if let Some(t) = cut.as_of {
        q = q.filter(rfa_events::at.le(t));
    }
    q.load(c)
}

/// Per jurisdiction, corrections that moved a receipt away from a day in [from, to].
pub fn moved_away_by_jurisdiction(
    c: &mut DbConnection,
    from: Option<NaiveDate>,
    to: NaiveDate,
    cut: Cut,
) -> QueryResult<Vec<(Option<String>, i64)>> {
    let mut q = rfa_events::table
        .filter(rfa_events::report_kind.eq("redated"))
        .filter(rfa_events::report_day_from.le(to))
        .group_by(rfa_events::jurisdiction_id)
        .select((rfa_events::jurisdiction_id, count_star()))
        .into_boxed();
    if let Some(from) = from {
        q = q.filter(rfa_events::report_day_from.ge(from));
    }
    q = q.filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto));
    if let Some(t) = cut.as_of {
        q = q.filter(rfa_events::at.le(t));
    }
    q.load(c)
}

/// The earliest day of receipt (as received or as corrected) up to `to`, within the cut.
pub fn first_receipt_day(
    c: &mut DbConnection,
    to: NaiveDate,
    cut: Cut,
) -> QueryResult<Option<NaiveDate>> {
    rfa_events::table
        .filter(rfa_events::report_kind.eq_any(["received", "redated"]))
        .filter(rfa_events::report_day.le(to))
        .filter(rfa_events::at.le(as_of_or_end(cut.as_of)))
        .filter((rfa_events::seq + 0_i64).between(1_i64, cut.upto))
        .select(diesel::dsl::min(rfa_events::report_day))
        .first(c)
}

/// The last event recorded up to `as_of`: what a report covers. Only the chain counts: rows
/// numbered outside 1 to the head were not written by the service (verification names them).
pub fn covered_seq(c: &mut DbConnection, as_of: NaiveDateTime) -> QueryResult<i64> {
    let head: i64 = chain_head::table.find(1).select(chain_head::seq).first(c)?;
    rfa_events::table
        .filter(rfa_events::at.le(as_of))
        .filter(rfa_events::seq.between(1_i64, head))
        .select(max(rfa_events::seq))
        .first::<Option<i64>>(c)
        .map(|s| s.unwrap_or(0))
}

pub fn jurisdiction_names(c: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    jurisdictions::table
        .select((jurisdictions::id, jurisdictions::name))
        .load(c)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = report_snapshots)]
pub struct SnapshotRow {
    pub id: String,
    pub kind: String,
    pub parameters: String,
    pub as_of: NaiveDateTime,
    pub covered_seq: i64,
    pub figures: String,
    pub digest: String,
    pub label: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn insert_snapshot(c: &mut DbConnection, row: &SnapshotRow) -> QueryResult<()> {
    diesel::insert_into(report_snapshots::table)
        .values(row)
        .execute(c)?;
    Ok(())
}

pub fn find_snapshot(c: &mut DbConnection, id: &str) -> QueryResult<Option<SnapshotRow>> {
    report_snapshots::table
        .find(id)
        .select(SnapshotRow::as_select())
        .first(c)
        .optional()
}

pub fn list_snapshots(
    c: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<SnapshotRow>> {
    let mut q = report_snapshots::table
        .select(SnapshotRow::as_select())
        .order(report_snapshots::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(report_snapshots::id.gt(after.to_string()));
    }
    q.load(c)
}
