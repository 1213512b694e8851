//! The annual figures, derived from the event log (docs/reporting.md defines each one):
//! reports for a year, any period or cumulatively, as of any past moment, and the flat rows
//! that the exports (`crate::export`) and snapshot comparisons read. Snapshots that freeze a
//! report with a digest are in `snapshots`. Supervisors and reporting staff only: every
//! entry point checks the caller.

mod snapshots;
pub mod tables;

pub use snapshots::{
    Change, NewSnapshot, Snapshot, SnapshotDiff, SnapshotPage, TableChange,
    check_all as check_snapshots, create_snapshot, diff_snapshot, get_snapshot, list_snapshots,
    snapshot_facts, snapshot_report,
};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::reports as store;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::accounts::Caller;
use crate::service::day::{REPORT_YEARS, REPORT_YEARS_MESSAGE, in_report_years};
use crate::service::validate::Errors;
use crate::service::{Rules, Services};

/// Which report: a calendar year, any period (inclusive days), or everything through a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReportSpec {
    Annual { year: i32 },
    Range { from: NaiveDate, to: NaiveDate },
    Cumulative { through: i32 },
}

impl ReportSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            ReportSpec::Annual { .. } => "annual",
            ReportSpec::Range { .. } => "range",
            ReportSpec::Cumulative { .. } => "cumulative",
        }
    }

    /// The period's first and last day.
    pub fn period(&self) -> (NaiveDate, NaiveDate) {
        let jan1 = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or_default();
        let dec31 = |y: i32| NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or_default();
        match *self {
            ReportSpec::Annual { year } => (jan1(year), dec31(year)),
            ReportSpec::Range { from, to } => (from, to),
            ReportSpec::Cumulative { through } => (jan1(1900), dec31(through)),
        }
    }

    /// What the period is called in a title: "2023", "1 January 2024 to 30 April 2024",
    /// "all years through 2023".
    pub fn title(&self) -> String {
        let day = |d: NaiveDate| d.format("%-d %B %Y").to_string();
        match *self {
            ReportSpec::Annual { year } => year.to_string(),
            ReportSpec::Range { from, to } => format!("{} to {}", day(from), day(to)),
            ReportSpec::Cumulative { through } => format!("all years through {through}"),
        }
    }

    /// A name for exported files: `rfa-figures-2023`, `rfa-figures-2024-01-01-to-2024-04-30`.
    pub fn file_stem(&self) -> String {
        match *self {
            ReportSpec::Annual { year } => format!("rfa-figures-{year}"),
            ReportSpec::Range { from, to } => format!("rfa-figures-{from}-to-{to}"),
            ReportSpec::Cumulative { through } => {
                format!("rfa-figures-cumulative-through-{through}")
            }
        }
    }

    pub fn check(&self) -> Result<(), AppError> {
        let mut errors = Errors::new();
        let year_ok = |y: i32| REPORT_YEARS.contains(&y);
        match *self {
            ReportSpec::Annual { year } if !year_ok(year) => {
                errors.add("year", REPORT_YEARS_MESSAGE)
            }
            ReportSpec::Cumulative { through } if !year_ok(through) => {
                errors.add("through", REPORT_YEARS_MESSAGE)
            }
            ReportSpec::Range { from, to } => {
                if !in_report_years(from) {
                    errors.add("from", REPORT_YEARS_MESSAGE);
                }
                if !in_report_years(to) {
                    errors.add("to", REPORT_YEARS_MESSAGE);
                } else if to < from {
                    errors.add("to", "must not be before from");
                } else if (to - from).num_days() > 366 * 50 {
                    errors.add("to", "the period is too long");
                }
            }
            _ => {}
        }
        errors.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JurisdictionFigures {
    pub jurisdiction_id: String,
    pub name: String,
    pub received: i64,
    pub processed: i64,
    pub reopened: i64,
    pub pending_start: i64,
    pub pending_end: i64,
    pub identity_holds: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DayStats {
    pub median: Option<f64>,
    pub mean: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProcessingDays {
    /// Closings measured.
    pub count: i64,
    /// Calendar days from the day of receipt to the day of closing.
    pub with_paused: DayStats,
    /// The same, less the days spent awaiting the requester.
    pub without_paused: DayStats,
}

/// The figures of a year or a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Figures {
    pub received: i64,
    pub processed: i64,
    pub reopened: i64,
    pub pending_start: i64,
    pub pending_end: i64,
    /// pending_start + received + reopened − processed = pending_end, overall and for every
    /// jurisdiction.
    pub identity_holds: bool,
    pub jurisdictions_with_requests: i64,
    pub by_jurisdiction: Vec<JurisdictionFigures>,
    pub by_outcome: BTreeMap<String, i64>,
    pub by_assistance_type: BTreeMap<String, i64>,
    pub by_priority: BTreeMap<String, i64>,
    /// The requests received, by the crimes alleged (a request alleging two counts under
    /// both), the proceedings they serve, how they reached the mechanism and the kind of
    /// authority that sent them: as each request reads now (see docs/reporting.md).
    #[serde(default)]
    pub by_crime: BTreeMap<String, i64>,
    #[serde(default)]
    pub by_proceeding_type: BTreeMap<String, i64>,
    #[serde(default)]
    pub by_channel: BTreeMap<String, i64>,
    #[serde(default)]
    pub by_authority_kind: BTreeMap<String, i64>,
    pub processing_days: ProcessingDays,
}

/// Totals since the first request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CumulativeFigures {
    pub received: i64,
    pub processed: i64,
    pub jurisdictions_with_requests: i64,
}

/// A report's figures: a period's, or the cumulative totals. Documented as `anyOf`, not the
/// `oneOf` the derive would give: the period figures include every cumulative key, so a
/// period report matches both shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnyFigures {
    Period(Box<Figures>),
    Cumulative(CumulativeFigures),
}

