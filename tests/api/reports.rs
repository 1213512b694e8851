//! The annual figures: definitions, time zones, as-of reproduction, snapshots, exports, the
//! demonstration data set, and who may see them.

use std::collections::BTreeSet;
use std::process::Command;

use chrono::Datelike;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, TestDb, assert_problem, settings,
};
use crate::rfas::World;

both_backends!(
    demo_data_reproduces_the_published_figures,
    demo_data_runs_to_today_with_current_work_and_few_overdue,
    the_year_of_receipt_is_taken_in_the_reporting_time_zone,
    a_request_counts_once_in_each_column_and_reopenings_add_up,
    a_corrected_day_of_receipt_moves_the_request_to_its_period,
    a_correction_into_another_year_keeps_the_reference_and_moves_the_figures,
    only_the_years_the_reports_cover_are_taken,
    as_of_reproduces_an_earlier_report_and_snapshots_show_what_changed,
    exports_parse_back_to_the_same_figures,
    exports_read_as_the_tables_of_the_report,
    a_snapshot_exports_as_a_file_and_an_altered_one_is_flagged,
    charts_label_every_bar_and_come_as_png,
    a_figure_opens_to_the_requests_behind_it,
    figures_are_for_supervisors_and_reporting_staff_only,
);

async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    let res = app.get(path, Some(token)).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// A fresh database filled by `rfa-tracker demo-data`, served.
async fn demo_app(backend: Backend) -> TestApp {
    let db = TestDb::create(backend);
    let out = Command::new(env!("CARGO_BIN_EXE_rfa-tracker"))
        .arg("demo-data")
        .env("RFA__DATABASE__URL", &db.url)
        .env("RFA__DATA_DIR", db.dir.path().join("data"))
        .env("RFA__BOOTSTRAP__ADMIN_EMAIL", ADMIN_EMAIL)
        .env("RFA__BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RFA__LOG__LEVEL", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let settings = settings(&db, &[]);
    TestApp::start(db, settings)
}

async fn demo_data_reproduces_the_published_figures(backend: Backend) {
    let app = demo_app(backend).await;
    let (_, reporting) = app.user_with(&["reporting"], &[]).await;
    let year = |y: i32| {
        let (app, reporting, path) = (
            &app,
            reporting.clone(),
            format!("/api/v1/reports/annual?year={y}"),
        );
        async move { get_json(app, &reporting, &path).await }
    };
    assert_eq!(year(2018).await["received"], 13);
    assert_eq!(year(2023).await["received"], 87);
    let cumulative = get_json(&app, &reporting, "/api/v1/reports/cumulative?through=2023").await;
    assert_eq!(
        (
            cumulative["received"].as_i64(),
            cumulative["processed"].as_i64(),
            cumulative["jurisdictions_with_requests"].as_i64()
        ),
        (Some(326), Some(263), Some(16))
    );
    let early = get_json(
        &app,
        &reporting,
        "/api/v1/reports/range?from=2024-01-01&to=2024-04-30",
    )
    .await;
    assert_eq!(early["received"], 45);
    assert_eq!(early["reopened"], 3);
    // The identity holds for every year and every jurisdiction, and years chain up; the
    // chart of the years counts as each year's report does.
    let chart = app
        .get(
            "/api/v1/reports/charts/annual.svg?from=2018&to=2024",
            Some(&reporting),
        )
        .await
        .text()
        .await
        .unwrap();
    let mut previous_end = 0;
    let mut outcomes = BTreeSet::new();
    for y in 2018..=2024 {
        let r = year(y).await;
        let bar = format!(
            "{y}: {} Received, {} Processed",
            r["received"], r["processed"]
        );
        assert!(chart.contains(&bar), "{bar} in {chart}");
        assert_eq!(r["identity_holds"], true, "{y}");
        assert_eq!(r["pending_start"].as_i64(), Some(previous_end), "{y}");
        previous_end = r["pending_end"].as_i64().unwrap();
        for j in r["by_jurisdiction"].as_array().unwrap() {
            assert_eq!(j["identity_holds"], true, "{y} {}", j["name"]);
        }
        outcomes.extend(r["by_outcome"].as_object().unwrap().keys().cloned());
    }
    assert_eq!(
        outcomes.into_iter().collect::<Vec<_>>(),
        [
            "declined_ineligible",
            "declined_other",
            "fulfilled",
            "partially_fulfilled",
            "withdrawn"
        ]
    );
    let admin = app.admin_token().await;
    let verify = get_json(&app, &admin, "/api/v1/audit/verify").await;
    assert_eq!(verify["ok"], true);
    // A second run is refused: demo data goes only into an empty database.
    let out = Command::new(env!("CARGO_BIN_EXE_rfa-tracker"))
        .arg("demo-data")
        .env("RFA__DATABASE__URL", &app.db.url)
        .env("RFA__DATA_DIR", app.db.dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// The demo data goes on from May 2024 to the moment it runs: this year has figures, the
/// queue has recent work, the backlog was worked off, and few open requests are overdue.
async fn demo_data_runs_to_today_with_current_work_and_few_overdue(backend: Backend) {
    let app = demo_app(backend).await;
    let now = chrono::Utc::now();
    let today = now.date_naive();
    let (_, reporting) = app.user_with(&["reporting"], &[]).await;
    let this_year = get_json(
        &app,
        &reporting,
        &format!("/api/v1/reports/annual?year={}", today.year()),
    )
    .await;
    assert!(this_year["received"].as_i64().unwrap() > 0, "{this_year}");
    assert!(this_year["processed"].as_i64().unwrap() > 0, "{this_year}");
    // About the 2023 rate (87 a year) over the last twelve months.
    let last_year = get_json(
        &app,
        &reporting,
        &format!(
            "/api/v1/reports/range?from={}&to={today}",
            today - chrono::Days::new(365)
        ),
    )
    .await;
    let received = last_year["received"].as_i64().unwrap();
    assert!(
        (60..=120).contains(&received),
        "{received} in the last year"
    );
    // Nothing is received, closed or reopened after today.
    let future = get_json(
        &app,
        &reporting,
        &format!(
            "/api/v1/reports/range?from={}&to={}",
            today + chrono::Days::new(1),
            today + chrono::Days::new(3650)
        ),
    )
    .await;
    assert_eq!(
        ["received", "processed", "reopened"].map(|k| future[k].as_i64()),
        [Some(0); 3],
        "{future}"
    );
    // Every open request, as the supervisors' queue lists it.
    let (_, supervisor) = app.user_with(&["supervisor"], &[]).await;
    let mut open = Vec::new();
    let mut path = "/api/v1/rfas?state=open&limit=200".to_string();
    loop {
        let page = get_json(&app, &supervisor, &path).await;
        open.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/rfas?state=open&limit=200&cursor={cursor}"),
            None => break,
        }
    }
    let newest = get_json(
        &app,
        &supervisor,
        "/api/v1/rfas?sort=received_at&order=desc&limit=1",
    )
    .await;
    let newest = &newest["items"][0]["received_at"];
    let newest: chrono::DateTime<chrono::Utc> = newest.as_str().unwrap().parse().unwrap();
    assert!(newest <= now, "{newest} received after {now}");
    assert!(
        now - newest < chrono::Duration::days(30),
        "nothing received since {newest}"
    );
    let received_at = |r: &Value| -> chrono::DateTime<chrono::Utc> {
        r["received_at"].as_str().unwrap().parse().unwrap()
    };
    // Current work: some received in the last weeks and not yet far along; the old
    // requests closed (what is open came in the last half year).
    assert!(open.len() >= 5, "{} open", open.len());
    let recent_triage = open
        .iter()
        .filter(|r| now - received_at(r) < chrono::Duration::days(42))
        .filter(|r| {
            ["received", "under_review", "in_progress"].contains(&r["state"].as_str().unwrap())
        })
        .count();
    assert!(
        recent_triage >= 2,
        "{recent_triage} recent in triage or processing"
    );
    // Few overdue: at most the demo's bound (one), of at least five open.
    let overdue = open.iter().filter(|r| r["overdue"] == true).count();
    let overdue_listed = get_json(&app, &supervisor, "/api/v1/rfas?overdue=true&limit=200").await;
    assert_eq!(overdue_listed["items"].as_array().unwrap().len(), overdue);
    assert!(
        overdue <= rfa_tracker::demo::LATE_AT_MOST,
        "{overdue} of {} open requests are overdue",
        open.len()
    );
    for r in &open {
        assert!(
            now - received_at(r) < chrono::Duration::days(183),
            "{} still open",
            r["reference"]
        );
    }
}

async fn the_year_of_receipt_is_taken_in_the_reporting_time_zone(backend: Backend) {
    let w = World::new(backend).await;
    let mut body = w.intake_body();
    body["received_at"] = json!("2025-12-31T23:30:00Z");
    let utc = w.intake_with(&w.supervisor, &body).await;
    assert_eq!(utc["reference"], "RFA-2025-0001");
    let (_, reporting) = w.app.user_with(&["reporting"], &[]).await;
    assert_eq!(
        get_json(&w.app, &reporting, "/api/v1/reports/annual?year=2025").await["received"],
        1
    );
    // The same instant in Tokyo is already 2026.
    let tokyo = TestApp::spawn_with(backend, &[("reporting.time_zone", json!("Asia/Tokyo"))]).await;
    let admin = tokyo.admin_token().await;
    let (j, a) = crate::registry::jurisdiction_with_authority(&tokyo, &admin, "JP").await;
    let (_, supervisor) = tokyo.user_with(&["supervisor"], &[]).await;
    let mut body = crate::rfas::intake_json(&j, &a);
    body["received_at"] = json!("2025-12-31T23:30:00Z");
    let res = tokyo.post("/api/v1/rfas", Some(&supervisor), &body).await;
    let rfa: Value = res.json().await.unwrap();
    assert_eq!(rfa["reference"], "RFA-2026-0001");
    assert_eq!(rfa["due"]["received_on"], "2026-01-01");
    let (_, reporting) = tokyo.user_with(&["reporting"], &[]).await;
    assert_eq!(
        get_json(&tokyo, &reporting, "/api/v1/reports/annual?year=2025").await["received"],
        0
    );
    assert_eq!(
        get_json(&tokyo, &reporting, "/api/v1/reports/annual?year=2026").await["received"],
        1
    );
}

async fn a_request_counts_once_in_each_column_and_reopenings_add_up(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let (_, reporting) = w.app.user_with(&["reporting"], &[]).await;
    let mut body = w.intake_body();
    body["received_at"] = json!("2025-06-01T10:00:00Z");
    let rfa = w.intake_with(&s, &body).await;
    // Closed now (2026): received in 2025, processed in 2026.
    let rfa = w
        .act(&s, &rfa, "withdraw", json!({"reason": "Withdrawn"}))
        .await;
    let y2025 = get_json(&w.app, &reporting, "/api/v1/reports/annual?year=2025").await;
    let y2026 = get_json(&w.app, &reporting, "/api/v1/reports/annual?year=2026").await;
    let row = |r: &Value| {
        [
            "received",
            "processed",
            "reopened",
            "pending_start",
            "pending_end",
        ]
        .map(|k| r[k].as_i64().unwrap())
    };
    assert_eq!(row(&y2025), [1, 0, 0, 0, 1]);
    assert_eq!(row(&y2026), [0, 1, 0, 1, 0]);
    assert_eq!(y2026["by_outcome"], json!({"withdrawn": 1}));
    // Reopened and closed again in 2026: two closings, one reopening, still one request.
    let rfa = w
        .act(&s, &rfa, "reopen", json!({"reason": "New material"}))
        .await;
    w.act(&s, &rfa, "withdraw", json!({"reason": "Withdrawn again"}))
        .await;
    let y2026 = get_json(&w.app, &reporting, "/api/v1/reports/annual?year=2026").await;
    assert_eq!(row(&y2026), [0, 2, 1, 1, 0]);
    assert_eq!(y2026["identity_holds"], true);
    assert_eq!(y2026["processing_days"]["count"], 2);
    let cumulative = get_json(
        &w.app,
        &reporting,
        "/api/v1/reports/cumulative?through=2026",
    )
    .await;
    assert_eq!(
        (
            cumulative["received"].as_i64(),
            cumulative["processed"].as_i64()
        ),
        (Some(1), Some(2))
    );
}

async fn a_corrected_day_of_receipt_moves_the_request_to_its_period(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let (_, reporting) = w.app.user_with(&["reporting"], &[]).await;
    let mut body = w.intake_body();
    body["received_at"] = json!("2025-06-01T10:00:00Z");
    let moved = w.intake_with(&s, &body).await;
    body["received_at"] = json!("2025-07-01T10:00:00Z");
    w.intake_with(&s, &body).await;
    let (spring, summer) = (
        "/api/v1/reports/range?from=2025-01-01&to=2025-04-30",
        "/api/v1/reports/range?from=2025-05-01&to=2025-12-31",
    );
    let before = get_json(&w.app, &reporting, summer).await;
    assert_eq!(before["received"], 2);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // The request turns out to have arrived in February: a correction moves its receipt.
    let res = w
        .correct_raw(&s, &moved, json!({"received_at": "2025-02-15T09:00:00Z"}))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let early = get_json(&w.app, &reporting, spring).await;
    let late = get_json(&w.app, &reporting, summer).await;
    for (period, received, pending_start, pending_end) in [(&early, 1, 0, 1), (&late, 1, 1, 2)] {
        assert_eq!(period["received"], received);
        assert_eq!(period["pending_start"], pending_start);
        assert_eq!(period["pending_end"], pending_end);
        assert_eq!(period["identity_holds"], true);
        let by_priority: i64 = period["by_priority"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_i64().unwrap())
            .sum();
        assert_eq!(by_priority, received);
    }
    let year = get_json(&w.app, &reporting, "/api/v1/reports/annual?year=2025").await;
    assert_eq!(year["received"], 2);
    // As of before the correction, the later months still show both.
    let again = get_json(
        &w.app,
        &reporting,
        &format!(
            "{summer}&as_of={}",
            before["as_of"].as_str().unwrap().replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!(again["received"], 2);
    assert_eq!(again["by_assistance_type"], before["by_assistance_type"]);
}

async fn a_correction_into_another_year_keeps_the_reference_and_moves_the_figures(
    backend: Backend,
) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let (_, reporting) = w.app.user_with(&["reporting"], &[]).await;
    let mut body = w.intake_body();
    body["received_at"] = json!("2026-01-05T10:00:00Z");
    let moved = w.intake_with(&s, &body).await;
    let reference = moved["reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("RFA-2026-"), "{reference}");
    let annual = |year: i32| {
        let (app, token) = (&w.app, &reporting);
        async move {
            get_json(app, token, &format!("/api/v1/reports/annual?year={year}")).await["received"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!((annual(2025).await, annual(2026).await), (0, 1));
    // The letter had in fact arrived before the new year.
    let res = w
        .correct_raw(&s, &moved, json!({"received_at": "2025-12-30"}))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let corrected: Value = res.json().await.unwrap();
    assert_eq!(corrected["reference"], reference.as_str());
    assert!(
        corrected["received_at"]
            .as_str()
            .unwrap()
            .starts_with("2025-12-"),
        "{corrected}"
    );
    assert_eq!((annual(2025).await, annual(2026).await), (1, 0));
    // Numbers are never given twice: each year's sequence goes on from where it was.
    body["received_at"] = json!("2026-02-01T10:00:00Z");
    let next = w.intake_with(&s, &body).await;
    let n = |r: &str| r.rsplit('-').next().unwrap().parse::<u32>().unwrap();
    assert_eq!(n(next["reference"].as_str().unwrap()), n(&reference) + 1);
    body["received_at"] = json!("2025-11-01T10:00:00Z");
    let earlier = w.intake_with(&s, &body).await;
    assert_eq!(earlier["reference"], "RFA-2025-0001");
    assert_eq!((annual(2025).await, annual(2026).await), (2, 1));
}

async fn only_the_years_the_reports_cover_are_taken(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let (_, reporting) = w.app.user_with(&["reporting"], &[]).await;
    let rfa = w.intake().await;
    for value in ["1999-06-30T10:00:00Z", "1999-12-01"] {
        let mut body = w.intake_body();
        body["received_at"] = json!(value);
        let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
        assert_eq!(p["errors"][0]["field"], "received_at", "{p}");
        assert_eq!(
            p["errors"][0]["message"], "must be in the years 2000 to 2100",
            "{p}"
        );
        let res = w.correct_raw(&s, &rfa, json!({"received_at": value})).await;
        let p = assert_problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], "received_at", "{p}");
    }
    for (path, field) in [
        ("/api/v1/reports/annual?year=1999", "year"),
        ("/api/v1/reports/cumulative?through=2101", "through"),
        (
            "/api/v1/reports/range?from=1999-01-01&to=2000-12-31",
            "from",
        ),
        (
            "/api/v1/reports/annual?year=2024&as_of=1999-12-31T00:00:00Z",
            "as_of",
        ),
    ] {
        let p = assert_problem(w.app.get(path, Some(&reporting)).await, 422).await;
        assert_eq!(p["errors"][0]["field"], field, "{path}: {p}");
        assert_eq!(
            p["errors"][0]["message"], "must be in the years 2000 to 2100",
            "{path}: {p}"
        );
    }
}

async fn as_of_reproduces_an_earlier_report_and_snapshots_show_what_changed(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let (_, reporting) = w.app.user_with(&["reporting"], &[]).await;
    let first = w.intake().await;
    w.intake().await;
    let snap = w
        .app
        .post(
            "/api/v1/reports/snapshots",
            Some(&reporting),
            &json!({"kind": "annual", "year": 2026, "label": "As published"}),
        )
        .await;
    assert_eq!(snap.status(), 201);
    let snap: Value = snap.json().await.unwrap();
    let id = snap["id"].as_str().unwrap();
    assert_eq!(snap["digest"].as_str().unwrap().len(), 64);
    let before = get_json(&w.app, &reporting, "/api/v1/reports/annual?year=2026").await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // Later events change the current figures.
    w.act(
        &s,
        &first,
        "decline",
        json!({"outcome": "declined_other", "reason": "Outside the holdings"}),
    )
    .await;
    let now = get_json(&w.app, &reporting, "/api/v1/reports/annual?year=2026").await;
    assert_eq!(
        (now["processed"].as_i64(), before["processed"].as_i64()),
        (Some(1), Some(0))
    );
    // As of the earlier moment, the earlier report comes back exactly.
    let as_of = snap["as_of"].as_str().unwrap();
    let again = get_json(
        &w.app,
        &reporting,
        &format!(
            "/api/v1/reports/annual?year=2026&as_of={}",
            as_of.replace('+', "%2B")
        ),
    )
    .await;
    let figures = |r: &Value| {
        let mut r = r.clone();
        for k in ["as_of", "covered_seq"] {
            r.as_object_mut().unwrap().remove(k);
        }
        r
    };
    assert_eq!(figures(&again), figures(&before));
    // The snapshot keeps its digest; the comparison names exactly what changed.
    let stored = get_json(
        &w.app,
        &reporting,
        &format!("/api/v1/reports/snapshots/{id}"),
    )
    .await;
    assert_eq!(stored["digest"], snap["digest"]);
    assert_eq!(stored["altered"], false);
    let diff = get_json(
        &w.app,
        &reporting,
        &format!("/api/v1/reports/snapshots/{id}/diff"),
    )
    .await;
    assert_eq!(diff["unchanged"], false);
    let changed: BTreeSet<String> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["figure"].as_str().unwrap().to_string())
        .collect();
    let name = now["by_jurisdiction"][0]["name"].as_str().unwrap();
    let expected: BTreeSet<String> = [
        "totals/processed".to_string(),
        "totals/pending_end".to_string(),
        format!("by_jurisdiction/{name}/processed"),
        format!("by_jurisdiction/{name}/pending_end"),
        "by_outcome/declined_other/processed".to_string(),
        "processing_days/count".to_string(),
        "processing_days/with_paused/median".to_string(),
        "processing_days/with_paused/mean".to_string(),
        "processing_days/with_paused/p90".to_string(),
        "processing_days/without_paused/median".to_string(),
        "processing_days/without_paused/mean".to_string(),
        "processing_days/without_paused/p90".to_string(),
    ]
    .into_iter()
    .collect();
    assert_eq!(changed, expected);
    // The same differences, as the tables read.
    let totals_processed = diff["table_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"] == "Totals" && c["row"] == "Processed")
        .expect("the processed total changed");
    assert_eq!(
        (
            &totals_processed["published"],
            &totals_processed["now"],
            &totals_processed["change"]
        ),
        (&json!(0.0), &json!(1.0), &json!(1.0))
    );
    let list = get_json(&w.app, &reporting, "/api/v1/reports/snapshots").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A future as_of cannot be reproduced, so it is refused.
    let res = w
        .app
        .get(
            "/api/v1/reports/annual?year=2026&as_of=2099-01-01T00:00:00Z",
            Some(&reporting),
        )
        .await;
    assert_problem(res, 422).await;
}

async fn exports_parse_back_to_the_same_figures(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    w.act(&s, &rfa, "withdraw", json!({"reason": "Withdrawn"}))
        .await;
    let mut body = w.intake_body();
    body["jurisdiction_id"] = json!(w.other_jurisdiction);
    body["authority_id"] = json!(w.other_authority);
    w.intake_with(&s, &body).await;
    let json_report = get_json(&w.app, &s, "/api/v1/reports/annual?year=2026").await;
    let expect = |section: &str, key: &str, figure: &str| -> String {
        let v = match section {
            "totals" => json_report[figure].clone(),
            "by_jurisdiction" => json_report["by_jurisdiction"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["name"] == key)
                .unwrap()[figure]
                .clone(),
            "processing_days" if key.is_empty() => json_report["processing_days"][figure].clone(),
            "processing_days" => json_report["processing_days"][key][figure].clone(),
            other => json_report[other][key].clone(),
        };
        match v {
            Value::Null => String::new(),
            Value::String(s) => s,
            other => other.to_string(),
        }
    };
    // CSV.
    let res = w
        .app
        .get(
            "/api/v1/reports/annual?year=2026&format=csv&layout=long",
            Some(&s),
        )
        .await;
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("rfa-figures-2026.csv")
    );
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut n = 0;
    for record in reader.records() {
        let r = record.unwrap();
        assert_eq!(r[3].to_string(), expect(&r[0], &r[1], &r[2]), "{r:?}");
        n += 1;
    }
    assert!(n > 20, "{n} rows");
    // XLSX, asked for by Accept.
    let res = w
        .app
        .client
        .get(w.app.url("/api/v1/reports/annual?year=2026&layout=long"))
        .bearer_auth(&s)
        .header(
            "accept",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("rfa-figures-2026.xlsx")
    );
    let bytes = res.bytes().await.unwrap();
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("Figures").unwrap();
    let mut rows = sheet.rows();
    rows.next();
    let mut m = 0;
    for r in rows {
        let cell = |i: usize| r[i].to_string();
        let value = match &r[3] {
            calamine::Data::Float(f)
                if f.fract() == 0.0
                    && !cell(2).contains("mean")
                    && !cell(2).contains("median")
                    && !cell(2).contains("p90") =>
            {
                format!("{}", *f as i64)
            }
            calamine::Data::Float(f) => format!("{f:?}"),
            other => other.to_string(),
        };
        assert_eq!(value, expect(&cell(0), &cell(1), &cell(2)), "{:?}", r);
        m += 1;
    }
    assert_eq!(m, n);
}

/// The blocks of a CSV in the tables layout: title → (header, rows).
fn csv_tables(text: &str) -> std::collections::BTreeMap<String, (Vec<String>, Vec<Vec<String>>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = std::collections::BTreeMap::new();
    let mut block: Vec<Vec<String>> = Vec::new();
    let mut flush = |block: &mut Vec<Vec<String>>| {
        if block.len() >= 2 {
            let title = block[0][0].clone();
            let header = block[1].clone();
            let rows = block[2..].iter().filter(|r| r.len() > 1).cloned().collect();
            out.insert(title, (header, rows));
        }
        block.clear();
    };
    for record in reader.records() {
        let r: Vec<String> = record.unwrap().iter().map(String::from).collect();
        if r.iter().all(|c| c.is_empty()) {
            flush(&mut block);
        } else {
            block.push(r);
        }
    }
    flush(&mut block);
    out
}

async fn exports_read_as_the_tables_of_the_report(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    w.act(&s, &rfa, "withdraw", json!({"reason": "Withdrawn"}))
        .await;
    let mut body = w.intake_body();
    body["jurisdiction_id"] = json!(w.other_jurisdiction);
    body["authority_id"] = json!(w.other_authority);
    w.intake_with(&s, &body).await;
    let report = get_json(&w.app, &s, "/api/v1/reports/annual?year=2026").await;
    // The new breakdowns count every request received once (crimes may count more).
    for section in ["by_proceeding_type", "by_channel", "by_authority_kind"] {
        let sum: i64 = report[section]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum();
        assert_eq!(sum, report["received"].as_i64().unwrap(), "{section}");
    }
    assert!(!report["by_crime"].as_object().unwrap().is_empty());
    // CSV, the default layout: one block per table, plain labels, a totals row.
    let res = w
        .app
        .get("/api/v1/reports/annual?year=2026&format=csv", Some(&s))
        .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    // A byte-order mark first, so that spreadsheets read it as UTF-8.
    assert!(text.starts_with("\u{feff}About\n"), "{text}");
    assert!(!text.contains("identity_holds") && !text.contains(w.jurisdiction.as_str()));
    let blocks = csv_tables(&text);
    let (header, rows) = &blocks["By jurisdiction"];
    assert_eq!(
        header,
        &[
            "Jurisdiction",
            "Pending at start",
            "Received",
            "Reopened",
            "Processed",
            "Pending at end"
        ]
    );
    let jurisdictions = report["by_jurisdiction"].as_array().unwrap();
    assert_eq!(rows.len(), jurisdictions.len() + 1);
    for j in jurisdictions {
        let row = rows.iter().find(|r| r[0] == j["name"]).unwrap();
        assert_eq!(row[2], j["received"].to_string());
        assert_eq!(row[4], j["processed"].to_string());
    }
    let total = rows.last().unwrap();
    assert_eq!(total[0], "Total");
    assert_eq!(total[2], report["received"].to_string());
    assert_eq!(total[5], report["pending_end"].to_string());
    let (_, outcomes) = &blocks["Processed, by outcome"];
    assert_eq!(outcomes[0], ["Withdrawn", "1"]);
    assert!(blocks.contains_key("Received, by crime alleged"));
    assert!(blocks.contains_key("Processing time in days"));
    // XLSX: an About sheet, a sheet per table with numbers as numbers.
    let res = w
        .app
        .get("/api/v1/reports/annual?year=2026&format=xlsx", Some(&s))
        .await;
    let bytes = res.bytes().await.unwrap();
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    assert_eq!(names[0], "About");
    for sheet in [
        "Totals",
        "By jurisdiction",
        "By outcome",
        "By crime",
        "Processing days",
    ] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} in {names:?}");
    }
    let sheet = book.worksheet_range("By jurisdiction").unwrap();
    let rows: Vec<_> = sheet.rows().collect();
    assert_eq!(rows[0][0].to_string(), "Jurisdiction");
    let last = rows.last().unwrap();
    assert_eq!(last[0].to_string(), "Total");
    assert_eq!(
        last[2],
        calamine::Data::Float(report["received"].as_f64().unwrap())
    );
    let about = book.worksheet_range("About").unwrap();
    let facts: Vec<String> = about.rows().map(|r| r[0].to_string()).collect();
    for k in [
        "Report",
        "Period",
        "Time zone",
        "As of",
        "Events covered",
        "Identity",
    ] {
        assert!(facts.iter().any(|f| f == k), "{k} in {facts:?}");
    }
    // The cumulative report starts at the first request, not in 1900.
    let cumulative = get_json(&w.app, &s, "/api/v1/reports/cumulative?through=2026").await;
    assert_ne!(cumulative["from"], "1900-01-01");
    assert!(cumulative["from"].as_str().unwrap().starts_with("2026-"));
    let res = w
        .app
        .get(
            "/api/v1/reports/annual?year=2026&format=csv&layout=wide",
            Some(&s),
        )
        .await;
    let problem = assert_problem(res, 422).await;
    assert_eq!(problem["errors"][0]["field"], "layout");
}

