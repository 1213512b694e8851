//! Sign-in limits every instance shares, counted in the database (`db::sign_in`), so that
//! three instances behind a balancer do not give a guesser three times the attempts:
//!
//! - **Pace per source** (an IPv4 address, or an IPv6 /64): `auth.login_burst` attempts at
//!   once, then one more every `auth.login_replenish_ms`.
//! - **The failure budget of the whole service**, which keeps sign-in open when guesses come
//!   from many sources at once, each within its own pace: once more sign-ins fail in a
//!   minute than `auth.failure_budget_per_minute`, the service is strained for a minute, and
//!   while it is, a source that failed a sign-in in the last quarter of an hour is answered
//!   429 at once, before any password is hashed. A source with no recent failure (the people
//!   who work here) goes on as before.
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

/// How long a failing source is remembered, and how long a spent budget strains the service.
const FAILING_FOR_US: i64 = 15 * 60 * 1_000_000;
const STRAINED_FOR_US: i64 = 60 * 1_000_000;
const MINUTE_US: i64 = 60 * 1_000_000;

pub struct SharedSignInLimits {
    interval_us: i64,
    burst: i64,
    budget: i64,
    /// When this instance last removed idle sources (microseconds), at most once a minute.
    forgot_at: AtomicI64,
}

impl SharedSignInLimits {
    pub fn from_settings(auth: &AuthSettings) -> Self {
        Self {
            interval_us: i64::try_from(auth.login_replenish_ms.max(1))
                .unwrap_or(i64::MAX / 4)
                .saturating_mul(1_000),
            burst: i64::from(auth.login_burst.max(1)),
            budget: i64::from(auth.failure_budget_per_minute.max(1)),
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
        let now_us = now.and_utc().timestamp_micros();
        if let Some(spent) = store::budget_spent_at(c, now_us.div_euclid(MINUTE_US))? {
            let strained_until = spent + STRAINED_FOR_US;
            let failed_lately =
                store::failed_at(c, source)?.is_some_and(|failed| failed > now_us - FAILING_FOR_US);
            if strained_until > now_us && failed_lately {
                return Ok(Err(secs(strained_until - now_us)));
            }
        }
        if let Some(wait) = store::take_attempt(c, source, now_us, self.interval_us, self.burst)? {
            return Ok(Err(secs(wait)));
        }
        let last = self.forgot_at.load(Ordering::Relaxed);
        if now_us - last >= MINUTE_US
            && self
                .forgot_at
                .compare_exchange(last, now_us, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            store::forget_idle(c, now_us - FAILING_FOR_US)?;
        }
        Ok(Ok(()))
    }

    /// A sign-in from `source` failed at `now` (in a write transaction): the source is
    /// remembered as failing, and the failure spends the service's budget.
    pub fn failed(
        &self,
        c: &mut DbConnection,
        source: &str,
        now: NaiveDateTime,
    ) -> Result<(), AppError> {
        let now_us = now.and_utc().timestamp_micros();
        let minute = now_us.div_euclid(MINUTE_US);
        if store::record_failure(c, source, now_us, minute, self.budget)? {
            tracing::warn!(
                "sign-in failures beyond the service's budget: sources that failed lately wait"
            );
        }
        Ok(())
    }
}

fn secs(micros: i64) -> u64 {
    whole_secs(Duration::from_micros(u64::try_from(micros).unwrap_or(0)))
}
