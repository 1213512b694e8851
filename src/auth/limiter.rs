//! Sign-in attempts per client address: a burst, then a steady trickle; and a budget of
//! failed sign-ins for the whole service. Kept in memory per instance (the lockout of an
//! account for one source is counted in the database, across instances). An IPv6 client is
//! counted by its /64, the block one subscriber is usually given: one machine can use every
//! address in it.
//!
//! The failure budget is what keeps sign-in open when guesses come from many addresses at
//! once, each within its own rate: once more sign-ins fail in a minute than the budget
//! allows, the service is strained for a minute, and while it is, a source that has failed
//! a sign-in in the last quarter of an hour is answered 429 at once, before any password is
//! hashed. A source with no recent failure (the people who work here) goes on as before.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How long a failing source is remembered, and how long a spent budget strains the service.
const FAILING_FOR: Duration = Duration::from_secs(15 * 60);
const STRAINED_FOR: Duration = Duration::from_secs(60);
/// Failing sources remembered at most (older ones are forgotten first).
const MAX_FAILING: usize = 100_000;

pub struct LoginLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    /// Failed sign-ins the whole service takes per minute before it is strained.
    budget: DefaultDirectRateLimiter,
    strained_until: Mutex<Option<Instant>>,
    /// Sources by the time of their latest failure.
    failing: Mutex<HashMap<IpAddr, Instant>>,
}

impl LoginLimiter {
    pub fn new(burst: u32, replenish: Duration, failures_per_minute: u32) -> Self {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(replenish.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        let budget = NonZeroU32::new(failures_per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            budget: RateLimiter::direct(Quota::per_minute(budget)),
            strained_until: Mutex::new(None),
            failing: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` to go ahead, or the whole seconds to wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), u64> {
        let source = source_of(addr);
        if let Some(wait) = self.strained_for(source) {
            return Err(whole_secs(wait));
        }
        if self.limiter.len() > 10_000 {
            // Forget addresses whose budget has refilled, so memory stays bounded.
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&source)
            .map_err(|not_until| whole_secs(not_until.wait_time_from(self.clock.now())))
    }

    /// A sign-in from this address failed: it is remembered as failing, and it spends the
    /// service's failure budget (once spent, the service is strained for a minute).
    pub fn failed(&self, addr: IpAddr) {
        let now = Instant::now();
        {
            let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
            if failing.len() >= MAX_FAILING {
                failing.retain(|_, at| now.duration_since(*at) < FAILING_FOR);
                if failing.len() >= MAX_FAILING {
                    failing.clear();
                }
            }
            failing.insert(source_of(addr), now);
        }
        if self.budget.check().is_err() {
            let mut strained = self
                .strained_until
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *strained = Some(now + STRAINED_FOR);
            tracing::warn!(
                "sign-in failures beyond the service's budget: sources that failed lately wait"
            );
        }
    }

    /// While strained, how long a source that failed lately waits.
    fn strained_for(&self, source: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let until = (*self
            .strained_until
            .lock()
            .unwrap_or_else(|e| e.into_inner()))?;
        let left = until.checked_duration_since(now)?;
        let failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        let failed_lately = failing
            .get(&source)
            .is_some_and(|at| now.duration_since(*at) < FAILING_FOR);
        failed_lately.then_some(left)
    }
}

fn whole_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The key an address is counted under: an IPv4 address itself (also when written as an
/// IPv4-mapped IPv6 address), an IPv6 address's /64.
pub fn source_of(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_address_waits() {
        let l = LoginLimiter::new(3, Duration::from_secs(10), 1000);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).expect_err("over the burst");
        assert!((1..=10).contains(&wait), "{wait}");
        assert!(l.check(b).is_ok(), "other addresses are not affected");
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_budget() {
        let l = LoginLimiter::new(3, Duration::from_secs(10), 1000);
        for i in 0..3u16 {
            let a: IpAddr = [0x2001, 0xdb8, 0, 1, i, 0x1234, 7, i].into();
            assert!(l.check(a).is_ok());
        }
        let same_64: IpAddr = [0x2001, 0xdb8, 0, 1, 0xffff, 1, 2, 3].into();
        assert!(
            l.check(same_64).is_err(),
            "a new address in the same /64 waits"
        );
        let other_64: IpAddr = [0x2001, 0xdb8, 0, 2, 0, 0, 0, 1].into();
        assert!(l.check(other_64).is_ok(), "the next /64 is another client");
        let mapped: IpAddr = "::ffff:10.0.0.9".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source_of(mapped), IpAddr::from([10, 0, 0, 9]));
    }

    #[test]
    fn a_spent_failure_budget_holds_back_failing_sources_only() {
        let l = LoginLimiter::new(100, Duration::from_secs(1), 3);
        let guessers: Vec<IpAddr> = (1..=4u8).map(|i| [192, 0, 2, i].into()).collect();
        let colleague: IpAddr = [198, 51, 100, 7].into();
        // Within the budget, a failure costs nothing more than the address's own rate.
        for g in &guessers[..3] {
            assert!(l.check(*g).is_ok());
            l.failed(*g);
        }
        assert!(l.check(guessers[0]).is_ok());
        // One failure beyond the budget: every source that failed lately waits.
        l.failed(guessers[3]);
        for g in &guessers {
            let wait = l
                .check(*g)
                .expect_err("a failing source waits while strained");
            assert!((1..=60).contains(&wait), "{wait}");
        }
        assert!(
            l.check(colleague).is_ok(),
            "a source with no failure goes on"
        );
    }
}