async fn a_snapshot_exports_as_a_file_and_an_altered_one_is_flagged(backend: Backend) {
    let w = World::new(backend).await;
    w.intake().await;
    let (_, reporting) = w.app.user_with(&["reporting"], &[]).await;
    let snap: Value = w
        .app
        .post(
            "/api/v1/reports/snapshots",
            Some(&reporting),
            &json!({"kind": "annual", "year": 2026, "label": "=HYPERLINK(\"x\")"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = snap["id"].as_str().unwrap();
    let res = w
        .app
        .get(
            &format!("/api/v1/reports/snapshots/{id}?format=csv"),
            Some(&reporting),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = res.text().await.unwrap();
    assert!(text.contains(snap["digest"].as_str().unwrap()), "{text}");
    assert!(text.contains("Matches"));
    // The label is a formula to a spreadsheet: it stays text.
    assert!(text.contains("'=HYPERLINK"), "{text}");
    let (_, totals) = &csv_tables(&text)["Totals"];
    assert!(totals.iter().any(|r| r[0] == "Received" && r[1] == "1"));
    let res = w
        .app
        .get(
            &format!("/api/v1/reports/snapshots/{id}?format=xlsx"),
            Some(&reporting),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("rfa-figures-2026-snapshot-")
    );
    // Someone with database access changes the frozen figures: the database refuses, until
    // its owner lifts the guard; then every read says so.
    assert!(
        w.app
            .db
            .try_execute("UPDATE report_snapshots SET label = 'x'")
            .unwrap_err()
            .contains("append-only")
    );
    w.app.db.lift_append_only();
    w.app.db.execute(
        "UPDATE report_snapshots SET figures = replace(figures, '\"received\":1', '\"received\":9')",
    );
    let stored = get_json(
        &w.app,
        &reporting,
        &format!("/api/v1/reports/snapshots/{id}"),
    )
    .await;
    assert_eq!(stored["figures"]["received"], 9, "the edit took");
    assert_eq!(stored["altered"], true);
    let diff = get_json(
        &w.app,
        &reporting,
        &format!("/api/v1/reports/snapshots/{id}/diff"),
    )
    .await;
    assert_eq!(diff["snapshot_altered"], true);
    let text = w
        .app
        .get(
            &format!("/api/v1/reports/snapshots/{id}?format=csv"),
            Some(&reporting),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("FAILED"), "{text}");
}

async fn charts_label_every_bar_and_come_as_png(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    w.intake().await;
    w.intake().await;
    let svg = w
        .app
        .get(
            "/api/v1/reports/charts/annual.svg?from=2024&to=2026",
            Some(&s),
        )
        .await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    for year in ["2024", "2025", "2026"] {
        assert_eq!(texts.iter().filter(|t| **t == year).count(), 1, "{year}");
    }
    assert!(!texts.contains(&"2027"), "no phantom year: {texts:?}");
    for label in ["Received", "Processed", "Year", "Requests"] {
        assert!(texts.contains(&label), "{label} in {texts:?}");
    }
    assert!(texts.contains(&"2"), "the value on the 2026 bar: {texts:?}");
    // The description a screen reader reads lists every value: the report's own figures.
    let desc = doc
        .descendants()
        .find(|n| n.has_tag_name("desc"))
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_string();
    let report = get_json(&w.app, &s, "/api/v1/reports/annual?year=2026").await;
    assert!(
        desc.contains(&format!(
            "2026: {} Received, {} Processed",
            report["received"], report["processed"]
        )),
        "{desc}"
    );
    assert!(desc.contains("2025: 0 Received, 0 Processed"), "{desc}");
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Requests for assistance received and processed"))
    );
    for path in [
        "/api/v1/reports/charts/annual.png?from=2024&to=2026",
        "/api/v1/reports/charts/jurisdictions.png?from=2026-01-01&to=2026-12-31&top=1",
    ] {
        let res = w.app.get(path, Some(&s)).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], "image/png");
        let bytes = res.bytes().await.unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()));
        let reader = decoder.read_info().expect("a PNG");
        let info = reader.info();
        assert!(
            info.width >= 1000 && info.height >= 300,
            "{}x{}",
            info.width,
            info.height
        );
    }
    let mut body = w.intake_body();
    body["jurisdiction_id"] = json!(w.other_jurisdiction);
    body["authority_id"] = json!(w.other_authority);
    w.intake_with(&s, &body).await;
    let svg = w
        .app
        .get(
            "/api/v1/reports/charts/jurisdictions.svg?from=2026-01-01&to=2026-12-31&top=1",
            Some(&s),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(svg.contains("1 other jurisdiction<"), "{svg}");
    let res = w
        .app
        .get(
            "/api/v1/reports/charts/jurisdictions.svg?from=2026-01-01&to=2026-12-31&top=0",
            Some(&s),
        )
        .await;
    assert_problem(res, 422).await;
}

