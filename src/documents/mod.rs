//! The document store: where the bytes of a request's documents live, under their SHA-256.
//! One interface, chosen in configuration (`[documents] store`):
//!
//! - `files` (the default): the local filesystem under `data_dir/documents`,
//!   content-addressed (`ab/cd/abcd…`). An upload is written to a temporary file while its
//!   hash is computed, fsynced, and only then renamed into place, so a crash never leaves a
//!   half-written document where a reader could find it.
//! - `database`: the database itself, in chunks of `CHUNK` bytes (`db::documents`), so
//!   that every instance behind a load balancer reads the same bytes and a backup of the
//!   database holds the documents. The upload is staged in a local temporary file as for
//!   `files`, then copied in one transaction; a read copies the chunks into an unlinked
//!   temporary file while hashing them, and serves that copy, so what is served is exactly
//!   what was checked.
//!
//! Nothing here knows about requests or users: the service decides what is stored and
//! records it; the store keeps bytes and proves they are unchanged.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::db::Database;
use crate::db::documents::{self as rows, Blob};
use crate::error::AppError;

/// How much of a file's start is kept to recognise its type.
pub const HEAD: usize = 64 * 1024;

/// The size of one chunk in the database store: a write or a read holds one at a time.
pub const CHUNK: usize = 1024 * 1024;

fn io(what: &str) -> impl Fn(std::io::Error) -> AppError + '_ {
    move |e| AppError::internal(format!("document store, {what}: {e}"))
}

/// The configured store.
#[derive(Debug, Clone)]
pub enum Store {
    Files(FileStore),
    Database(DatabaseStore),
}

impl Store {
    /// The filesystem store under `root` (created when missing). Staged uploads untouched
    /// for `stale` are removed first (`Staging::sweep`).
    pub fn files(root: PathBuf, stale: std::time::Duration) -> Result<Self, AppError> {
        let staging = Staging::open(&root, stale)?;
        Ok(Store::Files(FileStore { root, staging }))
    }

    /// The store in the database, with uploads staged under `root` on this machine.
    pub fn database(
        db: Database,
        root: PathBuf,
        stale: std::time::Duration,
    ) -> Result<Self, AppError> {
        let staging = Staging::open(&root, stale)?;
        Ok(Store::Database(DatabaseStore { db, staging }))
    }

    fn staging(&self) -> &Staging {
        match self {
            Store::Files(s) => &s.staging,
            Store::Database(s) => &s.staging,
        }
    }

    /// Starts an upload of at most `limit` bytes.
    pub async fn stage(&self, limit: u64) -> Result<Stager, AppError> {
        self.staging().stage(limit).await
    }

    /// Makes a staged upload part of the store (or, when the same bytes are already there,
    /// drops the copy).
    pub async fn keep(&self, staged: &Staged) -> Result<(), AppError> {
        match self {
            Store::Files(s) => s.keep(staged).await,
            Store::Database(s) => s.keep(staged).await,
        }
    }

    /// Forgets a staged upload that will not be kept.
    pub async fn discard(&self, staged: Staged) {
        let _ = tokio::fs::remove_file(&staged.path).await;
    }

    /// The stored bytes of `sha256`, checked against it: `Ok(None)` when they are missing,
    /// `Err(Tampered)` when they no longer match.
    pub async fn open_checked(&self, sha256: &str) -> Result<Option<Checked>, StoreError> {
        if !is_sha256(sha256) {
            return Ok(None);
        }
        match self {
            Store::Files(s) => s.open_checked(sha256).await,
            Store::Database(s) => s.open_checked(sha256).await,
        }
    }
}

/// A SHA-256 in lower-case hex: the only names the store accepts.
fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What reading a stored document can find.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The bytes no longer hash to the name they are stored under.
    #[error("the stored bytes do not match their SHA-256")]
    Tampered { found: String },
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// An upload in progress: a temporary file, its hash so far, its size and first bytes.
#[derive(Debug)]
pub struct Stager {
    file: tokio::fs::File,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    limit: u64,
}

/// The upload went beyond its limit: nothing of it is kept.
#[derive(Debug)]
pub struct TooLarge;

