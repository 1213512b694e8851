//! The tamper-evident event log: each event's hash covers the previous event's hash and the
//! event's own canonical content, so changing, removing or inserting any row breaks every
//! hash after it. `verify` walks the chain and names the first broken link.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::rfas::{self as store, EventRow, ReportFacts};
use crate::domain::canonical::canonical;
use crate::error::AppError;

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn content(e: &EventRow) -> Value {
    json!({
        "seq": e.seq,
        "rfa_id": e.rfa_id,
        "actor_id": e.actor_id,
        "at": e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "action": e.action,
        "state_before": e.state_before,
        "state_after": e.state_after,
        "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
    })
}

pub fn hash_of(prev_hash: &str, e: &EventRow) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical(&content(e)).as_bytes());
    hex::encode(h.finalize())
}

/// What an event records, before the chain gives it a place.
pub struct NewEvent<'a> {
    pub rfa_id: &'a str,
    pub actor_id: &'a str,
    pub at: NaiveDateTime,
    pub action: &'a str,
    pub state_before: Option<&'a str>,
    pub state_after: &'a str,
    pub details: Value,
}

/// Appends events in one go. The caller's transaction must hold the chain lock
/// (`db::rfas::lock_chain`), taken before it read anything it is about to change.
pub struct Appender {
    seq: i64,
    hash: String,
}

impl Appender {
    pub fn lock(c: &mut DbConnection) -> Result<Self, AppError> {
        let (seq, hash) = store::lock_chain(c)?;
        Ok(Self { seq, hash })
    }

    pub fn append(&mut self, c: &mut DbConnection, e: NewEvent<'_>) -> Result<EventRow, AppError> {
        let mut row = EventRow {
            seq: self.seq + 1,
            rfa_id: e.rfa_id.to_string(),
            actor_id: e.actor_id.to_string(),
            at: e.at,
            action: e.action.to_string(),
            state_before: e.state_before.map(str::to_string),
            state_after: e.state_after.to_string(),
            details: canonical(&e.details),
            prev_hash: self.hash.clone(),
            hash: String::new(),
            report: ReportFacts::from_details(&e.details),
        };
        row.hash = hash_of(&row.prev_hash, &row);
        store::append_event(c, &row)?;
        self.seq = row.seq;
        self.hash = row.hash.clone();
        Ok(row)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// True when every link holds.
    pub ok: bool,
    pub events_checked: i64,
    /// The first event whose link is broken (edited, missing or out of place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_seq: Option<i64>,
}

/// Walks the log in order, in batches, up to the head as it was when the walk began, so
/// events appended meanwhile neither break nor lengthen the walk.
pub fn verify(c: &mut DbConnection) -> Result<Verification, AppError> {
    const BATCH: i64 = 5_000;
    let (head_seq, head_hash) = store::chain_head(c)?;
    let mut prev_hash = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut checked = 0;
    let broken = |checked, seq| Verification {
        ok: false,
        events_checked: checked,
        first_broken_seq: Some(seq),
    };
    while expected_seq <= head_seq {
        let batch =
            store::events_after(c, expected_seq - 1, BATCH.min(head_seq - expected_seq + 1))?;
        if batch.is_empty() {
            // Events the head counts are missing.
            return Ok(broken(checked, expected_seq));
        }
        for e in &batch {
            checked += 1;
            let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
            if e.seq != expected_seq
                || e.prev_hash != prev_hash
                || hash_of(&prev_hash, e) != e.hash
                || ReportFacts::from_details(&details) != e.report
            {
                return Ok(broken(checked, expected_seq.min(e.seq)));
            }
            prev_hash = e.hash.clone();
            expected_seq += 1;
        }
    }
    // The head must name the last event's hash: a rewritten tail shows here.
    if head_hash != prev_hash {
        return Ok(broken(checked, head_seq));
    }
    Ok(Verification {
        ok: true,
        events_checked: checked,
        first_broken_seq: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [2, {"z": null, "y": "é"}], "c": true}});
        assert_eq!(
            canonical(&v),
            r#"{"a":{"c":true,"d":[2,{"y":"é","z":null}]},"b":1}"#
        );
    }

    #[test]
    fn any_change_to_an_event_changes_its_hash() {
        let e = EventRow {
            seq: 1,
            rfa_id: "r".into(),
            actor_id: "u".into(),
            at: crate::clock::now(),
            action: "intake".into(),
            state_before: None,
            state_after: "received".into(),
            details: "{}".into(),
            prev_hash: GENESIS.into(),
            hash: String::new(),
            report: ReportFacts::default(),
        };
        let h = hash_of(GENESIS, &e);
        let mut other = e.clone();
        other.action = "close".into();
        assert_ne!(hash_of(GENESIS, &other), h);
        assert_ne!(hash_of(&"1".repeat(64), &e), h);
        assert_eq!(hash_of(GENESIS, &e), h);
    }
}
