//! Who looked at what. Every read of a case (the case, its history, its documents), every
//! search of the queue (the filters, the text only by its length), every report and export,
//! every sign-in, failed sign-in and sign-out, and every reading of this log is an entry:
//! who, when, what, from which address, and the answer's status (a refused read is recorded
//! too). The entries are a hash chain of their own (`access_log`, `access_head`), append-only
//! in the database, walked by verification.
//!
//! Recording must not slow the reads it records: the front ends hand each entry to a bounded
//! in-memory queue (`AccessLog::note`) and one task per instance writes what has gathered in
//! one transaction, every `FLUSH_EVERY` or `BATCH` entries. A full queue makes the reader
//! wait rather than lose an entry. What a crash (SIGKILL, power loss) can lose is what was
//! queued and not yet written: at most the last `FLUSH_EVERY` of accesses. A graceful stop
//! writes everything first (`AccessLog::flush`), giving up after `FLUSH_AT_STOP_SECS` if the
//! database is away (what was queued is then lost, and the log says so).

use std::time::Duration;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use utoipa::ToSchema;

use crate::db::access::{self as store, AccessRow};
use crate::db::{Database, DbConnection};
use crate::domain::canonical::canonical;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;
use crate::service::chain::{SideChain, Verification, walk_side_chain};
use crate::service::paging::{decode_cursor, encode_cursor};

/// How long an entry waits, at most, before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// At most this many entries are written in one transaction.
const BATCH: usize = 1_000;
/// Entries waiting beyond this make the next reader wait for room.
const QUEUE: usize = 20_000;
/// At a graceful stop, how long the queue is given to be written (the database may be away).
pub const FLUSH_AT_STOP_SECS: u64 = 10;

/// What kind of access an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    ReadCase,
    ReadHistory,
    ReadDocuments,
    ReadDocument,
    DownloadDocument,
    Search,
    Export,
    Report,
    ReadAccessLog,
    SignIn,
    SignInFailed,
    SignOut,
}

impl AccessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::ReadCase => "read_case",
            AccessKind::ReadHistory => "read_history",
            AccessKind::ReadDocuments => "read_documents",
            AccessKind::ReadDocument => "read_document",
            AccessKind::DownloadDocument => "download_document",
            AccessKind::Search => "search",
            AccessKind::Export => "export",
            AccessKind::Report => "report",
            AccessKind::ReadAccessLog => "read_access_log",
            AccessKind::SignIn => "sign_in",
            AccessKind::SignInFailed => "sign_in_failed",
            AccessKind::SignOut => "sign_out",
        }
    }
}

/// One access, as the front end saw it.
#[derive(Debug, Clone)]
pub struct Access {
    pub at: NaiveDateTime,
    pub user_id: Option<String>,
    /// For sign-ins: the email tried (the account it names is looked up when written).
    pub email: Option<String>,
    pub kind: AccessKind,
    pub rfa_id: Option<String>,
    /// What exactly: the path, the filters (text only by its length), the status.
    pub what: Vec<(String, String)>,
    pub address: String,
}

/// Text as it may be stored: no NUL (PostgreSQL refuses it in text), no other control
/// characters, at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .take(max)
        .collect()
}

impl Access {
    /// What a request sent is the client's to choose: cleaned before it is queued, so that no
    /// entry can fail to be written (and hold up the ones behind it).
    fn cleaned(mut self) -> Self {
        self.user_id = self.user_id.map(|u| clean(&u, 64));
        self.email = self.email.map(|e| clean(&e, 320));
        // An id is what the service issues; anything else stays only in the recorded path.
        self.rfa_id = self.rfa_id.filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        self.what = self
            .what
            .into_iter()
            .take(40)
            .map(|(k, v)| (clean(&k, 64), clean(&v, 500)))
            .collect();
        self.address = clean(&self.address, 64);
        self
    }
}

enum Message {
    Note(Box<Access>),
    /// Write everything queued before this, then answer.
    Flush(oneshot::Sender<()>),
}

/// The handle the front ends record through (cheap to clone).
#[derive(Clone)]
pub struct AccessLog {
    tx: mpsc::Sender<Message>,
}

