//! Days and times read from SQLite's text without chrono's format machinery.
//!
//! SQLite keeps dates and timestamps as text, and diesel parses each one by trying up to 18
//! `strftime` patterns with `parse_from_str`. A queue page reads five or six of them per row,
//! and the profile of the queue page (`docs/benchmarks.md`) put that decoding at a sixth of
//! the page's CPU time. The forms this service writes (`YYYY-MM-DD` and
//! `YYYY-MM-DD HH:MM:SS[.fraction]`) are read here directly; anything else falls back to
//! diesel's own parser, so no stored value reads differently. PostgreSQL's binary dates are
//! left to diesel.
//!
//! Used through `#[diesel(deserialize_as = …)]` on the hot row shapes (`RfaSummaryRow`, and
//! the session check's `UserRow` and `SessionRow`); the fields keep their chrono types.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::pg::Pg;
use diesel::sql_types::{Date, Nullable, Timestamp};
use diesel::sqlite::Sqlite;

use super::QueryBackend as Backend;
type Raw<'a> = <Backend as diesel::backend::Backend>::RawValue<'a>;

/// A `Date` column.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct Day(pub NaiveDate);

/// A `Timestamp` column.
#[derive(Debug, Clone, Copy, diesel::deserialize::FromSqlRow)]
pub struct Time(pub NaiveDateTime);

/// A `Nullable<Date>` column.
#[derive(Debug, Clone, Copy)]
pub struct MaybeDay(pub Option<NaiveDate>);

/// A `Nullable<Timestamp>` column.
#[derive(Debug, Clone, Copy)]
pub struct MaybeTime(pub Option<NaiveDateTime>);

fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `YYYY-MM-DD`, exactly.
fn day(s: &[u8]) -> Option<NaiveDate> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(&s[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&s[5..7])?, digits(&s[8..10])?)
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of one to nine digits.
fn time(s: &[u8]) -> Option<NaiveDateTime> {
    if s.len() < 19 || s[10] != b' ' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let nanos = match &s[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(fraction)? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let (h, m, sec) = (
        digits(&s[11..13])?,
        digits(&s[14..16])?,
        digits(&s[17..19])?,
    );
    let t = NaiveTime::from_hms_nano_opt(h, m, sec, nanos)?;
    Some(day(&s[..10])?.and_time(t))
}

/// `FromSql` for `$wrapper` on each backend: SQLite's text through `$parse` (diesel's own
/// parser of `$chrono` when it does not read), PostgreSQL's binary form through diesel, and
/// the multi-backend connection by dispatching to the two.
macro_rules! read_with {
    ($wrapper:ident, $sql:ty, $chrono:ty, $parse:ident) => {
        impl FromSql<$sql, Sqlite> for $wrapper {
            fn from_sql(
                mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                if let Some(v) = $parse(value.read_text().as_bytes()) {
                    return Ok($wrapper(v));
                }
                <$chrono as FromSql<$sql, Sqlite>>::from_sql(value).map($wrapper)
            }
        }

        impl FromSql<$sql, Pg> for $wrapper {
            fn from_sql(
                value: <Pg as diesel::backend::Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                <$chrono as FromSql<$sql, Pg>>::from_sql(value).map($wrapper)
            }
        }

        impl FromSql<$sql, Backend> for $wrapper {
            fn from_sql(value: Raw<'_>) -> deserialize::Result<Self> {
                value.from_sql::<Self, $sql>()
            }
        }
    };
}

read_with!(Day, Date, NaiveDate, day);
read_with!(Time, Timestamp, NaiveDateTime, time);

impl Queryable<Nullable<Date>, Backend> for MaybeDay {
    type Row = Option<Day>;

    fn build(row: Self::Row) -> deserialize::Result<Self> {
        Ok(MaybeDay(row.map(|d| d.0)))
    }
}

impl Queryable<Nullable<Timestamp>, Backend> for MaybeTime {
    type Row = Option<Time>;

    fn build(row: Self::Row) -> deserialize::Result<Self> {
        Ok(MaybeTime(row.map(|t| t.0)))
    }
}

impl From<Day> for NaiveDate {
    fn from(d: Day) -> Self {
        d.0
    }
}

impl From<Time> for NaiveDateTime {
    fn from(t: Time) -> Self {
        t.0
    }
}

impl From<MaybeDay> for Option<NaiveDate> {
    fn from(d: MaybeDay) -> Self {
        d.0
    }
}

impl From<MaybeTime> for Option<NaiveDateTime> {
    fn from(t: MaybeTime) -> Self {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_day(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s, "%F").ok()
    }

    fn chrono_time(s: &str) -> Option<NaiveDateTime> {
        ["%F %T%.f", "%F %T"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    }

    #[test]
    fn the_forms_written_read_as_chrono_reads_them() {
        for s in [
            "2024-02-29",
            "1999-12-31",
            "2026-01-01",
            "0001-01-01",
            "9999-12-31",
        ] {
            assert_eq!(day(s.as_bytes()), chrono_day(s), "{s}");
            assert!(day(s.as_bytes()).is_some(), "{s}");
        }
        for s in [
            "2024-02-29 23:59:59",
            "2024-02-29 00:00:00.5",
            "2024-02-29 12:34:56.123456",
            "2024-02-29 12:34:56.123456789",
            "2026-12-02 18:21:25.000001",
        ] {
            assert_eq!(time(s.as_bytes()), chrono_time(s), "{s}");
            assert!(time(s.as_bytes()).is_some(), "{s}");
        }
    }

    #[test]
    fn anything_else_is_left_to_diesel() {
        for s in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024-01-01 ",
            "+2024-01-01",
            "２０２４-01-01",
            "",
        ] {
            assert_eq!(day(s.as_bytes()), None, "{s}");
        }
        for s in [
            "2024-01-01T10:00:00",
            "2024-01-01 10:00",
            "2024-01-01 24:00:00",
            "2024-01-01 10:00:00.",
            "2024-01-01 10:00:00.1234567890",
            "2024-01-01 10:00:00Z",
            "2024-01-01 10:00:00+02:00",
            "2024-01-01 1a:00:00",
        ] {
            assert_eq!(time(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn a_connection_reads_what_diesel_wrote_and_what_it_would_parse() {
        use diesel::prelude::*;
        use diesel::sql_types::Text;

        let mut c = crate::db::DbConnection::Sqlite(
            diesel::sqlite::SqliteConnection::establish(":memory:").expect("in-memory SQLite"),
        );
        let written = NaiveDate::from_ymd_opt(2024, 2, 29)
            .and_then(|d| d.and_hms_micro_opt(23, 59, 58, 250_000))
            .expect("a time");
        let read: Time = diesel::select(written.into_sql::<Timestamp>())
            .get_result(&mut c)
            .expect("read back");
        assert_eq!(read.0, written);
        let read: Day = diesel::select(written.date().into_sql::<Date>())
            .get_result(&mut c)
            .expect("read back");
        assert_eq!(read.0, written.date());
        // Forms only diesel's parser knows still read as it reads them.
        let other: Time = diesel::select(diesel::dsl::sql::<Timestamp>("'2024-02-29T23:59'"))
            .get_result(&mut c)
            .expect("diesel's form");
        assert_eq!(
            other.0,
            written.date().and_hms_opt(23, 59, 0).expect("a time")
        );
        let bad = diesel::select(diesel::dsl::sql::<Text>("'not a day'"))
            .get_result::<String>(&mut c)
            .map(|s| day(s.as_bytes()));
        assert_eq!(bad.ok(), Some(None));
        let none: MaybeDay = diesel::select(diesel::dsl::sql::<Nullable<Date>>("NULL"))
            .get_result(&mut c)
            .expect("null");
        assert_eq!(none.0, None);
    }
}
