//! A request's documents: adding one (its bytes already staged in the store), listing,
//! reading (every download recorded, the bytes checked against their SHA-256 first),
//! withdrawing one with a reason (nothing is deleted), and the check of every stored
//! document. Adding and withdrawing are events in the request's hash chain.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::load_for;
use super::summary::PersonName;
use super::view::{Names, names_of, person};
use crate::db::documents::{self as store, DocumentRow};
pub use crate::documents::{Checked, Staged};
use crate::documents::{Stager, StoreError, TooLarge};
use crate::domain::documents::{DocumentKind, MediaType, ZipContents, recognise};
use crate::domain::ids::RfaId;
use crate::domain::policy::{self, Action};
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;
use crate::service::chain::{Appender, NewEvent};
use crate::service::validate::Errors;

/// A document as the case file shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub rfa_id: String,
    pub kind: DocumentKind,
    /// Recognised from the bytes, never taken from the client.
    #[schema(value_type = String, example = "application/pdf")]
    #[serde(serialize_with = "media_type_name")]
    pub media_type: MediaType,
    /// SHA-256 of the bytes, in hex: checked whenever they are served.
    pub sha256: String,
    pub size: i64,
    /// The name it was sent under, cleaned (display only).
    pub file_name: String,
    pub description: Option<String>,
    pub language: Option<String>,
    pub added_by: PersonName,
    pub added_at: DateTime<Utc>,
    /// Set when a supervisor withdrew it (it is kept, and listed only on request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

