//! Signed checkpoints of the chain head. Plain hashes prove nothing to someone who can
//! rewrite the whole table and recompute every hash after the edit; a statement signed
//! with a key kept outside the database ("the log up to event N ends in hash H", Ed25519)
//! does. The service signs the head on a schedule and on demand, keeps each statement in
//! `chain_checkpoints`, and hands the latest out (`rfa-tracker audit checkpoint`, the API)
//! for an auditor or another system to keep. Verification checks every stored statement,
//! and `rfa-tracker audit verify --against FILE` checks the database against one kept
//! elsewhere: history before it cannot be rewritten or cut short without the key.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::config::{Environment, Settings};
use crate::db::DbConnection;
use crate::db::checkpoints::{self as store, CheckpointRow};
use crate::db::rfas as events;
use crate::domain::canonical::canonical;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::Caller;
use crate::service::chain::{Finding, FindingKind, GENESIS, Verification};

/// The file in `data_dir` that holds the development signing key.
pub const DEV_KEY_FILE: &str = "checkpoint-signing.key";

/// The key that signs checkpoints, and its public half's id.
pub struct Signer {
    key: SigningKey,
    pub key_id: String,
    pub public_key: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A key id: the first 16 hex digits of the SHA-256 of the public key.
pub fn key_id_of(public: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(public.as_bytes()))[..16].to_string()
}

impl Signer {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key();
        Self {
            key_id: key_id_of(&public),
            public_key: hex::encode(public.as_bytes()),
            key,
        }
    }

    /// The configured key file (`audit.signing_key_file`), or in development one made in
    /// `data_dir` on first use (mode 0600). Production refuses to start without one.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let configured = &settings.audit.signing_key_file;
        let path: PathBuf = if configured.as_os_str().is_empty() {
            if settings.environment == Environment::Production {
                return Err("configuration key `audit.signing_key_file`: is required when environment = \"production\"".into());
            }
            let path = settings.data_dir.join(DEV_KEY_FILE);
            if !path.exists() {
                make_key_file(&path)?;
                tracing::info!(path = %path.display(), "generated a checkpoint signing key");
            }
            path
        } else {
            configured.clone()
        };
        read_key_file(&path)
    }

    fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.key.sign(message).to_bytes())
    }
}

/// Writes a new random key (its 32-byte seed in hex) to a file only its owner can read.
pub fn make_key_file(path: &Path) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| format!("cannot write the signing key {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        crate::files::private_dir(dir).map_err(fail)?;
    }
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    f.write_all(format!("{}\n", hex::encode(seed)).as_bytes())
        .map_err(fail)?;
    f.sync_all().map_err(fail)
}

impl Signer {
    pub fn from_key_file(path: &Path) -> Result<Signer, String> {
        read_key_file(path)
    }
}

fn read_key_file(path: &Path) -> Result<Signer, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the signing key {}: {e}", path.display()))?;
    let bytes = hex::decode(text.trim()).ok();
    let seed: [u8; 32] = bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| {
        format!(
            "the signing key {} is not 64 hex digits (an Ed25519 seed)",
            path.display()
        )
    })?;
    Ok(Signer::from_seed(seed))
}

/// A signed statement: the requests' event log up to `seq` ends in `head_hash`, the trail of
/// accounts and the registry up to `trail_seq` in `trail_hash`, and the access log up to
/// `access_seq` in `access_hash`, said at `at` by the key `key_id` (whose public half is `public_key`, hex). `signature` is Ed25519, hex, over
/// the canonical JSON of the other fields but `public_key` and `signature` (see `message`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always "rfa-tracker chain checkpoint".
    pub statement: String,
    pub seq: i64,
    pub head_hash: String,
    pub trail_seq: i64,
    pub trail_hash: String,
    pub access_seq: i64,
    pub access_hash: String,
    pub at: DateTime<Utc>,
    pub key_id: String,
    pub public_key: String,
    pub signature: String,
}

pub const STATEMENT: &str = "rfa-tracker chain checkpoint";

