//! Sign-in limits every instance shares, counted in the database (`db::sign_in`), so that
//! three instances behind a balancer do not give a guesser three times the attempts:
//!
//! - **Pace per source** (an IPv4 address, or an IPv6 /64): `auth.login_burst` attempts at
//!   once, then one more every `auth.login_replenish_ms`.
//! - **The failure budget of the whole service**, which keeps sign-in open when guesses come
//!   from many sources at once, each within its own pace: failures are paced like a
//!   source's attempts, `auth.failure_budget_per_minute` in any minute; each failure beyond
//!   that strains the service for a minute from then, and while it is, a source that failed
//!   a sign-in in the last quarter of an hour is answered 429 at once, before any password
//!   is hashed. A source with no recent failure (the people who work here) goes on as
//!   before.
//!
//! The lockout of an account for one source is counted in the database too
//! (`db::users::record_failed_login`). Each instance also keeps the pace in memory, in front
//! (`auth::limiter`), so that a flood from one address never reaches the database.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::auth::limiter::whole_secs;
use crate::config::AuthSettings;
use crate::db::DbConnection;
use crate::db::sign_in as store;
use crate::error::AppError;

/// How long a failing source is remembered, and how long a failure beyond the budget strains
/// the service.
const FAILING_FOR_US: i64 = 15 * 60 * 1_000_000;
const STRAINED_FOR_US: i64 = 60 * 1_000_000;
const MINUTE_US: i64 = 60 * 1_000_000;
/// The longest allowance window taken from the settings: sums with it stay far from overflow.
const LONGEST_WINDOW_US: i64 = 10 * 365 * 24 * 60 * 60 * 1_000_000;

pub struct SharedSignInLimits {
    /// Per source: one attempt every `interval_us`, `window_us / interval_us` at once.
    interval_us: i64,
    window_us: i64,
    /// The whole service: one failure every `budget_interval_us`, a minute's worth at once.
    budget_interval_us: i64,
    /// When this instance last removed idle sources (microseconds), at most once a minute.
    forgot_at: AtomicI64,
}

impl SharedSignInLimits {
    pub fn from_settings(auth: &AuthSettings) -> Self {
        let interval_us = i64::try_from(auth.login_replenish_ms.max(1))
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000)
            .min(LONGEST_WINDOW_US);
        Self {
            interval_us,
            window_us: interval_us
                .saturating_mul(i64::from(auth.login_burst.max(1)))
                .min(LONGEST_WINDOW_US),
            budget_interval_us: (MINUTE_US / i64::from(auth.failure_budget_per_minute.max(1)))
                .max(1),
            forgot_at: AtomicI64::new(0),
        }
    }

    /// Takes a sign-in attempt from `source` at `now` (in a write transaction): `Ok(Ok(()))`
    /// to go ahead, `Ok(Err(secs))` with the whole seconds to wait.
    pub fn admit(
        &self,
        c: &mut DbConnection,
        source: &str,
        now: NaiveDateTime,
    ) -> Result<Result<(), u64>, AppError> {
        let now_us = micros(now);
        if let Some(until) = store::strained_until(c)?.filter(|until| *until > now_us) {
            let failed_lately =
                store::failed_at(c, source)?.is_some_and(|failed| failed > now_us - FAILING_FOR_US);
            if failed_lately {
                return Ok(Err(secs(until - now_us)));
            }
        }
        match store::take_attempt(c, source, now_us, self.interval_us, self.window_us)? {
            Some(wait) => Ok(Err(secs(wait))),
            None => Ok(Ok(())),
        }
    }

    /// A sign-in from `source` failed at `now` (in a write transaction): the source is
    /// remembered as failing, and the failure spends the service's budget.
    pub fn failed(
        &self,
        c: &mut DbConnection,
        source: &str,
        now: NaiveDateTime,
    ) -> Result<(), AppError> {
        let now_us = micros(now);
        let was_strained = store::strained_until(c)?.is_some_and(|until| until > now_us);
        store::record_failure(
            c,
            source,
            now_us,
            self.budget_interval_us,
            MINUTE_US,
            STRAINED_FOR_US,
        )?;
        if !was_strained && store::strained_until(c)?.is_some_and(|until| until > now_us) {
            tracing::warn!(
                "sign-in failures beyond the service's budget: sources that failed lately wait"
            );
        }
        Ok(())
    }

    /// Whether this instance should remove idle sources now (at most once a minute), in a
    /// transaction of its own after an admission, never inside one: the removal then holds
    /// no source's row while it waits for others.
    pub fn forget_due(&self, now: NaiveDateTime) -> bool {
        let now_us = micros(now);
        let last = self.forgot_at.load(Ordering::Relaxed);
        now_us - last >= MINUTE_US
            && self
                .forgot_at
                .compare_exchange(last, now_us, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Removes the sources that are idle at `now`.
    pub fn forget_idle(&self, c: &mut DbConnection, now: NaiveDateTime) -> Result<(), AppError> {
        let now_us = micros(now);
        store::forget_idle(c, now_us - FAILING_FOR_US)?;
        Ok(())
    }
}

/// A moment as microseconds since the Unix epoch, as the rows keep it.
fn micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

fn secs(micros: i64) -> u64 {
    whole_secs(Duration::from_micros(u64::try_from(micros).unwrap_or(0)))
}