impl utoipa::PartialSchema for AnyFigures {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::AnyOfBuilder;
        use utoipa::openapi::{Ref, RefOr};
        RefOr::T(
            AnyOfBuilder::new()
                .item(Ref::from_schema_name(Figures::name()))
                .item(Ref::from_schema_name(CumulativeFigures::name()))
                .into(),
        )
    }
}

impl ToSchema for AnyFigures {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push((Figures::name().into(), Figures::schema()));
        Figures::schemas(schemas);
        schemas.push((
            CumulativeFigures::name().into(),
            CumulativeFigures::schema(),
        ));
        CumulativeFigures::schemas(schemas);
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub report: ReportSpec,
    /// The period's first day; for cumulative totals, the first day of receipt recorded
    /// (`null` while there is none).
    pub from: Option<NaiveDate>,
    pub to: NaiveDate,
    pub time_zone: String,
    /// Only events recorded up to this moment count.
    pub as_of: DateTime<Utc>,
    /// The last event sequence number those events reach.
    pub covered_seq: i64,
    #[serde(flatten)]
    pub figures: AnyFigures,
}

fn stats(mut values: Vec<i64>) -> DayStats {
    if values.is_empty() {
        return DayStats {
            median: None,
            mean: None,
            p90: None,
        };
    }
    values.sort_unstable();
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
    };
    let mean = values.iter().sum::<i64>() as f64 / n as f64;
    // Nearest rank: the smallest value with at least 90% of the values at or below it.
    let rank = (0.9 * n as f64).ceil() as usize;
    let p90 = values[rank.clamp(1, n) - 1] as f64;
    DayStats {
        median: Some(median),
        mean: Some((mean * 10.0).round() / 10.0),
        p90: Some(p90),
    }
}

type Counts = HashMap<String, i64>;

/// Per jurisdiction over the days [from, to] (from the beginning when `from` is None): the
/// net change in open requests (receipts with corrections and reopenings, less closings),
/// and the reopenings alone.
fn net_open(
    c: &mut DbConnection,
    from: Option<NaiveDate>,
    to: NaiveDate,
    cut: store::Cut,
) -> Result<(Counts, Counts), AppError> {
    let (mut net, mut reopened) = (Counts::new(), Counts::new());
    for (j, kind, n) in store::counts_by_kind(c, from, to, cut)? {
        let j = j.unwrap_or_default();
        let sign = match kind.as_str() {
            "received" | "redated" => 1,
            "reopened" => {
                *reopened.entry(j.clone()).or_default() += n;
                1
            }
            "processed" => -1,
            _ => 0,
        };
        *net.entry(j).or_default() += sign * n;
    }
    for (j, n) in store::moved_away_by_jurisdiction(c, from, to, cut)? {
        *net.entry(j.unwrap_or_default()).or_default() -= n;
    }
    Ok((net, reopened))
}

