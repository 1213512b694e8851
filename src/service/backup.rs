//! A backup of the SQLite database while the service runs (`rfa-tracker backup`): a
//! consistent copy written beside its destination, synced, checked as a restored server
//! would see it, and only then renamed into place. PostgreSQL has its own tools for this
//! (docs/operations.md).

use std::path::Path;

use serde::Serialize;

use crate::db::backup::{self as rows, Counts};
use crate::db::{Backend, Database};
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;
use crate::service::rfas;

/// Copies the database into the new file `partial` and syncs it. Refused on PostgreSQL.
pub async fn copy(db: &Database, partial: &Path) -> Result<(), AppError> {
    if db.backend() != Backend::Sqlite {
        return Err(AppError::Malformed(
            "On PostgreSQL, back up with pg_dump or continuous archiving (docs/operations.md); \
             this command copies an SQLite database."
                .into(),
        ));
    }
    let path = partial
        .to_str()
        .ok_or_else(|| AppError::Malformed("The backup's path must be valid UTF-8.".into()))?
        .to_string();
    db.run(move |c| rows::vacuum_into(c, &path).map_err(AppError::from))
        .await?;
    let partial = partial.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&partial)?.sync_all())
        .await
        .map_err(|e| AppError::internal(format!("syncing the backup: {e}")))?
        .map_err(|e| AppError::internal(format!("syncing the backup: {e}")))?;
    Ok(())
}

/// The rows the database holds now.
pub async fn counts(db: &Database) -> Result<Counts, AppError> {
    db.run(|c| rows::counts(c).map_err(AppError::from)).await
}

/// What the check of a copy found.
#[derive(Debug, Serialize)]
pub struct CopyCheck {
    /// SQLite's integrity check of the copy: `ok` or its findings.
    pub integrity: String,
    /// The verification of the copy's record (`audit verify` on the copy).
    pub chain: crate::service::chain::Verification,
    /// With the database document store: every document's bytes in the copy match their
    /// SHA-256. `None` with the files store, whose bytes are not in the database.
    pub documents_ok: Option<bool>,
    pub counts: Counts,
}

impl CopyCheck {
    pub fn ok(&self) -> bool {
        self.integrity == "ok" && self.chain.ok && self.documents_ok != Some(false)
    }
}

/// Checks a copy, opened as `svc` the way a restored server opens it.
pub async fn check(svc: &Services, caller: impl Fn() -> Caller) -> Result<CopyCheck, AppError> {
    let integrity = svc
        .db
        .run(|c| rows::integrity_check(c).map_err(AppError::from))
        .await?;
    let chain = rfas::verify_chain(svc, caller()).await?;
    let documents_ok = match svc.settings().documents.store {
        crate::config::DocumentStoreKind::Database => {
            Some(rfas::documents::verify_documents(svc, caller()).await?.ok)
        }
        crate::config::DocumentStoreKind::Files => None,
    };
    Ok(CopyCheck {
        integrity,
        chain,
        documents_ok,
        counts: counts(&svc.db).await?,
    })
}
