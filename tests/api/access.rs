//! Who looked at what: the access log records reads of cases, searches (text by its length
//! only), reports and sign-ins, lists them per case and per user, records its own reading,
//! and is a chain verification walks.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::rfas::World;

both_backends!(
    reads_searches_reports_and_sign_ins_are_recorded,
    an_edited_access_entry_is_named,
    a_cut_access_log_is_caught_by_a_signed_checkpoint,
    what_a_client_sends_cannot_hold_up_the_log,
);

async fn accesses(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/v1/audit/access?{query}"), Some(admin))
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

fn actions(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_string())
        .collect()
}

async fn reads_searches_reports_and_sign_ins_are_recorded(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let id = rfa["id"].as_str().unwrap();
    let reference = rfa["reference"].as_str().unwrap();
    // A liaison officer reads the case and searches; another, out of reach, tries to read it.
    assert_eq!(w.get(&w.liaison, &rfa).await.status(), 200);
    let res = w
        .app
        .get(
            "/api/v1/rfas?q=%C3%9Cberwachung&state=received",
            Some(&w.liaison),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(w.get(&w.other_liaison, &rfa).await.status(), 404);
    // The supervisor reads its history; reporting staff read the figures.
    w.events(&w.supervisor, &rfa).await;
    let res = w
        .app
        .get("/api/v1/reports/annual?year=2026", Some(&w.reporting))
        .await;
    assert_eq!(res.status(), 200);
    // Someone tries the liaison officer's account with a wrong password.
    let me: Value = w
        .app
        .get("/api/v1/me", Some(&w.liaison))
        .await
        .json()
        .await
        .unwrap();
    let email = me["email"].as_str().unwrap().to_string();
    let res = w
        .app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": "not the password at all"}),
        )
        .await;
    assert_eq!(res.status(), 401);

    // Who accessed the case, by its reference.
    let of_case = accesses(&w.app, &w.admin, &format!("rfa={reference}")).await;
    assert_eq!(
        actions(&of_case),
        ["read_history", "read_case", "read_case"],
        "{of_case:?}"
    );
    let refused = &of_case[1];
    assert_eq!(refused["detail"]["status"], "404");
    let read = &of_case[2];
    assert_eq!(read["user_id"], w.liaison_id);
    assert_eq!(read["reference"], reference);
    assert_eq!(read["rfa_id"], id);
    assert_eq!(read["address"], "127.0.0.1");
    assert_eq!(read["detail"]["status"], "200");
    assert!(read["user_name"].is_string());

    // What the liaison officer did: the search's text is kept only by its length.
    let of_user = accesses(&w.app, &w.admin, &format!("user_id={}", w.liaison_id)).await;
    assert_eq!(
        actions(&of_user),
        ["sign_in_failed", "search", "read_case", "sign_in"],
        "{of_user:?}"
    );
    let search = &of_user[1]["detail"];
    assert_eq!(search["q_length"], "11");
    assert_eq!(search["state"], "received");
    assert!(!search.to_string().contains("berwachung"), "{search}");
    assert_eq!(of_user[0]["detail"]["email"], email.as_str());

    // Reports are recorded, and so is every reading of the log.
    let all = accesses(&w.app, &w.admin, "limit=200").await;
    let kinds = actions(&all);
    assert!(kinds.contains(&"report".to_string()), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| *k == "read_access_log").count(),
        2,
        "{kinds:?}"
    );
    // An unknown case is a clear 404.
    let res = w
        .app
        .get("/api/v1/audit/access?rfa=RFA-1999-0001", Some(&w.admin))
        .await;
    assert_eq!(res.status(), 404);
    let v = w.verify().await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["access_entries_checked"].as_i64().unwrap() >= 8, "{v}");
}

async fn an_edited_access_entry_is_named(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    assert_eq!(w.get(&w.liaison, &rfa).await.status(), 200);
    accesses(&w.app, &w.admin, "").await;
    let db = &w.app.db;
    let err = db
        .try_execute("UPDATE access_log SET address = '10.0.0.9'")
        .unwrap_err();
    assert!(err.contains("append-only"), "{err}");
    // The owner lifts the guard and hides who read the case.
    db.lift_append_only();
    db.execute(&format!(
        "UPDATE access_log SET user_id = NULL WHERE rfa_id = '{}'",
        rfa["id"].as_str().unwrap()
    ));
    let v = w.verify().await;
    assert_eq!(v["ok"], false);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["table"] == "access_log")
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert_eq!(f["kind"], "broken_link");
}

async fn a_cut_access_log_is_caught_by_a_signed_checkpoint(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    assert_eq!(w.get(&w.liaison, &rfa).await.status(), 200);
    accesses(&w.app, &w.admin, "").await;
    let res = w
        .app
        .post("/api/v1/audit/checkpoints", Some(&w.admin), &json!({}))
        .await;
    assert_eq!(res.status(), 201);
    let statement: Value = res.json().await.unwrap();
    let signed = statement["access_seq"].as_i64().unwrap();
    assert!(signed >= 2, "{statement}");
    // The owner removes the last reads and moves the head back: the log left is a chain.
    let db = &w.app.db;
    db.lift_append_only();
    db.execute(&format!(
        "DELETE FROM access_log WHERE seq > {}",
        signed - 2
    ));
    db.execute(&format!(
        "UPDATE access_head SET seq = {0}, hash = (SELECT hash FROM access_log WHERE seq = {0})",
        signed - 2
    ));
    let v = w.verify().await;
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "checkpoint_contradicted")
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert!(f["detail"].as_str().unwrap().contains("access log"), "{f}");
}

/// A NUL byte (which PostgreSQL refuses in text) in a path, a query or a sign-in's email is
/// recorded cleaned, and the entries after it are written as usual.
async fn what_a_client_sends_cannot_hold_up_the_log(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    w.app.get("/api/v1/rfas/%00", Some(&w.liaison)).await;
    w.app.get("/api/v1/rfas?q=%00x", Some(&w.liaison)).await;
    w.app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "a\u{0}b@x.org", "password": "whatever it is"}),
        )
        .await;
    assert_eq!(w.get(&w.liaison, &rfa).await.status(), 200);
    let items = accesses(&w.app, &w.admin, "limit=20").await;
    let kinds = actions(&items);
    assert_eq!(
        &kinds[0..4],
        ["read_case", "sign_in_failed", "search", "read_case"],
        "{items:?}"
    );
    assert_eq!(items[2]["detail"]["q_length"], "2");
    assert!(!serde_json::to_string(&items).unwrap().contains("\\u0000"));
}