impl Stager {
    /// Appends a chunk (the server holds no more than this chunk in memory).
    pub async fn write(&mut self, chunk: &[u8]) -> Result<Result<(), TooLarge>, AppError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Ok(Err(TooLarge));
        }
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .await
            .map_err(io("writing an upload"))?;
        Ok(Ok(()))
    }

    /// The upload complete and on disk (fsynced), not yet part of the store.
    pub async fn finish(mut self) -> Result<Staged, AppError> {
        self.file.flush().await.map_err(io("flushing an upload"))?;
        self.file
            .sync_all()
            .await
            .map_err(io("syncing an upload"))?;
        Ok(Staged {
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
            head: self.head,
            path: self.path,
        })
    }

    /// Gives up the upload and removes what was written.
    pub async fn abandon(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}

/// A complete upload, waiting to be kept or discarded.
#[derive(Debug)]
pub struct Staged {
    pub sha256: String,
    pub size: u64,
    /// The first bytes (up to `HEAD`), to recognise the type.
    pub head: Vec<u8>,
    /// The temporary file, for a look inside a zip container.
    pub path: PathBuf,
}

/// Stored bytes whose hash was checked: a file to stream from the start.
pub struct Checked {
    pub file: tokio::fs::File,
    pub size: u64,
}

/// Where uploads are written while they stream in (`tmp/` under the store's directory),
/// and where the database store spools a document it serves.
#[derive(Debug, Clone)]
pub struct Staging {
    dir: PathBuf,
}

impl Staging {
    fn open(root: &Path, stale: std::time::Duration) -> Result<Self, AppError> {
        let dir = root.join("tmp");
        std::fs::create_dir_all(&dir).map_err(io("creating its directory"))?;
        let staging = Staging { dir };
        let removed = staging.sweep(stale);
        if removed > 0 {
            tracing::info!(
                removed,
                "removed uploads a crash or a cut connection left in staging"
            );
        }
        Ok(staging)
    }

    fn new_path(&self) -> PathBuf {
        self.dir.join(uuid::Uuid::now_v7().simple().to_string())
    }

    /// Removes staged uploads not written to for `stale`: never kept, they are what a crash
    /// or a cut connection left. Returns how many went. What cannot be read or removed is
    /// left for the next start.
    fn sweep(&self, stale: std::time::Duration) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let now = std::time::SystemTime::now();
        entries
            .flatten()
            .filter(|e| {
                e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= stale)
            })
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    }

    async fn stage(&self, limit: u64) -> Result<Stager, AppError> {
        let path = self.new_path();
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(io("starting an upload"))?;
        Ok(Stager {
            file,
            path,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
            limit,
        })
    }
}

#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
    staging: Staging,
}

impl FileStore {
    /// Where the bytes of `sha256` (already checked to be a SHA-256 in hex, so no name from
    /// outside ever becomes a path) live.
    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root
            .join(&sha256[0..2])
            .join(&sha256[2..4])
            .join(sha256)
    }

    async fn keep(&self, staged: &Staged) -> Result<(), AppError> {
        if !is_sha256(&staged.sha256) {
            return Err(AppError::internal("a staged upload without a hash"));
        }
        let target = self.path_of(&staged.sha256);
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            let _ = tokio::fs::remove_file(&staged.path).await;
            return Ok(());
        }
        let dir = target.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(io("creating a directory"))?;
        tokio::fs::rename(&staged.path, &target)
            .await
            .map_err(io("moving an upload into place"))?;
        // The rename itself is durable only once the directory is synced.
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || std::fs::File::open(&dir).and_then(|d| d.sync_all()))
            .await
            .map_err(|e| AppError::internal(format!("document store: {e}")))?
            .map_err(io("syncing a directory"))?;
        Ok(())
    }

    async fn open_checked(&self, sha256: &str) -> Result<Option<Checked>, StoreError> {
        let path = self.path_of(sha256);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("opening a document")(e).into()),
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = file
                .read(&mut buf)
                .await
                .map_err(io("reading a document"))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
        }
        let found = hex::encode(hasher.finalize());
        if found != sha256 {
            return Err(StoreError::Tampered { found });
        }
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(io("opening a document"))?;
        Ok(Some(Checked { file, size }))
    }
}

/// What a read of the database store found.
enum Spooled {
    Missing,
    Tampered(String),
    Ready(std::fs::File, u64),
}

