//! The tamper-evident event log: each event's hash covers the previous event's hash and the
//! event's own canonical content, so changing, removing or inserting any row breaks every
//! hash after it. `verify` walks the chain and names the first broken link.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::rfas::{self as store, EventRow, ReportFacts, RfaRow};
use crate::domain::canonical::canonical;
use crate::error::AppError;
use crate::service::record;

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
    /// The request's row as the writer found it, before this event's change; `None` when the
    /// event changed nothing since the request's last event (or creates the request).
    pub was: Option<&'a RfaRow>,
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

    /// Appends one event. Its details gain the request's record entry (`service::record`):
    /// the stored row is read back, so the event commits to what was written.
    pub fn append(
        &mut self,
        c: &mut DbConnection,
        mut e: NewEvent<'_>,
    ) -> Result<EventRow, AppError> {
        e.details["record"] = record_entry(c, &e)?.to_json();
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

/// The record entry for a new event of `e.rfa_id`.
fn record_entry(c: &mut DbConnection, e: &NewEvent<'_>) -> Result<record::Entry, AppError> {
    let after = store::find(c, e.rfa_id)?
        .map(|r| record::of(&r))
        .unwrap_or_default();
    let previous = store::last_details(c, e.rfa_id)?
        .and_then(|d| record::Entry::of_details(&d))
        .map(|p| p.digest().to_string());
    let before = match (e.was, e.state_before) {
        (Some(was), _) => record::of(was),
        // An intake: nothing before it.
        (None, None) => record::Record::new(),
        (None, Some(_)) => after.clone(),
    };
    let rfa_id = e.rfa_id;
    let entry = record::entry_for(previous.as_deref(), &before, after, || {
        let events = store::details_of(c, rfa_id, i64::MAX).ok()?;
        record::replay(events.iter().map(|(s, d)| (*s, d.as_str()))).record
    });
    if let record::Entry::Full { outside, .. } = &entry
        && !outside.is_empty()
    {
        tracing::error!(
            rfa_id,
            fields = ?outside.keys().collect::<Vec<_>>(),
            "a request's stored record differs from its history: changed outside the service; \
             the new event records what was found"
        );
    }
    Ok(entry)
}

/// What verification found: the chain walked link by link, nothing outside it, every
/// request's stored row against its history, every frozen snapshot against its digest.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// True when nothing was found.
    pub ok: bool,
    /// The head the walk went to (read at the start, in the same consistent read as the rest).
    pub head_seq: i64,
    pub head_hash: String,
    pub events_checked: i64,
    /// The first event whose link is broken (edited, missing or out of place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_seq: Option<i64>,
    /// Requests whose stored row was compared with the record their events give.
    pub records_checked: i64,
    /// Requests all of whose events were recorded before records were kept, so their row
    /// has nothing to be compared with until their next event (see docs/security.md).
    pub records_not_covered: i64,
    pub snapshots_checked: i64,
    /// Signed checkpoints checked against their signature and the chain.
    pub checkpoints_checked: i64,
    /// The trail of accounts and the registry: its head, events walked, and users and
    /// jurisdictions compared with their history.
    pub trail_head_seq: i64,
    pub trail_events_checked: i64,
    pub trail_records_checked: i64,
    /// The access log (who looked at what): its head and the entries walked.
    pub access_head_seq: i64,
    pub access_entries_checked: i64,
    /// Each thing found, in the order checked, at most a hundred.
    pub findings: Vec<Finding>,
}

/// One thing verification found, and where.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Finding {
    pub kind: FindingKind,
    /// The table the finding is in.
    pub table: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rfa_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The fields (columns) concerned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// A trail subject: `user:<id>` or `jurisdiction:<id>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The finding in words.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An event's link does not hold: it, or one before it, was changed, removed or moved.
    BrokenLink,
    /// The head does not name the last event's hash.
    HeadMismatch,
    /// An event row outside 1..head: not part of the chain, so forged.
    OutsideChain,
    /// A request's stored row differs from the record its events give.
    RecordAltered,
    /// An event recorded that the stored row had been changed outside the service.
    RecordChangedOutside,
    /// An event's record entry does not add up.
    RecordInconsistent,
    /// Events name a request that has no stored row.
    RecordMissing,
    /// A stored request with no events at all.
    RecordWithoutHistory,
    /// A frozen snapshot's figures no longer match its digest.
    SnapshotAltered,
    /// A signed checkpoint does not hold: a bad signature, or the chain no longer has the
    /// event it signed with the hash it signed (history rewritten or cut short).
    CheckpointContradicted,
}

const MAX_FINDINGS: usize = 100;

impl Verification {
    pub fn found(&mut self, f: Finding) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(f);
        }
        self.ok = false;
    }
}

impl Finding {
    pub fn new(kind: FindingKind, table: &'static str, detail: String) -> Self {
        Self {
            kind,
            table,
            seq: None,
            rfa_id: None,
            reference: None,
            fields: Vec::new(),
            snapshot_id: None,
            subject: None,
            detail,
        }
    }

