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
use crate::export;
use crate::service::Services;
use crate::service::reports::{
    self, NewSnapshot, Report, ReportSpec, Snapshot, SnapshotDiff, SnapshotPage,
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
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CumulativeQuery {
    /// Last year included.
    pub through: i32,
    pub as_of: Option<DateTime<Utc>>,
    #[param(inline, value_type = Option<ExportFormat>)]
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChartQuery {
    pub from: i32,
    pub to: i32,
}

enum Format {
    Json,
    Csv,
    Xlsx,
}

fn format(req: &HttpRequest, explicit: Option<&str>) -> Result<Format, AppError> {
    match explicit {
        Some("json") => return Ok(Format::Json),
        Some("csv") => return Ok(Format::Csv),
        Some("xlsx") => return Ok(Format::Xlsx),
        Some(_) => return Err(AppError::field("format", "must be json, csv or xlsx")),
        None => {}
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(if accept.contains(XLSX) {
        Format::Xlsx
    } else if accept.contains("text/csv") {
        Format::Csv
    } else {
        Format::Json
    })
}

fn answer(report: &Report, format: Format) -> Result<HttpResponse, AppError> {
    let stem = report.report.file_stem();
    let (body, content_type, ext) = match format {
        Format::Json => return Ok(HttpResponse::Ok().json(report)),
        Format::Csv => (export::to_csv(report)?, "text/csv; charset=utf-8", "csv"),
        Format::Xlsx => (export::to_xlsx(report)?, XLSX, "xlsx"),
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
    let f = format(&req, q.format.as_deref())?;
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
    let f = format(&req, q.format.as_deref())?;
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
    let f = format(&req, q.format.as_deref())?;
    let spec = ReportSpec::Cumulative { through: q.through };
    let report = reports::report(&svc, permit.into(), spec, q.as_of).await?;
    answer(&report, f)
}

/// An SVG chart of received against processed per year.
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
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .body(export::chart(&years)?))
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

/// One snapshot.
#[utoipa::path(
    tag = "reports",
    params(("id" = String, Path, description = "Snapshot id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Snapshot),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/snapshots/{id}")]
pub async fn get_snapshot(
    svc: web::Data<Services>,
    permit: Permit<ReadReports>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = SnapshotId::from_stored(path_id(&id, "snapshot")?);
    Ok(HttpResponse::Ok().json(reports::get_snapshot(&svc, permit.into(), id).await?))
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
