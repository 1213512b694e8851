//! Documents over HTTP, the same for the API and the screens: receiving a multipart upload
//! into the store chunk by chunk, and serving a document's bytes as a download no browser
//! renders.

use actix_multipart::Multipart;
use actix_web::HttpResponse;
use actix_web::http::header;
use futures_util::{StreamExt, TryStreamExt};
use subtle::ConstantTimeEq;

use crate::domain::documents::DocumentKind;
use crate::domain::ids::RfaId;
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::accounts::Authenticated;
use crate::service::rfas::documents::{self, Checked, DocumentView, NewDocument, Staged};

/// The largest text field of an upload form (kind, description, language, the CSRF token).
const MAX_TEXT_FIELD: usize = 4096;

/// What an upload form brought.
pub enum Received {
    /// The file staged and what the form says about it, with the wrong fields (if any: the
    /// staged file must then be discarded).
    Form {
        staged: Option<Staged>,
        doc: NewDocument,
        errors: Vec<FieldError>,
    },
    /// The form's first field was not the expected token (the screens' CSRF check): nothing
    /// was read into the store.
    Forged,
}

fn malformed(e: actix_multipart::MultipartError) -> AppError {
    AppError::Malformed(format!("The upload is not a readable multipart form: {e}"))
}

/// Reads an upload form: `file` (once), `kind`, `description`, `language`. With
/// `first_field`, the form must begin with that field carrying that value (compared in
/// constant time) before anything else is read. The caller is checked for adding documents
/// to the request before a byte goes to the store.
pub async fn receive(
    svc: &Services,
    who: &Authenticated,
    id: &RfaId,
    mut form: Multipart,
    first_field: Option<(&str, &str)>,
) -> Result<Received, AppError> {
    let mut doc = NewDocument {
        kind: None,
        file_name: String::new(),
        description: None,
        language: None,
    };
    let mut errors = Vec::new();
    let mut staged: Option<Staged> = None;
    let mut expect_first = first_field;
    if expect_first.is_none() {
        // Who may not add documents here is told so before the body is read.
        documents::may_add(svc, who.clone().into(), id.clone()).await?;
    }
    let outcome: Result<(), AppError> = async {
        while let Some(mut field) = form.try_next().await.map_err(malformed)? {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" && expect_first.is_none() {
                if staged.is_some() {
                    errors.push(FieldError::new("file", "must be sent once: one document per request"));
                    while field.next().await.is_some() {}
                    continue;
                }
                let mut up = documents::start_upload(svc, who.clone().into(), id.clone()).await?;
                doc.file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or("document")
                    .to_string();
                while let Some(chunk) = field.next().await {
                    let written = match chunk {
                        Ok(c) => up.write(&c).await,
                        Err(e) => Err(malformed(e)),
                    };
                    if let Err(e) = written {
                        up.abandon().await;
                        return Err(e);
                    }
                }
                staged = Some(up.finish().await?);
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
            let text = String::from_utf8(text).unwrap_or_default();
            if let Some((want, value)) = expect_first.take() {
                let ok = name == want && bool::from(text.as_bytes().ct_eq(value.as_bytes()));
                if !ok {
                    return Err(AppError::Forbidden("forged".into()));
                }
                continue;
            }
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
    match outcome {
        Err(AppError::Forbidden(m)) if m == "forged" => Ok(Received::Forged),
        Err(e) => {
            if let Some(s) = staged {
                documents::discard(svc, s).await;
            }
            Err(e)
        }
        Ok(()) if expect_first.is_some() => Ok(Received::Forged),
        Ok(()) => {
            if staged.is_none() {
                // Who may not add documents hears so, rather than that the file is missing.
                documents::may_add(svc, who.clone().into(), id.clone()).await?;
                errors.push(FieldError::new("file", "is required"));
            }
            Ok(Received::Form {
                staged,
                doc,
                errors,
            })
        }
    }
}

/// The bytes as a download that no browser renders or sniffs, with a safe suggested name.
pub fn serve(view: &DocumentView, checked: Checked) -> HttpResponse {
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
        .no_chunking(checked.size)
        .streaming(documents::bytes_of(checked))
}