    pub fn at(mut self, seq: i64) -> Self {
        self.seq = Some(seq);
        self
    }

    fn rfa(mut self, id: &str, reference: Option<&str>) -> Self {
        self.rfa_id = Some(id.to_string());
        self.reference = reference.map(str::to_string);
        self
    }

    pub fn snapshot(mut self, id: &str) -> Self {
        self.snapshot_id = Some(id.to_string());
        self
    }
}

/// A row of one of the side chains (the trail, the access log): its place, its link to the
/// row before and its own hash.
pub trait Link {
    fn seq(&self) -> i64;
    fn prev_hash(&self) -> &str;
    fn hash(&self) -> &str;
    /// The hash the row's content gives after `prev`.
    fn recompute(&self, prev: &str) -> String;
}

/// `Link` for a row type with `seq`, `prev_hash` and `hash` fields, hashed by `$hash_of`.
macro_rules! side_chain_row {
    ($row:ty, $hash_of:path) => {
        impl $crate::service::chain::Link for $row {
            fn seq(&self) -> i64 {
                self.seq
            }
            fn prev_hash(&self) -> &str {
                &self.prev_hash
            }
            fn hash(&self) -> &str {
                &self.hash
            }
            fn recompute(&self, prev: &str) -> String {
                $hash_of(prev, self)
            }
        }
    };
}
pub(crate) use side_chain_row;

/// How a side chain is named in findings.
pub struct SideChain {
    /// Its table and its head's table.
    pub table: &'static str,
    pub head_table: &'static str,
    /// One row of it in words ("Trail event", "Access log entry").
    pub row: &'static str,
}

/// Walks a side chain link by link up to `head`, a batch at a time from `fetch(after,
/// limit)`, giving each row that holds to `each`; names the first broken link, a head that
/// does not name the last row's hash, and the rows `outside` 1..head. Returns how many rows
/// were walked.
pub fn walk_side_chain<R: Link>(
    v: &mut Verification,
    chain: &SideChain,
    (head, head_hash): (i64, &str),
    mut fetch: impl FnMut(i64, i64) -> Result<Vec<R>, AppError>,
    outside: Vec<i64>,
    mut each: impl FnMut(R),
) -> Result<i64, AppError> {
    const BATCH: i64 = 5_000;
    let SideChain {
        table,
        head_table,
        row,
    } = *chain;
    let mut prev = GENESIS.to_string();
    let mut expected = 1;
    let mut walked = 0;
    'walk: while expected <= head {
        let batch = fetch(expected - 1, BATCH.min(head - expected + 1))?;
        if batch.is_empty() {
            v.found(
                Finding::new(
                    FindingKind::BrokenLink,
                    table,
                    format!("{row}s {expected} to {head}, which the head counts, are missing."),
                )
                .at(expected),
            );
            break;
        }
        for r in batch {
            walked += 1;
            if r.seq() != expected || r.prev_hash() != prev || r.recompute(&prev) != r.hash() {
                let at = expected.min(r.seq());
                v.found(
                    Finding::new(
                        FindingKind::BrokenLink,
                        table,
                        format!("{row} {at} does not hash to its link: it, or the one before it, was changed, removed or moved."),
                    )
                    .at(at),
                );
                break 'walk;
            }
            prev = r.hash().to_string();
            expected += 1;
            each(r);
        }
    }
    if expected > head && prev != head_hash {
        v.found(
            Finding::new(
                FindingKind::HeadMismatch,
                head_table,
                format!("The head at {head} does not name the hash of {row} {head}."),
            )
            .at(head),
        );
    }
    for seq in outside {
        v.found(
            Finding::new(
                FindingKind::OutsideChain,
                table,
                format!(
                    "A row at {seq}, outside the chain (1 to {head}): not written by the service."
                ),
            )
            .at(seq),
        );
    }
    Ok(walked)
}

/// Verifies the event log and the requests' records in one consistent read (the caller
/// holds it: `DbConnection::snapshot`), so writes committed meanwhile are simply not seen.
pub fn verify(c: &mut DbConnection) -> Result<Verification, AppError> {
    let (head_seq, head_hash) = store::chain_head(c)?;
    let mut v = Verification {
        ok: true,
        head_seq,
        head_hash: head_hash.clone(),
        events_checked: 0,
        first_broken_seq: None,
        records_checked: 0,
        records_not_covered: 0,
        snapshots_checked: 0,
        checkpoints_checked: 0,
        trail_head_seq: 0,
        trail_events_checked: 0,
        trail_records_checked: 0,
        access_head_seq: 0,
        access_entries_checked: 0,
        findings: Vec::new(),
    };
    walk(c, &mut v, head_seq, &head_hash)?;
    for seq in store::events_outside(c, head_seq, 20)? {
        v.found(
            Finding::new(
                FindingKind::OutsideChain,
                "rfa_events",
                format!(
                    "An event row at sequence number {seq}, outside the chain (1 to {head_seq}): not written by the service. Reports do not count it."
                ),
            )
            .at(seq),
        );
    }
    records(c, &mut v, head_seq)?;
    Ok(v)
}

