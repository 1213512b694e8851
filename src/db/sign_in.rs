//! The shared sign-in limits' rows (`sign_in_sources`, `sign_in_budget`). Every change is
//! one statement whose condition the database evaluates on the row it changes, so two
//! instances admitting the same source at once never both take its last attempt. Plain SQL
//! with numbered parameters (`db::numbered`).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{DbConnection, numbered};

#[derive(QueryableByName)]
struct At {
    #[diesel(sql_type = Nullable<BigInt>)]
    at: Option<i64>,
}

fn one_at(rows: Vec<At>) -> Option<i64> {
    rows.into_iter().next().and_then(|r| r.at)
}

/// Takes one attempt from `source`'s allowance at `now`: at most `burst` at once, one more
/// every `interval` (all in microseconds). `Ok(None)` when taken; `Ok(Some(wait))` with the
/// microseconds until the next attempt is allowed.
pub fn take_attempt(
    conn: &mut DbConnection,
    source: &str,
    now: i64,
    interval: i64,
    burst: i64,
) -> QueryResult<Option<i64>> {
    numbered(
        conn,
        "INSERT INTO sign_in_sources (source, next_at, failed_at) VALUES ($1, 0, NULL) \
         ON CONFLICT (source) DO NOTHING",
    )
    .bind::<Text, _>(source)
    .execute(conn)?;
    // The generic cell rate algorithm: an attempt moves `next_at` one interval on from now
    // (or from where it stands, if later), as long as that stays within `burst` intervals.
    let taken = numbered(
        conn,
        "UPDATE sign_in_sources \
         SET next_at = (CASE WHEN next_at > $2 THEN next_at ELSE $2 END) + $3 \
         WHERE source = $1 AND (CASE WHEN next_at > $2 THEN next_at ELSE $2 END) + $3 <= $2 + $4",
    )
    .bind::<Text, _>(source)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(interval)
    .bind::<BigInt, _>(interval.saturating_mul(burst))
    .execute(conn)?;
    if taken == 1 {
        return Ok(None);
    }
    let next_at = one_at(
        numbered(
            conn,
            "SELECT next_at AS at FROM sign_in_sources WHERE source = $1",
        )
        .bind::<Text, _>(source)
        .load(conn)?,
    )
    .unwrap_or(now);
    let wait = next_at.max(now) + interval - (now + interval.saturating_mul(burst));
    Ok(Some(wait.max(1)))
}

/// When `source` last failed a sign-in, if it is remembered.
pub fn failed_at(conn: &mut DbConnection, source: &str) -> QueryResult<Option<i64>> {
    Ok(one_at(
        numbered(
            conn,
            "SELECT failed_at AS at FROM sign_in_sources WHERE source = $1",
        )
        .bind::<Text, _>(source)
        .load(conn)?,
    ))
}

/// The latest moment the service's failure budget was spent, in `minute` or the one before.
pub fn budget_spent_at(conn: &mut DbConnection, minute: i64) -> QueryResult<Option<i64>> {
    Ok(one_at(
        numbered(
            conn,
            "SELECT max(spent_at) AS at FROM sign_in_budget WHERE minute >= $1",
        )
        .bind::<BigInt, _>(minute - 1)
        .load(conn)?,
    ))
}

/// Records a failed sign-in from `source` at `now`: on the source, and in `minute`'s count
/// of the whole service. Returns true when this failure spent `minute`'s budget of `budget`.
pub fn record_failure(
    conn: &mut DbConnection,
    source: &str,
    now: i64,
    minute: i64,
    budget: i64,
) -> QueryResult<bool> {
    numbered(
        conn,
        "INSERT INTO sign_in_sources (source, next_at, failed_at) VALUES ($1, 0, $2) \
         ON CONFLICT (source) DO UPDATE SET failed_at = $2",
    )
    .bind::<Text, _>(source)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    numbered(
        conn,
        "INSERT INTO sign_in_budget (minute, failures, spent_at) VALUES ($1, 1, NULL) \
         ON CONFLICT (minute) DO UPDATE SET failures = sign_in_budget.failures + 1",
    )
    .bind::<BigInt, _>(minute)
    .execute(conn)?;
    let spent = numbered(
        conn,
        "UPDATE sign_in_budget SET spent_at = $2 \
         WHERE minute = $1 AND failures > $3 AND spent_at IS NULL",
    )
    .bind::<BigInt, _>(minute)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(budget)
    .execute(conn)?;
    numbered(conn, "DELETE FROM sign_in_budget WHERE minute < $1")
        .bind::<BigInt, _>(minute - 1)
        .execute(conn)?;
    Ok(spent == 1)
}

/// Forgets sources whose allowance is whole again and that have not failed since `before`.
pub fn forget_idle(conn: &mut DbConnection, before: i64) -> QueryResult<usize> {
    numbered(
        conn,
        "DELETE FROM sign_in_sources \
         WHERE next_at < $1 AND (failed_at IS NULL OR failed_at < $1)",
    )
    .bind::<BigInt, _>(before)
    .execute(conn)
}