/// A media type by its name (`application/pdf`), as HTTP writes it.
fn media_type_name<S: serde::Serializer>(t: &MediaType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Withdrawal {
    pub by: PersonName,
    pub at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    /// Oldest first.
    pub items: Vec<DocumentView>,
}

fn view(row: DocumentRow, names: &Names) -> Result<DocumentView, AppError> {
    let kind = DocumentKind::parse(&row.kind)
        .ok_or_else(|| AppError::internal("stored document kind unknown"))?;
    let media_type = MediaType::parse(&row.media_type)
        .ok_or_else(|| AppError::internal("stored media type unknown"))?;
    let withdrawn = match (row.withdrawn_at, &row.withdrawn_by) {
        (Some(at), Some(by)) => Some(Withdrawal {
            by: person(names, by),
            at: at.and_utc(),
            reason: row.withdrawal_reason.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(DocumentView {
        added_by: person(names, &row.added_by),
        added_at: row.added_at.and_utc(),
        id: row.id,
        rfa_id: row.rfa_id,
        kind,
        media_type,
        sha256: row.sha256,
        size: row.size,
        file_name: row.file_name,
        description: row.description,
        language: row.language,
        withdrawn,
    })
}

fn views(
    c: &mut crate::db::DbConnection,
    rows: Vec<DocumentRow>,
) -> Result<Vec<DocumentView>, AppError> {
    let names = names_of(
        c,
        rows.iter()
            .flat_map(|r| std::iter::once(r.added_by.as_str()).chain(r.withdrawn_by.as_deref())),
    )?;
    rows.into_iter().map(|r| view(r, &names)).collect()
}

fn no_document() -> AppError {
    AppError::NotFound("No such document.".into())
}

/// The caller may add documents to this request: checked before an upload is read, so
/// that a refused caller sends no bytes into the store.
pub async fn may_add(svc: &Services, caller: Caller, id: RfaId) -> Result<(), AppError> {
    svc.db
        .run(move |c| {
            let who = caller.check(c)?;
            load_for(c, who.principal(), &id, Action::AddDocument)?;
            Ok(())
        })
        .await
}

/// An upload being received: the caller was checked before it began, and its bytes go to
/// the store's staging area as they arrive, hashed on the way.
#[derive(Debug)]
pub struct Upload {
    stager: Stager,
    limit: u64,
}

/// Begins an upload to a request's case file, once the caller may add documents to it.
pub async fn start_upload(svc: &Services, caller: Caller, id: RfaId) -> Result<Upload, AppError> {
    may_add(svc, caller, id).await?;
    let limit = svc.settings().documents.max_bytes;
    Ok(Upload {
        stager: svc.documents.stage(limit).await?,
        limit,
    })
}

impl Upload {
    /// Appends a chunk; beyond the size limit the upload is refused (413) and removed.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        match self.stager.write(chunk).await? {
            Ok(()) => Ok(()),
            Err(TooLarge) => Err(AppError::TooLarge(format!(
                "A document may be at most {} MiB.",
                self.limit / (1024 * 1024)
            ))),
        }
    }

    /// The whole upload, staged and synced, for `add`.
    pub async fn finish(self) -> Result<Staged, AppError> {
        self.stager.finish().await
    }

    /// Gives the upload up; nothing of it stays.
    pub async fn abandon(self) {
        self.stager.abandon().await;
    }
}

/// Forgets a staged upload that will not be added.
pub async fn discard(svc: &Services, staged: Staged) {
    svc.documents.discard(staged).await;
}

/// What the uploader says about a document; its bytes are in `staged`.
pub struct NewDocument {
    pub kind: Option<DocumentKind>,
    pub file_name: String,
    pub description: Option<String>,
    pub language: Option<String>,
}

/// The type of a staged upload, from its bytes (and, for a zip container, its entries).
pub async fn recognise_staged(staged: &Staged) -> Result<Option<MediaType>, AppError> {
    if !crate::domain::documents::is_zip(&staged.head) {
        let whole = staged.size as usize <= staged.head.len();
        return Ok(recognise(&staged.head, whole, None));
    }
    let path = staged.path.clone();
    let head = staged.head.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(file) = std::fs::File::open(&path) else {
            return None;
        };
        let Ok(mut archive) = zip::ZipArchive::new(file) else {
            return None;
        };
        let names: Vec<String> = archive
            .file_names()
            .filter_map(Result::ok)
            .map(|n| n.into_owned())
            .collect();
        let mimetype = archive.by_name("mimetype").ok().and_then(|mut f| {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(&mut f, 200), &mut buf)
                .ok()
                .map(|_| buf)
        });
        recognise(
            &head,
            true,
            Some(&ZipContents {
                names: &names,
                mimetype: mimetype.as_deref(),
            }),
        )
    })
    .await
    .map_err(|e| AppError::internal(format!("recognising an upload: {e}")))
}

