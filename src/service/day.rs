//! Calendar days as the API writes them: `YYYY-MM-DD` with a four-digit year. chrono on its
//! own also reads signed, extended years (`+262142-12-31`), which PostgreSQL's `date` cannot
//! hold and which would come back in a form the API never promises; adding a day to the last
//! date chrono knows even panics. Every day that comes from outside is read here.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer};

/// The day written as `YYYY-MM-DD`, years 0001 to 9999.
pub fn parse(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shape
        .then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .flatten()
        .filter(|d| d.year() >= 1)
}

/// The years a request can be received in and a report can cover: the same range for
/// intake, corrections, report years and `as_of`, so nothing is stored that no report shows.
pub const REPORT_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// What a field outside [`REPORT_YEARS`] is told.
pub const REPORT_YEARS_MESSAGE: &str = "must be in the years 2000 to 2100";

/// Whether a day is in [`REPORT_YEARS`].
pub fn in_report_years(day: NaiveDate) -> bool {
    REPORT_YEARS.contains(&day.year())
}

/// A moment within the same years (for values read back from cursors).
pub fn in_range(t: &NaiveDateTime) -> bool {
    (1..=9999).contains(&t.year())
}

/// `received_at` as clients write it: an RFC 3339 date-time, or a day alone (`YYYY-MM-DD`),
/// which stands for the start of that day in the reporting time zone.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum ReceivedAt {
    Moment(chrono::DateTime<chrono::Utc>),
    Day(NaiveDate),
}

impl TryFrom<String> for ReceivedAt {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&raw) {
            return Ok(ReceivedAt::Moment(t.with_timezone(&chrono::Utc)));
        }
        parse(&raw)
            .map(ReceivedAt::Day)
            .ok_or("must be an RFC 3339 date-time or a date (YYYY-MM-DD)")
    }
}

impl ReceivedAt {
    /// The moment it stands for.
    pub fn moment(self, rules: &crate::service::Rules) -> chrono::DateTime<chrono::Utc> {
        match self {
            ReceivedAt::Moment(t) => t,
            ReceivedAt::Day(d) => rules.start_of(d).and_utc(),
        }
    }
}

const EXPECTED: &str = "a date written YYYY-MM-DD (years 0001 to 9999)";

/// For `#[serde(deserialize_with = "day::deserialize")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s)
        .ok_or_else(|| serde::de::Error::invalid_value(serde::de::Unexpected::Str(&s), &EXPECTED))
}

/// For optional days: `#[serde(default, deserialize_with = "day::optional")]`.
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => parse(&s).map(Some).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&s), &EXPECTED)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_four_digit_years_in_the_usual_shape() {
        assert_eq!(parse("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(parse("0001-01-01"), NaiveDate::from_ymd_opt(1, 1, 1));
        assert_eq!(parse("9999-12-31"), NaiveDate::from_ymd_opt(9999, 12, 31));
        for bad in [
            "+262142-12-31",
            "-0001-01-01",
            "0000-01-01",
            "2023-02-29",
            "2024-2-29",
            "20240229",
            "2024-02-29T00:00:00",
            " 2024-02-29",
            "２０２４-02-29",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