/// Walks the log in order, in batches, up to the head.
fn walk(
    c: &mut DbConnection,
    v: &mut Verification,
    head_seq: i64,
    head_hash: &str,
) -> Result<(), AppError> {
    const BATCH: i64 = 5_000;
    let mut prev_hash = GENESIS.to_string();
    let mut expected_seq = 1;
    let broken = |v: &mut Verification, seq: i64, detail: String| {
        v.first_broken_seq = Some(seq);
        v.found(Finding::new(FindingKind::BrokenLink, "rfa_events", detail).at(seq));
    };
    while expected_seq <= head_seq {
        let batch =
            store::events_after(c, expected_seq - 1, BATCH.min(head_seq - expected_seq + 1))?;
        if batch.is_empty() {
            broken(
                v,
                expected_seq,
                format!("Events {expected_seq} to {head_seq}, which the head counts, are missing."),
            );
            return Ok(());
        }
        for e in &batch {
            v.events_checked += 1;
            let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
            if e.seq != expected_seq {
                let at = expected_seq.min(e.seq);
                broken(v, at, format!("Event {expected_seq} is missing."));
                return Ok(());
            }
            if e.prev_hash != prev_hash
                || hash_of(&prev_hash, e) != e.hash
                || ReportFacts::from_details(&details) != e.report
            {
                broken(
                    v,
                    e.seq,
                    format!(
                        "Event {} does not hash to its link: it, or the one before it, was changed.",
                        e.seq
                    ),
                );
                return Ok(());
            }
            prev_hash = e.hash.clone();
            expected_seq += 1;
        }
    }
    // The head must name the last event's hash: a rewritten tail shows here.
    if head_hash != prev_hash {
        v.found(
            Finding::new(
                FindingKind::HeadMismatch,
                "chain_head",
                format!("The chain head at {head_seq} does not name the last event's hash."),
            )
            .at(head_seq),
        );
    }
    Ok(())
}

/// Every stored request against the record its events give, a batch at a time.
fn records(c: &mut DbConnection, v: &mut Verification, head_seq: i64) -> Result<(), AppError> {
    const BATCH: i64 = 500;
    let mut after = String::new();
    loop {
        let rows = store::rows_after(c, &after, BATCH)?;
        let Some(last) = rows.last() else { break };
        after = last.id.clone();
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut events: std::collections::HashMap<String, Vec<(i64, String)>> = Default::default();
        for (rfa_id, seq, details) in store::details_of_many(c, &ids, head_seq)? {
            events.entry(rfa_id).or_default().push((seq, details));
        }
        for row in &rows {
            let reference = Some(row.reference.as_str());
            let Some(history) = events.get(&row.id) else {
                v.found(
                    Finding::new(
                        FindingKind::RecordWithoutHistory,
                        "rfas",
                        format!(
                            "{} is stored but has no events: it was not written by the service.",
                            row.reference
                        ),
                    )
                    .rfa(&row.id, reference),
                );
                continue;
            };
            let replay = record::replay(history.iter().map(|(s, d)| (*s, d.as_str())));
            for (seq, fields) in &replay.outside {
                let mut f = Finding::new(
                    FindingKind::RecordChangedOutside,
                    "rfas",
                    format!(
                        "{}: before event {seq} the stored row had been changed outside the service ({}).",
                        row.reference,
                        fields.join(", ")
                    ),
                )
                .rfa(&row.id, reference)
                .at(*seq);
                f.fields = fields.clone();
                v.found(f);
            }
            if let Some(seq) = replay.inconsistent {
                v.found(
                    Finding::new(
                        FindingKind::RecordInconsistent,
                        "rfa_events",
                        format!(
                            "{}: the record entry of event {seq} does not add up.",
                            row.reference
                        ),
                    )
                    .rfa(&row.id, reference)
                    .at(seq),
                );
            }
            let Some(recorded) = replay.record else {
                v.records_not_covered += 1;
                continue;
            };
            v.records_checked += 1;
            let stored = record::of(row);
            let fields: Vec<String> = record::changes(&recorded, &stored)
                .keys()
                .cloned()
                .collect();
            if !fields.is_empty() {
                let mut f = Finding::new(
                    FindingKind::RecordAltered,
                    "rfas",
                    format!(
                        "{}: the stored row differs from its history in {}: changed outside the service.",
                        row.reference,
                        fields.join(", ")
                    ),
                )
                .rfa(&row.id, reference);
                f.fields = fields;
                v.found(f);
            }
        }
    }
    let mut named = std::collections::HashSet::new();
    for (rfa_id, seq) in store::events_without_row(c, head_seq, 200)? {
        if !named.insert(rfa_id.clone()) {
            continue;
        }
        v.found(
            Finding::new(
                FindingKind::RecordMissing,
                "rfas",
                format!(
                    "Event {seq} names request {rfa_id}, which is not stored: its row was removed."
                ),
            )
            .rfa(&rfa_id, None)
            .at(seq),
        );
    }
    Ok(())
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
