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

/// Takes one attempt from `source`'s allowance at `now`: one more every `interval`, at most
/// `window / interval` at once (all in microseconds). `Ok(None)` when taken; `Ok(Some(wait))`
/// with the microseconds until the next attempt is allowed. One statement: the generic cell
/// rate algorithm moves `next_at` one interval on from now (or from where it stands, if
/// later), as long as that stays within the window.
pub fn take_attempt(
    conn: &mut DbConnection,
    source: &str,
    now: i64,
    interval: i64,
    window: i64,
) -> QueryResult<Option<i64>> {
    let taken = numbered(
        conn,
        "INSERT INTO sign_in_sources (source, next_at, failed_at) VALUES ($1, $2 + $3, NULL) \
         ON CONFLICT (source) DO UPDATE \
         SET next_at = (CASE WHEN sign_in_sources.next_at > $2 \
                        THEN sign_in_sources.next_at ELSE $2 END) + $3 \
         WHERE (CASE WHEN sign_in_sources.next_at > $2 \
                THEN sign_in_sources.next_at ELSE $2 END) + $3 <= $2 + $4",
    )
    .bind::<Text, _>(source)
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(interval)
    .bind::<BigInt, _>(window)
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
    let wait = next_at.max(now).saturating_add(interval) - now.saturating_add(window);
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

/// Until when the service is strained (microseconds; in the past, or none, when it is not).
pub fn strained_until(conn: &mut DbConnection) -> QueryResult<Option<i64>> {
    Ok(one_at(
        numbered(
            conn,
            "SELECT strained_until AS at FROM sign_in_budget WHERE id = 1",
        )
        .load(conn)?,
    ))
}

/// Records a failed sign-in from `source` at `now`: on the source, and in the service's
/// budget, paced like a source (one failure every `interval`, `window` of them at once). A
/// failure beyond the budget strains the service until `now + strain`, or prolongs the strain.
pub fn record_failure(
    conn: &mut DbConnection,
    source: &str,
    now: i64,
    interval: i64,
    window: i64,
    strain: i64,
) -> QueryResult<()> {
    numbered(
        conn,
        "INSERT INTO sign_in_sources (source, next_at, failed_at) VALUES ($1, 0, $2) \
         ON CONFLICT (source) DO UPDATE SET failed_at = $2",
    )
    .bind::<Text, _>(source)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    // Both SET expressions read the row as it was before this update.
    numbered(
        conn,
        "INSERT INTO sign_in_budget (id, next_at, strained_until) VALUES (1, $1 + $2, 0) \
         ON CONFLICT (id) DO UPDATE \
         SET next_at = (CASE WHEN sign_in_budget.next_at > $1 \
                        THEN sign_in_budget.next_at ELSE $1 END) + $2, \
             strained_until = CASE WHEN (CASE WHEN sign_in_budget.next_at > $1 \
                                   THEN sign_in_budget.next_at ELSE $1 END) + $2 > $1 + $3 \
                              THEN $1 + $4 ELSE sign_in_budget.strained_until END",
    )
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(interval)
    .bind::<BigInt, _>(window)
    .bind::<BigInt, _>(strain)
    .execute(conn)?;
    Ok(())
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