async fn figures_are_for_supervisors_and_reporting_staff_only(backend: Backend) {
    let w = World::new(backend).await;
    for token in [&w.liaison, &w.admin] {
        assert_problem(
            w.app
                .get("/api/v1/reports/annual?year=2026", Some(token))
                .await,
            403,
        )
        .await;
    }
    assert_eq!(
        w.app
            .get("/api/v1/reports/annual?year=2026", Some(&w.reporting))
            .await
            .status(),
        200
    );
    assert_eq!(
        w.app
            .get("/api/v1/reports/annual?year=2026", Some(&w.supervisor))
            .await
            .status(),
        200
    );
    for bad in [
        "year=abc",
        "year=1900",
        "format=pdf&year=2026",
        "from=2026-02-01&to=2026-01-01",
    ] {
        let path = if bad.starts_with("from") {
            format!("/api/v1/reports/range?{bad}")
        } else {
            format!("/api/v1/reports/annual?{bad}")
        };
        let res = w.app.get(&path, Some(&w.reporting)).await;
        let status = res.status().as_u16();
        assert!(status == 400 || status == 422, "{bad}: {status}");
    }
}

async fn a_figure_opens_to_the_requests_behind_it(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let (_, reporting) = w.app.user_with(&["reporting"], &[]).await;
    let first = w.intake().await;
    w.intake().await;
    let mut body = w.intake_body();
    body["jurisdiction_id"] = json!(w.other_jurisdiction);
    body["authority_id"] = json!(w.other_authority);
    w.intake_with(&s, &body).await;
    w.act(&s, &first, "withdraw", json!({"reason": "Withdrawn"}))
        .await;
    let report = get_json(&w.app, &s, "/api/v1/reports/annual?year=2026").await;
    let base = "/api/v1/reports/figure?report=annual&year=2026";
    // The whole figure, then one jurisdiction's part: the same counts as the report's.
    let all = get_json(&w.app, &s, &format!("{base}&figure=received")).await;
    assert_eq!(all["count"], report["received"]);
    assert_eq!(all["cases"].as_array().unwrap().len(), 3);
    let mine = get_json(
        &w.app,
        &s,
        &format!("{base}&figure=received&jurisdiction_id={}", w.jurisdiction),
    )
    .await;
    let row = report["by_jurisdiction"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["jurisdiction_id"] == w.jurisdiction.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["count"], row["received"]);
    assert_eq!(mine["jurisdiction_name"], row["name"]);
    let processed = get_json(&w.app, &s, &format!("{base}&figure=processed")).await;
    assert_eq!(processed["count"], 1);
    assert_eq!(processed["cases"][0]["id"], first["id"]);
    assert_eq!(processed["cases"][0]["reference"], first["reference"]);
    // Reporting staff get the figure, never the cases.
    let counted = get_json(&w.app, &reporting, &format!("{base}&figure=received")).await;
    assert_eq!(counted["count"], 3);
    assert!(counted.get("cases").is_none(), "{counted}");
    for bad in [
        "report=annual&year=2026&figure=pending",
        "report=weekly&figure=received",
        "report=range&figure=received",
        "report=annual&year=2026&figure=received&jurisdiction_id=x",
    ] {
        let res = w
            .app
            .get(&format!("/api/v1/reports/figure?{bad}"), Some(&s))
            .await;
        assert_problem(res, 422).await;
    }
}
