//! The registry: jurisdictions and requesting authorities. Administrators write; liaison
//! officers and supervisors read.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Serialize;

use crate::api::extract::{Permit, ReadRegistry, WriteRegistry};
use crate::api::fields::{Wire, every_error};
use crate::api::json::Json;
use crate::api::problem::Problem;
use crate::api::users::PageQuery;
use crate::api::versioned::{if_match, with_etag};
use crate::domain::ids::{AuthorityId, JurisdictionId};
use crate::error::AppError;
use crate::service::Services;
use crate::service::registry::{
    self, AssessmentView, AssuranceView, AuthorityPage, AuthorityView, ChangePage, CreateAuthority,
    CreateJurisdiction, FrameworkView, JurisdictionPage, JurisdictionView, NewAssessment,
    NewAssurance, NewFramework, UpdateAuthority, UpdateJurisdiction,
};
use serde_json::Value;

// Every registry body names all its wrong fields at once, as intake does.
impl Wire for CreateJurisdiction {
    const REQUIRED: &'static [&'static str] = &[
        "name",
        "country_code",
        "death_penalty_status",
        "competence_bases",
    ];
}

impl Wire for UpdateJurisdiction {
    const REQUIRED: &'static [&'static str] = &[];
}

impl Wire for NewAssessment {
    const REQUIRED: &'static [&'static str] = &[
        "outcome",
        "assessed_on",
        "review_due",
        "assessor",
        "summary",
    ];
}

impl Wire for NewAssurance {
    const REQUIRED: &'static [&'static str] = &["reference", "given_on"];
}

impl Wire for NewFramework {
    const REQUIRED: &'static [&'static str] = &["kind", "reference", "signed_on"];
}

impl Wire for CreateAuthority {
    const REQUIRED: &'static [&'static str] = &["name", "kind"];
}

impl Wire for UpdateAuthority {
    const REQUIRED: &'static [&'static str] = &[];
}

/// Ids in paths are UUIDs; anything else cannot name a record.
pub fn path_id(raw: &str, what: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| AppError::NotFound(format!("No such {what}.")))
}

fn jurisdiction_id(raw: &str) -> Result<JurisdictionId, AppError> {
    path_id(raw, "jurisdiction").map(JurisdictionId::from_stored)
}

fn created(location: String, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body)
}

/// A created resource that has a version: its `ETag` too.
fn created_versioned(location: String, version: i64, body: &impl Serialize) -> HttpResponse {
    let mut builder = HttpResponse::Created();
    builder.insert_header((header::LOCATION, location));
    with_etag(builder, version, body)
}

