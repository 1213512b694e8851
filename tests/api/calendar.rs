//! The daily check: eligibility that follows the calendar. The registry and the requests are
//! made through the API; the check and the digest run in-process against the same database
//! with a fixed clock some days ahead, as a server's worker would on those days.

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use rfa_tracker::clock::Clock;
use rfa_tracker::db::Database;
use rfa_tracker::mail::worker::{Worker, queue_digest_at};
use rfa_tracker::service::Rules;
use rfa_tracker::service::calendar::{self, Report};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, settings};
use crate::rfas::{World, intake_json};

both_backends!(
    a_lapsed_assessment_changes_open_requests_once_a_day,
    an_expired_assurance_changes_the_decision,
    the_system_account_is_no_person,
);

/// A database handle of its own, as another server instance would have.
fn instance(app: &TestApp) -> (Database, std::sync::Arc<rfa_tracker::config::Settings>) {
    let s = settings(&app.db, &[]);
    let db = Database::connect(&s.database).expect("database");
    (db, std::sync::Arc::new(s))
}

fn rules_at(s: &rfa_tracker::config::Settings, at: NaiveDateTime) -> Rules {
    Rules {
        clock: Clock::Fixed(at),
        ..Rules::from_settings(s)
    }
}

fn at(day: NaiveDate, hour: u32) -> NaiveDateTime {
    day.and_hms_opt(hour, 0, 0).unwrap()
}

async fn check(db: &Database, rules: Rules) -> Report {
    calendar::run(db, rules).await.expect("the daily check")
}

async fn get(w: &World, rfa: &Value) -> Value {
    w.get(&w.supervisor, rfa).await.json().await.unwrap()
}

fn evaluations(events: &Value) -> Vec<Value> {
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "evaluate_eligibility")
        .cloned()
        .collect()
}