/// Adds a staged upload to the request: its type recognised (415 otherwise), its bytes kept
/// in the store, then its row and an `add_document` event in one transaction. A crash
/// between the two leaves bytes no row names, never a row without bytes.
pub async fn add(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    staged: Staged,
    doc: NewDocument,
) -> Result<DocumentView, AppError> {
    let who = caller.resolve(svc, None).await?;
    let mut errors = Errors::new();
    if doc.kind.is_none() {
        errors.add(
            "kind",
            "must be request_letter, annex, translation, response, correspondence or other",
        );
    }
    let description = doc
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| errors.text("description", d, 2000, true));
    let language = doc
        .language
        .as_deref()
        .filter(|l| !l.trim().is_empty())
        .map(|l| errors.text("language", l, 35, false));
    if staged.size == 0 {
        errors.add("file", "is empty");
    }
    if let Err(e) = errors.finish() {
        svc.documents.discard(staged).await;
        return Err(e);
    }
    let Some(media_type) = recognise_staged(&staged).await? else {
        svc.documents.discard(staged).await;
        return Err(AppError::UnsupportedType(format!(
            "This file's content is not a type the case file accepts: {}. Its name or the type \
             the sender gave do not count.",
            crate::domain::documents::ACCEPTED
        )));
    };
    svc.documents.keep(&staged).await?;
    let kind = doc.kind.unwrap_or(DocumentKind::Other);
    let row = DocumentRow {
        id: uuid::Uuid::now_v7().to_string(),
        rfa_id: id.as_str().to_string(),
        kind: kind.as_str().into(),
        media_type: media_type.as_str().into(),
        sha256: staged.sha256.clone(),
        size: i64::try_from(staged.size).unwrap_or(i64::MAX),
        file_name: crate::domain::documents::clean_file_name(&doc.file_name),
        description,
        language,
        added_by: who.user_id().to_string(),
        added_at: crate::clock::micros(svc.rules().now()),
        withdrawn_at: None,
        withdrawn_by: None,
        withdrawal_reason: None,
    };
    svc.db
        .run(move |c| {
            c.write(|c| {
                let mut chain = Appender::lock(c)?;
                let rfa = load_for(c, who.principal(), &id, Action::AddDocument)?;
                store::insert(c, &row)?;
                chain.append(
                    c,
                    NewEvent {
                        rfa_id: &rfa.id,
                        actor_id: who.user_id(),
                        at: row.added_at,
                        action: "add_document",
                        state_before: Some(&rfa.state),
                        state_after: &rfa.state,
                        was: None,
                        details: json!({
                            "document_id": row.id,
                            "sha256": row.sha256,
                            "size": row.size,
                            "media_type": row.media_type,
                            "kind": row.kind,
                            "file_name": row.file_name,
                        }),
                    },
                )?;
                Ok::<_, AppError>(())
            })?;
            let names = names_of(c, [row.added_by.as_str()])?;
            view(row, &names)
        })
        .await
}

/// A request's documents; withdrawn ones too when asked.
pub async fn list(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    with_withdrawn: bool,
) -> Result<DocumentList, AppError> {
    svc.db
        .run(move |c| {
            let who = caller.check(c)?;
            load_for(c, who.principal(), &id, Action::ReadRfa)?;
            let rows = store::of_rfa(c, id.as_str(), with_withdrawn)?;
            Ok(DocumentList {
                items: views(c, rows)?,
            })
        })
        .await
}

fn document_of(
    c: &mut crate::db::DbConnection,
    rfa: &RfaId,
    doc: &str,
) -> Result<DocumentRow, AppError> {
    store::find(c, doc)?
        .filter(|d| d.rfa_id == rfa.as_str())
        .ok_or_else(no_document)
}

/// One document's metadata.
pub async fn get(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    doc: String,
) -> Result<DocumentView, AppError> {
    svc.db
        .run(move |c| {
            let who = caller.check(c)?;
            load_for(c, who.principal(), &id, Action::ReadRfa)?;
            let row = document_of(c, &id, &doc)?;
            Ok(views(c, vec![row])?.remove(0))
        })
        .await
}

/// A document's bytes, for the caller: the download is recorded first (who, when), then the
/// bytes are checked against their SHA-256; bytes that no longer match are refused and
/// reported.
pub async fn content(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    doc: String,
) -> Result<(DocumentView, Checked), AppError> {
    let now = crate::clock::micros(svc.rules().now());
    let document = svc
        .db
        .run(move |c| {
            let who = caller.check(c)?;
            load_for(c, who.principal(), &id, Action::ReadRfa)?;
            let row = document_of(c, &id, &doc)?;
            let download = uuid::Uuid::now_v7().to_string();
            c.write(|c| store::record_download(c, &download, &row.id, who.user_id(), now))?;
            Ok(views(c, vec![row])?.remove(0))
        })
        .await?;
    match svc.documents.open_checked(&document.sha256).await {
        Ok(Some(checked)) => Ok((document, checked)),
        Ok(None) => {
            tracing::error!(document = %document.id, sha256 = %document.sha256, "document bytes missing from the store");
            Err(AppError::Integrity(
                "The document's bytes are missing from the store. This has been reported.".into(),
            ))
        }
        Err(StoreError::Tampered { found }) => {
            tracing::error!(document = %document.id, sha256 = %document.sha256, %found, "stored document does not match its SHA-256");
            Err(AppError::Integrity(
                "The stored document no longer matches the SHA-256 recorded when it was added, \
                 so it is not served. This has been reported."
                    .into(),
            ))
        }
        Err(StoreError::Failed(e)) => Err(e),
    }
}

