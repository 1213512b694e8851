//! A request's documents over HTTP: a multipart upload streamed into the store, the list,
//! a document's metadata, its bytes (served as an attachment, never rendered by the
//! browser), and withdrawal.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::rfa_id;
use crate::api::extract::Auth;
use crate::api::json::Json;
use crate::api::problem::Problem;
use crate::domain::documents::DocumentKind;
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::rfas::documents::{
    self, DocumentCheck, DocumentList, DocumentView, NewDocument, Staged,
};

/// The largest text field of an upload form (kind, description, language).
const MAX_TEXT_FIELD: usize = 4096;

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

fn malformed(e: actix_multipart::MultipartError) -> AppError {
    AppError::Malformed(format!("The upload is not a readable multipart form: {e}"))
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
    mut form: Multipart,
) -> Result<HttpResponse, AppError> {
    let id = rfa_id(&path)?;
    let who = auth.0;
    // Who may add comes before anything is read into the store.
    let mut staged: Option<Staged> = None;
    let mut doc = NewDocument {
        kind: None,
        file_name: String::new(),
        description: None,
        language: None,
    };
    let mut errors: Vec<FieldError> = Vec::new();
    let mut started = Some(documents::start_upload(&svc, who.clone().into(), id.clone()).await?);
    let outcome: Result<(), AppError> = async {
        while let Some(mut field) = form.try_next().await.map_err(malformed)? {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                let Some(mut upload) = started.take() else {
                    errors.push(FieldError::new("file", "must be sent once: one document per request"));
                    while field.next().await.is_some() {}
                    continue;
                };
                doc.file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or("document")
                    .to_string();
                while let Some(chunk) = field.next().await {
                    let chunk = match chunk {
                        Ok(c) => c,
                        Err(e) => {
                            upload.abandon().await;
                            return Err(malformed(e));
                        }
                    };
                    if let Err(e) = upload.write(&chunk).await {
                        upload.abandon().await;
                        return Err(e);
                    }
                }
                staged = Some(upload.finish().await?);
                continue;
            }
            let mut text = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(malformed)?;
                if text.len() + chunk.len() > MAX_TEXT_FIELD {
                    return Err(AppError::field(name, "is too long"));
                }
                text.extend_from_slice(&chunk);
            }
            let Ok(text) = String::from_utf8(text) else {
                errors.push(FieldError::new(name, "is not UTF-8 text"));
                continue;
            };
            match name.as_str() {
                "kind" => match DocumentKind::parse(text.trim()) {
                    Some(k) => doc.kind = Some(k),
                    None => errors.push(FieldError::new(
                        "kind",
                        "must be request_letter, annex, translation, response, correspondence or other",
                    )),
                },
                "description" => doc.description = Some(text),
                "language" => doc.language = Some(text),
                _ => errors.push(FieldError::new(name, "is not a field of this form")),
            }
        }
        Ok(())
    }
    .await;
    if let Some(upload) = started.take() {
        upload.abandon().await;
        if outcome.is_ok() {
            errors.push(FieldError::new("file", "is required"));
        }
    }
    if let Err(e) = outcome {
        if let Some(s) = staged {
            documents::discard(&svc, s).await;
        }
        return Err(e);
    }
    if !errors.is_empty() {
        if let Some(s) = staged {
            documents::discard(&svc, s).await;
        }
        return Err(AppError::Validation(errors));
    }
    let Some(staged) = staged else {
        return Err(AppError::field("file", "is required"));
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

/// The bytes as a download that no browser renders or sniffs, with a safe suggested name.
pub fn serve(view: &DocumentView, checked: documents::Checked) -> HttpResponse {
    let name = documents::download_name(view);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, view.media_type.as_str()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::CONTENT_LENGTH, checked.size.to_string()))
        .streaming(documents::bytes_of(checked))
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