/// The bytes a checkpoint's signature covers.
fn message(heads: &Heads, at: &DateTime<Utc>, key_id: &str) -> Vec<u8> {
    canonical(&json!({
        "statement": STATEMENT,
        "seq": heads.seq,
        "head_hash": heads.head_hash,
        "trail_seq": heads.trail_seq,
        "trail_hash": heads.trail_hash,
        "access_seq": heads.access_seq,
        "access_hash": heads.access_hash,
        "at": at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "key_id": key_id,
    }))
    .into_bytes()
}

/// The three heads a checkpoint signs.
#[derive(Debug, Clone, PartialEq)]
pub struct Heads {
    pub seq: i64,
    pub head_hash: String,
    pub trail_seq: i64,
    pub trail_hash: String,
    pub access_seq: i64,
    pub access_hash: String,
}

impl Checkpoint {
    fn heads(&self) -> Heads {
        Heads {
            seq: self.seq,
            head_hash: self.head_hash.clone(),
            trail_seq: self.trail_seq,
            trail_hash: self.trail_hash.clone(),
            access_seq: self.access_seq,
            access_hash: self.access_hash.clone(),
        }
    }

    fn of(row: CheckpointRow) -> Self {
        Self {
            statement: STATEMENT.into(),
            seq: row.seq,
            head_hash: row.head_hash,
            trail_seq: row.trail_seq,
            trail_hash: row.trail_hash,
            access_seq: row.access_seq,
            access_hash: row.access_hash,
            at: row.at.and_utc(),
            key_id: row.key_id,
            public_key: row.public_key,
            signature: row.signature,
        }
    }