/// `as_of`: only events recorded up to then count. Without it, every event counts (the
/// answer still says up to which sequence number).
pub fn compute(
    c: &mut DbConnection,
    rules: &Rules,
    spec: ReportSpec,
    as_of: Option<NaiveDateTime>,
) -> Result<Report, AppError> {
    let (from, to) = spec.period();
    let now = rules.now();
    let covered_seq = store::covered_seq(c, as_of.unwrap_or(now))?;
    let cut = store::Cut {
        as_of,
        upto: covered_seq,
    };
    let mut first_day = Some(from);
    let figures = match spec {
        ReportSpec::Cumulative { .. } => {
            first_day = store::first_receipt_day(c, to, cut)?;
            let mut received = 0;
            let mut processed = 0;
            let mut jurisdictions = BTreeSet::new();
            for (j, kind, n) in store::counts_by_kind(c, None, to, cut)? {
                match kind.as_str() {
                    "received" => {
                        received += n;
                        if n > 0 {
                            jurisdictions.insert(j.unwrap_or_default());
                        }
                    }
                    "redated" => received += n,
                    "processed" => processed += n,
                    _ => {}
                }
            }
            for (_, n) in store::moved_away_by_jurisdiction(c, None, to, cut)? {
                received -= n;
            }
            AnyFigures::Cumulative(CumulativeFigures {
                received,
                processed,
                jurisdictions_with_requests: jurisdictions.len() as i64,
            })
        }
        _ => AnyFigures::Period(Box::new(period_figures(c, from, to, cut)?)),
    };
    Ok(Report {
        report: spec,
        from: first_day,
        to,
        time_zone: rules.tz.name().to_string(),
        as_of: as_of.unwrap_or(now).and_utc(),
        covered_seq,
        figures,
    })
}

/// The RFAs whose day of receipt was corrected and whose latest receipt, as recorded within
/// the cut, falls in [from, to]: their latest receipt row each. Uncorrected receipts are
/// counted in groups by the database; these few are followed one by one.
fn corrected_receipts(
    c: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    cut: store::Cut,
) -> Result<Vec<store::ReceiptRow>, AppError> {
    let mut latest: HashMap<String, store::ReceiptRow> = HashMap::new();
    for row in store::redated_receipts_touching(c, from, to, cut)? {
        latest.insert(row.rfa_id.clone(), row);
    }
    Ok(latest
        .into_values()
        .filter(|r| r.day.is_some_and(|d| from <= d && d <= to))
        .collect())
}

