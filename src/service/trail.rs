//! The trail of accounts and the registry: who created a user, granted or revoked a role or
//! a jurisdiction, (de)activated, reset or unlocked an account, and every change to a
//! jurisdiction, its assessments, assurances, frameworks and authorities (which drive
//! eligibility). A hash chain of its own, beside the requests' (`service::chain`), with the
//! same record entries (`service::record`): each event carries its subject's fields changed,
//! before and after, and the digest of its whole record, so verification names a role
//! granted, or an assessment changed, directly in the database.
//!
//! A writer takes the trail's lock and reads its subject's record first (`Trail::before`),
//! makes its change, then appends (`Trail::append`).

use chrono::NaiveDateTime;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::db::DbConnection;
use crate::db::registry as registry_store;
use crate::db::trail::{self as store, TrailRow};
use crate::db::users as user_store;
use crate::domain::canonical::canonical;
use crate::error::AppError;
use crate::service::chain::{Finding, FindingKind, SideChain, Verification, walk_side_chain};
use crate::service::record::{self, Record};

/// What a trail event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(String),
    /// A jurisdiction with its assessments, assurances, frameworks and authorities.
    Jurisdiction(String),
}

impl Subject {
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::User(_) => "user",
            Subject::Jurisdiction(_) => "jurisdiction",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Subject::User(id) | Subject::Jurisdiction(id) => id,
        }
    }

    fn table(&self) -> &'static str {
        match self {
            Subject::User(_) => "users",
            Subject::Jurisdiction(_) => "jurisdictions",
        }
    }
}