async fn a_lapsed_assessment_changes_open_requests_once_a_day(backend: Backend) {
    let w = World::new(backend).await;
    let today = Utc::now().date_naive();
    let review_due = today + Duration::days(2);
    // A newer assessment of the jurisdiction, due for review in two days.
    let res = w
        .app
        .post(
            &format!("/api/v1/jurisdictions/{}/assessments", w.jurisdiction),
            Some(&w.admin),
            &json!({"outcome": "meets", "assessed_on": "2026-01-05", "review_due": review_due, "assessor": "Legal", "summary": "Standards respected."}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let open = w.intake().await;
    let closed = w.intake().await;
    let closed = w
        .act(
            &w.supervisor,
            &closed,
            "withdraw",
            json!({"reason": "Withdrawn"}),
        )
        .await;
    assert_eq!(open["eligibility"]["outcome"], "eligible");
    let closed_events = evaluations(&w.events(&w.supervisor, &closed).await).len();
    let (db, s) = instance(&w.app);
    let (db2, _) = instance(&w.app);

    // On the review date itself the assessment still holds: nothing changes.
    let on_due = check(&db, rules_at(&s, at(review_due, 9))).await;
    assert!(on_due.changed.is_empty(), "{on_due:?}");
    assert_eq!(get(&w, &open).await["eligibility"]["outcome"], "eligible");

    // The day after, from two instances at once: the decision changes once.
    let lapsed = review_due + Duration::days(1);
    let (a, b) = tokio::join!(
        check(&db, rules_at(&s, at(lapsed, 0))),
        check(&db2, rules_at(&s, at(lapsed, 0)))
    );
    assert_eq!(
        a.changed.len() + b.changed.len(),
        1,
        "one change in all: {a:?} {b:?}"
    );
    assert_eq!(a.checked + b.checked, 1, "the jurisdiction checked once");
    let changed = a.changed.iter().chain(&b.changed).next().unwrap().clone();
    assert_eq!(changed.reference, open["reference"].as_str().unwrap());
    let now = get(&w, &open).await;
    assert_eq!(now["eligibility"]["outcome"], "needs_review");
    assert!(now["version"].as_i64() > open["version"].as_i64());
    let evals = evaluations(&w.events(&w.supervisor, &open).await);
    assert_eq!(evals.len(), 2, "intake and the daily check: {evals:?}");
    let last = evals.last().unwrap();
    assert_eq!(
        last["details"]["trigger"],
        format!("daily check: the human-rights assessment's review date ({review_due}) passed")
    );
    assert_eq!(last["actor"]["display_name"], "rfa-tracker (daily check)");
    // The closed request is left as it was decided.
    let closed_now = get(&w, &closed).await;
    assert_eq!(closed_now["eligibility"]["outcome"], "eligible");
    assert_eq!(
        evaluations(&w.events(&w.supervisor, &closed).await).len(),
        closed_events
    );

    // Again the same day, later: nothing more.
    let again = check(&db2, rules_at(&s, at(lapsed, 15))).await;
    assert_eq!((again.checked, again.changed.len()), (0, 0), "{again:?}");
    // A day later the jurisdiction is checked again and nothing changes.
    let next = check(&db, rules_at(&s, at(lapsed + Duration::days(1), 9))).await;
    assert!(next.checked >= 1 && next.changed.is_empty(), "{next:?}");
    assert_eq!(evaluations(&w.events(&w.supervisor, &open).await).len(), 2);
    assert_eq!(get(&w, &open).await["version"], now["version"]);

    // The supervisor's digest of that day lists the change, once.
    let worker = Worker {
        db: db.clone(),
        settings: s.clone(),
        before_digest: None,
    };
    let digest_time = at(lapsed, 10);
    queue_digest_at(&worker, digest_time).await.unwrap();
    queue_digest_at(&worker, digest_time + Duration::hours(1))
        .await
        .unwrap();
    let key = format!("digest:{lapsed}:{}", w.supervisor_id);
    let digests: Vec<(String, String, String)> = db
        .run(move |c| {
            use rfa_tracker::db::schema::outbox::dsl as o;
            Ok(o::outbox
                .filter(o::dedupe_key.eq(key))
                .select((o::subject, o::text_body, o::html_body))
                .load(c)?)
        })
        .await
        .unwrap();
    assert_eq!(digests.len(), 1, "one digest a day");
    let (subject, text, html) = &digests[0];
    assert!(subject.contains("1 eligibility change"), "{subject}");
    let reference = open["reference"].as_str().unwrap();
    assert!(
        text.contains(&format!("{reference}  eligible -> needs review")),
        "{text}"
    );
    assert!(text.contains("review date"), "{text}");
    assert!(
        html.contains(&format!(
            "<li><strong>{reference}</strong> eligible → needs review"
        )),
        "{html}"
    );
    assert!(
        !text.contains(closed["reference"].as_str().unwrap()),
        "{text}"
    );
}

async fn an_expired_assurance_changes_the_decision(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/jurisdictions",
            Some(&admin),
            &json!({
                "name": format!("Retentionist {}", uuid::Uuid::now_v7().simple()),
                "country_code": "US",
                "death_penalty_status": "retentionist",
                "competence_bases": [{"basis": "universal_jurisdiction",
                    "crimes": ["crimes_against_humanity", "torture"]}],
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let jid = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .post(
            &format!("/api/v1/jurisdictions/{jid}/authorities"),
            Some(&admin),
            &json!({"name": "Federal Prosecutor", "kind": "prosecution"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let aid = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let today = Utc::now().date_naive();
    let expires = today + Duration::days(3);
    for (path, body) in [
        (
            "assessments",
            json!({"outcome": "meets", "assessed_on": "2025-01-15", "review_due": "2099-01-15", "assessor": "Legal", "summary": "Standards respected."}),
        ),
        (
            "assurances",
            json!({"reference": "NV/2026/7", "given_on": "2026-01-10", "scope": ["crimes_against_humanity", "torture"], "expires_on": expires}),
        ),
    ] {
        let res = app
            .post(
                &format!("/api/v1/jurisdictions/{jid}/{path}"),
                Some(&admin),
                &body,
            )
            .await;
        assert_eq!(res.status(), 201, "{path}");
    }
    let (_, supervisor) = app.user_with(&["supervisor"], &[]).await;
    let res = app
        .post("/api/v1/rfas", Some(&supervisor), &intake_json(&jid, &aid))
        .await;
    assert_eq!(res.status(), 201);
    let rfa: Value = res.json().await.unwrap();
    assert_eq!(rfa["eligibility"]["outcome"], "eligible");
    let (db, s) = instance(&app);
    let after = expires + Duration::days(1);
    let report = check(&db, rules_at(&s, at(after, 6))).await;
    assert_eq!(report.changed.len(), 1, "{report:?}");
    let path = format!("/api/v1/rfas/{}", rfa["id"].as_str().unwrap());
    let now: Value = app
        .get(&path, Some(&supervisor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["eligibility"]["outcome"], "ineligible");
    let events: Value = app
        .get(&format!("{path}/events"), Some(&supervisor))
        .await
        .json()
        .await
        .unwrap();
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "evaluate_eligibility");
    assert_eq!(
        last["details"]["trigger"],
        format!("daily check: an assurance expired (NV/2026/7, valid until {expires})")
    );
    assert_eq!(last["details"]["previous_outcome"], "eligible");
    // Twice that day: once.
    let again = check(&db, rules_at(&s, at(after, 20))).await;
    assert!(again.changed.is_empty() && again.checked == 0, "{again:?}");
}

async fn the_system_account_is_no_person(backend: Backend) {
    let w = World::new(backend).await;
    let system = rfa_tracker::db::users::SYSTEM_USER_ID;
    // The first administrator was made although the system account exists (the world
    // signed in as them).
    let users: Value = w
        .app
        .get("/api/v1/users?limit=100", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(!ids.is_empty() && !ids.contains(&system), "{users}");
    // No administrator reaches it (and so cannot give it a password or roles).
    let res = w
        .app
        .get(&format!("/api/v1/users/{system}"), Some(&w.admin))
        .await;
    assert_eq!(res.status(), 404);
    // Nobody signs in as it.
    let res = w
        .app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "daily-check@rfa-tracker.invalid", "password": "correct horse battery staple"}),
        )
        .await;
    assert_eq!(res.status(), 401);
    // After the check has acted as it, the audit still finds nothing: the account has no
    // trail and needs none. (The world's assessment is due for review on 2099-01-15.)
    let rfa = w.intake().await;
    let (db, s) = instance(&w.app);
    let day: NaiveDate = "2099-01-20".parse().unwrap();
    let report = check(&db, rules_at(&s, at(day, 8))).await;
    assert_eq!(report.changed.len(), 1, "{report:?}");
    assert_eq!(
        get(&w, &rfa).await["eligibility"]["outcome"],
        "needs_review"
    );
    let verify = w.verify().await;
    assert_eq!(verify["findings"], json!([]), "{verify}");
}
