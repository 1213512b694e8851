//! Attempts per client address, kept in memory by each instance: a burst, then a steady
//! trickle. In front of the sign-in limits every instance shares (counted in the database,
//! `service::sign_in_limits`), so that a flood from one address is refused without touching
//! the database; refreshes are limited here only. An IPv6 client is counted by its /64, the
//! block one subscriber is usually given: one machine can use every address in it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl LoginLimiter {
    pub fn new(burst: u32, replenish: Duration) -> Self {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(replenish.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` to go ahead, or the whole seconds to wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), u64> {
        let source = source_of(addr);
        if self.limiter.len() > 10_000 {
            // Forget addresses whose budget has refilled, so memory stays bounded.
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&source)
            .map_err(|not_until| whole_secs(not_until.wait_time_from(self.clock.now())))
    }
}

/// A wait in whole seconds, rounded up, at least one.
pub fn whole_secs(wait: Duration) -> u64 {
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
        let l = LoginLimiter::new(3, Duration::from_secs(10));
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
        let l = LoginLimiter::new(3, Duration::from_secs(10));
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
}
