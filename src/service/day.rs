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

/// A moment within the same years (for values read back from cursors).
pub fn in_range(t: &NaiveDateTime) -> bool {
    (1..=9999).contains(&t.year())
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
