//! Vocabulary in the words people read, shared by the screens and the exported tables.

use crate::domain::lifecycle::ClosingOutcome;

/// A day as people write it: 3 March 2026.
pub fn day(d: chrono::NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// Snake-case vocabulary (`crimes_against_humanity`) as words (`Crimes against humanity`).
pub fn plain(wire: &str) -> String {
    let s = wire.replace('_', " ");
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => s,
    }
}

/// A closing outcome as it reads in a sentence ("declined as not eligible").
pub fn outcome(o: ClosingOutcome) -> &'static str {
    match o {
        ClosingOutcome::Fulfilled => "fulfilled",
        ClosingOutcome::PartiallyFulfilled => "partially fulfilled",
        ClosingOutcome::DeclinedIneligible => "declined as not eligible",
        ClosingOutcome::DeclinedOther => "declined",
        ClosingOutcome::Withdrawn => "withdrawn",
    }
}