/// Add a jurisdiction.
#[utoipa::path(
    tag = "registry",
    request_body = CreateJurisdiction,
    security(("bearer" = [])),
    responses(
        (status = 201, body = JurisdictionView, headers(("ETag" = String), ("Location" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/jurisdictions")]
pub async fn create(
    svc: web::Data<Services>,
    permit: Permit<WriteRegistry>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let j =
        registry::create_jurisdiction(&svc, permit.into(), every_error(body.into_inner())?).await?;
    Ok(created_versioned(
        format!("/api/v1/jurisdictions/{}", j.id),
        j.version,
        &j,
    ))
}

/// List jurisdictions.
#[utoipa::path(
    tag = "registry",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = JurisdictionPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/jurisdictions")]
pub async fn list(
    svc: web::Data<Services>,
    permit: Permit<ReadRegistry>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let limit = q.limit()?;
    let page = registry::list_jurisdictions(&svc, permit.into(), q.cursor, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One jurisdiction with its assessments (history), assurances and frameworks.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = JurisdictionView, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/jurisdictions/{id}")]
pub async fn get(
    svc: web::Data<Services>,
    permit: Permit<ReadRegistry>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = jurisdiction_id(&id)?;
    let j = registry::get_jurisdiction(&svc, permit.into(), id).await?;
    Ok(with_etag(HttpResponse::Ok(), j.version, &j))
}

/// Change a jurisdiction's name, country, death-penalty status, competence bases or active
/// flag. Needs `If-Match` (the jurisdiction's `version`).
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id"), ("If-Match" = String, Header)),
    request_body = UpdateJurisdiction,
    security(("bearer" = [])),
    responses(
        (status = 200, body = JurisdictionView, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/jurisdictions/{id}")]
pub async fn update(
    svc: web::Data<Services>,
    req: HttpRequest,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = jurisdiction_id(&id)?;
    let changes = every_error(body.into_inner())?;
    let j = registry::update_jurisdiction(&svc, permit.into(), id, changes, if_match(&req)).await?;
    Ok(with_etag(HttpResponse::Ok(), j.version, &j))
}

/// Record a human-rights assessment (kept as history; the latest by date counts).
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id")),
    request_body = NewAssessment,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AssessmentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/jurisdictions/{id}/assessments")]
pub async fn add_assessment(
    svc: web::Data<Services>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = jurisdiction_id(&id)?;
    let a = registry::add_assessment(
        &svc,
        permit.into(),
        id.clone(),
        every_error(body.into_inner())?,
    )
    .await?;
    Ok(created(format!("/api/v1/jurisdictions/{id}"), &a))
}

/// Record a standing death-penalty assurance of the jurisdiction.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id")),
    request_body = NewAssurance,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AssuranceView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/jurisdictions/{id}/assurances")]
pub async fn add_assurance(
    svc: web::Data<Services>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = jurisdiction_id(&id)?;
    let a = registry::add_assurance(
        &svc,
        permit.into(),
        id.clone(),
        every_error(body.into_inner())?,
    )
    .await?;
    Ok(created(format!("/api/v1/jurisdictions/{id}"), &a))
}

/// Record a cooperation framework.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id")),
    request_body = NewFramework,
    security(("bearer" = [])),
    responses(
        (status = 201, body = FrameworkView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/jurisdictions/{id}/frameworks")]
pub async fn add_framework(
    svc: web::Data<Services>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = jurisdiction_id(&id)?;
    let f = registry::add_framework(
        &svc,
        permit.into(),
        id.clone(),
        every_error(body.into_inner())?,
    )
    .await?;
    Ok(created(format!("/api/v1/jurisdictions/{id}"), &f))
}

/// Every change to the jurisdiction and its authorities: what, who, when, oldest first.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ChangePage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/jurisdictions/{id}/history")]
pub async fn history(
    svc: web::Data<Services>,
    permit: Permit<ReadRegistry>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = jurisdiction_id(&id)?;
    let q = query.into_inner();
    let limit = q.limit()?;
    let page = registry::history(&svc, permit.into(), id, q.cursor, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Add a requesting authority under the jurisdiction.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id")),
    request_body = CreateAuthority,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AuthorityView, headers(("ETag" = String), ("Location" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/jurisdictions/{id}/authorities")]
pub async fn create_authority(
    svc: web::Data<Services>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = jurisdiction_id(&id)?;
    let a = registry::create_authority(
        &svc,
        permit.into(),
        id.clone(),
        every_error(body.into_inner())?,
    )
    .await?;
    Ok(created_versioned(
        format!("/api/v1/jurisdictions/{id}/authorities/{}", a.id),
        a.version,
        &a,
    ))
}

/// The jurisdiction's requesting authorities.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuthorityPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/jurisdictions/{id}/authorities")]
pub async fn list_authorities(
    svc: web::Data<Services>,
    permit: Permit<ReadRegistry>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = jurisdiction_id(&id)?;
    let q = query.into_inner();
    let limit = q.limit()?;
    let page = registry::list_authorities(&svc, permit.into(), id, q.cursor, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Change an authority's name, kind, contact address or active flag. Needs `If-Match` (the
/// authority's `version`).
#[utoipa::path(
    tag = "registry",
    params(
        ("id" = String, Path, description = "Jurisdiction id"),
        ("aid" = String, Path, description = "Authority id"),
        ("If-Match" = String, Header),
    ),
    request_body = UpdateAuthority,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuthorityView, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/jurisdictions/{id}/authorities/{aid}")]
pub async fn update_authority(
    svc: web::Data<Services>,
    req: HttpRequest,
    permit: Permit<WriteRegistry>,
    path: web::Path<(String, String)>,
    body: Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (id, aid) = path.into_inner();
    let id = jurisdiction_id(&id)?;
    let aid = AuthorityId::from_stored(path_id(&aid, "authority")?);
    let a = registry::update_authority(
        &svc,
        permit.into(),
        id,
        aid,
        every_error(body.into_inner())?,
        if_match(&req),
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok(), a.version, &a))
}
