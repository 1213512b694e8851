//! Figures for the annual report: JSON, CSV or XLSX, a chart, and frozen snapshots.
//! Supervisors and reporting staff only.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::extract::{Permit, ReadReports};
use crate::api::json::Json;
use crate::api::jurisdictions::path_id;
use crate::api::problem::Problem;
use crate::api::users::PageQuery;
use crate::domain::ids::SnapshotId;
use crate::error::AppError;
use crate::export::{self, Layout};
use crate::service::Services;
use crate::service::reports::{
    self, FigureCases, FigureKind, NewSnapshot, Report, ReportSpec, Snapshot, SnapshotDiff,
    SnapshotPage,
};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The export formats, as the document names them (`format` is parsed by hand so that a
/// wrong value is a 422 naming the field).
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum ExportFormat {
    Json,
    Csv,
    Xlsx,
}

/// The export layouts, as the document names them.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum ExportLayout {
    Tables,
    Long,
}

/// A snapshot: JSON, or its figures as a file.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// `json` (default), `csv` or `xlsx`; the `Accept` header works too.
    #[param(inline, value_type = Option<ExportFormat>)]
    pub format: Option<String>,
    /// For CSV and XLSX: `tables` (default) or `long`.
    #[param(inline, value_type = Option<ExportLayout>)]
    pub layout: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnnualQuery {
    /// Calendar year (days in the reporting time zone).
    pub year: i32,
    /// Count only events recorded up to this moment (RFC 3339), to reproduce an earlier report.
    pub as_of: Option<DateTime<Utc>>,
    /// `json` (default), `csv` or `xlsx`; the `Accept` header works too.
    #[param(inline, value_type = Option<ExportFormat>)]
    pub format: Option<String>,
    /// For CSV and XLSX: `tables` (default; the tables of the figures page) or `long` (one
    /// row per figure: `section, key, figure, value`).
    #[param(inline, value_type = Option<ExportLayout>)]
    pub layout: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// First day, inclusive.
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub from: NaiveDate,
    /// Last day, inclusive.
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub to: NaiveDate,
    pub as_of: Option<DateTime<Utc>>,
    #[param(inline, value_type = Option<ExportFormat>)]
    pub format: Option<String>,
    /// For CSV and XLSX: `tables` (default; the tables of the figures page) or `long` (one
    /// row per figure: `section, key, figure, value`).
    #[param(inline, value_type = Option<ExportLayout>)]
    pub layout: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CumulativeQuery {
    /// Last year included.
    pub through: i32,
    pub as_of: Option<DateTime<Utc>>,
    #[param(inline, value_type = Option<ExportFormat>)]
    pub format: Option<String>,
    /// For CSV and XLSX: `tables` (default; the tables of the figures page) or `long` (one
    /// row per figure: `section, key, figure, value`).
    #[param(inline, value_type = Option<ExportLayout>)]
    pub layout: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChartQuery {
    pub from: i32,
    pub to: i32,
}

enum Format {
    Json,
    Csv(Layout),
    Xlsx(Layout),
}

fn format(
    req: &HttpRequest,
    explicit: Option<&str>,
    layout: Option<&str>,
) -> Result<Format, AppError> {
    let layout = match layout {
        None => Layout::default(),
        Some(l) => {
            Layout::parse(l).ok_or_else(|| AppError::field("layout", "must be tables or long"))?
        }
    };
    match explicit {
        Some("json") => return Ok(Format::Json),
        Some("csv") => return Ok(Format::Csv(layout)),
        Some("xlsx") => return Ok(Format::Xlsx(layout)),
        Some(_) => return Err(AppError::field("format", "must be json, csv or xlsx")),
        None => {}
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(if accept.contains(XLSX) {
        Format::Xlsx(layout)
    } else if accept.contains("text/csv") {
        Format::Csv(layout)
    } else {
        Format::Json
    })
}

fn answer(report: &Report, format: Format) -> Result<HttpResponse, AppError> {
    if let Format::Json = format {
        return Ok(HttpResponse::Ok().json(report));
    }
    file(report, format, &report.report.file_stem(), &[])
}

/// A report as a CSV or XLSX download.
fn file(
    report: &Report,
    format: Format,
    stem: &str,
    extra: &[(&'static str, String)],
) -> Result<HttpResponse, AppError> {
    let (body, content_type, ext) = match format {
        Format::Json => return Err(AppError::internal("a JSON answer is not a file")),
        Format::Csv(l) => (
            export::to_csv(report, l, extra)?,
            "text/csv; charset=utf-8",
            "csv",
        ),
        Format::Xlsx(l) => (export::to_xlsx(report, l, extra)?, XLSX, "xlsx"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{stem}.{ext}\""),
        ))
        .body(body))
}

/// The figures of a calendar year.
#[utoipa::path(
    tag = "reports",
    params(AnnualQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "JSON, or CSV / XLSX as asked", content(
            (Report = "application/json"),
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/annual")]
pub async fn annual(
    svc: web::Data<Services>,
    req: HttpRequest,
    permit: Permit<ReadReports>,
    query: web::Query<AnnualQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let f = format(&req, q.format.as_deref(), q.layout.as_deref())?;
    let spec = ReportSpec::Annual { year: q.year };
    let report = reports::report(&svc, permit.into(), spec, q.as_of).await?;
    answer(&report, f)
}

/// The figures of any period (for example January to April).
#[utoipa::path(
    tag = "reports",
    params(RangeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "JSON, or CSV / XLSX as asked", content(
            (Report = "application/json"),
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/range")]
pub async fn range(
    svc: web::Data<Services>,
    req: HttpRequest,
    permit: Permit<ReadReports>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let f = format(&req, q.format.as_deref(), q.layout.as_deref())?;
    let spec = ReportSpec::Range {
        from: q.from,
        to: q.to,
    };
    let report = reports::report(&svc, permit.into(), spec, q.as_of).await?;
    answer(&report, f)
}

/// Totals since the first request through a year.
#[utoipa::path(
    tag = "reports",
    params(CumulativeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "JSON, or CSV / XLSX as asked", content(
            (Report = "application/json"),
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/cumulative")]
pub async fn cumulative(
    svc: web::Data<Services>,
    req: HttpRequest,
    permit: Permit<ReadReports>,
    query: web::Query<CumulativeQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let f = format(&req, q.format.as_deref(), q.layout.as_deref())?;
    let spec = ReportSpec::Cumulative { through: q.through };
    let report = reports::report(&svc, permit.into(), spec, q.as_of).await?;
    answer(&report, f)
}

/// A chart as the file asked for: SVG, or PNG rendered from it (off the request threads).
async fn chart_answer(bars: export::chart::Bars, png: bool) -> Result<HttpResponse, AppError> {
    let svg = bars.svg();
    if !png {
        return Ok(HttpResponse::Ok().content_type("image/svg+xml").body(svg));
    }
    let bytes = web::block(move || export::chart::png(&svg))
        .await
        .map_err(|e| AppError::internal(format!("chart: {e}")))??;
    Ok(HttpResponse::Ok().content_type("image/png").body(bytes))
}

/// Received against processed per year, as SVG.
#[utoipa::path(
    tag = "reports",
    params(ChartQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "SVG", content_type = "image/svg+xml"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/charts/annual.svg")]
pub async fn chart(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    query: web::Query<ChartQuery>,
) -> Result<HttpResponse, AppError> {
    let years = reports::yearly(&svc, permit.into(), query.from, query.to).await?;
    chart_answer(export::chart::annual(&years), false).await
}

/// The same chart as PNG, for documents and slides.
#[utoipa::path(
    tag = "reports",
    params(ChartQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "PNG", content_type = "image/png"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/charts/annual.png")]
pub async fn chart_png(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    query: web::Query<ChartQuery>,
) -> Result<HttpResponse, AppError> {
    let years = reports::yearly(&svc, permit.into(), query.from, query.to).await?;
    chart_answer(export::chart::annual(&years), true).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionChartQuery {
    /// First day, inclusive.
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub from: NaiveDate,
    /// Last day, inclusive.
    #[serde(deserialize_with = "crate::service::day::deserialize")]
    pub to: NaiveDate,
    /// How many jurisdictions get a bar of their own (1 to 30, default 10); the rest share one.
    pub top: Option<usize>,
}

async fn jurisdiction_bars(
    svc: &Services,
    permit: Permit<ReadReports>,
    q: &JurisdictionChartQuery,
) -> Result<export::chart::Bars, AppError> {
    let spec = ReportSpec::Range {
        from: q.from,
        to: q.to,
    };
    let rows =
        reports::received_by_jurisdiction(svc, permit.into(), spec, q.top.unwrap_or(10)).await?;
    Ok(export::chart::by_jurisdiction(&spec.title(), &rows))
}

/// Requests received by jurisdiction in a period (the largest, then the others together),
/// as SVG.
#[utoipa::path(
    tag = "reports",
    params(JurisdictionChartQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "SVG", content_type = "image/svg+xml"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/charts/jurisdictions.svg")]
pub async fn jurisdictions_chart(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    query: web::Query<JurisdictionChartQuery>,
) -> Result<HttpResponse, AppError> {
    chart_answer(jurisdiction_bars(&svc, permit, &query).await?, false).await
}

/// The same chart as PNG.
#[utoipa::path(
    tag = "reports",
    params(JurisdictionChartQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "PNG", content_type = "image/png"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/charts/jurisdictions.png")]
pub async fn jurisdictions_chart_png(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    query: web::Query<JurisdictionChartQuery>,
) -> Result<HttpResponse, AppError> {
    chart_answer(jurisdiction_bars(&svc, permit, &query).await?, true).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FigureQuery {
    /// `annual` (with `year`), `range` (with `from` and `to`) or `cumulative` (with `through`).
    pub report: String,
    pub year: Option<i32>,
    #[serde(default, deserialize_with = "crate::service::day::optional")]
    pub from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::service::day::optional")]
    pub to: Option<NaiveDate>,
    pub through: Option<i32>,
    /// `received`, `processed` or `reopened`.
    #[param(inline, value_type = FigureKind)]
    pub figure: String,
    /// Only this jurisdiction's part of the figure.
    pub jurisdiction_id: Option<String>,
    pub as_of: Option<DateTime<Utc>>,
}

/// What a figure is made of: its count and, for supervisors, the requests behind it by
/// reference (reporting staff get the count alone: figures, never case content).
#[utoipa::path(
    tag = "reports",
    params(FigureQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = FigureCases),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/figure")]
pub async fn figure(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    query: web::Query<FigureQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let mut errors = crate::service::validate::Errors::new();
    let figure = FigureKind::parse(&q.figure);
    if figure.is_none() {
        errors.add("figure", "must be received, processed or reopened");
    }
    let jurisdiction = match q.jurisdiction_id.as_deref() {
        None => None,
        Some(raw) => {
            let parsed = crate::domain::ids::JurisdictionId::parse(raw);
            if parsed.is_none() {
                errors.add("jurisdiction_id", "is not a UUID");
            }
            parsed
        }
    };
    let spec = reports::NewSnapshot {
        kind: q.report.clone(),
        year: q.year,
        from: q.from,
        to: q.to,
        through: q.through,
        as_of: None,
        label: None,
    }
    .spec_or(&mut errors, "report");
    errors.finish()?;
    let (Some(spec), Some(figure)) = (spec, figure) else {
        return Err(AppError::internal("figure parameters"));
    };
    let cases =
        reports::figure_cases(&svc, permit.into(), spec, q.as_of, figure, jurisdiction).await?;
    Ok(HttpResponse::Ok().json(cases))
}

/// Freeze a report: its parameters, figures, the events it covered and a SHA-256 digest.
#[utoipa::path(
    tag = "reports",
    request_body = NewSnapshot,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Snapshot),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/snapshots")]
pub async fn create_snapshot(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    body: Json<NewSnapshot>,
) -> Result<HttpResponse, AppError> {
    let s = reports::create_snapshot(&svc, permit.into(), body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/reports/snapshots/{}", s.id),
        ))
        .json(s))
}

/// Snapshots, oldest first.
#[utoipa::path(
    tag = "reports",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SnapshotPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/snapshots")]
pub async fn list_snapshots(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let limit = q.limit()?;
    let page = reports::list_snapshots(&svc, permit.into(), q.cursor, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One snapshot: JSON, or its figures as CSV or XLSX with its label and digest.
#[utoipa::path(
    tag = "reports",
    params(("id" = String, Path, description = "Snapshot id"), SnapshotQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "JSON, or CSV / XLSX as asked", content(
            (Snapshot = "application/json"),
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/snapshots/{id}")]
pub async fn get_snapshot(
    svc: web::Data<Services>,
    req: HttpRequest,
    permit: Permit<ReadReports>,
    id: web::Path<String>,
    query: web::Query<SnapshotQuery>,
) -> Result<HttpResponse, AppError> {
    let id = SnapshotId::from_stored(path_id(&id, "snapshot")?);
    let f = format(&req, query.format.as_deref(), query.layout.as_deref())?;
    let snapshot = reports::get_snapshot(&svc, permit.into(), id).await?;
    if let Format::Json = f {
        return Ok(HttpResponse::Ok().json(snapshot));
    }
    let report = reports::snapshot_report(&svc, &snapshot)?;
    file(
        &report,
        f,
        &snapshot.file_stem(),
        &reports::snapshot_facts(&snapshot),
    )
}

/// Compare a snapshot with the same report computed now: every figure that changed since.
#[utoipa::path(
    tag = "reports",
    params(("id" = String, Path, description = "Snapshot id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SnapshotDiff),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/snapshots/{id}/diff")]
pub async fn diff_snapshot(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = SnapshotId::from_stored(path_id(&id, "snapshot")?);
    Ok(HttpResponse::Ok().json(reports::diff_snapshot(&svc, permit.into(), id).await?))
}
