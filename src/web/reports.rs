//! The figures pages for reporting staff and supervisors: a year, a period or all years, as
//! of any past moment; the tables ready to publish (`service::reports::tables`), their
//! downloads and charts; and snapshots: freeze, list, view, compare with now, download.

use actix_web::http::header;
use actix_web::web::{Bytes, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use super::intake::values_of;
use super::page::{PageError, UserBar, ok, see_other, urlencode};
use super::session::{self, Signed};
use crate::domain::ids::SnapshotId;
use crate::error::AppError;
use crate::export::{self, Layout, chart};
use crate::service::Services;
use crate::service::day::REPORT_YEARS;
use crate::service::reports::tables::{self, Table, identity_words, shown};
use crate::service::reports::{
    self, AnyFigures, NewSnapshot, Report, ReportSpec, Snapshot, snapshot_facts, snapshot_report,
};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The figures page's query, as the form writes it. Every value is text, read here, so that
/// a wrong one is named in the error summary instead of refused whole.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct FigureParams {
    kind: Option<String>,
    year: Option<String>,
    from: Option<String>,
    to: Option<String>,
    through: Option<String>,
    /// A local date and time in the reporting time zone (`2024-01-15T10:00`).
    as_of: Option<String>,
    /// Downloads: `csv` or `xlsx`, and `tables` or `long`.
    format: Option<String>,
    layout: Option<String>,
    /// What a figure is made of: `received`, `processed` or `reopened`, and a jurisdiction.
    figure: Option<String>,
    jurisdiction: Option<String>,
}

fn text(v: &Option<String>) -> &str {
    v.as_deref().map(str::trim).unwrap_or("")
}

/// What the page shows: the report asked for, or what is wrong with the question.
struct Question {
    kind: &'static str,
    spec: Option<ReportSpec>,
    as_of: Option<DateTime<Utc>>,
    problems: Vec<(&'static str, String)>,
}

impl FigureParams {
    fn question(&self, svc: &Services) -> Question {
        let this_year = svc.rules().today().year();
        let mut problems = Vec::new();
        let year = |field: &'static str, v: &Option<String>, problems: &mut Vec<_>| match text(v) {
            "" => Some(this_year),
            t => match t.parse::<i32>() {
                Ok(y) if REPORT_YEARS.contains(&y) => Some(y),
                _ => {
                    let (first, last) = (REPORT_YEARS.start(), REPORT_YEARS.end());
                    problems.push((field, format!("Enter a year between {first} and {last}.")));
                    None
                }
            },
        };
        let day = |field: &'static str, v: &Option<String>, problems: &mut Vec<_>| {
            match NaiveDate::parse_from_str(text(v), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    let what = if field == "from" { "first" } else { "last" };
                    problems.push((field, format!("Enter the {what} day as a date.")));
                    None
                }
            }
        };
        let (kind, spec) = match text(&self.kind) {
            "range" => {
                let (from, to) = (
                    day("from", &self.from, &mut problems),
                    day("to", &self.to, &mut problems),
                );
                let spec = match (from, to) {
                    (Some(from), Some(to)) if to < from => {
                        problems.push(("to", "The last day must not be before the first.".into()));
                        None
                    }
                    (Some(from), Some(to)) => Some(ReportSpec::Range { from, to }),
                    _ => None,
                };
                ("range", spec)
            }
            "cumulative" => (
                "cumulative",
                year("through", &self.through, &mut problems)
                    .map(|through| ReportSpec::Cumulative { through }),
            ),
            _ => (
                "annual",
                year("year", &self.year, &mut problems).map(|year| ReportSpec::Annual { year }),
            ),
        };
        let as_of = match text(&self.as_of) {
            "" => None,
            t => match local_moment(svc, t) {
                Some(at) if at > Utc::now() => {
                    problems.push((
                        "as_of",
                        "The moment must not be in the future: figures as of then cannot be reproduced.".into(),
                    ));
                    None
                }
                Some(at) => Some(at),
                None => {
                    problems.push(("as_of", "Enter the moment as a date and a time.".into()));
                    None
                }
            },
        };
        Question {
            kind,
            spec,
            as_of,
            problems,
        }
    }

    /// The figures page's query for a report (what the links and forms carry).
    fn of(spec: ReportSpec, as_of: &str) -> String {
        let mut q = match spec {
            ReportSpec::Annual { year } => format!("kind=annual&year={year}"),
            ReportSpec::Range { from, to } => format!("kind=range&from={from}&to={to}"),
            ReportSpec::Cumulative { through } => format!("kind=cumulative&through={through}"),
        };
        if !as_of.is_empty() {
            q.push_str(&format!("&as_of={}", urlencode(as_of)));
        }
        q
    }
}