// Long, and left whole on purpose: it is one reading of the log at one cut, each block a
// figure of docs/reporting.md in the order that document defines them.
fn period_figures(
    c: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    cut: store::Cut,
) -> Result<Figures, AppError> {
    let names: HashMap<String, String> = store::jurisdiction_names(c)?.into_iter().collect();
    // Received: each RFA's receipt as last recorded by as_of. Uncorrected receipts are
    // counted in groups by the database; the few corrected RFAs are followed row by row.
    let mut received_by_j = Counts::new();
    let mut by_priority = BTreeMap::new();
    let mut by_assistance_type = BTreeMap::new();
    let mut received = 0;
    let mut count_receipt =
        |j: Option<String>, priority: Option<String>, types: Option<&str>, n: i64| {
            received += n;
            *received_by_j.entry(j.unwrap_or_default()).or_default() += n;
            *by_priority.entry(priority.unwrap_or_default()).or_insert(0) += n;
            let types: Vec<String> = types
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default();
            for t in types {
                *by_assistance_type.entry(t).or_insert(0) += n;
            }
        };
    for g in store::receipt_groups(c, from, to, cut)? {
        count_receipt(
            g.jurisdiction_id,
            g.priority,
            g.assistance_types.as_deref(),
            g.count,
        );
    }
    let corrected = corrected_receipts(c, from, to, cut)?;
    let redated: Vec<String> = corrected.iter().map(|r| r.rfa_id.clone()).collect();
    for r in corrected {
        count_receipt(
            r.jurisdiction_id,
            r.priority,
            r.assistance_types.as_deref(),
            1,
        );
    }
    let facets = facets(c, from, to, cut, &redated)?;
    // Processed: closing events on days of the period, counted in groups by the database.
    let mut processed = 0;
    let mut processed_by_j = Counts::new();
    let mut by_outcome = BTreeMap::new();
    let mut with_paused = Vec::new();
    let mut without_paused = Vec::new();
    for g in store::closing_groups(c, from, to, cut)? {
        processed += g.count;
        *processed_by_j
            .entry(g.jurisdiction_id.unwrap_or_default())
            .or_default() += g.count;
        *by_outcome.entry(g.outcome.unwrap_or_default()).or_insert(0) += g.count;
        let days = i64::from(g.processing_days.unwrap_or(0));
        let n = usize::try_from(g.count).unwrap_or(0);
        with_paused.extend(std::iter::repeat_n(days, n));
        without_paused.extend(std::iter::repeat_n(
            (days - i64::from(g.paused_days.unwrap_or(0))).max(0),
            n,
        ));
    }
    // Pending at the start from every earlier day; at the end, that plus the period's net
    // change counted by a second, independent route (grouped counts, where the columns above
    // come from the rows themselves), so the identity check compares two computations.
    let start = from.pred_opt().unwrap_or(from);
    let (pending_start_by_j, _) = net_open(c, None, start, cut)?;
    let (delta, reopened_by_j) = net_open(c, Some(from), to, cut)?;
    let mut pending_end_by_j = pending_start_by_j.clone();
    for (j, n) in delta {
        *pending_end_by_j.entry(j).or_default() += n;
    }

    let mut ids: BTreeSet<String> = BTreeSet::new();
    for m in [
        &received_by_j,
        &processed_by_j,
        &reopened_by_j,
        &pending_start_by_j,
        &pending_end_by_j,
    ] {
        ids.extend(m.iter().filter(|(_, n)| **n != 0).map(|(k, _)| k.clone()));
    }
    let get = |m: &Counts, j: &str| m.get(j).copied().unwrap_or(0);
    let mut by_jurisdiction: Vec<JurisdictionFigures> = ids
        .iter()
        .map(|j| {
            let (ps, r, rp, p, pe) = (
                get(&pending_start_by_j, j),
                get(&received_by_j, j),
                get(&reopened_by_j, j),
                get(&processed_by_j, j),
                get(&pending_end_by_j, j),
            );
            JurisdictionFigures {
                jurisdiction_id: j.clone(),
                name: names.get(j).cloned().unwrap_or_else(|| j.clone()),
                received: r,
                processed: p,
                reopened: rp,
                pending_start: ps,
                pending_end: pe,
                identity_holds: ps + r + rp - p == pe,
            }
        })
        .collect();
    by_jurisdiction.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.jurisdiction_id.cmp(&b.jurisdiction_id))
    });
    let sum = |f: fn(&JurisdictionFigures) -> i64| by_jurisdiction.iter().map(f).sum::<i64>();
    let reopened = sum(|j| j.reopened);
    let (pending_start, pending_end) = (sum(|j| j.pending_start), sum(|j| j.pending_end));
    let identity_holds = pending_start + received + reopened - processed == pending_end
        && by_jurisdiction.iter().all(|j| j.identity_holds);
    Ok(Figures {
        received,
        processed,
        reopened,
        pending_start,
        pending_end,
        identity_holds,
        jurisdictions_with_requests: received_by_j.values().filter(|n| **n > 0).count() as i64,
        by_jurisdiction,
        by_outcome,
        by_assistance_type,
        by_priority,
        by_crime: facets.crime,
        by_proceeding_type: facets.proceeding_type,
        by_channel: facets.channel,
        by_authority_kind: facets.authority_kind,
        processing_days: ProcessingDays {
            count: processed,
            with_paused: stats(with_paused),
            without_paused: stats(without_paused),
        },
    })
}

/// The breakdowns of the received requests that their intake gives.
#[derive(Default)]
struct Facets {
    crime: BTreeMap<String, i64>,
    proceeding_type: BTreeMap<String, i64>,
    channel: BTreeMap<String, i64>,
    authority_kind: BTreeMap<String, i64>,
}

