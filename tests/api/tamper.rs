//! The tamper suite: someone with write access to the database (behind the service's back)
//! tries each way of rewriting history, and verification or a signed checkpoint names it.

use diesel::prelude::*;
use rfa_tracker::db::rfas::EventRow;
use rfa_tracker::db::schema::{chain_head, rfa_events};
use rfa_tracker::service::chain::hash_of;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestDb};
use crate::rfas::World;

both_backends!(
    the_database_refuses_to_rewrite_the_history,
    forged_events_outside_the_chain_are_named_and_not_counted,
    an_edited_request_column_is_named,
    a_cut_tail_is_caught_by_a_signed_checkpoint,
    a_rewritten_history_with_every_hash_recomputed_is_caught_by_a_signed_checkpoint,
    an_edited_snapshot_is_named,
    a_role_granted_or_an_assessment_edited_in_the_database_is_named,
);

async fn verify(w: &World) -> Value {
    let res = w.app.get("/api/v1/audit/verify", Some(&w.admin)).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn kinds(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Three requests with some history: every check holds before any attack.
async fn world_with_history(backend: Backend) -> (World, Vec<Value>) {
    let w = World::new(backend).await;
    let mut rfas = Vec::new();
    for _ in 0..3 {
        let rfa = w.intake().await;
        let rfa = w.act(&w.supervisor, &rfa, "start_review", json!({})).await;
        rfas.push(rfa);
    }
    let v = verify(&w).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records_checked"], 3, "{v}");
    assert_eq!(v["records_not_covered"], 0, "{v}");
    (w, rfas)
}

async fn sign(w: &World) -> Value {
    let res = w
        .app
        .post("/api/v1/audit/checkpoints", Some(&w.admin), &json!({}))
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn the_database_refuses_to_rewrite_the_history(backend: Backend) {
    let (w, rfas) = world_with_history(backend).await;
    sign(&w).await;
    let db = &w.app.db;
    for sql in [
        "UPDATE rfa_events SET details = '{}' WHERE seq = 1".to_string(),
        "DELETE FROM rfa_events WHERE seq > 1".to_string(),
        "UPDATE chain_checkpoints SET seq = 1".to_string(),
        "DELETE FROM chain_checkpoints".to_string(),
        "DELETE FROM registry_changes".to_string(),
    ] {
        let err = db.try_execute(&sql).expect_err(&sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    if backend == Backend::Postgres {
        let err = db.try_execute("TRUNCATE rfa_events CASCADE").unwrap_err();
        assert!(err.contains("append-only"), "{err}");
    }
    // Nothing moved.
    assert_eq!(verify(&w).await["ok"], true);
    assert_eq!(
        db.number("SELECT count(*) AS n FROM rfa_events"),
        verify(&w).await["events_checked"].as_i64().unwrap()
    );
    let _ = rfas;
}

async fn annual_received(w: &World) -> i64 {
    let res = w
        .app
        .get("/api/v1/reports/annual?year=2026", Some(&w.reporting))
        .await;
    let v: Value = res.json().await.unwrap();
    v["received"].as_i64().unwrap_or_else(|| panic!("{v}"))
}

async fn forged_events_outside_the_chain_are_named_and_not_counted(backend: Backend) {
    let (w, _) = world_with_history(backend).await;
    assert_eq!(annual_received(&w).await, 3);
    // Copies of an intake event, numbered past the head and at zero and below.
    let head = w.app.db.number("SELECT seq AS n FROM chain_head");
    for seq in [head + 1, head + 2, head + 40, 0, -5] {
        w.app.db.execute(&format!(
            "INSERT INTO rfa_events (seq, rfa_id, actor_id, at, action, state_before, state_after, details, prev_hash, hash, report_kind, report_day, jurisdiction_id, priority, assistance_types) \
             SELECT {seq}, rfa_id, actor_id, at, action, state_before, state_after, details, prev_hash, hash, report_kind, report_day, jurisdiction_id, priority, assistance_types FROM rfa_events WHERE seq = 1"
        ));
    }
    assert_eq!(annual_received(&w).await, 3, "forged rows are not counted");
    let v = verify(&w).await;
    assert_eq!(v["ok"], false);
    let outside: Vec<i64> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "outside_chain")
        .map(|f| {
            assert_eq!(f["table"], "rfa_events");
            f["seq"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(outside, vec![-5, 0, head + 1, head + 2, head + 40], "{v}");
    // The chain itself still holds.
    assert_eq!(v["first_broken_seq"], Value::Null);
}

async fn an_edited_request_column_is_named(backend: Backend) {
    let (w, rfas) = world_with_history(backend).await;
    let id = |i: usize| rfas[i]["id"].as_str().unwrap().to_string();
    let db = &w.app.db;
    // rfas is not append-only (requests change); its history is what it is checked against.
    db.execute(&format!(
        "UPDATE rfas SET subject = 'Nothing to see' WHERE id = '{}'",
        id(0)
    ));
    db.execute(&format!(
        "UPDATE rfas SET intake = replace(intake, 'a.prosecutor@justice.example', 'someone@else.example') WHERE id = '{}'",
        id(1)
    ));
    db.execute(&format!(
        "UPDATE rfas SET jurisdiction_id = '{}', state = 'closed' WHERE id = '{}'",
        w.other_jurisdiction,
        id(2)
    ));
    let v = verify(&w).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken_seq"], Value::Null, "the events are intact");
    let mut altered: Vec<(String, Value)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "record_altered")
        .map(|f| {
            assert_eq!(f["table"], "rfas");
            (
                f["rfa_id"].as_str().unwrap().to_string(),
                f["fields"].clone(),
            )
        })
        .collect();
    altered.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (id(0), json!(["subject"])),
        (id(1), json!(["intake"])),
        (id(2), json!(["jurisdiction_id", "state"])),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(altered, expected, "{v}");
    // The next change through the service records what it found, for good.
    let rfa = w
        .get(&w.supervisor, &rfas[0])
        .await
        .json::<Value>()
        .await
        .unwrap();
    w.act(
        &w.supervisor,
        &rfa,
        "add_note",
        json!({"text": "Looked at."}),
    )
    .await;
    let v = verify(&w).await;
    assert!(
        kinds(&v).contains(&"record_changed_outside".to_string()),
        "{v}"
    );
}

/// Runs `rfa-tracker audit verify --against FILE` on the test's database; (exit ok, JSON).
fn verify_against(db: &TestDb, statement: &Value) -> (bool, Value) {
    let file = db.dir.path().join("statement.json");
    std::fs::write(&file, statement.to_string()).unwrap();
    let out = crate::cli::binary()
        .env("RFA__DATABASE__URL", &db.url)
        .env("RFA__DATA_DIR", db.dir.path().join("data"))
        .args(["audit", "verify", "--against"])
        .arg(&file)
        .output()
        .expect("run the binary");
    let text = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), json)
}

async fn a_cut_tail_is_caught_by_a_signed_checkpoint(backend: Backend) {
    let (w, _) = world_with_history(backend).await;
    let statement = sign(&w).await;
    let head = statement["seq"].as_i64().unwrap();
    assert_eq!(statement["statement"], "rfa-tracker chain checkpoint");
    let (ok, out) = verify_against(&w.app.db, &statement);
    assert!(ok, "{out}");
    assert_eq!(out["against"]["holds"], true);
    assert_eq!(out["against"]["signed_by_this_service"], true);
    // The database's owner lifts the guard, removes the last two events and moves the head
    // back, so that the chain that is left holds link by link.
    let db = &w.app.db;
    db.lift_append_only();
    db.execute(&format!("DELETE FROM rfa_events WHERE seq > {}", head - 2));
    db.execute(&format!(
        "UPDATE chain_head SET seq = {0}, hash = (SELECT hash FROM rfa_events WHERE seq = {0})",
        head - 2
    ));
    let v = verify(&w).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken_seq"], Value::Null, "the chain left holds");
    let found = kinds(&v);
    assert!(found.contains(&"checkpoint_contradicted".into()), "{v}");
    // The stored checkpoint could be deleted too; the statement kept elsewhere still says.
    db.execute("DELETE FROM chain_checkpoints");
    let (ok, out) = verify_against(db, &statement);
    assert!(!ok, "{out}");
    assert_eq!(out["against"]["holds"], false);
    assert!(
        out["against"]["contradiction"]
            .as_str()
            .unwrap()
            .contains("events were removed"),
        "{out}"
    );
}

/// Rewrites event `from` with `edit` and recomputes every later hash and the head, as
/// someone with the database but without the signing key can.
fn rewrite_from(db: &TestDb, from: i64, edit: impl Fn(&mut EventRow)) {
    macro_rules! rewrite {
        ($c:expr) => {{
            let c = $c;
            let mut events: Vec<EventRow> = rfa_events::table
                .filter(rfa_events::seq.ge(from - 1))
                .order(rfa_events::seq)
                .select(EventRow::as_select())
                .load(c)
                .unwrap();
            let mut prev = events[0].hash.clone();
            for e in events.iter_mut().skip(1) {
                if e.seq == from {
                    edit(e);
                }
                e.prev_hash = prev.clone();
                e.hash = hash_of(&prev, e);
                prev = e.hash.clone();
                diesel::update(rfa_events::table.find(e.seq))
                    .set((
                        rfa_events::details.eq(&e.details),
                        rfa_events::prev_hash.eq(&e.prev_hash),
                        rfa_events::hash.eq(&e.hash),
                    ))
                    .execute(c)
                    .unwrap();
            }
            diesel::update(chain_head::table.find(1))
                .set(chain_head::hash.eq(&prev))
                .execute(c)
                .unwrap();
        }};
    }
    if db.url.starts_with("postgres") {
        rewrite!(&mut diesel::PgConnection::establish(&db.url).unwrap());
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let mut c = diesel::SqliteConnection::establish(path).unwrap();
        diesel::sql_query("PRAGMA busy_timeout = 10000")
            .execute(&mut c)
            .unwrap();
        rewrite!(&mut c);
    }
}

async fn a_rewritten_history_with_every_hash_recomputed_is_caught_by_a_signed_checkpoint(
    backend: Backend,
) {
    let (w, rfas) = world_with_history(backend).await;
    let rfa = w
        .act(
            &w.supervisor,
            &rfas[0],
            "add_note",
            json!({"text": "The witness asked for protection."}),
        )
        .await;
    let statement = sign(&w).await;
    let note_seq = w.app.db.number(&format!(
        "SELECT seq AS n FROM rfa_events WHERE rfa_id = '{}' AND action = 'add_note'",
        rfa["id"].as_str().unwrap()
    ));
    let db = &w.app.db;
    db.lift_append_only();
    rewrite_from(db, note_seq, |e| {
        let mut d: Value = serde_json::from_str(&e.details).unwrap();
        d["text"] = json!("Nothing of note.");
        e.details = rfa_tracker::domain::canonical::canonical(&d);
    });
    let events = w.events(&w.supervisor, &rfa).await;
    assert!(
        events.to_string().contains("Nothing of note."),
        "the rewrite is served"
    );
    let v = verify(&w).await;
    assert_eq!(
        v["first_broken_seq"],
        Value::Null,
        "every link was recomputed"
    );
    assert_eq!(v["ok"], false, "{v}");
    assert!(kinds(&v).contains(&"checkpoint_contradicted".into()), "{v}");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "checkpoint_contradicted")
        .unwrap();
    assert_eq!(f["table"], "chain_checkpoints");
    assert_eq!(f["seq"], statement["seq"]);
    db.execute("DELETE FROM chain_checkpoints");
    let (ok, out) = verify_against(db, &statement);
    assert!(!ok, "{out}");
    assert!(
        out["against"]["contradiction"]
            .as_str()
            .unwrap()
            .contains("rewritten"),
        "{out}"
    );
}

async fn an_edited_snapshot_is_named(backend: Backend) {
    let (w, _) = world_with_history(backend).await;
    let res = w
        .app
        .post(
            "/api/v1/reports/snapshots",
            Some(&w.reporting),
            &json!({"kind": "annual", "year": 2026, "label": "Annual report draft"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let snapshot: Value = res.json().await.unwrap();
    assert_eq!(verify(&w).await["snapshots_checked"], 1);
    let db = &w.app.db;
    db.lift_append_only();
    db.execute("UPDATE report_snapshots SET figures = replace(figures, '\"received\":3', '\"received\":30')");
    let v = verify(&w).await;
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "snapshot_altered")
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert_eq!(f["snapshot_id"], snapshot["id"]);
    assert_eq!(f["table"], "report_snapshots");
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .contains("Annual report draft")
    );
}

async fn a_role_granted_or_an_assessment_edited_in_the_database_is_named(backend: Backend) {
    let (w, _) = world_with_history(backend).await;
    let v = verify(&w).await;
    // The administrator, four users and two jurisdictions, each with its trail.
    assert_eq!(v["trail_records_checked"], 7, "{v}");
    let me: Value = w
        .app
        .get("/api/v1/me", Some(&w.reporting))
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();
    let db = &w.app.db;
    db.execute(&format!(
        "INSERT INTO user_roles (user_id, role) VALUES ('{id}', 'supervisor')"
    ));
    db.execute(&format!(
        "UPDATE human_rights_assessments SET summary = 'Edited.' WHERE jurisdiction_id = '{}'",
        w.jurisdiction
    ));
    let v = verify(&w).await;
    assert_eq!(v["ok"], false);
    let altered: Vec<(String, String, Value)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "record_altered")
        .map(|f| {
            (
                f["table"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                f["fields"].clone(),
            )
        })
        .collect();
    assert_eq!(
        altered,
        vec![
            ("users".into(), format!("user:{id}"), json!(["roles"])),
            (
                "jurisdictions".into(),
                format!("jurisdiction:{}", w.jurisdiction),
                json!(["assessments"])
            ),
        ],
        "{v}"
    );
}
