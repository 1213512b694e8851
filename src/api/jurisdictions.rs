//! The registry: jurisdictions and requesting authorities. Administrators write; liaison
//! officers and supervisors read.

use actix_web::http::header;
use actix_web::{HttpResponse, get, patch, post, web};
use serde::Serialize;

use crate::api::extract::{Permit, ReadRegistry, WriteRegistry};
use crate::api::json::Json;
use crate::api::problem::Problem;
use crate::api::users::PageQuery;
use crate::error::AppError;
use crate::service::registry::{
    self, AssessmentView, AssuranceView, AuthorityPage, AuthorityView, ChangePage, CreateAuthority,
    CreateJurisdiction, FrameworkView, JurisdictionPage, JurisdictionView, NewAssessment,
    NewAssurance, NewFramework, UpdateAuthority, UpdateJurisdiction,
};
use crate::state::AppState;

/// Ids in paths are UUIDs; anything else cannot name a record.
pub fn path_id(raw: &str, what: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| AppError::NotFound(format!("No such {what}.")))
}

fn created(location: String, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body)
}

/// Add a jurisdiction.
#[utoipa::path(
    tag = "registry",
    request_body = CreateJurisdiction,
    security(("bearer" = [])),
    responses(
        (status = 201, body = JurisdictionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/jurisdictions")]
pub async fn create(
    state: web::Data<AppState>,
    permit: Permit<WriteRegistry>,
    body: Json<CreateJurisdiction>,
) -> Result<HttpResponse, AppError> {
    let actor = permit.0.principal.user_id;
    let j = registry::create_jurisdiction(&state, actor, body.into_inner()).await?;
    Ok(created(format!("/api/v1/jurisdictions/{}", j.id), &j))
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
#[get("/api/v1/jurisdictions")]
pub async fn list(
    state: web::Data<AppState>,
    _: Permit<ReadRegistry>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let limit = q.limit()?;
    Ok(HttpResponse::Ok().json(registry::list_jurisdictions(&state, q.cursor, limit).await?))
}

/// One jurisdiction with its assessments (history), assurances and frameworks.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = JurisdictionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/jurisdictions/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _: Permit<ReadRegistry>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "jurisdiction")?;
    Ok(HttpResponse::Ok().json(registry::get_jurisdiction(&state, id).await?))
}

/// Change a jurisdiction's name, country, death-penalty status, competence bases or active flag.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id")),
    request_body = UpdateJurisdiction,
    security(("bearer" = [])),
    responses(
        (status = 200, body = JurisdictionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/api/v1/jurisdictions/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<UpdateJurisdiction>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "jurisdiction")?;
    let actor = permit.0.principal.user_id;
    Ok(HttpResponse::Ok()
        .json(registry::update_jurisdiction(&state, actor, id, body.into_inner()).await?))
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
#[post("/api/v1/jurisdictions/{id}/assessments")]
pub async fn add_assessment(
    state: web::Data<AppState>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<NewAssessment>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "jurisdiction")?;
    let a = registry::add_assessment(
        &state,
        permit.0.principal.user_id,
        id.clone(),
        body.into_inner(),
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
#[post("/api/v1/jurisdictions/{id}/assurances")]
pub async fn add_assurance(
    state: web::Data<AppState>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<NewAssurance>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "jurisdiction")?;
    let a = registry::add_assurance(
        &state,
        permit.0.principal.user_id,
        id.clone(),
        body.into_inner(),
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
#[post("/api/v1/jurisdictions/{id}/frameworks")]
pub async fn add_framework(
    state: web::Data<AppState>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<NewFramework>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "jurisdiction")?;
    let f = registry::add_framework(
        &state,
        permit.0.principal.user_id,
        id.clone(),
        body.into_inner(),
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
#[get("/api/v1/jurisdictions/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    _: Permit<ReadRegistry>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "jurisdiction")?;
    let q = query.into_inner();
    let limit = q.limit()?;
    Ok(HttpResponse::Ok().json(registry::history(&state, id, q.cursor, limit).await?))
}

/// Add a requesting authority under the jurisdiction.
#[utoipa::path(
    tag = "registry",
    params(("id" = String, Path, description = "Jurisdiction id")),
    request_body = CreateAuthority,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AuthorityView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/jurisdictions/{id}/authorities")]
pub async fn create_authority(
    state: web::Data<AppState>,
    permit: Permit<WriteRegistry>,
    id: web::Path<String>,
    body: Json<CreateAuthority>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "jurisdiction")?;
    let a = registry::create_authority(
        &state,
        permit.0.principal.user_id,
        id.clone(),
        body.into_inner(),
    )
    .await?;
    Ok(created(
        format!("/api/v1/jurisdictions/{id}/authorities/{}", a.id),
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
#[get("/api/v1/jurisdictions/{id}/authorities")]
pub async fn list_authorities(
    state: web::Data<AppState>,
    _: Permit<ReadRegistry>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "jurisdiction")?;
    let q = query.into_inner();
    let limit = q.limit()?;
    Ok(HttpResponse::Ok().json(registry::list_authorities(&state, id, q.cursor, limit).await?))
}

/// Change an authority's name, kind, contact address or active flag.
#[utoipa::path(
    tag = "registry",
    params(
        ("id" = String, Path, description = "Jurisdiction id"),
        ("aid" = String, Path, description = "Authority id"),
    ),
    request_body = UpdateAuthority,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuthorityView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/api/v1/jurisdictions/{id}/authorities/{aid}")]
pub async fn update_authority(
    state: web::Data<AppState>,
    permit: Permit<WriteRegistry>,
    path: web::Path<(String, String)>,
    body: Json<UpdateAuthority>,
) -> Result<HttpResponse, AppError> {
    let (id, aid) = path.into_inner();
    let (id, aid) = (path_id(&id, "jurisdiction")?, path_id(&aid, "authority")?);
    let a = registry::update_authority(
        &state,
        permit.0.principal.user_id,
        id,
        aid,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(a))
}