/// Only the intake's fields the breakdowns read (the rest of the JSON is skipped).
#[derive(Deserialize)]
struct IntakeFacets {
    #[serde(default)]
    crimes: Vec<String>,
    #[serde(default)]
    proceeding_type: String,
    #[serde(default)]
    channel: String,
}

fn facets(
    c: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    cut: store::Cut,
    redated: &[String],
) -> Result<Facets, AppError> {
    let kinds: HashMap<String, String> = store::authority_kinds(c)?.into_iter().collect();
    let mut rows = store::received_intakes(c, from, to, cut)?;
    rows.extend(store::intakes_of(c, redated)?);
    let mut f = Facets::default();
    let add = |m: &mut BTreeMap<String, i64>, k: &str| *m.entry(k.to_string()).or_insert(0) += 1;
    for (intake, authority) in rows {
        let i: IntakeFacets = serde_json::from_str(&intake)
            .map_err(|e| AppError::internal(format!("stored intake: {e}")))?;
        for crime in &i.crimes {
            add(&mut f.crime, crime);
        }
        add(&mut f.proceeding_type, &i.proceeding_type);
        add(&mut f.channel, &i.channel);
        add(
            &mut f.authority_kind,
            kinds
                .get(&authority)
                .map(String::as_str)
                .unwrap_or_default(),
        );
    }
    Ok(f)
}

/// A report now or as of a past moment (never the future: that would not be reproducible).
pub async fn report(
    svc: &Services,
    caller: Caller,
    spec: ReportSpec,
    as_of: Option<DateTime<Utc>>,
) -> Result<Report, AppError> {
    caller.resolve(svc, Some(Action::ReadReports)).await?;
    spec.check()?;
    check_as_of(&svc.rules, as_of)?;
    let as_of = as_of.map(|t| t.naive_utc());
    let rules = svc.rules;
    svc.db.run(move |c| compute(c, &rules, spec, as_of)).await
}

/// A moment to report as of: not in the future, and on a day of the years reports cover.
fn check_as_of(rules: &Rules, as_of: Option<DateTime<Utc>>) -> Result<(), AppError> {
    match as_of {
        Some(t) if t > Utc::now() => Err(AppError::field("as_of", "must not be in the future")),
        Some(t)
            if !crate::service::day::in_range(&t.naive_utc())
                || !in_report_years(rules.day_of(t.naive_utc())) =>
        {
            Err(AppError::field("as_of", REPORT_YEARS_MESSAGE))
        }
        _ => Ok(()),
    }
}

/// Received and processed per year, for the chart.
pub async fn yearly(
    svc: &Services,
    caller: Caller,
    from: i32,
    to: i32,
) -> Result<Vec<(i32, i64, i64)>, AppError> {
    caller.resolve(svc, Some(Action::ReadReports)).await?;
    let mut errors = Errors::new();
    let years = REPORT_YEARS;
    if !years.contains(&from) || !years.contains(&to) || to < from || to - from > 30 {
        errors.add(
            "to",
            "from and to are years between 2000 and 2100, at most 30 apart",
        );
    }
    errors.finish()?;
    let rules = svc.rules;
    svc.db
        .run(move |c| {
            let cut = store::Cut {
                as_of: None,
                upto: store::covered_seq(c, rules.now())?,
            };
            let first = ReportSpec::Annual { year: from }.period().0;
            let last = ReportSpec::Annual { year: to }.period().1;
            // One grouped pass over the span, as `period_figures` counts each year: receipts
            // of uncorrected RFAs and closings by day, then the corrected RFAs one by one.
            let mut by_year: BTreeMap<i32, (i64, i64)> = (from..=to).map(|y| (y, (0, 0))).collect();
            for (kind, day, n) in store::day_counts(c, first, last, cut)? {
                let Some(entry) = day.and_then(|d| by_year.get_mut(&d.year())) else {
                    continue;
                };
                match kind.as_str() {
                    "received" => entry.0 += n,
                    _ => entry.1 += n,
                }
            }
            for r in corrected_receipts(c, first, last, cut)? {
                if let Some(entry) = r.day.and_then(|d| by_year.get_mut(&d.year())) {
                    entry.0 += 1;
                }
            }
            Ok(by_year.into_iter().map(|(y, (r, p))| (y, r, p)).collect())
        })
        .await
}

/// A figure that can be opened to see what it is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FigureKind {
    Received,
    Processed,
    Reopened,
}

