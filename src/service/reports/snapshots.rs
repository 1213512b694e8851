//! Snapshots: a report frozen with its parameters, the events it covered and a SHA-256
//! digest, and its differences from the same report computed now.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::tables::tables;
use super::{AnyFigures, Report, ReportSpec, report, rows};
use crate::db::DbConnection;
use crate::db::reports::{self as store, SnapshotRow};
use crate::domain::canonical::canonical;
use crate::domain::ids::SnapshotId;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::{Caller, new_id};
use crate::service::chain::{Finding, FindingKind, Verification};
use crate::service::paging::{decode_cursor, encode_cursor, page};
use crate::service::validate::Errors;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSnapshot {
    /// `annual` (with `year`), `range` (with `from` and `to`) or `cumulative` (with `through`).
    pub kind: String,
    pub year: Option<i32>,
    #[serde(default, deserialize_with = "crate::service::day::optional")]
    pub from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::service::day::optional")]
    pub to: Option<NaiveDate>,
    pub through: Option<i32>,
    pub as_of: Option<DateTime<Utc>>,
    /// For example "Annual report 2023, as published".
    pub label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Snapshot {
    pub id: String,
    pub report: ReportSpec,
    pub label: Option<String>,
    pub as_of: DateTime<Utc>,
    pub covered_seq: i64,
    /// SHA-256 over the report's parameters, as_of, covered_seq and figures (canonical JSON).
    pub digest: String,
    /// Recomputed on every read: true when the stored parameters or figures no longer give
    /// the stored digest, that is, the snapshot was changed after it was frozen. Its figures
    /// must not be trusted.
    pub altered: bool,
    #[schema(value_type = Object)]
    pub figures: Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotPage {
    pub items: Vec<Snapshot>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    /// Section, key and figure, as in the CSV export: `by_jurisdiction/Germany/received`.
    pub figure: String,
    pub snapshot: Option<String>,
    pub now: Option<String>,
}

/// One figure of the published tables that differs now.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableChange {
    /// The table's title, as on the figures page: "By jurisdiction".
    pub table: String,
    /// The row's label: "Germany", "Total".
    pub row: String,
    /// The column's heading: "Received".
    pub column: String,
    pub published: Option<f64>,
    pub now: Option<f64>,
    /// now − published, where both are figures.
    pub change: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotDiff {
    pub snapshot_id: String,
    pub snapshot_as_of: DateTime<Utc>,
    pub compared_as_of: DateTime<Utc>,
    /// The snapshot's own digest check (see `Snapshot.altered`).
    pub snapshot_altered: bool,
    pub unchanged: bool,
    /// In the long machine layout's names.
    pub changes: Vec<Change>,
    /// The same differences as they read in the tables.
    pub table_changes: Vec<TableChange>,
}

fn digest_of(
    spec: &ReportSpec,
    as_of: &DateTime<Utc>,
    covered_seq: i64,
    figures: &Value,
) -> String {
    let content = json!({
        "report": spec,
        "as_of": as_of.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "covered_seq": covered_seq,
        "figures": figures,
    });
    hex::encode(Sha256::digest(canonical(&content).as_bytes()))
}

/// Every frozen snapshot against its digest, for verification.
pub fn check_all(c: &mut DbConnection, v: &mut Verification) -> Result<(), AppError> {
    let mut after: Option<String> = None;
    loop {
        let rows = store::list_snapshots(c, after.as_deref(), 500)?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id.clone());
        for row in rows {
            v.snapshots_checked += 1;
            let id = row.id.clone();
            let label = row.label.clone().unwrap_or_else(|| id.clone());
            // An unreadable stored snapshot is as altered as one whose digest fails.
            if snapshot_view(row).map(|s| s.altered).unwrap_or(true) {
                v.found(
                    Finding::new(
                        FindingKind::SnapshotAltered,
                        "report_snapshots",
                        format!("The snapshot \u{201c}{label}\u{201d} no longer matches the digest it was frozen with."),
                    )
                    .snapshot(&id),
                );
            }
        }
    }
    Ok(())
}

fn snapshot_view(row: SnapshotRow) -> Result<Snapshot, AppError> {
    let bad = |e: serde_json::Error| AppError::internal(format!("stored snapshot: {e}"));
    let report: ReportSpec = serde_json::from_str(&row.parameters).map_err(bad)?;
    let figures: Value = serde_json::from_str(&row.figures).map_err(bad)?;
    let altered = digest_of(&report, &row.as_of.and_utc(), row.covered_seq, &figures) != row.digest;
    if altered {
        tracing::error!(snapshot = %row.id, "a report snapshot no longer matches its digest");
    }
    Ok(Snapshot {
        report,
        figures,
        altered,
        id: row.id,
        label: row.label,
        as_of: row.as_of.and_utc(),
        covered_seq: row.covered_seq,
        digest: row.digest,
        created_by: row.created_by,
        created_at: row.created_at.and_utc(),
    })
}

impl NewSnapshot {
    /// The report these parameters name, with the field that names the kind called `kind_field`
    /// in errors (`kind` for snapshots, `report` where `kind` means something else).
    pub fn spec_or(&self, errors: &mut Errors, kind_field: &str) -> Option<ReportSpec> {
        let before = errors.len();
        let spec = self.spec(errors);
        errors.rename_from(before, "kind", kind_field);
        spec
    }

    fn spec(&self, errors: &mut Errors) -> Option<ReportSpec> {
        let mut need = |name: &str, present: bool| {
            if !present {
                errors.add(name, format!("is required for a {} report", self.kind));
            }
            present
        };
        match self.kind.as_str() {
            "annual" => need("year", self.year.is_some()).then(|| ReportSpec::Annual {
                year: self.year.unwrap_or_default(),
            }),
            "range" => {
                let (f, t) = (
                    need("from", self.from.is_some()),
                    need("to", self.to.is_some()),
                );
                (f && t).then(|| ReportSpec::Range {
                    from: self.from.unwrap_or_default(),
                    to: self.to.unwrap_or_default(),
                })
            }
            "cumulative" => {
                need("through", self.through.is_some()).then(|| ReportSpec::Cumulative {
                    through: self.through.unwrap_or_default(),
                })
            }
            _ => {
                errors.add("kind", "must be annual, range or cumulative");
                None
            }
        }
    }
}

pub async fn create_snapshot(
    svc: &Services,
    caller: Caller,
    req: NewSnapshot,
) -> Result<Snapshot, AppError> {
    let who = caller.resolve(svc, Some(Action::ReadReports)).await?;
    let actor = who.user_id().to_string();
    let mut errors = Errors::new();
    let label = req
        .label
        .as_deref()
        .map(|l| errors.text("label", l, 200, false));
    let spec = req.spec(&mut errors);
    errors.finish()?;
    let spec = spec.ok_or_else(|| AppError::internal("snapshot parameters"))?;
    let report = report(svc, who.into(), spec, req.as_of).await?;
    let figures =
        serde_json::to_value(&report.figures).map_err(|e| AppError::internal(e.to_string()))?;
    // Truncated like every stored time, so the digest can be recomputed from what is stored.
    let as_of = crate::clock::micros(report.as_of.naive_utc()).and_utc();
    let digest = digest_of(&report.report, &as_of, report.covered_seq, &figures);
    let row = SnapshotRow {
        id: new_id(),
        kind: report.report.kind().into(),
        parameters: canonical(&serde_json::to_value(report.report).unwrap_or_default()),
        as_of: as_of.naive_utc(),
        covered_seq: report.covered_seq,
        figures: canonical(&figures),
        digest,
        label,
        created_by: actor,
        created_at: svc.rules.now(),
    };
    svc.db
        .run(move |c| {
            c.write(|c| {
                store::insert_snapshot(c, &row)?;
                Ok::<_, AppError>(())
            })?;
            snapshot_view(row)
        })
        .await
}

pub async fn get_snapshot(
    svc: &Services,
    caller: Caller,
    id: SnapshotId,
) -> Result<Snapshot, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ReadReports)?;
            let row = store::find_snapshot(c, id.as_str())?
                .ok_or_else(|| AppError::NotFound("No such snapshot.".into()))?;
            snapshot_view(row)
        })
        .await
}