fn value_of(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A subject's record as stored now; `None` if it does not exist.
pub fn record_of(c: &mut DbConnection, subject: &Subject) -> Result<Option<Record>, AppError> {
    match subject {
        Subject::User(id) => {
            let Some(u) = user_store::find(c, id)? else {
                return Ok(None);
            };
            let mut roles: Vec<String> = user_store::roles_of(c, id)?
                .iter()
                .map(|r| r.as_str().to_string())
                .collect();
            roles.sort();
            let mut places = user_store::jurisdictions_of(c, id)?;
            places.sort();
            // Sign-in bookkeeping (failed attempts, the lock, the last sign-in) changes on
            // every sign-in and is no one's decision: not part of the record.
            Ok(Some(
                [
                    ("id", json!(u.id)),
                    ("email", json!(u.email)),
                    ("display_name", json!(u.display_name)),
                    // Never the hash itself in the trail: a digest of it shows a change.
                    (
                        "password",
                        json!(hex::encode(Sha256::digest(u.password_hash.as_bytes()))),
                    ),
                    ("active", json!(u.active)),
                    ("must_change_password", json!(u.must_change_password)),
                    ("password_changed_at", value_of(&u.password_changed_at)),
                    ("created_at", value_of(&u.created_at)),
                    ("updated_at", value_of(&u.updated_at)),
                    ("version", json!(u.version)),
                    ("roles", json!(roles)),
                    ("jurisdictions", json!(places)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ))
        }
        Subject::Jurisdiction(id) => {
            let Some(j) = registry_store::find_jurisdiction(c, id)? else {
                return Ok(None);
            };
            let mut rec: Record = match value_of(&j) {
                Value::Object(m) => m.into_iter().collect(),
                _ => Record::new(),
            };
            let sorted = |mut v: Vec<Value>| {
                v.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
                Value::Array(v)
            };
            let list = |rows: Vec<Value>| sorted(rows);
            rec.insert(
                "assessments".into(),
                list(
                    registry_store::assessments_of(c, id)?
                        .iter()
                        .map(value_of)
                        .collect(),
                ),
            );
            rec.insert(
                "assurances".into(),
                list(
                    registry_store::assurances_of(c, id)?
                        .iter()
                        .map(value_of)
                        .collect(),
                ),
            );
            rec.insert(
                "frameworks".into(),
                list(
                    registry_store::frameworks_of(c, id)?
                        .iter()
                        .map(value_of)
                        .collect(),
                ),
            );
            rec.insert(
                "authorities".into(),
                list(
                    registry_store::authorities_of(c, id, None, i64::MAX)?
                        .iter()
                        .map(value_of)
                        .collect(),
                ),
            );
            Ok(Some(rec))
        }
    }
}

pub fn hash_of(prev_hash: &str, e: &TrailRow) -> String {
    let content = json!({
        "seq": e.seq,
        "subject_kind": e.subject_kind,
        "subject_id": e.subject_id,
        "actor_id": e.actor_id,
        "at": e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "action": e.action,
        "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
    });
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical(&content).as_bytes());
    hex::encode(h.finalize())
}

/// One change to a subject, from the lock to its event.
pub struct Trail {
    subject: Subject,
    was: Option<Record>,
}

impl Trail {
    /// Takes the trail's lock and reads the subject's record as it is before the change.
    pub fn before(c: &mut DbConnection, subject: Subject) -> Result<Self, AppError> {
        store::lock(c)?;
        let was = record_of(c, &subject)?;
        Ok(Self { subject, was })
    }

    /// Appends the event of the change just made: `action` by `actor` at `at`; `about`
    /// names the part of the subject changed (`("assessment", id)`), when not all of it.
    pub fn append(
        self,
        c: &mut DbConnection,
        actor: &str,
        at: NaiveDateTime,
        action: &str,
        about: Option<(&str, &str)>,
    ) -> Result<(), AppError> {
        let after = record_of(c, &self.subject)?.unwrap_or_default();
        let history = store::of_subject(c, self.subject.kind(), self.subject.id(), i64::MAX)?;
        let previous = history
            .last()
            .and_then(|r| record::Entry::of_details(&r.details))
            .map(|e| e.digest().to_string());
        let before = self.was.unwrap_or_default();
        let entry = record::entry_for(previous.as_deref(), &before, after, || {
            record::replay(history.iter().map(|r| (r.seq, r.details.as_str()))).record
        });
        if let record::Entry::Full { outside, .. } = &entry
            && !outside.is_empty()
        {
            tracing::error!(
                subject = self.subject.kind(),
                id = self.subject.id(),
                fields = ?outside.keys().collect::<Vec<_>>(),
                "a stored record differs from its trail: changed outside the service; the new event records what was found"
            );
        }
        let mut details = match about {
            Some((entity, id)) => json!({"entity": entity, "entity_id": id}),
            None => json!({}),
        };
        details["record"] = entry.to_json();
        let (seq, prev_hash) = store::head(c)?;
        let mut row = TrailRow {
            seq: seq + 1,
            subject_kind: self.subject.kind().into(),
            subject_id: self.subject.id().into(),
            actor_id: actor.into(),
            at: crate::clock::micros(at),
            action: action.into(),
            details: canonical(&details),
            hash: String::new(),
            prev_hash,
        };
        row.hash = hash_of(&row.prev_hash, &row);
        store::append(c, &row)?;
        Ok(())
    }
}

/// On the first start with an empty trail (a database from before the trail existed), the
/// accounts and the registry as they are become its baseline, in one transaction.
pub fn baseline(c: &mut DbConnection, at: NaiveDateTime) -> Result<usize, AppError> {
    c.write(|c| {
        let (seq, _) = store::lock(c)?;
        if seq > 0 {
            return Ok(0);
        }
        let mut subjects = Vec::new();
        for u in user_store::list(c, None, i64::MAX)? {
            subjects.push(Subject::User(u.id));
        }
        for j in registry_store::list_jurisdictions(c, None, i64::MAX)? {
            subjects.push(Subject::Jurisdiction(j.id));
        }
        let n = subjects.len();
        for subject in subjects {
            Trail { subject, was: None }.append_baseline(c, at)?;
        }
        Ok(n)
    })
}

impl Trail {
    fn append_baseline(self, c: &mut DbConnection, at: NaiveDateTime) -> Result<(), AppError> {
        let after = record_of(c, &self.subject)?.unwrap_or_default();
        let entry = record::Entry::Full {
            digest: record::digest(&after),
            record: after,
            baseline: true,
            outside: Default::default(),
        };
        let (seq, prev_hash) = store::head(c)?;
        let mut row = TrailRow {
            seq: seq + 1,
            subject_kind: self.subject.kind().into(),
            subject_id: self.subject.id().into(),
            actor_id: "system".into(),
            at: crate::clock::micros(at),
            action: "baseline".into(),
            details: canonical(&json!({"record": entry.to_json()})),
            hash: String::new(),
            prev_hash,
        };
        row.hash = hash_of(&row.prev_hash, &row);
        store::append(c, &row)?;
        Ok(())
    }
}

crate::service::chain::side_chain_row!(TrailRow, hash_of);

/// Walks the trail link by link, names rows outside it, and compares every user and
/// jurisdiction with the record its events give (inside the caller's consistent read).
pub fn verify(c: &mut DbConnection, v: &mut Verification) -> Result<(), AppError> {
    let (head, head_hash) = store::head(c)?;
    v.trail_head_seq = head;
    let mut by_subject: std::collections::BTreeMap<(String, String), Vec<(i64, String)>> =
        Default::default();
    let outside = store::outside(c, head, 20)?;
    v.trail_events_checked = walk_side_chain(
        v,
        &SideChain {
            table: "trail_events",
            head_table: "trail_head",
            row: "Trail event",
        },
        (head, &head_hash),
        |after, limit| Ok(store::after(c, after, limit)?),
        outside,
        |e| {
            by_subject
                .entry((e.subject_kind, e.subject_id))
                .or_default()
                .push((e.seq, e.details));
        },
    )?;
    // Every stored user and jurisdiction needs a history, and must match it.
    let mut subjects: Vec<Subject> = user_store::list(c, None, i64::MAX)?
        .into_iter()
        .map(|u| Subject::User(u.id))
        .collect();
    subjects.extend(
        registry_store::list_jurisdictions(c, None, i64::MAX)?
            .into_iter()
            .map(|j| Subject::Jurisdiction(j.id)),
    );
    for subject in &subjects {
        let key = (subject.kind().to_string(), subject.id().to_string());
        let Some(history) = by_subject.remove(&key) else {
            v.found(subject_finding(
                subject,
                FindingKind::RecordWithoutHistory,
                format!(
                    "The {} {} has no trail: it was not written by the service.",
                    subject.kind(),
                    subject.id()
                ),
                Vec::new(),
            ));
            continue;
        };
        v.trail_records_checked += 1;
        let replay = record::replay(history.iter().map(|(s, d)| (*s, d.as_str())));
        for (seq, fields) in &replay.outside {
            let mut f = subject_finding(
                subject,
                FindingKind::RecordChangedOutside,
                format!(
                    "The {} {}: before trail event {seq} its record had been changed outside the service ({}).",
                    subject.kind(),
                    subject.id(),
                    fields.join(", ")
                ),
                fields.clone(),
            );
            f.seq = Some(*seq);
            v.found(f);
        }
        if let Some(seq) = replay.inconsistent {
            let mut f = subject_finding(
                subject,
                FindingKind::RecordInconsistent,
                format!("The record entry of trail event {seq} does not add up."),
                Vec::new(),
            );
            f.seq = Some(seq);
            v.found(f);
        }
        let stored = record_of(c, subject)?.unwrap_or_default();
        let recorded = replay.record.unwrap_or_default();
        let fields: Vec<String> = record::changes(&recorded, &stored)
            .keys()
            .cloned()
            .collect();
        if !fields.is_empty() {
            v.found(subject_finding(
                subject,
                FindingKind::RecordAltered,
                format!(
                    "The {} {} differs from its trail in {}: changed outside the service.",
                    subject.kind(),
                    subject.id(),
                    fields.join(", ")
                ),
                fields,
            ));
        }
    }
    for ((kind, id), history) in by_subject {
        let mut f = Finding::new(
            FindingKind::RecordMissing,
            if kind == "user" {
                "users"
            } else {
                "jurisdictions"
            },
            format!("The trail names the {kind} {id}, which is not stored: it was removed."),
        );
        f.subject = Some(format!("{kind}:{id}"));
        f.seq = history.first().map(|(s, _)| *s);
        v.found(f);
    }
    Ok(())
}

fn subject_finding(
    subject: &Subject,
    kind: FindingKind,
    detail: String,
    fields: Vec<String>,
) -> Finding {
    let mut f = Finding::new(kind, subject.table(), detail);
    f.subject = Some(format!("{}:{}", subject.kind(), subject.id()));
    f.fields = fields;
    f
}