/// Withdraws a document (supervisors): kept, with who, when and why, and out of the default
/// list; an event in the request's chain.
pub async fn withdraw(
    svc: &Services,
    caller: Caller,
    id: RfaId,
    doc: String,
    reason: String,
) -> Result<DocumentView, AppError> {
    let mut errors = Errors::new();
    let reason = errors.text("reason", &reason, 2000, true);
    errors.finish()?;
    let at: NaiveDateTime = crate::clock::micros(svc.rules().now());
    svc.db
        .run(move |c| {
            let who = caller.check(c)?;
            c.write(|c| {
                let mut chain = Appender::lock(c)?;
                let rfa = load_for(c, who.principal(), &id, Action::WithdrawDocument)?;
                let row = document_of(c, &id, &doc)?;
                if store::withdraw(c, &row.id, who.user_id(), &reason, at)? == 0 {
                    return Err(AppError::Conflict(
                        "This document is already withdrawn.".into(),
                    ));
                }
                chain.append(
                    c,
                    NewEvent {
                        rfa_id: &rfa.id,
                        actor_id: who.user_id(),
                        at,
                        action: "withdraw_document",
                        state_before: Some(&rfa.state),
                        state_after: &rfa.state,
                        was: None,
                        details: json!({
                            "document_id": row.id,
                            "sha256": row.sha256,
                            "reason": reason,
                        }),
                    },
                )?;
                Ok::<_, AppError>(())
            })?;
            let row = document_of(c, &id, &doc)?;
            Ok(views(c, vec![row])?.remove(0))
        })
        .await
}

/// What the check of every stored document found.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentCheck {
    pub ok: bool,
    /// Documents whose bytes were read and matched.
    pub checked: u64,
    /// Documents whose bytes are gone from the store, by id.
    pub missing: Vec<String>,
    /// Documents whose bytes no longer match their SHA-256, by id.
    pub mismatched: Vec<String>,
}

/// Reads every stored document and checks its bytes against its SHA-256 (administrators,
/// as the audit chain's verify).
pub async fn verify_documents(svc: &Services, caller: Caller) -> Result<DocumentCheck, AppError> {
    caller
        .resolve(svc, Some(policy::Action::VerifyAudit))
        .await?;
    let mut check = DocumentCheck {
        ok: true,
        checked: 0,
        missing: Vec::new(),
        mismatched: Vec::new(),
    };
    let mut after = String::new();
    loop {
        let from = after.clone();
        let rows = svc
            .db
            .run(move |c| Ok(store::all_after(c, &from, 500)?))
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id.clone();
        for row in rows {
            match svc.documents.open_checked(&row.sha256).await {
                Ok(Some(_)) => check.checked += 1,
                Ok(None) => check.missing.push(row.id),
                Err(StoreError::Tampered { .. }) => check.mismatched.push(row.id),
                Err(StoreError::Failed(e)) => return Err(e),
            }
        }
    }
    check.ok = check.missing.is_empty() && check.mismatched.is_empty();
    Ok(check)
}

/// The name a download is saved under: the name it was sent under, with the extension of
/// its recognised type.
pub fn download_name(view: &DocumentView) -> String {
    let ext = view.media_type.extension();
    let stem = view
        .file_name
        .rsplit_once('.')
        .map_or(view.file_name.as_str(), |(s, _)| s);
    format!("{stem}.{ext}")
}

/// The checked bytes as a stream of chunks, for an answer that is sent as it is read.
pub fn bytes_of(
    checked: Checked,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures_util::stream::unfold(Some(checked.file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}