/// A `datetime-local` value in the reporting time zone, as a moment.
fn local_moment(svc: &Services, t: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    svc.rules()
        .tz
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A moment as the reporting time zone writes it: 15 January 2024, 10:00 (Europe/Paris).
fn moment_words(svc: &Services, t: DateTime<Utc>) -> String {
    let tz = svc.rules().tz;
    format!(
        "{} ({})",
        t.with_timezone(&tz).format("%-d %B %Y, %H:%M:%S"),
        tz.name()
    )
}

/// A figure as a table cell: its text, and where it opens what it is made of (with words
/// that say which figure the link is for).
pub struct Cell {
    text: String,
    href: Option<String>,
    about: String,
}

/// A table as the page prints it.
pub struct TableView {
    key: &'static str,
    title: &'static str,
    columns: Vec<&'static str>,
    rows: Vec<(String, Vec<Cell>)>,
    total: Option<(String, Vec<Cell>)>,
    note: Option<&'static str>,
}

/// Which figure a cell is, where it can be opened: received, reopened or processed, in the
/// totals and by jurisdiction.
fn figure_of(table: &str, column: &str, row_label: &str) -> Option<&'static str> {
    let by_name = |name: &str| match name {
        "Received" => Some("received"),
        "Reopened" => Some("reopened"),
        "Processed" => Some("processed"),
        _ => None,
    };
    match table {
        "jurisdictions" => by_name(column),
        "totals" => by_name(row_label),
        _ => None,
    }
}

/// `links`: the figures page's query for this report, to open a figure; `None` where the
/// figures are frozen (a snapshot).
fn view_of(t: Table, links: Option<&str>) -> TableView {
    let row = |r: &tables::Row| {
        let cells =
            r.values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let column = t.columns.get(i + 1).copied().unwrap_or_default();
                    let href = links
                        .zip(figure_of(t.key, column, &r.label))
                        .map(|(q, f)| match &r.key {
                            Some(j) => format!("/reports/figure?{q}&figure={f}&jurisdiction={j}"),
                            None => format!("/reports/figure?{q}&figure={f}"),
                        });
                    Cell {
                        text: shown(*v),
                        href,
                        about: format!("{column}, {}", r.label),
                    }
                })
                .collect::<Vec<_>>();
        (r.label.clone(), cells)
    };
    TableView {
        key: t.key,
        title: t.title,
        columns: t.columns.clone(),
        rows: t.rows.iter().map(row).collect(),
        total: t.total.as_ref().map(row),
        note: t.note,
    }
}

