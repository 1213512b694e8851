//! A request's documents over HTTP: a multipart upload streamed into the store, the list,
//! a document's metadata, its bytes (served as an attachment, never rendered by the
//! browser), and withdrawal.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::rfa_id;
use crate::api::extract::Auth;
use crate::api::json::Json;
use crate::api::problem::Problem;
use crate::error::AppError;
use crate::service::Services;
use crate::service::rfas::documents::{self, DocumentCheck, DocumentList, DocumentView};
use crate::transport::documents::{Received, receive, serve};

/// The upload form (`multipart/form-data`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The document; its type is recognised from its content.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `request_letter`, `annex`, `translation`, `response`, `correspondence` or `other`.
    kind: String,
    description: Option<String>,
    /// The document's language (for example `de` or `ar`).
    language: Option<String>,
}

/// Add a document: `multipart/form-data` with `file` (one per request) and `kind`,
/// optionally `description` and `language`. The upload is streamed to the store while its
/// SHA-256 is computed; its type is recognised from its bytes (415 for anything not on the
/// allow list), at most `documents.max_bytes` (413). Adding is an event in the request's
/// hash chain.
#[utoipa::path(
    tag = "documents",
    params(("id" = String, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = DocumentView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/rfas/{id}/documents")]
pub async fn upload(
    svc: web::Data<Services>,
    auth: Auth,
    path: web::Path<String>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    let id = rfa_id(&path)?;
    let who = auth.0;
    let (staged, doc) = match receive(&svc, &who, &id, form, None).await? {
        Received::Form {
            staged: Some(staged),
            doc,
            errors,
        } if errors.is_empty() => (staged, doc),
        Received::Form { staged, errors, .. } => {
            if let Some(s) = staged {
                documents::discard(&svc, s).await;
            }
            return Err(AppError::Validation(errors));
        }
        Received::Forged => return Err(AppError::internal("an API upload checked no token")),
    };
    let view = documents::add(&svc, who.into(), id, staged, doc).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/rfas/{}/documents/{}", view.rfa_id, view.id),
        ))
        .json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Also list withdrawn documents (with who withdrew them and why).
    pub withdrawn: Option<bool>,
}

/// A request's documents, oldest first (withdrawn ones with `withdrawn=true`).
#[utoipa::path(
    tag = "documents",
    params(("id" = String, Path), ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DocumentList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/rfas/{id}/documents")]
pub async fn list(
    svc: web::Data<Services>,
    auth: Auth,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let id = rfa_id(&path)?;
    let all = query.withdrawn.unwrap_or(false);
    Ok(HttpResponse::Ok().json(documents::list(&svc, auth.into(), id, all).await?))
}

fn doc_id(raw: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| AppError::NotFound("No such document.".into()))
}

/// One document's metadata.
#[utoipa::path(
    tag = "documents",
    params(("id" = String, Path), ("doc_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DocumentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/rfas/{id}/documents/{doc_id}")]
pub async fn get(
    svc: web::Data<Services>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, doc) = (rfa_id(&path.0)?, doc_id(&path.1)?);
    Ok(HttpResponse::Ok().json(documents::get(&svc, auth.into(), id, doc).await?))
}

/// A document's bytes, as an attachment of its recognised type. Every download is recorded;
/// the bytes are checked against their SHA-256 first, and refused (500, reported) when they
/// no longer match.
#[utoipa::path(
    tag = "documents",
    params(("id" = String, Path), ("doc_id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document's bytes, of its `media_type`", content_type = "application/octet-stream"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 500, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/rfas/{id}/documents/{doc_id}/content")]
pub async fn content(
    svc: web::Data<Services>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, doc) = (rfa_id(&path.0)?, doc_id(&path.1)?);
    let (view, checked) = documents::content(&svc, auth.into(), id, doc).await?;
    Ok(serve(&view, checked))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// Why it is withdrawn (kept with it).
    pub reason: String,
}

/// Withdraw a document (supervisors): it is kept, with who withdrew it, when and why, and
/// leaves the default list. An event in the request's hash chain.
#[utoipa::path(
    tag = "documents",
    params(("id" = String, Path), ("doc_id" = String, Path)),
    request_body = WithdrawBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DocumentView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/rfas/{id}/documents/{doc_id}/withdraw")]
pub async fn withdraw(
    svc: web::Data<Services>,
    auth: Auth,
    path: web::Path<(String, String)>,
    body: Json<WithdrawBody>,
) -> Result<HttpResponse, AppError> {
    let (id, doc) = (rfa_id(&path.0)?, doc_id(&path.1)?);
    let reason = body.into_inner().reason;
    Ok(HttpResponse::Ok().json(documents::withdraw(&svc, auth.into(), id, doc, reason).await?))
}

/// Read every stored document and check its bytes against its SHA-256 (administrators).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, body = DocumentCheck),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit/documents")]
pub async fn verify(svc: web::Data<Services>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(documents::verify_documents(&svc, auth.into()).await?))
}