pub async fn list_snapshots(
    svc: &Services,
    caller: Caller,
    cursor: Option<String>,
    limit: i64,
) -> Result<SnapshotPage, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ReadReports)?;
            let after = cursor.map(|c| decode_cursor(&c)).transpose()?;
            let rows = store::list_snapshots(c, after.as_deref(), limit + 1)?;
            let (rows, next_cursor) = page(rows, limit, |r| encode_cursor(&r.id));
            let items = rows
                .into_iter()
                .map(snapshot_view)
                .collect::<Result<_, _>>()?;
            Ok(SnapshotPage { items, next_cursor })
        })
        .await
}

/// The snapshot against the same report computed now: every figure that differs.
pub async fn diff_snapshot(
    svc: &Services,
    caller: Caller,
    id: SnapshotId,
) -> Result<SnapshotDiff, AppError> {
    let who = caller.resolve(svc, Some(Action::ReadReports)).await?;
    let snapshot = get_snapshot(svc, who.clone().into(), id).await?;
    let now = report(svc, who.into(), snapshot.report, None).await?;
    let published = snapshot_report(svc, &snapshot)?;
    let then = published.figures.clone();
    let key = |r: &[String; 4]| format!("{}/{}/{}", r[0], r[1], r[2]).replace("//", "/");
    let old: BTreeMap<String, String> =
        rows(&then).iter().map(|r| (key(r), r[3].clone())).collect();
    let new: BTreeMap<String, String> = rows(&now.figures)
        .iter()
        .map(|r| (key(r), r[3].clone()))
        .collect();
    let mut names: BTreeSet<&String> = old.keys().collect();
    names.extend(new.keys());
    let changes: Vec<Change> = names
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| Change {
            figure: k.clone(),
            snapshot: old.get(k).cloned(),
            now: new.get(k).cloned(),
        })
        .collect();
    let table_changes = compare_tables(&published, &now);
    Ok(SnapshotDiff {
        snapshot_id: snapshot.id,
        snapshot_as_of: snapshot.as_of,
        compared_as_of: now.as_of,
        snapshot_altered: snapshot.altered,
        unchanged: changes.is_empty(),
        changes,
        table_changes,
    })
}

