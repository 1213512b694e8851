//! A case's documents on the screens: the list on the case page (`case.rs`), adding one (a
//! multipart form whose first field is the CSRF token, checked before a byte is stored),
//! downloading one, and withdrawing one with a reason (supervisors).

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;

use super::actions::{ActionPage, Choice, Field};
use super::page::{PageError, UserBar, render, see_other};
use super::session::{self, Signed};
use super::words;
use crate::domain::documents::DocumentKind;
use crate::domain::ids::RfaId;
use crate::domain::policy::Action;
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::rfas::{self, RfaView, documents};
use crate::transport::documents::{Received, receive, serve};

/// A document as the case page lists it.
pub struct DocumentLine {
    pub name: String,
    pub href: String,
    pub kind: String,
    pub media: &'static str,
    pub size: String,
    pub added: String,
    pub sha256: String,
    pub description: Option<String>,
    pub withdraw_href: Option<String>,
}

/// A size in words: bytes, KiB or MiB.
pub fn size_words(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} bytes"),
        b if b < 1024 * 1024 => format!("{:.0} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn kind_words(k: DocumentKind) -> String {
    words::plain(k.as_str())
}

/// The case page's list of documents, and whether the user may add to it.
pub async fn lines(
    svc: &Services,
    signed: &Signed,
    rfa: &RfaView,
) -> Result<Vec<DocumentLine>, PageError> {
    let id = RfaId::from_stored(rfa.id.clone());
    let list = documents::list(svc, signed.caller(), id, false).await?;
    let may_withdraw = signed.may(Action::WithdrawDocument, &rfa.jurisdiction_id);
    Ok(list
        .items
        .into_iter()
        .map(|d| DocumentLine {
            href: format!("/cases/{}/documents/{}", rfa.id, d.id),
            withdraw_href: may_withdraw
                .then(|| format!("/cases/{}/documents/{}/withdraw", rfa.id, d.id)),
            name: d.file_name,
            kind: kind_words(d.kind),
            media: d.media_type.label(),
            size: size_words(d.size),
            added: format!(
                "{}, {}",
                d.added_by.display_name,
                words::day(d.added_at.date_naive())
            ),
            sha256: d.sha256,
            description: d.description,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "document_new.html")]
struct NewDocumentPage {
    user: Option<UserBar>,
    csrf: String,
    case_href: String,
    reference: String,
    subject: String,
    kinds: Vec<Choice>,
    description: String,
    language: String,
    errors: Vec<(String, String)>,
    max_mib: u64,
    accepted: &'static str,
}

impl NewDocumentPage {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

fn case_id(raw: &str) -> Result<RfaId, PageError> {
    RfaId::parse(raw).ok_or_else(|| PageError::Service(AppError::NotFound("no such case".into())))
}

async fn case_for_upload(
    svc: &Services,
    signed: &Signed,
    id: &RfaId,
) -> Result<RfaView, PageError> {
    let rfa = rfas::get(svc, signed.caller(), id.clone()).await?;
    if !signed.may(Action::AddDocument, &rfa.jurisdiction_id) {
        return Err(PageError::Service(AppError::Forbidden(
            "Your roles do not permit this.".into(),
        )));
    }
    Ok(rfa)
}

fn new_page(
    svc: &Services,
    signed: &Signed,
    rfa: &RfaView,
    kind: Option<DocumentKind>,
    description: String,
    language: String,
    errors: Vec<FieldError>,
) -> NewDocumentPage {
    let sentence = |e: &FieldError| {
        // The API's message lists the kinds by their codes; the form offers them by name.
        if e.field == "kind" {
            return "Choose what the document is.".to_string();
        }
        let label = match e.field.as_str() {
            "file" => "The file",
            "kind" => "What it is",
            "description" => "The description",
            "language" => "The language",
            _ => "This",
        };
        let m = e.message.trim_end_matches('.');
        if m.chars().next().is_some_and(char::is_uppercase) {
            format!("{m}.")
        } else {
            format!("{label} {m}.")
        }
    };
    NewDocumentPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        case_href: format!("/cases/{}", rfa.id),
        reference: rfa.reference.clone(),
        subject: rfa.subject.clone(),
        kinds: DocumentKind::ALL
            .iter()
            .map(|k| Choice {
                value: k.as_str().into(),
                label: kind_words(*k),
                selected: kind == Some(*k),
            })
            .collect(),
        description,
        language,
        errors: errors
            .iter()
            .map(|e| {
                let field = match e.field.as_str() {
                    "kind" | "description" | "language" => e.field.clone(),
                    _ => "file".into(),
                };
                (field, sentence(e))
            })
            .collect(),
        max_mib: svc.settings().documents.max_bytes / (1024 * 1024),
        accepted: crate::domain::documents::ACCEPTED,
    }
}

#[get("/cases/{id}/documents/new")]
pub async fn form(
    svc: Data<Services>,
    signed: Signed,
    path: Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = case_id(&path)?;
    let rfa = case_for_upload(&svc, &signed, &id).await?;
    let page = new_page(
        &svc,
        &signed,
        &rfa,
        None,
        String::new(),
        String::new(),
        Vec::new(),
    );
    Ok(render(StatusCode::OK, &page))
}

#[post("/cases/{id}/documents")]
pub async fn add(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<String>,
    upload: Multipart,
) -> Result<HttpResponse, PageError> {
    session::same_origin(&req, &svc)?;
    let id = case_id(&path)?;
    let rfa = case_for_upload(&svc, &signed, &id).await?;
    let csrf = signed.0.csrf.clone();
    let refused = |kind, description: Option<String>, language: Option<String>, e: AppError| {
        let (status, errors) = match e {
            AppError::Validation(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
            AppError::UnsupportedType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                vec![FieldError::new("file", m)],
            ),
            AppError::TooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                vec![FieldError::new("file", m)],
            ),
            AppError::Malformed(_) => (
                StatusCode::BAD_REQUEST,
                vec![FieldError::new(
                    "file",
                    "The upload did not arrive whole. Try again.",
                )],
            ),
            other => return Err(PageError::Service(other)),
        };
        let page = new_page(
            &svc,
            &signed,
            &rfa,
            kind,
            description.unwrap_or_default(),
            language.unwrap_or_default(),
            errors,
        );
        Ok(render(status, &page))
    };
    let received = match receive(&svc, &signed.0.who, &id, upload, Some(("csrf", &csrf))).await {
        Ok(r) => r,
        Err(e) => return refused(None, None, None, e),
    };
    let (staged, doc) = match received {
        Received::Forged => {
            return Err(PageError::ForgedForm(
                "This form is out of date or did not come from this service.",
            ));
        }
        Received::Form {
            staged: Some(staged),
            doc,
            errors,
        } if errors.is_empty() => (staged, doc),
        Received::Form {
            staged,
            doc,
            errors,
        } => {
            if let Some(s) = staged {
                documents::discard(&svc, s).await;
            }
            return refused(
                doc.kind,
                doc.description,
                doc.language,
                AppError::Validation(errors),
            );
        }
    };
    let (kind, description, language) = (doc.kind, doc.description.clone(), doc.language.clone());
    match documents::add(&svc, signed.caller(), id, staged, doc).await {
        Ok(d) => Ok(see_other(&format!("/cases/{}?done=add_document", d.rfa_id))),
        Err(e) => refused(kind, description, language, e),
    }
}

#[get("/cases/{id}/documents/{doc}")]
pub async fn download(
    svc: Data<Services>,
    signed: Signed,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let id = case_id(&path.0)?;
    let doc = uuid::Uuid::parse_str(&path.1)
        .map_err(|_| PageError::Service(AppError::NotFound("no such document".into())))?
        .to_string();
    let (view, checked) = documents::content(&svc, signed.caller(), id, doc).await?;
    Ok(serve(&view, checked))
}

fn withdraw_page(
    signed: &Signed,
    rfa: &RfaView,
    doc: &documents::DocumentView,
    reason: String,
    error: Option<String>,
) -> ActionPage {
    ActionPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        case_href: format!("/cases/{}", rfa.id),
        reference: rfa.reference.clone(),
        subject: format!(
            "{} ({}, added by {})",
            doc.file_name,
            kind_words(doc.kind).to_lowercase(),
            doc.added_by.display_name
        ),
        title: "Withdraw a document",
        button: "Withdraw the document",
        warning: true,
        post_to: format!("/cases/{}/documents/{}/withdraw", rfa.id, doc.id),
        version: rfa.version,
        fields: vec![Field {
            name: "reason",
            label: "Why is it withdrawn?",
            kind: "textarea",
            hint: Some(
                "The document is kept, with your name and this reason; it leaves the case's list of documents.",
            ),
            value: reason,
            options: Vec::new(),
            error: error.clone(),
        }],
        errors: error
            .map(|e| vec![("reason".to_string(), e)])
            .unwrap_or_default(),
        changed: None,
    }
}