/// The facts and the tables of a report, ready for a template.
struct Shown {
    facts: Vec<(&'static str, String)>,
    /// The period has not begun, or is not over, at the figures' moment.
    unfinished: Option<String>,
    identity: Option<(bool, String)>,
    tables: Vec<TableView>,
}

/// Figures of a period that had not begun at their moment are empty by nature, and those of
/// one not yet over will still change: the page says so, so an empty or small year is not
/// read as the mechanism's result.
fn unfinished(svc: &Services, report: &Report) -> Option<String> {
    let day = report.as_of.with_timezone(&svc.rules().tz).date_naive();
    match (&report.report, report.from) {
        (ReportSpec::Cumulative { .. }, _) => None,
        (_, Some(from)) if from > day => Some(format!(
            "This period begins on {}, after the moment of these figures: nothing can have been received in it yet.",
            super::words::day(from)
        )),
        _ if report.to >= day => Some(format!(
            "This period is not over: these are its figures up to {}, and they will change.",
            moment_words(svc, report.as_of)
        )),
        _ => None,
    }
}

fn shown_report(svc: &Services, report: &Report, links: Option<&str>) -> Shown {
    let facts = tables::about(report)
        .into_iter()
        .filter(|(k, _)| *k != "Identity")
        .map(|(k, v)| match k {
            "As of" => (k, moment_words(svc, report.as_of)),
            _ => (k, v),
        })
        .collect();
    let identity = match &report.figures {
        AnyFigures::Period(f) => Some((f.identity_holds, identity_words(f.identity_holds))),
        AnyFigures::Cumulative(_) => None,
    };
    Shown {
        facts,
        unfinished: unfinished(svc, report),
        identity,
        tables: tables::tables(report)
            .into_iter()
            .map(|t| view_of(t, links))
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "reports.html")]
struct FiguresPage {
    user: Option<UserBar>,
    csrf: String,
    kind: &'static str,
    tabs: Vec<(&'static str, String, bool)>,
    year: String,
    from: String,
    to: String,
    through: String,
    as_of: String,
    time_zone: String,
    problems: Vec<(&'static str, String)>,
    shown: Option<Shown>,
    downloads: Vec<(&'static str, String)>,
    chart: Option<(String, String, String)>,
    /// The report's own moment, for freezing exactly what is shown.
    frozen_as_of: String,
    spec_fields: Vec<(&'static str, String)>,
}

fn spec_fields(spec: ReportSpec) -> Vec<(&'static str, String)> {
    match spec {
        ReportSpec::Annual { year } => vec![("kind", "annual".into()), ("year", year.to_string())],
        ReportSpec::Range { from, to } => vec![
            ("kind", "range".into()),
            ("from", from.to_string()),
            ("to", to.to_string()),
        ],
        ReportSpec::Cumulative { through } => vec![
            ("kind", "cumulative".into()),
            ("through", through.to_string()),
        ],
    }
}

/// The chart that goes with a report: received and processed per year up to its year, or
/// received by jurisdiction for a period. (src, png href, alternative text)
fn chart_for(spec: ReportSpec, report: &Report) -> (String, String, String) {
    let q = FigureParams::of(spec, "");
    let alt = match spec {
        ReportSpec::Range { .. } => format!(
            "Bar chart of the requests received by jurisdiction, {}; the table By jurisdiction gives the same figures.",
            spec.title()
        ),
        _ => format!(
            "Bar chart of the requests received and processed per year, up to {}; the figures of each year are on its own page.",
            report.to.year()
        ),
    };
    (
        format!("/reports/chart.svg?{q}"),
        format!("/reports/chart.png?{q}"),
        alt,
    )
}

#[get("/reports")]
pub async fn figures(
    svc: Data<Services>,
    signed: Signed,
    params: Query<FigureParams>,
) -> Result<HttpResponse, PageError> {
    let p = params.into_inner();
    let question = p.question(&svc);
    let report = match (question.spec, question.problems.is_empty()) {
        (Some(spec), true) => {
            Some(reports::report(&svc, signed.caller(), spec, question.as_of).await?)
        }
        _ => {
            // The page is for reporting staff and supervisors only, whatever was typed.
            signed
                .caller()
                .resolve(&svc, Some(crate::domain::policy::Action::ReadReports))
                .await?;
            None
        }
    };
    let this_year = svc.rules().today().year().to_string();
    let kind = question.kind;
    let tabs = [
        ("annual", "A year"),
        ("range", "A period"),
        ("cumulative", "All years"),
    ]
    .into_iter()
    .map(|(k, label)| (label, format!("/reports?kind={k}"), k == kind))
    .collect();
    let as_of_text = text(&p.as_of).to_string();
    let (downloads, chart, frozen_as_of, fields, shown) = match &report {
        Some(r) => {
            let q = FigureParams::of(r.report, &as_of_text);
            (
                vec![
                    (
                        "Spreadsheet (XLSX)",
                        format!("/reports/download?{q}&format=xlsx"),
                    ),
                    ("CSV", format!("/reports/download?{q}&format=csv")),
                    (
                        "CSV, one row per figure (for scripts)",
                        format!("/reports/download?{q}&format=csv&layout=long"),
                    ),
                ],
                Some(chart_for(r.report, r)),
                r.as_of.to_rfc3339(),
                spec_fields(r.report),
                Some(shown_report(&svc, r, Some(&q))),
            )
        }
        None => (vec![], None, String::new(), vec![], None),
    };
    Ok(ok(&FiguresPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        kind,
        tabs,
        year: p.year.clone().unwrap_or_else(|| this_year.clone()),
        from: text(&p.from).to_string(),
        to: text(&p.to).to_string(),
        through: p.through.clone().unwrap_or(this_year),
        as_of: as_of_text,
        time_zone: svc.rules().tz.name().to_string(),
        problems: question.problems,
        shown,
        downloads,
        chart,
        frozen_as_of,
        spec_fields: fields,
    }))
}

fn download_answer(
    report: &Report,
    format: &str,
    layout: Layout,
    stem: &str,
    extra: &[(&'static str, String)],
) -> Result<HttpResponse, PageError> {
    let (body, content_type, ext) = match format {
        "xlsx" => (export::to_xlsx(report, layout, extra)?, XLSX, "xlsx"),
        _ => (
            export::to_csv(report, layout, extra)?,
            "text/csv; charset=utf-8",
            "csv",
        ),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{stem}.{ext}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(body))
}

fn layout_of(p: &FigureParams) -> Layout {
    Layout::parse(text(&p.layout)).unwrap_or_default()
}

/// The report a download, chart or figure asks for, once the policy allows the question
/// (what is wrong with it is for those who may ask it).
async fn asked(
    svc: &Services,
    signed: &Signed,
    p: &FigureParams,
) -> Result<(ReportSpec, Option<DateTime<Utc>>), PageError> {
    signed
        .caller()
        .resolve(svc, Some(crate::domain::policy::Action::ReadReports))
        .await?;
    let q = p.question(svc);
    match (q.spec, q.problems.first()) {
        (Some(spec), None) => Ok((spec, q.as_of)),
        (_, Some((field, message))) => {
            Err(PageError::Service(AppError::field(*field, message.clone())))
        }
        (None, None) => Err(PageError::Service(AppError::field(
            "kind",
            "choose a report",
        ))),
    }
}

#[get("/reports/download")]
pub async fn download(
    svc: Data<Services>,
    signed: Signed,
    params: Query<FigureParams>,
) -> Result<HttpResponse, PageError> {
    let (spec, as_of) = asked(&svc, &signed, &params).await?;
    let report = reports::report(&svc, signed.caller(), spec, as_of).await?;
    download_answer(
        &report,
        text(&params.format),
        layout_of(&params),
        &spec.file_stem(),
        &[],
    )
}

async fn chart_bars(
    svc: &Services,
    signed: &Signed,
    spec: ReportSpec,
) -> Result<chart::Bars, PageError> {
    Ok(match spec {
        ReportSpec::Range { .. } => {
            let rows = reports::received_by_jurisdiction(svc, signed.caller(), spec, 10).await?;
            chart::by_jurisdiction(&spec.title(), &rows)
        }
        ReportSpec::Annual { year } | ReportSpec::Cumulative { through: year } => {
            let first = (year - 5).max(*REPORT_YEARS.start());
            chart::annual(&reports::yearly(svc, signed.caller(), first, year).await?)
        }
    })
}

#[get("/reports/chart.svg")]
pub async fn chart_svg(
    svc: Data<Services>,
    signed: Signed,
    params: Query<FigureParams>,
) -> Result<HttpResponse, PageError> {
    let (spec, _) = asked(&svc, &signed, &params).await?;
    let svg = chart_bars(&svc, &signed, spec).await?.svg();
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(svg))
}

#[get("/reports/chart.png")]
pub async fn chart_png(
    svc: Data<Services>,
    signed: Signed,
    params: Query<FigureParams>,
) -> Result<HttpResponse, PageError> {
    let (spec, _) = asked(&svc, &signed, &params).await?;
    let svg = chart_bars(&svc, &signed, spec).await?.svg();
    let png = actix_web::web::block(move || chart::png(&svg))
        .await
        .map_err(|e| AppError::internal(format!("chart: {e}")))??;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-chart.png\"", spec.file_stem()),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(png))
}

pub struct CaseLink {
    href: String,
    reference: String,
    times: i64,
}

#[derive(Template)]
#[template(path = "report_figure.html")]
struct FigurePage {
    user: Option<UserBar>,
    heading: String,
    count: i64,
    count_words: String,
    facts: Vec<(&'static str, String)>,
    cases: Option<Vec<CaseLink>>,
    back_href: String,
}

/// What one figure of the page is made of.
#[get("/reports/figure")]
pub async fn figure(
    svc: Data<Services>,
    signed: Signed,
    params: Query<FigureParams>,
) -> Result<HttpResponse, PageError> {
    let (spec, as_of) = asked(&svc, &signed, &params).await?;
    let figure = reports::FigureKind::parse(text(&params.figure)).ok_or_else(|| {
        PageError::Service(AppError::field(
            "figure",
            "must be received, processed or reopened",
        ))
    })?;
    let jurisdiction = match text(&params.jurisdiction) {
        "" => None,
        raw => Some(
            crate::domain::ids::JurisdictionId::parse(raw).ok_or_else(|| {
                PageError::Service(AppError::NotFound("no such jurisdiction".into()))
            })?,
        ),
    };
    let found =
        reports::figure_cases(&svc, signed.caller(), spec, as_of, figure, jurisdiction).await?;
    let what = match figure {
        reports::FigureKind::Received => "Received",
        reports::FigureKind::Processed => "Processed",
        reports::FigureKind::Reopened => "Reopened",
    };
    let heading = match &found.jurisdiction_name {
        Some(p) => format!("{what} in {}: {p}", spec.title()),
        None => format!("{what} in {}", spec.title()),
    };
    let unit = match figure {
        reports::FigureKind::Received => ("request", "requests"),
        reports::FigureKind::Processed => ("closing", "closings"),
        reports::FigureKind::Reopened => ("reopening", "reopenings"),
    };
    let count_words = format!(
        "{} {}",
        found.count,
        if found.count == 1 { unit.0 } else { unit.1 }
    );
    Ok(ok(&FigurePage {
        user: Some(UserBar::of(&signed.0)),
        heading,
        count: found.count,
        count_words,
        facts: vec![
            ("As of", moment_words(&svc, found.as_of)),
            ("Events covered", format!("1 to {}", found.covered_seq)),
        ],
        cases: found.cases.map(|list| {
            list.into_iter()
                .map(|c| CaseLink {
                    href: format!("/cases/{}", c.id),
                    reference: c.reference,
                    times: c.times,
                })
                .collect()
        }),
        back_href: format!("/reports?{}", FigureParams::of(spec, text(&params.as_of))),
    }))
}

// ---------------------------------------------------------------------------------------
// Snapshots

#[post("/reports/snapshots")]
pub async fn freeze(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let number = |k: &str| values.one(k).parse::<i32>().ok();
    let day = |k: &str| NaiveDate::parse_from_str(&values.one(k), "%Y-%m-%d").ok();
    let label = values.one("label");
    let request = NewSnapshot {
        kind: values.one("kind"),
        year: number("year"),
        from: day("from"),
        to: day("to"),
        through: number("through"),
        as_of: DateTime::parse_from_rfc3339(&values.one("as_of"))
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        label: (!label.trim().is_empty()).then(|| label.trim().to_string()),
    };
    let frozen = reports::create_snapshot(&svc, signed.caller(), request).await?;
    Ok(see_other(&format!(
        "/reports/snapshots/{}?frozen=1",
        frozen.id
    )))
}

pub struct SnapshotLine {
    href: String,
    label: String,
    report: String,
    as_of: String,
    frozen: String,
    digest: String,
    altered: bool,
}

#[derive(Template)]
#[template(path = "snapshots.html")]
struct SnapshotsPage {
    user: Option<UserBar>,
    items: Vec<SnapshotLine>,
    next_href: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    cursor: Option<String>,
}

fn line(svc: &Services, s: &Snapshot) -> SnapshotLine {
    SnapshotLine {
        href: format!("/reports/snapshots/{}", s.id),
        label: s.label.clone().unwrap_or_else(|| "(no label)".into()),
        report: format!("Figures for {}", s.report.title()),
        as_of: moment_words(svc, s.as_of),
        frozen: moment_words(svc, s.created_at),
        digest: s.digest.get(..16).unwrap_or(&s.digest).to_string(),
        altered: s.altered,
    }
}

#[get("/reports/snapshots")]
pub async fn snapshots(
    svc: Data<Services>,
    signed: Signed,
    params: Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let page = reports::list_snapshots(
        &svc,
        signed.caller(),
        params.cursor.clone().filter(|c| c.len() <= 200),
        50,
    )
    .await?;
    Ok(ok(&SnapshotsPage {
        user: Some(UserBar::of(&signed.0)),
        items: page.items.iter().map(|s| line(&svc, s)).collect(),
        next_href: page
            .next_cursor
            .map(|c| format!("/reports/snapshots?cursor={}", urlencode(&c))),
    }))
}

fn snapshot_id(path: &str) -> Result<SnapshotId, PageError> {
    SnapshotId::parse(path)
        .ok_or_else(|| PageError::Service(AppError::NotFound("no such snapshot".into())))
}

#[derive(Template)]
#[template(path = "snapshot.html")]
struct SnapshotPage {
    user: Option<UserBar>,
    frozen: bool,
    s: SnapshotLine,
    id: String,
    digest: String,
    shown: Shown,
    figures_href: String,
}

#[derive(Debug, Deserialize)]
pub struct SnapshotParams {
    frozen: Option<String>,
    format: Option<String>,
    layout: Option<String>,
}

#[get("/reports/snapshots/{id}")]
pub async fn snapshot(
    svc: Data<Services>,
    signed: Signed,
    path: Path<String>,
    params: Query<SnapshotParams>,
) -> Result<HttpResponse, PageError> {
    let s = reports::get_snapshot(&svc, signed.caller(), snapshot_id(&path)?).await?;
    let report = snapshot_report(&svc, &s)?;
    Ok(ok(&SnapshotPage {
        user: Some(UserBar::of(&signed.0)),
        frozen: params.frozen.is_some(),
        id: s.id.clone(),
        digest: s.digest.clone(),
        figures_href: format!(
            "/reports?{}",
            FigureParams::of(
                s.report,
                &s.as_of
                    .with_timezone(&svc.rules().tz)
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string()
            )
        ),
        shown: shown_report(&svc, &report, None),
        s: line(&svc, &s),
    }))
}

#[get("/reports/snapshots/{id}/download")]
pub async fn snapshot_download(
    svc: Data<Services>,
    signed: Signed,
    path: Path<String>,
    params: Query<SnapshotParams>,
) -> Result<HttpResponse, PageError> {
    let s = reports::get_snapshot(&svc, signed.caller(), snapshot_id(&path)?).await?;
    let report = snapshot_report(&svc, &s)?;
    let layout = Layout::parse(text(&params.layout)).unwrap_or_default();
    let stem = s.file_stem();
    download_answer(
        &report,
        text(&params.format),
        layout,
        &stem,
        &snapshot_facts(&s),
    )
}

pub struct ChangeLine {
    table: String,
    row: String,
    column: String,
    published: String,
    now: String,
    change: String,
}

#[derive(Template)]
#[template(path = "snapshot_compare.html")]
struct ComparePage {
    user: Option<UserBar>,
    s: SnapshotLine,
    back_href: String,
    compared_as_of: String,
    changes: Vec<ChangeLine>,
}

#[get("/reports/snapshots/{id}/compare")]
pub async fn compare(
    svc: Data<Services>,
    signed: Signed,
    path: Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = snapshot_id(&path)?;
    let s = reports::get_snapshot(&svc, signed.caller(), id.clone()).await?;
    let diff = reports::diff_snapshot(&svc, signed.caller(), id).await?;
    let changes = diff
        .table_changes
        .into_iter()
        .map(|c| ChangeLine {
            table: c.table,
            row: c.row,
            column: c.column,
            published: shown(c.published),
            now: shown(c.now),
            change: match c.change {
                Some(x) if x > 0.0 => format!("+{}", shown(Some(x))),
                other => shown(other),
            },
        })
        .collect();
    Ok(ok(&ComparePage {
        user: Some(UserBar::of(&signed.0)),
        back_href: format!("/reports/snapshots/{}", s.id),
        compared_as_of: moment_words(&svc, diff.compared_as_of),
        s: line(&svc, &s),
        changes,
    }))
}