impl AccessLog {
    /// Starts the writer for this instance.
    pub fn start(db: Database) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db, rx));
        Self { tx }
    }

    /// Queues an entry; waits only when the queue is full.
    pub async fn note(&self, access: Access) {
        let access = access.cleaned();
        if self.tx.send(Message::Note(Box::new(access))).await.is_err() {
            tracing::error!("the access log's writer has stopped: an access was not recorded");
        }
    }

    /// Writes everything queued so far (at a graceful stop, and in tests).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn writer(db: Database, mut rx: mpsc::Receiver<Message>) {
    loop {
        let Some(first) = rx.recv().await else { return };
        let mut batch = Vec::new();
        let mut waiting = Vec::new();
        let take = |m: Message, batch: &mut Vec<Access>, waiting: &mut Vec<_>| match m {
            Message::Note(a) => batch.push(*a),
            Message::Flush(done) => waiting.push(done),
        };
        take(first, &mut batch, &mut waiting);
        // Gather what arrives within the interval (a flush request ends the wait).
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while batch.len() < BATCH && waiting.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => take(m, &mut batch, &mut waiting),
                Ok(None) | Err(_) => break,
            }
        }
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => take(m, &mut batch, &mut waiting),
                Err(_) => break,
            }
        }
        // Never dropped: a failed write is tried again until it goes through.
        // Never dropped: a failed write is tried again until it goes through. After a few
        // failures the entries go one by one, so that one the database refuses cannot hold up
        // the rest: it is recorded as unrecordable, with why.
        let mut delay = Duration::from_millis(200);
        let mut failures = 0;
        while !batch.is_empty() {
            let rows = batch.clone();
            let one_by_one = failures >= 3;
            match db
                .run(move |c| {
                    if !one_by_one {
                        return c.write(|c| write(c, &rows));
                    }
                    for a in &rows {
                        let one = std::slice::from_ref(a);
                        if let Err(e) = c.write(|c| write(c, one)) {
                            if matches!(e, AppError::Unavailable) {
                                return Err(e);
                            }
                            tracing::error!(error = %e, "an access the database refuses is recorded as unrecordable");
                            let placeholder = Access {
                                at: a.at,
                                user_id: None,
                                email: None,
                                kind: a.kind,
                                rfa_id: None,
                                what: vec![("unrecordable".into(), clean(&e.to_string(), 200))],
                                address: a.address.clone(),
                            };
                            c.write(|c| write(c, std::slice::from_ref(&placeholder)))?;
                        }
                    }
                    Ok(())
                })
                .await
            {
                Ok(()) => break,
                Err(e) => {
                    failures += 1;
                    tracing::error!(error = %e, entries = batch.len(), "could not write the access log; trying again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

pub fn hash_of(prev_hash: &str, r: &AccessRow) -> String {
    let content = json!({
        "seq": r.seq,
        "at": r.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "user_id": r.user_id,
        "action": r.action,
        "rfa_id": r.rfa_id,
        "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
        "address": r.address,
    });
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical(&content).as_bytes());
    hex::encode(h.finalize())
}

/// Appends the entries in one transaction, under the log's lock (one chain for every
/// instance).
fn write(c: &mut DbConnection, batch: &[Access]) -> Result<(), AppError> {
    let (mut seq, mut prev) = store::lock(c)?;
    let mut rows = Vec::with_capacity(batch.len());
    for a in batch {
        let user_id = match (&a.user_id, &a.email) {
            (Some(u), _) => Some(u.clone()),
            (None, Some(email)) => {
                crate::db::users::find_by_email(c, &email.trim().to_lowercase())?.map(|u| u.id)
            }
            (None, None) => None,
        };
        let mut what: serde_json::Map<String, Value> = a
            .what
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if let Some(email) = &a.email {
            what.insert("email".into(), Value::String(email.clone()));
        }
        seq += 1;
        let mut row = AccessRow {
            seq,
            at: crate::clock::micros(a.at),
            user_id,
            action: a.kind.as_str().into(),
            rfa_id: a.rfa_id.clone(),
            detail: canonical(&Value::Object(what)),
            address: a.address.clone(),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        row.hash = hash_of(&prev, &row);
        prev = row.hash.clone();
        rows.push(row);
    }
    store::append(c, &rows)?;
    Ok(())
}

/// One entry as an administrator reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub user_id: Option<String>,
    /// The user's name now (or "a former user"); null when nobody was signed in.
    pub user_name: Option<String>,
    pub action: String,
    pub rfa_id: Option<String>,
    /// The case's reference, when the access was to one.
    pub reference: Option<String>,
    /// What exactly: the path, the filters (a text search only by its length), the status.
    pub detail: Value,
    pub address: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessPage {
    pub items: Vec<AccessEntry>,
    pub next_cursor: Option<String>,
}

/// Whose or which accesses to list.
#[derive(Debug, Clone, Default)]
pub struct AccessQuery {
    /// A case, by id or by reference.
    pub rfa: Option<String>,
    pub user_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: i64,
}

/// The accesses, newest first, of one case or one user or all (administrators). Reading them
/// is itself an access, recorded by the front end like every other.
pub async fn list(svc: &Services, caller: Caller, q: AccessQuery) -> Result<AccessPage, AppError> {
    svc.access.flush().await;
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::VerifyAudit)?;
            let before = q
                .cursor
                .as_deref()
                .map(decode_cursor)
                .transpose()?
                .map(|s| {
                    s.parse::<i64>()
                        .map_err(|_| AppError::Malformed("Bad cursor.".into()))
                })
                .transpose()?;
            let rfa_id = match &q.rfa {
                None => None,
                Some(r) => Some(
                    crate::db::rfas::find_id_by_id_or_reference(c, r)?.ok_or_else(|| {
                        AppError::NotFound(
                            "No request for assistance has this id or reference.".into(),
                        )
                    })?,
                ),
            };
            let (head, _) = store::head(c)?;
            let mut rows = store::list(
                c,
                rfa_id.as_deref(),
                q.user_id.as_deref(),
                before,
                head,
                q.limit + 1,
            )?;
            let next_cursor = (rows.len() as i64 > q.limit).then(|| {
                rows.truncate(q.limit as usize);
                encode_cursor(&rows.last().map(|r| r.seq).unwrap_or(0).to_string())
            });
            let mut users: Vec<String> = rows.iter().filter_map(|r| r.user_id.clone()).collect();
            users.sort();
            users.dedup();
            let names: std::collections::HashMap<String, String> =
                crate::db::users::display_names(c, &users)?
                    .into_iter()
                    .collect();
            let mut ids: Vec<String> = rows.iter().filter_map(|r| r.rfa_id.clone()).collect();
            ids.sort();
            ids.dedup();
            let references: std::collections::HashMap<String, String> =
                crate::db::reports::references_of(c, &ids)?
                    .into_iter()
                    .collect();
            let items = rows
                .into_iter()
                .map(|r| AccessEntry {
                    user_name: r.user_id.as_ref().map(|u| {
                        names
                            .get(u)
                            .cloned()
                            .unwrap_or_else(|| "a former user".into())
                    }),
                    reference: r.rfa_id.as_ref().and_then(|i| references.get(i).cloned()),
                    detail: serde_json::from_str(&r.detail).unwrap_or(Value::Null),
                    seq: r.seq,
                    at: r.at.and_utc(),
                    user_id: r.user_id,
                    action: r.action,
                    rfa_id: r.rfa_id,
                    address: r.address,
                })
                .collect();
            Ok(AccessPage { items, next_cursor })
        })
        .await
}

crate::service::chain::side_chain_row!(AccessRow, hash_of);

/// Walks the access log link by link and names rows outside it (inside the caller's
/// consistent read).
pub fn verify(c: &mut DbConnection, v: &mut Verification) -> Result<(), AppError> {
    let (head, head_hash) = store::head(c)?;
    v.access_head_seq = head;
    let outside = store::outside(c, head, 20)?;
    v.access_entries_checked = walk_side_chain(
        v,
        &SideChain {
            table: "access_log",
            head_table: "access_head",
            row: "Access log entry",
        },
        (head, &head_hash),
        |after, limit| Ok(store::after(c, after, limit)?),
        outside,
        |_| {},
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_client_sends_is_cleaned_before_it_is_queued() {
        let a = Access {
            at: crate::clock::now(),
            user_id: None,
            email: Some("a\u{0}b@x.org".into()),
            kind: AccessKind::ReadCase,
            rfa_id: Some("\u{0}".into()),
            what: vec![("path".into(), "/api/v1/rfas/\u{0}".into())],
            address: "127.0.0.1".into(),
        }
        .cleaned();
        assert_eq!(a.email.as_deref(), Some("a\u{fffd}b@x.org"));
        assert_eq!(a.rfa_id, None);
        assert!(!a.what[0].1.contains('\u{0}'));
    }
}
