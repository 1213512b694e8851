//! The service context, built once at start: the database, the rules taken from the
//! configuration, the clock, the signing keys, the password hasher and the sign-in limits.
//! Every front end (the JSON API, the screens, the command line) holds one and passes it to
//! the service functions; nothing in it knows HTTP.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::auth::limiter::LoginLimiter;
use crate::auth::password::Hasher;
use crate::auth::tokens::Keys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Database;
use crate::domain::eligibility;
use crate::domain::lifecycle::Targets;
use crate::service::sign_in_limits::SharedSignInLimits;

/// What the RFA and report rules need from the configuration, and the clock they read.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub tz: Tz,
    pub targets: Targets,
    pub eligibility: eligibility::Rules,
    /// Which notifications changes put in the outbox.
    pub mail: crate::mail::Kinds,
    pub clock: Clock,
}

impl Rules {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            tz: s.time_zone().unwrap_or(chrono_tz::UTC),
            targets: Targets {
                urgent_days: s.deadlines.urgent_days,
                high_days: s.deadlines.high_days,
                routine_days: s.deadlines.routine_days,
            },
            eligibility: eligibility::Rules {
                mandate_start: s.eligibility.mandate_start,
            },
            mail: crate::mail::Kinds::from_settings(&s.mail),
            clock: Clock::System,
        }
    }

    pub fn now(&self) -> NaiveDateTime {
        self.clock.now()
    }

    /// The calendar day of a moment in the reporting time zone.
    pub fn day_of(&self, t: NaiveDateTime) -> NaiveDate {
        self.tz.from_utc_datetime(&t).date_naive()
    }

    pub fn today(&self) -> NaiveDate {
        self.day_of(self.now())
    }

    /// The first moment (UTC) of a day in the reporting time zone.
    pub fn start_of(&self, day: NaiveDate) -> NaiveDateTime {
        // Where a clock change skips midnight, the day starts at the first hour that exists.
        (0..4)
            .filter_map(|h| day.and_hms_opt(h, 0, 0))
            .find_map(|local| self.tz.from_local_datetime(&local).earliest())
            .map(|t| t.naive_utc())
            .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).unwrap_or_default())
    }
}

/// Sign-in attempts per client address. Sign-ins are paced per instance in memory (in
/// front) and across instances in the database (`shared`, with the failure budget).
/// Refreshes have their own budget, per instance, so routine refreshes never crowd out
/// sign-ins.
pub struct SignInLimits {
    pub login: LoginLimiter,
    pub shared: SharedSignInLimits,
    pub refresh: LoginLimiter,
}

impl SignInLimits {
    pub fn from_settings(s: &Settings) -> Self {
        let auth = &s.auth;
        Self {
            login: LoginLimiter::new(
                auth.login_burst,
                Duration::from_millis(auth.login_replenish_ms),
            ),
            shared: SharedSignInLimits::from_settings(auth),
            // Each session refreshes about every 15 minutes; give them a wider budget.
            refresh: LoginLimiter::new(
                auth.login_burst.saturating_mul(6),
                Duration::from_millis((auth.login_replenish_ms / 6).max(1)),
            ),
        }
    }
}

/// Everything a service function needs, built once at start (`startup::prepare`).
pub struct Services {
    pub(crate) db: Database,
    pub(crate) settings: Arc<Settings>,
    pub(crate) rules: Rules,
    pub(crate) keys: Arc<Keys>,
    pub(crate) hasher: Hasher,
    pub(crate) limits: std::sync::Arc<SignInLimits>,
    pub(crate) documents: crate::documents::Store,
    pub(crate) signer: Arc<crate::service::checkpoint::Signer>,
    pub(crate) access: crate::service::access::AccessLog,
    /// Set on SIGTERM: readiness answers 503 while the balancer stops sending here.
    pub(crate) draining: Arc<std::sync::atomic::AtomicBool>,
}

impl Services {
    pub fn new(
        db: Database,
        settings: Arc<Settings>,
        keys: Arc<Keys>,
        hasher: Hasher,
        documents: crate::documents::Store,
        signer: Arc<crate::service::checkpoint::Signer>,
        access: crate::service::access::AccessLog,
    ) -> Self {
        Self {
            signer,
            access,
            documents,
            rules: Rules::from_settings(&settings),
            limits: std::sync::Arc::new(SignInLimits::from_settings(&settings)),
            db,
            settings,
            keys,
            hasher,
            draining: Arc::default(),
        }
    }

    /// Whether this instance is draining before it stops (see `startup::Application`).
    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts the drain: readiness answers 503 from now on.
    pub fn start_draining(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The database, for start-up work, the command line and benchmarks; the front ends
    /// reach it only through the service functions.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Checks a token's signature and expiry only (no database): see `accounts::Caller`.
    /// Where the front ends record who looked at what.
    pub fn access_log(&self) -> &crate::service::access::AccessLog {
        &self.access
    }

    pub fn verify_token(&self, token: &str) -> Option<crate::auth::tokens::Claims> {
        self.keys.verify(token)
    }
}