    /// Whether the signature is the named key's over this statement (and the key id is that
    /// key's).
    pub fn signature_holds(&self) -> bool {
        let Some(public) = hex::decode(&self.public_key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        else {
            return false;
        };
        let Some(signature) = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(|b| Signature::from_bytes(&b))
        else {
            return false;
        };
        self.statement == STATEMENT
            && key_id_of(&public) == self.key_id
            && public
                .verify_strict(&message(&self.heads(), &self.at, &self.key_id), &signature)
                .is_ok()
    }
}

/// Signs the chain head as it is now, unless this key signed that head already; returns the
/// latest checkpoint either way. Safe with several instances: one statement per head and key.
pub fn sign_head(
    c: &mut DbConnection,
    signer: &Signer,
    at: NaiveDateTime,
) -> Result<Checkpoint, AppError> {
    let heads = heads_now(c)?;
    let at = crate::clock::micros(at);
    let signature = signer.sign(&message(&heads, &at.and_utc(), &signer.key_id));
    store::insert_once(
        c,
        &CheckpointRow {
            id: uuid::Uuid::now_v7().to_string(),
            seq: heads.seq,
            head_hash: heads.head_hash,
            trail_seq: heads.trail_seq,
            trail_hash: heads.trail_hash,
            access_seq: heads.access_seq,
            access_hash: heads.access_hash,
            at,
            key_id: signer.key_id.clone(),
            public_key: signer.public_key.clone(),
            signature,
        },
    )?;
    let row = store::latest(c)?
        .ok_or_else(|| AppError::internal("a checkpoint just written is not there"))?;
    Ok(Checkpoint::of(row))
}

/// Both heads as they are now.
pub fn heads_now(c: &mut DbConnection) -> Result<Heads, AppError> {
    let (seq, head_hash) = events::chain_head(c)?;
    let (trail_seq, trail_hash) = crate::db::trail::head(c)?;
    let (access_seq, access_hash) = crate::db::access::head(c)?;
    Ok(Heads {
        seq,
        head_hash,
        trail_seq,
        trail_hash,
        access_seq,
        access_hash,
    })
}

pub fn latest(c: &mut DbConnection) -> Result<Option<Checkpoint>, AppError> {
    Ok(store::latest(c)?.map(Checkpoint::of))
}

/// Checkpoints newest first, before `before_seq` when given.
pub fn list(
    c: &mut DbConnection,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<Checkpoint>, AppError> {
    Ok(store::list(c, before_seq, limit)?
        .into_iter()
        .map(Checkpoint::of)
        .collect())
}

/// What the database says about one statement: why it does not hold, or `None` when it does.
pub fn contradiction(c: &mut DbConnection, cp: &Checkpoint) -> Result<Option<String>, AppError> {
    if !cp.signature_holds() {
        return Ok(Some(format!(
            "The checkpoint at event {} is not signed by the key it names ({}).",
            cp.seq, cp.key_id
        )));
    }
    let (head, _) = events::chain_head(c)?;
    let hash = hash_or_genesis(cp.seq, |seq| Ok(events::event_hash(c, seq)?))?;
    if let Some(why) = broken(&REQUESTS, cp.seq, &cp.head_hash, head, hash) {
        return Ok(Some(why));
    }
    let (head, _) = crate::db::trail::head(c)?;
    let hash = hash_or_genesis(cp.trail_seq, |seq| Ok(crate::db::trail::hash_at(c, seq)?))?;
    if let Some(why) = broken(&TRAIL, cp.trail_seq, &cp.trail_hash, head, hash) {
        return Ok(Some(why));
    }
    let (head, _) = crate::db::access::head(c)?;
    let hash = hash_or_genesis(cp.access_seq, |seq| Ok(crate::db::access::hash_at(c, seq)?))?;
    Ok(broken(&ACCESS, cp.access_seq, &cp.access_hash, head, hash))
}

/// One of the chains a checkpoint signs, in words.
struct Chain {
    what: &'static str,
    item: &'static str,
    items: &'static str,
}

const REQUESTS: Chain = Chain {
    what: "the requests' history",
    item: "event",
    items: "events",
};
const TRAIL: Chain = Chain {
    what: "the trail of accounts and the registry",
    item: "event",
    items: "events",
};
const ACCESS: Chain = Chain {
    what: "the access log",
    item: "entry",
    items: "entries",
};

/// The hash at `seq` (the genesis hash before the first).
fn hash_or_genesis(
    seq: i64,
    read: impl FnOnce(i64) -> Result<Option<String>, AppError>,
) -> Result<Option<String>, AppError> {
    match seq {
        0 => Ok(Some(GENESIS.to_string())),
        seq => read(seq),
    }
}

/// Why a chain contradicts what a checkpoint signed of it (`signed_seq`, `signed_hash`),
/// given its head now and its hash at `signed_seq` now.
fn broken(
    chain: &Chain,
    signed_seq: i64,
    signed_hash: &str,
    head: i64,
    hash_now: Option<String>,
) -> Option<String> {
    let Chain { what, item, items } = chain;
    if signed_seq > head {
        return Some(format!(
            "The checkpoint signed {what} up to {item} {signed_seq}, but it now ends at {item} {head}: {items} were removed."
        ));
    }
    match hash_now {
        None => Some(format!(
            "In {what}, {item} {signed_seq}, which the checkpoint signed, is missing."
        )),
        Some(h) if h != signed_hash => Some(format!(
            "In {what}, {item} {signed_seq} no longer has the hash the checkpoint signed: {what} up to it was rewritten."
        )),
        Some(_) => None,
    }
}

/// Every stored checkpoint against its signature and the chain, for verification.
pub fn check_all(c: &mut DbConnection, v: &mut Verification) -> Result<(), AppError> {
    let mut after = String::new();
    loop {
        let rows = store::after_id(c, &after, 500)?;
        let Some(last) = rows.last() else { break };
        after = last.id.clone();
        for cp in rows.into_iter().map(Checkpoint::of) {
            v.checkpoints_checked += 1;
            if let Some(why) = contradiction(c, &cp)? {
                let mut f = Finding::new(
                    FindingKind::CheckpointContradicted,
                    "chain_checkpoints",
                    why,
                );
                f.seq = Some(cp.seq);
                v.found(f);
            }
        }
    }
    Ok(())
}

/// Signs the head now (administrators): the statement to hand to an auditor.
pub async fn sign_now(svc: &Services, caller: Caller) -> Result<Checkpoint, AppError> {
    let signer = svc.signer.clone();
    let now = svc.rules.now();
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::VerifyAudit)?;
            c.write(|c| sign_head(c, &signer, now))
        })
        .await
}

/// The stored checkpoints, newest first (administrators).
pub async fn checkpoints(
    svc: &Services,
    caller: Caller,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<Checkpoint>, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::VerifyAudit)?;
            list(c, before_seq, limit)
        })
        .await
}

/// A statement read from a file (the output of `rfa-tracker audit checkpoint`).
pub fn read_statement(path: &Path) -> Result<Checkpoint, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a checkpoint statement (the output of `rfa-tracker audit checkpoint`): {e}",
            path.display()
        )
    })
}

