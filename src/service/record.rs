//! The case record under the chain. Every event of a request says, in `details.record`, what
//! the request's stored row holds once the event is written: the intake (and the first event
//! of a request recorded before this existed) carries the whole record, every later event
//! the fields it changed, before and after, and each one the SHA-256 of the whole record. The
//! event's hash covers that entry, so the history commits to every column of the row.
//!
//! Replaying a request's entries gives the record its history says it has; `audit/verify`
//! compares that with the stored row and names the fields that differ. A writer that finds
//! the stored row already different from its history (someone edited it behind the
//! service's back) still does its work, but its event records what it found
//! (`outside`), so the edit is in the chain for good and verify reports it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::db::rfas::RfaRow;
use crate::domain::canonical::canonical;

/// A request's stored row as named fields (JSON columns parsed, so a change reads as the
/// values it changed).
pub type Record = BTreeMap<String, Value>;

/// The columns that hold JSON text.
const JSON_COLUMNS: [&str; 5] = [
    "intake",
    "eligibility",
    "eligibility_override",
    "tags",
    "extensions",
];

/// Every column of the row. Serialized through serde, so a column added to `RfaRow` is in
/// the record without anyone remembering to add it here.
pub fn of(row: &RfaRow) -> Record {
    let Ok(Value::Object(map)) = serde_json::to_value(row) else {
        return Record::new();
    };
    map.into_iter()
        .map(|(k, v)| {
            let v = match (&v, JSON_COLUMNS.contains(&k.as_str())) {
                (Value::String(s), true) => serde_json::from_str(s).unwrap_or(v),
                _ => v,
            };
            (k, v)
        })
        .collect()
}

pub fn digest(record: &Record) -> String {
    let value = Value::Object(record.clone().into_iter().collect());
    hex::encode(Sha256::digest(canonical(&value).as_bytes()))
}

/// The fields whose values differ, each with `before` and `after` (a field missing on one
/// side is null there).
pub fn changes(before: &Record, after: &Record) -> Map<String, Value> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| {
            (
                k.clone(),
                json!({
                    "before": before.get(k).cloned().unwrap_or(Value::Null),
                    "after": after.get(k).cloned().unwrap_or(Value::Null),
                }),
            )
        })
        .collect()
}

/// What an event's `details.record` says.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// The whole record: the intake, or the first event of a request recorded before records
    /// were kept (`baseline`), or one written after finding the row changed outside the
    /// service (`outside` names those fields, with what the history said and what was found).
    Full {
        record: Record,
        digest: String,
        baseline: bool,
        outside: Map<String, Value>,
    },
    /// The fields this event changed.
    Changes {
        changes: Map<String, Value>,
        digest: String,
    },
}

impl Entry {
    pub fn digest(&self) -> &str {
        match self {
            Entry::Full { digest, .. } | Entry::Changes { digest, .. } => digest,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Entry::Full {
                record,
                digest,
                baseline,
                outside,
            } => {
                let mut v = json!({"digest": digest, "full": record});
                if *baseline {
                    v["baseline"] = Value::Bool(true);
                }
                if !outside.is_empty() {
                    v["outside"] = Value::Object(outside.clone());
                }
                v
            }
            Entry::Changes { changes, digest } => json!({"digest": digest, "changes": changes}),
        }
    }

    /// The entry of an event's details (JSON text); `None` for an event written before
    /// records were kept (or one whose entry is not readable, which the replay reports).
    pub fn of_details(details: &str) -> Option<Entry> {
        Self::of_value(&serde_json::from_str(details).ok()?)
    }

    fn of_value(details: &Value) -> Option<Entry> {
        let e = details.get("record")?;
        let digest = e.get("digest")?.as_str()?.to_string();
        if let Some(Value::Object(full)) = e.get("full") {
            return Some(Entry::Full {
                record: full.clone().into_iter().collect(),
                digest,
                baseline: e.get("baseline").and_then(Value::as_bool).unwrap_or(false),
                outside: match e.get("outside") {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                },
            });
        }
        match e.get("changes") {
            Some(Value::Object(changes)) => Some(Entry::Changes {
                changes: changes.clone(),
                digest,
            }),
            _ => None,
        }
    }
}

/// The entry a new event carries. `previous` is the digest the request's last event
/// committed to (`None` before its first entry), `before` the row as the writer found it,
/// `after` the row as it is now; `history` gives the record the events say, asked for only
/// when the row was changed outside the service.
pub fn entry_for(
    previous: Option<&str>,
    before: &Record,
    after: Record,
    history: impl FnOnce() -> Option<Record>,
) -> Entry {
    let digest = digest(&after);
    match previous {
        None => Entry::Full {
            record: after,
            digest,
            baseline: !before.is_empty(),
            outside: Map::new(),
        },
        Some(p) if p != self::digest(before) => {
            let recorded = history().unwrap_or_default();
            let mut outside = Map::new();
            for (field, change) in changes(&recorded, before) {
                outside.insert(
                    field,
                    json!({"history": change["before"], "found": change["after"]}),
                );
            }
            Entry::Full {
                record: after,
                digest,
                baseline: false,
                outside,
            }
        }
        Some(_) => Entry::Changes {
            changes: changes(before, &after),
            digest,
        },
    }
}