async fn withdrawable(
    svc: &Services,
    signed: &Signed,
    path: &(String, String),
) -> Result<(RfaView, documents::DocumentView), PageError> {
    let id = case_id(&path.0)?;
    let rfa = rfas::get(svc, signed.caller(), id.clone()).await?;
    if !signed.may(Action::WithdrawDocument, &rfa.jurisdiction_id) {
        return Err(PageError::Service(AppError::Forbidden(
            "Your roles do not permit this.".into(),
        )));
    }
    let doc = uuid::Uuid::parse_str(&path.1)
        .map_err(|_| PageError::Service(AppError::NotFound("no such document".into())))?
        .to_string();
    let doc = documents::get(svc, signed.caller(), id, doc).await?;
    Ok((rfa, doc))
}

#[get("/cases/{id}/documents/{doc}/withdraw")]
pub async fn withdraw_form(
    svc: Data<Services>,
    signed: Signed,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (rfa, doc) = withdrawable(&svc, &signed, &path).await?;
    Ok(render(
        StatusCode::OK,
        &withdraw_page(&signed, &rfa, &doc, String::new(), None),
    ))
}

#[post("/cases/{id}/documents/{doc}/withdraw")]
pub async fn withdraw(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    session::checked_form(&req, &svc, &signed, &value("csrf"))?;
    let (rfa, doc) = withdrawable(&svc, &signed, &path).await?;
    let id = RfaId::from_stored(rfa.id.clone());
    match documents::withdraw(&svc, signed.caller(), id, doc.id.clone(), value("reason")).await {
        Ok(_) => Ok(see_other(&format!(
            "/cases/{}?done=withdraw_document",
            rfa.id
        ))),
        Err(AppError::Validation(_)) => Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &withdraw_page(
                &signed,
                &rfa,
                &doc,
                value("reason"),
                Some("Say why the document is withdrawn.".into()),
            ),
        )),
        Err(e) => Err(PageError::Service(e)),
    }
}
