//! Backups that restore: `rfa-tracker backup` taken while intakes go on, then restored into a
//! fresh server, which finds every intake acknowledged before the backup began and a record
//! that verifies. On PostgreSQL the command refuses and names the tools to use.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::cli::binary;
use crate::crash::{Outcomes, intake_clients, start_binary};
use crate::helpers::{Backend, TEST_SECRET, TestDb, backend_available, say};
use crate::rfas::World;

/// Runs `rfa-tracker backup --to FILE` against `db`, as an operator would beside a running
/// service.
async fn run_backup(db: &TestDb, to: &std::path::Path) -> std::process::Output {
    let mut cmd = binary();
    cmd.env("RFA__DATABASE__URL", &db.url)
        .env("RFA__DATA_DIR", db.dir.path().join("data"))
        .env("RFA__AUTH__JWT_SECRET", TEST_SECRET)
        .env("RFA__LOG__LEVEL", "error")
        .arg("backup")
        .arg("--to")
        .arg(to);
    tokio::task::spawn_blocking(move || cmd.output().expect("run the backup"))
        .await
        .unwrap()
}

fn acknowledged_ids(outcomes: &Outcomes) -> BTreeSet<String> {
    outcomes
        .lock()
        .unwrap()
        .values()
        .flatten()
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_every_acknowledged_intake() {
    let w = World::new(Backend::Sqlite).await;
    let db = w.app.db.shared();
    let mut server = start_binary(&db);
    let body = w.intake_body();
    let outcomes: Outcomes = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients = intake_clients(&server.base, &w.supervisor, &body, 4, &outcomes, &stop);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = acknowledged_ids(&outcomes);
    let to = db.dir.path().join("backup.db");
    let out = run_backup(&db, &to).await;
    let during = acknowledged_ids(&outcomes).len() - before.len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("the backup's report");
    assert_eq!(report["integrity"], "ok", "{report}");
    assert_eq!(report["chain_ok"], true, "{report}");
    assert!(
        report["counts"]["requests"].as_u64().unwrap() >= before.len() as u64,
        "{report}"
    );
    assert!(to.exists(), "the copy is in place");
    assert!(
        !db.dir.path().join("backup.db.partial").exists(),
        "nothing half-done is left beside it"
    );
    assert!(
        !before.is_empty(),
        "intakes were acknowledged before the backup"
    );
    say(&format!(
        "backup under load: {} intakes acknowledged before it began, {during} while it ran, {} bytes in {:.3} s",
        before.len(),
        report["bytes"],
        report["copy_seconds"].as_f64().unwrap_or_default()
    ));

    // A backup never overwrites a file.
    let again = run_backup(&db, &to).await;
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // Restored: a fresh server on the copy, with a data directory of its own.
    let restored_db = TestDb::sqlite_file(&to);
    let restored = start_binary(&restored_db);
    let client = reqwest::Client::new();
    for id in &before {
        let res = client
            .get(format!("{}/api/v1/rfas/{id}", restored.base))
            .bearer_auth(&w.supervisor)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            200,
            "acknowledged intake {id} is in the backup"
        );
    }
    let verify: Value = client
        .get(format!("{}/api/v1/audit/verify", restored.base))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_postgresql_is_refused_with_the_tools_to_use() {
    if !backend_available(Backend::Postgres, "a_backup_of_postgresql_is_refused") {
        return;
    }
    let db = TestDb::create(Backend::Postgres);
    let to = db.dir.path().join("backup.db");
    let out = run_backup(&db, &to).await;
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("pg_dump"), "{said}");
    assert!(!to.exists());
}

/// The backup only reads the live database: one that lacks a migration of this version is
/// refused, and left as it was (the backup does not migrate it behind the service's back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_never_migrates_the_live_database() {
    let w = World::new(Backend::Sqlite).await;
    let db = w.app.db.shared();
    let latest = "(SELECT max(version) FROM __diesel_schema_migrations)";
    db.execute(&format!(
        "DELETE FROM __diesel_schema_migrations WHERE version = {latest}"
    ));
    let before = db.number("SELECT count(*) AS n FROM __diesel_schema_migrations");
    let to = db.dir.path().join("backup.db");
    let out = run_backup(&db, &to).await;
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("rfa-tracker migrate"), "{said}");
    assert_eq!(
        db.number("SELECT count(*) AS n FROM __diesel_schema_migrations"),
        before,
        "the backup applied no migration"
    );
    assert!(!to.exists());
}