/// What replaying one request's entries found.
#[derive(Debug, Default)]
pub struct Replay {
    /// The record the history says, once any entry was seen.
    pub record: Option<Record>,
    /// Events whose entry said the row had been changed outside the service: (seq, fields).
    pub outside: Vec<(i64, Vec<String>)>,
    /// The first event whose entry does not add up (its digest is not that of the record it
    /// leaves, or it cannot be read).
    pub inconsistent: Option<i64>,
}

impl Replay {
    /// Applies one event's details, JSON text (events in sequence order).
    pub fn step(&mut self, seq: i64, details: &str) {
        let details: Value = serde_json::from_str(details).unwrap_or(Value::Null);
        let Some(entry) = Entry::of_value(&details) else {
            // Events written before records were kept have none; once one has, every later
            // event must.
            if details.get("record").is_some() || self.record.is_some() {
                self.inconsistent.get_or_insert(seq);
            }
            return;
        };
        let record = match &entry {
            Entry::Full {
                record, outside, ..
            } => {
                if !outside.is_empty() {
                    self.outside.push((seq, outside.keys().cloned().collect()));
                }
                record.clone()
            }
            Entry::Changes { changes, .. } => {
                let Some(mut record) = self.record.take() else {
                    self.inconsistent.get_or_insert(seq);
                    return;
                };
                for (field, change) in changes {
                    record.insert(
                        field.clone(),
                        change.get("after").cloned().unwrap_or(Value::Null),
                    );
                }
                record
            }
        };
        if digest(&record) != entry.digest() {
            self.inconsistent.get_or_insert(seq);
        }
        self.record = Some(record);
    }
}

/// The record's history as replayed from a request's events' details, in order.
pub fn replay<'a>(events: impl IntoIterator<Item = (i64, &'a str)>) -> Replay {
    let mut r = Replay::default();
    for (seq, details) in events {
        r.step(seq, details);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, Value)]) -> Record {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_replayed_history_gives_the_record_and_names_an_outside_edit() {
        let first = rec(&[("subject", json!("A")), ("state", json!("received"))]);
        let intake = entry_for(None, &Record::new(), first.clone(), || None);
        assert!(matches!(
            &intake,
            Entry::Full {
                baseline: false,
                ..
            }
        ));
        let second = rec(&[("subject", json!("A")), ("state", json!("under_review"))]);
        let review = entry_for(Some(intake.digest()), &first, second.clone(), || None);
        let Entry::Changes { changes, .. } = &review else {
            panic!("a change entry")
        };
        assert_eq!(changes.keys().collect::<Vec<_>>(), ["state"]);
        // Someone edits the subject in the database; the next writer finds it.
        let edited = rec(&[("subject", json!("B")), ("state", json!("under_review"))]);
        let third = rec(&[("subject", json!("B")), ("state", json!("accepted"))]);
        let accept = entry_for(Some(review.digest()), &edited, third.clone(), || {
            Some(second.clone())
        });
        let Entry::Full { outside, .. } = &accept else {
            panic!("a full entry")
        };
        assert_eq!(outside["subject"], json!({"history": "A", "found": "B"}));
        let details: Vec<String> = [intake, review, accept]
            .iter()
            .map(|e| json!({"record": e.to_json()}).to_string())
            .collect();
        let r = replay(
            details
                .iter()
                .enumerate()
                .map(|(i, d)| (i as i64 + 1, d.as_str())),
        );
        assert_eq!(r.record, Some(third));
        assert_eq!(r.outside, vec![(3, vec!["subject".to_string()])]);
        assert_eq!(r.inconsistent, None);
    }

    #[test]
    fn an_entry_that_does_not_add_up_is_named() {
        let first = rec(&[("subject", json!("A"))]);
        let intake = entry_for(None, &Record::new(), first.clone(), || None);
        let mut forged = json!({"record": entry_for(Some(intake.digest()), &first, rec(&[("subject", json!("C"))]), || None).to_json()});
        forged["record"]["changes"]["subject"]["after"] = json!("D");
        let details = [
            json!({"record": intake.to_json()}),
            forged,
            json!({"other": 1}),
        ]
        .map(|d| d.to_string());
        let r = replay(
            details
                .iter()
                .enumerate()
                .map(|(i, d)| (i as i64 + 1, d.as_str())),
        );
        assert_eq!(r.inconsistent, Some(2));
    }
}