impl Snapshot {
    /// A name for its downloads: `rfa-figures-2023-snapshot-01a2320a`.
    pub fn file_stem(&self) -> String {
        format!(
            "{}-snapshot-{}",
            self.report.file_stem(),
            self.id.get(..8).unwrap_or(&self.id)
        )
    }
}

/// A snapshot as the report it froze, to show or export its tables. The time zone is not
/// frozen with it: the one configured now is named.
pub fn snapshot_report(svc: &Services, snapshot: &Snapshot) -> Result<Report, AppError> {
    let figures: AnyFigures = serde_json::from_value(snapshot.figures.clone())
        .map_err(|e| AppError::internal(format!("stored snapshot figures: {e}")))?;
    let (from, to) = snapshot.report.period();
    Ok(Report {
        report: snapshot.report,
        from: match snapshot.report {
            ReportSpec::Cumulative { .. } => None,
            _ => Some(from),
        },
        to,
        time_zone: svc.rules.tz.name().to_string(),
        as_of: snapshot.as_of,
        covered_seq: snapshot.covered_seq,
        figures,
    })
}

/// What a snapshot's download says about it beyond the report itself.
pub fn snapshot_facts(snapshot: &Snapshot) -> Vec<(&'static str, String)> {
    let mut facts = vec![("Snapshot", snapshot.id.clone())];
    if let Some(label) = &snapshot.label {
        facts.push(("Label", label.clone()));
    }
    facts.push((
        "Frozen",
        snapshot
            .created_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
    ));
    facts.push(("Digest (SHA-256)", snapshot.digest.clone()));
    facts.push((
        "Digest check",
        if snapshot.altered {
            "FAILED: the stored figures no longer match the digest; this snapshot was altered after it was frozen.".into()
        } else {
            "Matches: the figures are the ones frozen.".into()
        },
    ));
    facts
}

/// Every cell of the tables that differs between two reports of the same period.
fn compare_tables(then: &Report, now: &Report) -> Vec<TableChange> {
    type Key = (String, String, String);
    let cells = |r: &Report| -> (Vec<Key>, BTreeMap<Key, Option<f64>>) {
        let mut order = Vec::new();
        let mut map = BTreeMap::new();
        for t in tables(r) {
            for row in t.rows.iter().chain(t.total.iter()) {
                for (col, v) in t.columns.iter().skip(1).zip(&row.values) {
                    let k = (t.title.to_string(), row.label.clone(), col.to_string());
                    if map.insert(k.clone(), *v).is_none() {
                        order.push(k);
                    }
                }
            }
        }
        (order, map)
    };
    let (mut order, old) = cells(then);
    let (new_order, new) = cells(now);
    order.extend(new_order.into_iter().filter(|k| !old.contains_key(k)));
    order
        .into_iter()
        .filter_map(|k| {
            let (published, current) = (
                old.get(&k).copied().flatten(),
                new.get(&k).copied().flatten(),
            );
            (published != current).then(|| TableChange {
                change: published.zip(current).map(|(a, b)| b - a),
                table: k.0,
                row: k.1,
                column: k.2,
                published,
                now: current,
            })
        })
        .collect()
}
