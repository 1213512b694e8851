//! The daily check's store: which jurisdictions it has done on which day, and what it
//! changed (its `evaluate_eligibility` events, by the system account).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{calendar_runs, rfa_events, rfas};
use super::users::SYSTEM_USER_ID;

/// Jurisdictions with at least one open request, in id order.
pub fn jurisdictions_with_open_requests(c: &mut DbConnection) -> QueryResult<Vec<String>> {
    rfas::table
        .filter(rfas::state.ne("closed"))
        .select(rfas::jurisdiction_id)
        .distinct()
        .order(rfas::jurisdiction_id)
        .load(c)
}

/// The jurisdictions the check has done on `day`.
pub fn done_on(c: &mut DbConnection, day: NaiveDate) -> QueryResult<Vec<String>> {
    calendar_runs::table
        .filter(calendar_runs::day.eq(day))
        .select(calendar_runs::jurisdiction_id)
        .load(c)
}

/// Claims a day and jurisdiction for the check, inside the caller's write transaction. A
/// unique violation (`AppError::Conflict`) means another instance has it.
pub fn insert_run(
    c: &mut DbConnection,
    day: NaiveDate,
    jurisdiction_id: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(calendar_runs::table)
        .values((
            calendar_runs::day.eq(day),
            calendar_runs::jurisdiction_id.eq(jurisdiction_id),
            calendar_runs::ran_at.eq(at),
            calendar_runs::evaluated.eq(0),
            calendar_runs::changed.eq(0),
        ))
        .execute(c)
}

/// What the run found, written before its transaction commits.
pub fn finish_run(
    c: &mut DbConnection,
    day: NaiveDate,
    jurisdiction_id: &str,
    evaluated: i32,
    changed: i32,
) -> QueryResult<usize> {
    diesel::update(calendar_runs::table.find((day, jurisdiction_id)))
        .set((
            calendar_runs::evaluated.eq(evaluated),
            calendar_runs::changed.eq(changed),
        ))
        .execute(c)
}

/// The check's decisions recorded after `since`, oldest first, as (reference, event details).
pub fn changes_since(
    c: &mut DbConnection,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    rfa_events::table
        .inner_join(rfas::table)
        .filter(rfa_events::actor_id.eq(SYSTEM_USER_ID))
        .filter(rfa_events::action.eq("evaluate_eligibility"))
        .filter(rfa_events::at.gt(since))
        .order(rfa_events::seq)
        .limit(limit)
        .select((rfas::reference, rfa_events::details))
        .load(c)
}
