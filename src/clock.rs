//! The time every service reads, and the precision it is stored at.

use chrono::{NaiveDateTime, Timelike, Utc};

/// Where "now" comes from: the system clock, or a fixed moment (tests, and the demo data,
/// which writes a story with a clock of its own).
#[derive(Debug, Clone, Copy, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(NaiveDateTime),
}

impl Clock {
    /// Now in UTC, truncated to microseconds (see [`micros`]).
    pub fn now(&self) -> NaiveDateTime {
        match self {
            Clock::System => micros(Utc::now().naive_utc()),
            Clock::Fixed(t) => micros(*t),
        }
    }
}

/// The system's now, truncated to microseconds, for work that has no service context (the
/// outbox worker).
pub fn now() -> NaiveDateTime {
    Clock::System.now()
}

/// A time truncated to microseconds, the precision both backends keep: what is hashed is
/// exactly what is read back.
pub fn micros(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}