impl FigureKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "received" => Some(FigureKind::Received),
            "processed" => Some(FigureKind::Processed),
            "reopened" => Some(FigureKind::Reopened),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FigureKind::Received => "received",
            FigureKind::Processed => "processed",
            FigureKind::Reopened => "reopened",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FigureCase {
    pub id: String,
    pub reference: String,
    /// How many times the request counts in the figure (a request closed, reopened and
    /// closed again in one period is processed twice).
    pub times: i64,
}

/// What one figure is made of.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FigureCases {
    pub figure: FigureKind,
    pub report: ReportSpec,
    /// Only this jurisdiction's part of the figure (`null`: the whole figure).
    pub jurisdiction_id: Option<String>,
    pub jurisdiction_name: Option<String>,
    pub as_of: DateTime<Utc>,
    pub covered_seq: i64,
    /// The figure: what the report's table shows for it.
    pub count: i64,
    /// The requests behind it, by reference, for supervisors. Absent for reporting staff,
    /// who see figures but never case content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cases: Option<Vec<FigureCase>>,
}

/// The requests behind a figure (received, processed or reopened in a period, overall or of
/// one jurisdiction), counted exactly as the report counts them.
pub async fn figure_cases(
    svc: &Services,
    caller: Caller,
    spec: ReportSpec,
    as_of: Option<DateTime<Utc>>,
    figure: FigureKind,
    jurisdiction: Option<crate::domain::ids::JurisdictionId>,
) -> Result<FigureCases, AppError> {
    let who = caller.resolve(svc, Some(Action::ReadReports)).await?;
    spec.check()?;
    check_as_of(&svc.rules, as_of)?;
    // Case references are case content: supervisors see them, reporting staff the count.
    let sees_cases = crate::domain::policy::reach(&who.principal().roles, Action::ReadRfa)
        == Some(crate::domain::policy::Reach::All);
    let rules = svc.rules;
    let jurisdiction = jurisdiction.map(|j| j.into_string());
    svc.db
        .run(move |c| {
            let (from, to) = spec.period();
            let as_of_naive = as_of.map(|t| t.naive_utc());
            let covered_seq = store::covered_seq(c, as_of_naive.unwrap_or(rules.now()))?;
            let cut = store::Cut {
                as_of: as_of_naive,
                upto: covered_seq,
            };
            let j = jurisdiction.as_deref();
            let mut ids = store::rfas_behind(c, figure.as_str(), from, to, cut, j)?;
            if figure == FigureKind::Received {
                ids.extend(
                    corrected_receipts(c, from, to, cut)?
                        .into_iter()
                        .filter(|r| j.is_none() || r.jurisdiction_id.as_deref() == j)
                        .map(|r| r.rfa_id),
                );
            }
            let count = ids.len() as i64;
            let jurisdiction_name = match j {
                None => None,
                Some(j) => Some(
                    store::jurisdiction_names(c)?
                        .into_iter()
                        .find(|(id, _)| id == j)
                        .map(|(_, n)| n)
                        .ok_or_else(|| AppError::NotFound("No such jurisdiction.".into()))?,
                ),
            };
            let cases = if sees_cases {
                let mut times: BTreeMap<String, i64> = BTreeMap::new();
                for id in &ids {
                    *times.entry(id.clone()).or_insert(0) += 1;
                }
                let distinct: Vec<String> = times.keys().cloned().collect();
                let mut list: Vec<FigureCase> = store::references_of(c, &distinct)?
                    .into_iter()
                    .map(|(id, reference)| FigureCase {
                        times: times.get(&id).copied().unwrap_or(1),
                        id,
                        reference,
                    })
                    .collect();
                list.sort_by(|a, b| a.reference.cmp(&b.reference));
                Some(list)
            } else {
                None
            };
            Ok(FigureCases {
                figure,
                report: spec,
                jurisdiction_id: jurisdiction,
                jurisdiction_name,
                as_of: as_of_naive.unwrap_or(rules.now()).and_utc(),
                covered_seq,
                count,
                cases,
            })
        })
        .await
}