/// What checking the database against a statement kept elsewhere found.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgainstStatement {
    pub holds: bool,
    pub seq: i64,
    pub key_id: String,
    /// Whether the statement is signed by the key this instance signs with (if not, check
    /// its key id against the one you trust).
    pub signed_by_this_service: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contradiction: Option<String>,
}

/// Checks today's database against an earlier statement: its signature, and that the chain
/// still has the event it signed with the hash it signed.
pub async fn check_against(
    svc: &Services,
    caller: Caller,
    statement: Checkpoint,
) -> Result<AgainstStatement, AppError> {
    let ours = svc.signer.key_id.clone();
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::VerifyAudit)?;
            let contradiction = c.snapshot(|c| contradiction(c, &statement))?;
            Ok(AgainstStatement {
                holds: contradiction.is_none(),
                seq: statement.seq,
                signed_by_this_service: statement.key_id == ours,
                key_id: statement.key_id,
                contradiction,
            })
        })
        .await
}

/// This instance's signing key id and public key.
pub fn key_of(svc: &Services) -> (String, String) {
    (svc.signer.key_id.clone(), svc.signer.public_key.clone())
}

/// Signs the head every `audit.checkpoint_minutes` when it has moved. Each instance runs it;
/// the head is signed once per key whichever gets there first.
pub fn spawn_schedule(svc: std::sync::Arc<Services>) {
    let minutes = svc.settings.audit.checkpoint_minutes;
    if minutes == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(minutes * 60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let signer = svc.signer.clone();
            let now = svc.rules.now();
            let done = svc
                .db
                .run(move |c| {
                    let heads = heads_now(c)?;
                    let last = store::latest(c)?;
                    if last.is_some_and(|l| {
                        l.seq == heads.seq
                            && l.trail_seq == heads.trail_seq
                            && l.access_seq == heads.access_seq
                            && l.key_id == signer.key_id
                    }) {
                        return Ok(None);
                    }
                    c.write(|c| sign_head(c, &signer, now)).map(Some)
                })
                .await;
            match done {
                Ok(Some(cp)) => {
                    tracing::info!(seq = cp.seq, key_id = %cp.key_id, "signed a checkpoint of the event log")
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not sign a checkpoint; trying again at the next interval")
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_holds_only_as_signed() {
        let signer = Signer::from_seed([7; 32]);
        let at = Utc::now();
        let heads = Heads {
            seq: 42,
            head_hash: "ab".repeat(32),
            trail_seq: 7,
            trail_hash: "ef".repeat(32),
            access_seq: 3,
            access_hash: "12".repeat(32),
        };
        let cp = Checkpoint {
            statement: STATEMENT.into(),
            seq: 42,
            head_hash: "ab".repeat(32),
            trail_seq: 7,
            trail_hash: "ef".repeat(32),
            access_seq: 3,
            access_hash: "12".repeat(32),
            at,
            key_id: signer.key_id.clone(),
            public_key: signer.public_key.clone(),
            signature: signer.sign(&message(&heads, &at, &signer.key_id)),
        };
        assert!(cp.signature_holds());
        for forged in [
            Checkpoint {
                seq: 41,
                ..cp.clone()
            },
            Checkpoint {
                head_hash: "cd".repeat(32),
                ..cp.clone()
            },
            Checkpoint {
                trail_seq: 8,
                ..cp.clone()
            },
            Checkpoint {
                access_hash: "34".repeat(32),
                ..cp.clone()
            },
            Checkpoint {
                public_key: Signer::from_seed([8; 32]).public_key,
                ..cp.clone()
            },
            Checkpoint {
                signature: "00".repeat(64),
                ..cp.clone()
            },
        ] {
            assert!(!forged.signature_holds(), "{forged:?}");
        }
    }

    #[test]
    fn a_key_file_is_private_and_reads_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("keys").join("k");
        make_key_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default();
        assert_eq!(mode, 0o600);
        let parent = std::fs::metadata(path.parent().unwrap_or(dir.path()))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default();
        assert_eq!(parent, 0o700);
        let a = read_key_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let b = read_key_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.key_id, b.key_id);
        assert!(make_key_file(&path).is_err(), "never overwrites a key");
    }
}