/// Fills `buf` from `r` as far as it goes: short only at the end.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[derive(Clone)]
pub struct DatabaseStore {
    db: Database,
    staging: Staging,
}

impl std::fmt::Debug for DatabaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseStore")
            .field("staging", &self.staging)
            .finish_non_exhaustive()
    }
}

impl DatabaseStore {
    /// Copies a staged upload into the database, a chunk at a time, in one transaction
    /// that ends with its blob row; then removes the staged file.
    async fn keep(&self, staged: &Staged) -> Result<(), AppError> {
        if !is_sha256(&staged.sha256) {
            return Err(AppError::internal("a staged upload without a hash"));
        }
        let (sha256, path, size) = (staged.sha256.clone(), staged.path.clone(), staged.size);
        let at = crate::clock::micros(chrono::Utc::now().naive_utc());
        self.db
            .run(move |c| {
                c.write(|c| {
                    if rows::blob(c, &sha256)?.is_some() {
                        return Ok(());
                    }
                    let mut file =
                        std::fs::File::open(&path).map_err(io("reading a staged upload"))?;
                    let mut buf = vec![0u8; CHUNK];
                    let (mut chunks, mut total) = (0i32, 0u64);
                    loop {
                        let n = fill(&mut file, &mut buf).map_err(io("reading a staged upload"))?;
                        if n == 0 {
                            break;
                        }
                        rows::put_chunk(c, &sha256, chunks, &buf[..n])?;
                        chunks += 1;
                        total += n as u64;
                    }
                    if total != size {
                        return Err(AppError::internal(
                            "document store: a staged upload changed size",
                        ));
                    }
                    let size = i64::try_from(total).unwrap_or(i64::MAX);
                    rows::put_blob(c, &sha256, Blob { size, chunks }, at)?;
                    Ok(())
                })
            })
            .await?;
        let _ = tokio::fs::remove_file(&staged.path).await;
        Ok(())
    }

    /// Reads the chunks into an unlinked temporary file while hashing them, and hands that
    /// file out only when the hash and size match: what is served is what was checked.
    async fn open_checked(&self, sha256: &str) -> Result<Option<Checked>, StoreError> {
        let sha256 = sha256.to_string();
        let spool = self.staging.new_path();
        let spooled = self
            .db
            .run(move |c| {
                let Some(blob) = rows::blob(c, &sha256)? else {
                    return Ok(Spooled::Missing);
                };
                let mut file = std::fs::File::options()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&spool)
                    .map_err(io("spooling a document"))?;
                // Unlinked at once: the copy goes when the file is closed, whatever happens.
                let _ = std::fs::remove_file(&spool);
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                for seq in 0..blob.chunks {
                    let Some(bytes) = rows::chunk(c, &sha256, seq)? else {
                        break;
                    };
                    hasher.update(&bytes);
                    size += bytes.len() as u64;
                    file.write_all(&bytes).map_err(io("spooling a document"))?;
                }
                let found = hex::encode(hasher.finalize());
                if found != sha256 || i64::try_from(size).ok() != Some(blob.size) {
                    return Ok(Spooled::Tampered(found));
                }
                file.rewind().map_err(io("spooling a document"))?;
                Ok(Spooled::Ready(file, size))
            })
            .await?;
        match spooled {
            Spooled::Missing => Ok(None),
            Spooled::Tampered(found) => Err(StoreError::Tampered { found }),
            Spooled::Ready(file, size) => Ok(Some(Checked {
                file: tokio::fs::File::from_std(file),
                size,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_left_untouched_in_staging_are_swept_at_start() {
        let root = tempfile::tempdir().expect("a directory");
        let tmp = root.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("staging");
        let old = tmp.join("left-by-a-crash");
        let fresh = tmp.join("being-written");
        std::fs::write(&old, b"half an upload").expect("old");
        std::fs::write(&fresh, b"an upload in progress").expect("fresh");
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(two_hours_ago))
            .expect("set the time");
        Store::files(
            root.path().to_path_buf(),
            std::time::Duration::from_secs(3600),
        )
        .expect("store");
        assert!(!old.exists(), "the upload a crash left is removed");
        assert!(fresh.exists(), "an upload in progress is kept");
    }
}