/// Received per jurisdiction in a period, largest first: the first `top`, then the rest
/// together as "Other jurisdictions" (`top` is 1 to 30).
pub async fn received_by_jurisdiction(
    svc: &Services,
    caller: Caller,
    spec: ReportSpec,
    top: usize,
) -> Result<Vec<(String, i64)>, AppError> {
    if !(1..=30).contains(&top) {
        return Err(AppError::field("top", "must be between 1 and 30"));
    }
    let report = report(svc, caller, spec, None).await?;
    let AnyFigures::Period(f) = report.figures else {
        return Err(AppError::field(
            "kind",
            "a chart by jurisdiction needs a period",
        ));
    };
    let mut rows: Vec<(String, i64)> = f
        .by_jurisdiction
        .iter()
        .filter(|j| j.received > 0)
        .map(|j| (j.name.clone(), j.received))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if rows.len() > top {
        let others: i64 = rows[top..].iter().map(|r| r.1).sum();
        let n = rows.len() - top;
        rows.truncate(top);
        let label = if n == 1 {
            "1 other jurisdiction".to_string()
        } else {
            format!("{n} other jurisdictions")
        };
        rows.push((label, others));
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------
// Flat rows for CSV and XLSX, and for comparing snapshots

/// (section, key, figure, value): `("totals", "", "received", "87")`,
/// `("by_jurisdiction", "Germany", "received", "12")`, `("by_outcome", "fulfilled", "processed", "40")`.
pub fn rows(figures: &AnyFigures) -> Vec<[String; 4]> {
    let value = serde_json::to_value(figures).unwrap_or(Value::Null);
    let mut out = Vec::new();
    let Some(map) = value.as_object() else {
        return out;
    };
    let scalar = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (section, v) in map {
        match (section.as_str(), v) {
            ("by_jurisdiction", Value::Array(items)) => {
                for item in items {
                    let key = item["name"].as_str().unwrap_or_default().to_string();
                    for (figure, x) in item.as_object().into_iter().flatten() {
                        if figure != "name" {
                            out.push([
                                "by_jurisdiction".into(),
                                key.clone(),
                                figure.clone(),
                                scalar(x),
                            ]);
                        }
                    }
                }
            }
            ("by_outcome", Value::Object(m)) => {
                for (k, x) in m {
                    out.push([section.clone(), k.clone(), "processed".into(), scalar(x)]);
                }
            }
            (
                "by_assistance_type" | "by_priority" | "by_crime" | "by_proceeding_type"
                | "by_channel" | "by_authority_kind",
                Value::Object(m),
            ) => {
                for (k, x) in m {
                    out.push([section.clone(), k.clone(), "received".into(), scalar(x)]);
                }
            }
            ("processing_days", Value::Object(m)) => {
                for (k, x) in m {
                    match x {
                        Value::Object(inner) => {
                            for (figure, y) in inner {
                                out.push([section.clone(), k.clone(), figure.clone(), scalar(y)]);
                            }
                        }
                        other => {
                            out.push([section.clone(), String::new(), k.clone(), scalar(other)])
                        }
                    }
                }
            }
            (_, other) => out.push([
                "totals".into(),
                String::new(),
                section.clone(),
                scalar(other),
            ]),
        }
    }
    out
}

/// Years are calendar years of days in the reporting time zone.
pub fn current_year(rules: &Rules) -> i32 {
    rules.today().year()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_statistics() {
        let s = stats(vec![10, 2, 4, 8, 6]);
        assert_eq!(
            (s.median, s.mean, s.p90),
            (Some(6.0), Some(6.0), Some(10.0))
        );
        let s = stats(vec![1, 2, 3, 4]);
        assert_eq!(s.median, Some(2.5));
        let s = stats((1..=100).collect());
        assert_eq!(s.p90, Some(90.0));
        assert_eq!(stats(vec![]).median, None);
    }

    #[test]
    fn periods_and_file_names() {
        let spec = ReportSpec::Range {
            from: "2024-01-01".parse().unwrap(),
            to: "2024-04-30".parse().unwrap(),
        };
        assert_eq!(spec.file_stem(), "rfa-figures-2024-01-01-to-2024-04-30");
        assert_eq!(
            ReportSpec::Annual { year: 2023 }.period().1.to_string(),
            "2023-12-31"
        );
        assert!(
            ReportSpec::Range {
                from: "2024-02-01".parse().unwrap(),
                to: "2024-01-01".parse().unwrap()
            }
            .check()
            .is_err()
        );
    }
}
