//! Requests for assistance: intake, reading, the queue, the lifecycle, triage, scoping and
//! the tamper-evident event log.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

/// Users and registry entries most tests need.
pub struct World {
    pub app: TestApp,
    pub admin: String,
    pub supervisor: String,
    pub supervisor_id: String,
    pub liaison: String,
    pub liaison_id: String,
    pub other_liaison: String,
    pub reporting: String,
    /// Eligible jurisdiction (universal jurisdiction, abolitionist, assessment meets).
    pub jurisdiction: String,
    pub authority: String,
    /// A second jurisdiction, of the other liaison officer.
    pub other_jurisdiction: String,
    pub other_authority: String,
}

impl World {
    pub async fn new(backend: Backend) -> Self {
        Self::new_with(backend, &[]).await
    }

    pub async fn new_with(backend: Backend, overrides: &[(&str, Value)]) -> Self {
        Self::around(TestApp::spawn_with(backend, overrides).await).await
    }

    /// The same registry and users, on a server the caller started.
    pub async fn around(app: TestApp) -> Self {
        let admin = app.admin_token().await;
        let (jurisdiction, authority) =
            crate::registry::jurisdiction_with_authority(&app, &admin, "DE").await;
        let (other_jurisdiction, other_authority) =
            crate::registry::jurisdiction_with_authority(&app, &admin, "SE").await;
        for j in [&jurisdiction, &other_jurisdiction] {
            let res = app
                .post(
                    &format!("/api/v1/jurisdictions/{j}/assessments"),
                    Some(&admin),
                    &json!({"outcome": "meets", "assessed_on": "2025-01-15", "review_due": "2099-01-15", "assessor": "Legal", "summary": "Standards respected."}),
                )
                .await;
            assert_eq!(res.status(), 201);
        }
        let (supervisor_id, supervisor) = app.user_with(&["supervisor"], &[]).await;
        let (liaison_id, liaison) = app.user_with(&["liaison_officer"], &[&jurisdiction]).await;
        let (_, other_liaison) = app
            .user_with(&["liaison_officer"], &[&other_jurisdiction])
            .await;
        let (_, reporting) = app.user_with(&["reporting"], &[]).await;
        Self {
            app,
            admin,
            supervisor,
            supervisor_id,
            liaison,
            liaison_id,
            other_liaison,
            reporting,
            jurisdiction,
            authority,
            other_jurisdiction,
            other_authority,
        }
    }

    pub fn intake_body(&self) -> Value {
        intake_json(&self.jurisdiction, &self.authority)
    }

    pub async fn intake_with(&self, token: &str, body: &Value) -> Value {
        let res = self.app.post("/api/v1/rfas", Some(token), body).await;
        assert_eq!(res.status(), 201, "intake");
        res.json().await.unwrap()
    }

    pub async fn intake(&self) -> Value {
        self.intake_with(&self.supervisor.clone(), &self.intake_body())
            .await
    }

    /// Takes an action with the right If-Match; returns the raw answer.
    pub async fn act_raw(
        &self,
        token: &str,
        rfa: &Value,
        action: &str,
        body: Value,
    ) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(&format!(
                "/api/v1/rfas/{}/actions/{action}",
                rfa["id"].as_str().unwrap()
            )))
            .bearer_auth(token)
            .header("if-match", format!("\"{}\"", rfa["version"]))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Corrects the intake (`PATCH`) with the right If-Match; returns the raw answer.
    pub async fn correct_raw(&self, token: &str, rfa: &Value, body: Value) -> reqwest::Response {
        self.app
            .client
            .patch(
                self.app
                    .url(&format!("/api/v1/rfas/{}", rfa["id"].as_str().unwrap())),
            )
            .bearer_auth(token)
            .header("if-match", format!("\"{}\"", rfa["version"]))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Reviews, assigns to the supervisor and accepts a request: it is in progress.
    pub async fn accepted(&self, token: &str, rfa: &Value) -> Value {
        let rfa = self.act(token, rfa, "start_review", json!({})).await;
        let body = json!({"assignee_id": self.supervisor_id});
        let rfa = self.act(token, &rfa, "assign", body).await;
        self.act(token, &rfa, "accept", json!({})).await
    }

    pub async fn act(&self, token: &str, rfa: &Value, action: &str, body: Value) -> Value {
        let res = self.act_raw(token, rfa, action, body).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "{action}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn get(&self, token: &str, rfa: &Value) -> reqwest::Response {
        self.app
            .get(
                &format!("/api/v1/rfas/{}", rfa["id"].as_str().unwrap()),
                Some(token),
            )
            .await
    }

    /// What `GET /api/v1/audit/verify` finds, as the administrator asks.
    pub async fn verify(&self) -> Value {
        let res = self
            .app
            .get("/api/v1/audit/verify", Some(&self.admin))
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// The first page of an RFA's history, as `token` sees it.
    pub async fn events(&self, token: &str, rfa: &Value) -> Value {
        self.app
            .get(
                &format!("/api/v1/rfas/{}/events", rfa["id"].as_str().unwrap()),
                Some(token),
            )
            .await
            .json()
            .await
            .unwrap()
    }
}

/// A complete, valid intake for the jurisdiction and authority.
pub fn intake_json(jurisdiction_id: &str, authority_id: &str) -> Value {
    json!({
    "jurisdiction_id": jurisdiction_id,
    "authority_id": authority_id,
        "received_at": "2026-03-02T09:30:00Z",
        "channel": "email",
        "subject": "Detention facility records, 2012-2014",
        "description": "Request for documentary evidence on detention practices.",
        "requester": {"name": "Dr. A. Prosecutor", "email": "a.prosecutor@justice.example"},
        "assistance_types": ["information_and_evidence", "analytical_product"],
        "proceeding_type": "prosecution",
        "crimes": ["crimes_against_humanity", "torture"],
        "conduct": {"country_code": "SY", "from": "2012-01-01", "to": "2014-12-31"},
        "national_case_reference": "3 StE 9/19",
        "priority": "routine",
        "confidentiality": "confidential",
        "tags": ["missing_persons"]
    })
}

fn actions(rfa: &Value) -> Vec<String> {
    rfa["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    intake_answers_with_reference_eligibility_and_due_date,
    intake_names_every_wrong_field_and_writes_nothing,
    intake_is_idempotent_with_a_key,
    the_lifecycle_walks_and_is_recorded,
    transitions_not_allowed_now_are_refused_with_the_alternatives,
    changes_need_a_current_if_match,
    acceptance_needs_an_assignee_and_eligibility_or_an_override,
    liaison_officers_see_only_their_jurisdictions,
    reporting_staff_never_see_requests,
    the_queue_filters_sorts_and_pages,
    the_queue_is_the_open_work_unless_the_archive_is_asked_for,
    a_running_pause_moves_a_request_in_the_queue_by_due_date,
    pages_neither_skip_nor_repeat_while_requests_arrive,
    intake_corrections_until_acceptance,
    registry_changes_re_evaluate_open_requests,
    bulk_triage_reports_each_request,
    the_audit_chain_names_an_edited_event,
    two_instances_keep_references_and_the_chain_single,
    every_action_not_allowed_in_a_state_is_refused,
    an_ended_session_reads_nothing,
    queue_rows_are_summaries_with_names,
    people_are_named_within_reach,
    received_at_may_be_a_day_alone,
    every_order_reads_several_states_as_one_queue,
);

/// A valid body for each action, so that only the state decides.
pub fn body_for(w: &World, action: &str) -> Value {
    match action {
        "decline" => json!({"outcome": "declined_other", "reason": "r"}),
        "request_information" => json!({"message": "m"}),
        "record_response" => {
            json!({"kind": "other", "description": "d", "shared_on": "2026-01-01"})
        }
        "close" => json!({"outcome": "partially_fulfilled"}),
        "withdraw" | "reopen" => json!({"reason": "r"}),
        "assign" => json!({"assignee_id": w.supervisor_id}),
        "set_priority" => json!({"priority": "high"}),
        "extend_deadline" => json!({"due_on": "2099-01-01", "reason": "r"}),
        "add_note" => json!({"text": "t"}),
        "override_eligibility" => json!({"justification": "A justification long enough to count."}),
        "record_assurance" => json!({"reference": "R", "given_on": "2026-01-01"}),
        _ => json!({}),
    }
}

/// Every lifecycle action (docs/lifecycle.md).
pub const ACTIONS: [&str; 16] = [
    "start_review",
    "accept",
    "decline",
    "request_information",
    "resume",
    "record_response",
    "close",
    "withdraw",
    "reopen",
    "assign",
    "set_priority",
    "extend_deadline",
    "add_note",
    "evaluate_eligibility",
    "override_eligibility",
    "record_assurance",
];

/// The states an action may be taken in (docs/lifecycle.md).
pub fn state_allows(action: &str, state: &str) -> bool {
    let open = state != "closed";
    match action {
        "start_review" => state == "received",
        "accept" => state == "under_review",
        "decline" | "override_eligibility" => state == "received" || state == "under_review",
        "request_information" => state == "in_progress",
        "resume" => state == "awaiting_requester",
        "record_response" | "close" => state == "in_progress" || state == "awaiting_requester",
        "reopen" => state == "closed",
        "add_note" => true,
        _ => open,
    }
}

async fn every_action_not_allowed_in_a_state_is_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    // One request in each state.
    let received = w.intake().await;
    let under_review = w
        .act(&s, &w.intake().await, "start_review", json!({}))
        .await;
    let r = w
        .act(&s, &w.intake().await, "start_review", json!({}))
        .await;
    let r = w
        .act(&s, &r, "assign", json!({"assignee_id": w.supervisor_id}))
        .await;
    let in_progress = w.act(&s, &r, "accept", json!({})).await;
    let r = w
        .act(&s, &w.intake().await, "start_review", json!({}))
        .await;
    let r = w
        .act(&s, &r, "assign", json!({"assignee_id": w.supervisor_id}))
        .await;
    let r = w.act(&s, &r, "accept", json!({})).await;
    let awaiting = w
        .act(&s, &r, "request_information", json!({"message": "m"}))
        .await;
    let closed = w
        .act(&s, &w.intake().await, "withdraw", json!({"reason": "r"}))
        .await;
    let mut refused = 0;
    for rfa in [&received, &under_review, &in_progress, &awaiting, &closed] {
        let state = rfa["state"].as_str().unwrap();
        for action in ACTIONS {
            if state_allows(action, state) {
                continue;
            }
            let res = w.act_raw(&s, rfa, action, body_for(&w, action)).await;
            let p = assert_problem(res, 409).await;
            assert!(p["allowed_actions"].is_array(), "{state} {action}");
            refused += 1;
        }
        // Nothing changed the request.
        let now: Value = w.get(&s, rfa).await.json().await.unwrap();
        assert_eq!(now["version"], rfa["version"], "{state}");
        // And what the request says it allows is exactly what the table allows, less what a
        // rule refuses at once: these requests are eligible (nothing to override), and one
        // without an assignee cannot be accepted.
        let unassigned = rfa["assignee_id"].is_null();
        let mut expected: Vec<&str> = ACTIONS
            .iter()
            .copied()
            .filter(|a| state_allows(a, state))
            .filter(|a| *a != "override_eligibility" && !(*a == "accept" && unassigned))
            .collect();
        let mut listed: Vec<String> = actions(rfa);
        expected.sort();
        listed.sort();
        assert_eq!(listed, expected, "{state}");
    }
    // 6 in each open state, 14 once closed.
    assert_eq!(refused, 38);
}

async fn intake_answers_with_reference_eligibility_and_due_date(backend: Backend) {
    let w = World::new(backend).await;
    let res = w
        .app
        .post("/api/v1/rfas", Some(&w.liaison), &w.intake_body())
        .await;
    assert_eq!(res.status(), 201);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let rfa: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/rfas/{}", rfa["id"].as_str().unwrap())
    );
    assert_eq!(etag, format!("\"{}\"", rfa["version"]));
    assert_eq!(rfa["reference"], "RFA-2026-0001");
    assert_eq!(rfa["state"], "received");
    assert_eq!(
        rfa["eligibility"]["outcome"], "eligible",
        "{}",
        rfa["eligibility"]
    );
    assert_eq!(rfa["eligibility"]["criteria"].as_array().unwrap().len(), 4);
    assert!(rfa["eligibility"]["ruleset_version"].is_string());
    // Routine: 90 days from the day of receipt.
    assert_eq!(rfa["due_on"], "2026-05-31");
    assert_eq!(rfa["due"]["received_on"], "2026-03-02");
    assert_eq!(rfa["due"]["target_days"], 90);
    assert_eq!(rfa["due"]["paused_days"], 0);
    assert_eq!(rfa["requester"]["email"], "a.prosecutor@justice.example");
    // A liaison officer may review nothing; a supervisor may.
    let liaison_actions = actions(&rfa);
    assert!(liaison_actions.contains(&"add_note".to_string()));
    assert!(!liaison_actions.contains(&"start_review".to_string()));
    let sup: Value = w.get(&w.supervisor, &rfa).await.json().await.unwrap();
    assert!(actions(&sup).contains(&"start_review".to_string()));
    assert!(
        !actions(&sup).contains(&"accept".to_string()),
        "accept needs under_review"
    );
    // References count up per year of receipt.
    let mut body = w.intake_body();
    body["received_at"] = json!("2025-12-30T10:00:00Z");
    let older = w.intake_with(&w.supervisor, &body).await;
    assert_eq!(older["reference"], "RFA-2025-0001");
    let again = w.intake().await;
    assert_eq!(again["reference"], "RFA-2026-0002");
    // The history starts with the intake and the eligibility evaluation.
    let events = w.events(&w.liaison, &rfa).await;
    let names: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["intake", "evaluate_eligibility"]);
}

async fn intake_names_every_wrong_field_and_writes_nothing(backend: Backend) {
    let w = World::new(backend).await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let body = json!({
        "jurisdiction_id": "not-a-uuid",
        "authority_id": w.authority,
        "received_at": tomorrow,
        "channel": "carrier_pigeon",
        "subject": "",
        "description": "x",
        "requester": {"name": "N", "email": "nope"},
        "assistance_types": [],
        "proceeding_type": "prosecution",
        "crimes": ["war_crimes", "war_crimes"],
        "conduct": {"country_code": "XX", "from": "2014-01-01", "to": "2013-01-01"},
        "priority": "whenever",
        "confidentiality": "confidential",
        "tags": ["Bad Tag"],
        "mass_assignment": "state=closed"
    });
    let res = w.app.post("/api/v1/rfas", Some(&w.supervisor), &body).await;
    let p = assert_problem(res, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["mass_assignment", "jurisdiction_id", "channel", "priority"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    // Once the shape is right, the rules name every remaining wrong field at once.
    let mut body = w.intake_body();
    body["received_at"] = json!(tomorrow);
    body["subject"] = json!("  ");
    body["requester"] = json!({"name": "N", "email": "nope"});
    body["assistance_types"] = json!([]);
    body["crimes"] = json!(["war_crimes", "war_crimes"]);
    body["conduct"] = json!({"country_code": "XX", "from": "2014-01-01", "to": "2013-01-01"});
    body["tags"] = json!(["Bad Tag"]);
    let p = assert_problem(
        w.app.post("/api/v1/rfas", Some(&w.supervisor), &body).await,
        422,
    )
    .await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "received_at",
        "subject",
        "requester.email",
        "assistance_types",
        "crimes",
        "conduct.country_code",
        "conduct.to",
        "tags[0]",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    // An authority of another jurisdiction.
    let mut body = w.intake_body();
    body["authority_id"] = json!(w.other_authority);
    let p = assert_problem(
        w.app.post("/api/v1/rfas", Some(&w.supervisor), &body).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "authority_id");
    let page: Value = w
        .app
        .get("/api/v1/rfas", Some(&w.supervisor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "nothing was written"
    );
    let verify = w.verify().await;
    assert_eq!(verify["events_checked"], 0);
}

async fn intake_is_idempotent_with_a_key(backend: Backend) {
    let w = World::new(backend).await;
    let send = |body: Value, key: &'static str| {
        let req = w
            .app
            .client
            .post(w.app.url("/api/v1/rfas"))
            .bearer_auth(&w.supervisor)
            .header("idempotency-key", key)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let first = send(w.intake_body(), "key-1").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = send(w.intake_body(), "key-1").await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["reference"], first["reference"]);
    let mut other = w.intake_body();
    other["subject"] = json!("Something else entirely");
    let p = assert_problem(send(other, "key-1").await, 422).await;
    assert_eq!(p["errors"][0]["field"], "Idempotency-Key");
    let page: Value = w
        .app
        .get("/api/v1/rfas", Some(&w.supervisor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    // Another key is another request.
    assert_eq!(send(w.intake_body(), "key-2").await.status(), 201);
}

async fn the_lifecycle_walks_and_is_recorded(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let rfa = w.act(&s, &rfa, "start_review", json!({})).await;
    assert_eq!(rfa["state"], "under_review");
    let rfa = w
        .act(&s, &rfa, "assign", json!({"assignee_id": w.liaison_id}))
        .await;
    assert_eq!(rfa["assignee_id"], w.liaison_id);
    let rfa = w.act(&s, &rfa, "accept", json!({})).await;
    assert_eq!(rfa["state"], "in_progress");
    // The liaison officer works the request.
    let rfa = w
        .act(
            &w.liaison,
            &rfa,
            "request_information",
            json!({"message": "Please confirm the case number."}),
        )
        .await;
    assert_eq!(rfa["state"], "awaiting_requester");
    assert!(rfa["due"]["paused_since"].is_string());
    assert_eq!(rfa["overdue"], false);
    // Pretend the pause began three days ago: the due date moves with it.
    let three_days_ago = (chrono::Utc::now() - chrono::Duration::days(3))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    w.app.db.execute(&format!(
        "UPDATE rfas SET paused_since = '{three_days_ago}' WHERE id = '{}'",
        rfa["id"].as_str().unwrap()
    ));
    let paused: Value = w.get(&s, &rfa).await.json().await.unwrap();
    assert_eq!(paused["due"]["paused_days"], 3);
    assert_eq!(paused["due_on"], "2026-06-03");
    let rfa = w.act(&w.liaison, &rfa, "resume", json!({})).await;
    assert_eq!(rfa["state"], "in_progress");
    assert_eq!(rfa["due"]["paused_since"], Value::Null);
    assert_eq!(
        (rfa["due"]["paused_days"].as_i64(), rfa["due_on"].as_str()),
        (Some(3), Some("2026-06-03"))
    );
    // The stored due date used by the queue agrees with what the request shows.
    let listed: Value = w
        .app
        .get("/api/v1/rfas?due_before=2026-06-04", Some(&s))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // Fulfilled needs a recorded response.
    let res = w
        .act_raw(&s, &rfa, "close", json!({"outcome": "fulfilled"}))
        .await;
    let p = assert_problem(res, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("response"));
    let rfa = w
        .act(&w.liaison, &rfa, "record_response", json!({"kind": "information_package", "description": "12 documents", "shared_on": "2026-03-20"}))
        .await;
    assert_eq!(rfa["state"], "in_progress");
    let rfa = w
        .act(
            &w.liaison,
            &rfa,
            "add_note",
            json!({"text": "Package acknowledged by phone."}),
        )
        .await;
    let rfa = w
        .act(
            &s,
            &rfa,
            "extend_deadline",
            json!({"due_on": "2026-12-31", "reason": "Translation needed"}),
        )
        .await;
    assert_eq!(rfa["due_on"], "2026-12-31");
    assert_eq!(rfa["due"]["extensions"][0]["reason"], "Translation needed");
    let rfa = w
        .act(&s, &rfa, "set_priority", json!({"priority": "urgent"}))
        .await;
    assert_eq!(rfa["priority"], "urgent");
    assert_eq!(rfa["due_on"], "2026-12-31", "the extension stands");
    let rfa = w
        .act(
            &s,
            &rfa,
            "close",
            json!({"outcome": "fulfilled", "reason": "Delivered"}),
        )
        .await;
    assert_eq!(
        (rfa["state"].as_str(), rfa["outcome"].as_str()),
        (Some("closed"), Some("fulfilled"))
    );
    assert!(actions(&rfa).contains(&"reopen".to_string()));
    let rfa = w
        .act(&s, &rfa, "reopen", json!({"reason": "Follow-up request"}))
        .await;
    assert_eq!(
        (rfa["state"].as_str(), rfa["outcome"].as_str()),
        (Some("in_progress"), None)
    );
    let rfa = w
        .act(
            &w.liaison,
            &rfa,
            "withdraw",
            json!({"reason": "Case discontinued"}),
        )
        .await;
    assert_eq!(rfa["outcome"], "withdrawn");

    // A second request is declined.
    let other = w.intake().await;
    let other = w
        .act(
            &s,
            &other,
            "decline",
            json!({"outcome": "declined_other", "reason": "Outside our holdings"}),
        )
        .await;
    assert_eq!(other["outcome"], "declined_other");
    let res = w
        .act_raw(
            &s,
            &w.intake().await,
            "decline",
            json!({"outcome": "fulfilled", "reason": "x"}),
        )
        .await;
    assert_eq!(
        assert_problem(res, 422).await["errors"][0]["field"],
        "outcome"
    );

    let events: Value = w
        .app
        .get(
            &format!(
                "/api/v1/rfas/{}/events?limit=200",
                rfa["id"].as_str().unwrap()
            ),
            Some(&s),
        )
        .await
        .json()
        .await
        .unwrap();
    let walked: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["state_after"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("intake", "received"),
        ("evaluate_eligibility", "received"),
        ("start_review", "under_review"),
        ("assign", "under_review"),
        ("accept", "in_progress"),
        ("request_information", "awaiting_requester"),
        ("resume", "in_progress"),
        ("record_response", "in_progress"),
        ("add_note", "in_progress"),
        ("extend_deadline", "in_progress"),
        ("set_priority", "in_progress"),
        ("close", "closed"),
        ("reopen", "in_progress"),
        ("withdraw", "closed"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(walked, expected);
    let first = &events["items"][0];
    assert_eq!(first["state_before"], Value::Null);
    assert_eq!(events["items"][4]["state_before"], "under_review");
    let verify = w.verify().await;
    // The chain holds; the one thing found is this test's own edit of the pause, behind the
    // service's back, which the next event (resume) recorded as found.
    assert_eq!(verify["events_checked"], 19, "{verify}");
    assert_eq!(verify["first_broken_seq"], Value::Null, "{verify}");
    let findings = verify["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{verify}");
    assert_eq!(findings[0]["kind"], "record_changed_outside");
    assert_eq!(findings[0]["fields"], json!(["paused_since"]));
    assert_eq!(findings[0]["reference"], rfa["reference"]);
}

async fn transitions_not_allowed_now_are_refused_with_the_alternatives(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    for (action, body) in [
        ("accept", json!({})),
        ("close", json!({"outcome": "partially_fulfilled"})),
        ("reopen", json!({"reason": "x"})),
        ("resume", json!({})),
        ("request_information", json!({"message": "?"})),
        (
            "record_response",
            json!({"kind": "other", "description": "d", "shared_on": "2026-01-01"}),
        ),
    ] {
        let p = assert_problem(w.act_raw(&s, &rfa, action, body).await, 409).await;
        let allowed: Vec<&str> = p["allowed_actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(
            allowed.contains(&"start_review") && !allowed.contains(&action),
            "{action}: {allowed:?}"
        );
    }
    let closed = w
        .act(
            &s,
            &rfa,
            "withdraw",
            json!({"reason": "Withdrawn by the requester"}),
        )
        .await;
    for action in ["assign", "set_priority", "withdraw", "start_review"] {
        let body = match action {
            "assign" => json!({"assignee_id": w.supervisor_id}),
            "set_priority" => json!({"priority": "high"}),
            "withdraw" => json!({"reason": "again"}),
            _ => json!({}),
        };
        assert_problem(w.act_raw(&s, &closed, action, body).await, 409).await;
    }
    // Unknown actions and malformed bodies.
    assert_problem(w.act_raw(&s, &closed, "teleport", json!({})).await, 404).await;
    let p = assert_problem(
        w.act_raw(&s, &closed, "add_note", json!({"txt": "typo"}))
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "txt");
    // Nothing of that changed the request.
    let now: Value = w.get(&s, &closed).await.json().await.unwrap();
    assert_eq!(now["version"], closed["version"]);
}

async fn changes_need_a_current_if_match(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let url = w.app.url(&format!(
        "/api/v1/rfas/{}/actions/add_note",
        rfa["id"].as_str().unwrap()
    ));
    let send = |if_match: Option<String>| {
        let mut req = w
            .app
            .client
            .post(&url)
            .bearer_auth(&w.supervisor)
            .json(&json!({"text": "n"}));
        if let Some(v) = if_match {
            req = req.header("if-match", v);
        }
        async move { req.send().await.unwrap() }
    };
    assert_problem(send(None).await, 428).await;
    let ok = send(Some(format!("\"{}\"", rfa["version"]))).await;
    assert_eq!(ok.status(), 200);
    let newer = ok.headers()["etag"].to_str().unwrap().to_string();
    // The old version is stale now.
    assert_problem(send(Some(format!("\"{}\"", rfa["version"]))).await, 412).await;
    assert_problem(send(Some("\"garbage\"".into())).await, 412).await;
    assert_eq!(send(Some(newer)).await.status(), 200);
    // PATCH too.
    let res = w
        .app
        .send(
            Method::PATCH,
            &format!("/api/v1/rfas/{}", rfa["id"].as_str().unwrap()),
            Some(&w.supervisor),
            &json!({"subject": "New"}),
        )
        .await;
    assert_problem(res, 428).await;
    let events = w.events(&w.supervisor, &rfa).await;
    assert_eq!(
        events["items"].as_array().unwrap().len(),
        4,
        "intake, evaluation and two notes"
    );
}

async fn acceptance_needs_an_assignee_and_eligibility_or_an_override(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    // The second jurisdiction retains the death penalty: not eligible.
    let res = w
        .app
        .patch_current(
            &format!("/api/v1/jurisdictions/{}", w.other_jurisdiction),
            Some(&w.admin),
            &json!({"death_penalty_status": "retentionist"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut body = w.intake_body();
    body["jurisdiction_id"] = json!(w.other_jurisdiction);
    body["authority_id"] = json!(w.other_authority);
    let rfa = w.intake_with(&s, &body).await;
    assert_eq!(rfa["eligibility"]["outcome"], "ineligible");
    let dp = rfa["eligibility"]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["criterion"] == "death_penalty")
        .unwrap()
        .clone();
    assert_eq!(dp["result"], "fail");
    assert!(dp["reason"].as_str().unwrap().contains("death penalty"));
    let rfa = w.act(&s, &rfa, "start_review", json!({})).await;
    // The request names only what would succeed now: no accept without an assignee or
    // eligibility, an override while not eligible.
    let offered = |rfa: &Value, action: &str| actions(rfa).contains(&action.to_string());
    assert!(!offered(&rfa, "accept") && offered(&rfa, "override_eligibility"));
    let p = assert_problem(w.act_raw(&s, &rfa, "accept", json!({})).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("assign"));
    let rfa = w
        .act(&s, &rfa, "assign", json!({"assignee_id": w.supervisor_id}))
        .await;
    assert!(!offered(&rfa, "accept"), "still not eligible");
    let p = assert_problem(w.act_raw(&s, &rfa, "accept", json!({})).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("not eligible"));
    // Only someone who can see the request can be assigned it.
    let res = w
        .act_raw(&s, &rfa, "assign", json!({"assignee_id": w.liaison_id}))
        .await;
    assert_eq!(
        assert_problem(res, 422).await["errors"][0]["field"],
        "assignee_id"
    );
    // An override needs a real justification, and only supervisors may give it.
    let res = w
        .act_raw(
            &s,
            &rfa,
            "override_eligibility",
            json!({"justification": "ok"}),
        )
        .await;
    assert_problem(res, 422).await;
    let res = w
        .act_raw(
            &w.other_liaison,
            &rfa,
            "override_eligibility",
            json!({"justification": "A sufficiently long justification."}),
        )
        .await;
    assert_problem(res, 403).await;
    // An assurance for this request is the better way: it makes the request eligible.
    let rfa = w
        .act(
            &w.other_liaison,
            &rfa,
            "record_assurance",
            json!({"reference": "NV/2026/77", "given_on": "2026-03-10"}),
        )
        .await;
    assert_eq!(rfa["eligibility"]["outcome"], "eligible");
    let sup: Value = w.get(&s, &rfa).await.json().await.unwrap();
    assert!(offered(&sup, "accept") && !offered(&sup, "override_eligibility"));
    let rfa = w.act(&s, &rfa, "accept", json!({})).await;
    assert_eq!(rfa["state"], "in_progress");

    // Overriding, on another request.
    let other = w.intake_with(&s, &body).await;
    let other = w.act(&s, &other, "start_review", json!({})).await;
    let other = w
        .act(
            &s,
            &other,
            "assign",
            json!({"assignee_id": w.supervisor_id}),
        )
        .await;
    let other = w
        .act(
            &s,
            &other,
            "override_eligibility",
            json!({"justification": "Assurance received by diplomatic note, being registered."}),
        )
        .await;
    assert_eq!(other["eligibility"]["override"]["overridden"], "ineligible");
    // No Rust naming in the contract.
    assert!(other["eligibility"].get("override_").is_none(), "{other}");
    let other = w.act(&s, &other, "accept", json!({})).await;
    assert_eq!(other["state"], "in_progress");

    // An override answers one decision: when the facts change the decision, it no longer
    // lets the request through.
    let third = w.intake_with(&s, &body).await;
    let third = w.act(&s, &third, "start_review", json!({})).await;
    let third = w
        .act(
            &s,
            &third,
            "assign",
            json!({"assignee_id": w.supervisor_id}),
        )
        .await;
    w.act(
        &s,
        &third,
        "override_eligibility",
        json!({"justification": "Assurance received by diplomatic note, being registered."}),
    )
    .await;
    let res = w
        .app
        .patch_current(
            &format!("/api/v1/jurisdictions/{}", w.other_jurisdiction),
            Some(&w.admin),
            &json!({"death_penalty_status": "abolished_in_practice"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let third: Value = w.get(&s, &third).await.json().await.unwrap();
    assert_eq!(third["eligibility"]["outcome"], "needs_review");
    let p = assert_problem(w.act_raw(&s, &third, "accept", json!({})).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("not eligible"));
}

async fn liaison_officers_see_only_their_jurisdictions(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let id = rfa["id"].as_str().unwrap();
    // The other liaison officer learns nothing of it.
    assert_problem(w.get(&w.other_liaison, &rfa).await, 404).await;
    assert_problem(
        w.app
            .get(&format!("/api/v1/rfas/{id}/events"), Some(&w.other_liaison))
            .await,
        404,
    )
    .await;
    assert_problem(
        w.act_raw(&w.other_liaison, &rfa, "add_note", json!({"text": "x"}))
            .await,
        404,
    )
    .await;
    let res = w
        .app
        .client
        .patch(w.app.url(&format!("/api/v1/rfas/{id}")))
        .bearer_auth(&w.other_liaison)
        .header("if-match", format!("\"{}\"", rfa["version"]))
        .json(&json!({"subject": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404).await;
    let page: Value = w
        .app
        .get("/api/v1/rfas", Some(&w.other_liaison))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    // Nor may they log requests for a jurisdiction that is not theirs.
    assert_problem(
        w.app
            .post("/api/v1/rfas", Some(&w.other_liaison), &w.intake_body())
            .await,
        403,
    )
    .await;
    // Their own officer sees it, may add notes, but not triage.
    let page: Value = w
        .app
        .get("/api/v1/rfas", Some(&w.liaison))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let rfa = w
        .act(
            &w.liaison,
            &rfa,
            "add_note",
            json!({"text": "Called the requester."}),
        )
        .await;
    assert_problem(
        w.act_raw(&w.liaison, &rfa, "start_review", json!({})).await,
        403,
    )
    .await;
    let res = w
        .app
        .post(
            "/api/v1/rfas/bulk",
            Some(&w.liaison),
            &json!({"ids": [id], "action": "set_priority", "fields": {"priority": "high"}}),
        )
        .await;
    assert_problem(res, 403).await;
}

async fn reporting_staff_never_see_requests(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let id = rfa["id"].as_str().unwrap();
    for path in [
        "/api/v1/rfas".to_string(),
        format!("/api/v1/rfas/{id}"),
        format!("/api/v1/rfas/{id}/events"),
    ] {
        assert_problem(w.app.get(&path, Some(&w.reporting)).await, 403).await;
    }
    assert_problem(
        w.app
            .post("/api/v1/rfas", Some(&w.reporting), &w.intake_body())
            .await,
        403,
    )
    .await;
    assert_problem(
        w.act_raw(&w.reporting, &rfa, "add_note", json!({"text": "x"}))
            .await,
        403,
    )
    .await;
    // Administrators manage the service, not the cases.
    assert_problem(
        w.app
            .get(&format!("/api/v1/rfas/{id}"), Some(&w.admin))
            .await,
        403,
    )
    .await;
}

async fn the_queue_is_the_open_work_unless_the_archive_is_asked_for(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let open = w.intake().await;
    let closed = w
        .act(
            &s,
            &w.intake().await,
            "withdraw",
            json!({"reason": "sent in error"}),
        )
        .await;
    assert_eq!(closed["state"], "closed");
    let ids = |query: &'static str| {
        let (app, token) = (&w.app, s.clone());
        async move {
            let res = app
                .get(&format!("/api/v1/rfas?{query}"), Some(&token))
                .await;
            assert_eq!(res.status(), 200, "{query}");
            let page: Value = res.json().await.unwrap();
            let mut ids: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    let (open_id, closed_id) = (
        open["id"].as_str().unwrap().to_string(),
        closed["id"].as_str().unwrap().to_string(),
    );
    let mut both = vec![open_id.clone(), closed_id.clone()];
    both.sort();
    // Without a state (or with an empty one), the queue is the work still to be done.
    assert_eq!(ids("").await, vec![open_id.clone()]);
    assert_eq!(ids("state=").await, vec![open_id.clone()]);
    assert_eq!(ids("state=open").await, vec![open_id.clone()]);
    assert_eq!(ids("state=closed").await, vec![closed_id.clone()]);
    assert_eq!(ids("state=all").await, both);
    assert_eq!(ids("state=open,closed").await, both);
    assert_eq!(ids("state=received&state=closed").await, both);
    let p = assert_problem(w.app.get("/api/v1/rfas?state=archive", Some(&s)).await, 422).await;
    assert_eq!(p["errors"][0]["field"], "state");
}

async fn a_running_pause_moves_a_request_in_the_queue_by_due_date(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let mut made = Vec::new();
    // High priority: due 30 days after receipt (31 May, 1 June and 2 June).
    for day in ["2026-05-01", "2026-05-02", "2026-05-03"] {
        let mut body = w.intake_body();
        body["priority"] = json!("high");
        body["received_at"] = json!(day);
        body["subject"] = json!(format!("Received {day}"));
        made.push(w.intake_with(&s, &body).await);
    }
    let first = w.accepted(&s, &made[0]).await;
    let first = w
        .act(
            &s,
            &first,
            "request_information",
            json!({"message": "Which unit?"}),
        )
        .await;
    // The requester has been silent for three days (the pause began then) and a note is
    // added meanwhile: the pause runs on.
    let three_days_ago = (chrono::Utc::now() - chrono::Duration::days(3))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    w.app.db.execute(&format!(
        "UPDATE rfas SET paused_since = '{three_days_ago}' WHERE id = '{}'",
        first["id"].as_str().unwrap()
    ));
    let first = w
        .act(&s, &first, "add_note", json!({"text": "Chased by phone."}))
        .await;
    assert_eq!(first["state"], "awaiting_requester");
    assert_eq!(first["due_on"], "2026-06-03");
    let subjects = |query: String| {
        let (app, token) = (&w.app, s.clone());
        async move {
            let res = app
                .get(&format!("/api/v1/rfas?{query}"), Some(&token))
                .await;
            assert_eq!(res.status(), 200, "{query}");
            let page: Value = res.json().await.unwrap();
            let rows: Vec<(String, String)> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let subject = r["subject"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("Received ");
                    (
                        subject.to_string(),
                        r["due_on"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (rows, page["next_cursor"].as_str().map(str::to_string))
        }
    };
    let (rows, _) = subjects("sort=due_at".into()).await;
    assert_eq!(
        rows,
        [
            ("2026-05-02".to_string(), "2026-06-01".to_string()),
            ("2026-05-03".to_string(), "2026-06-02".to_string()),
            ("2026-05-01".to_string(), "2026-06-03".to_string()),
        ]
    );
    let order = |rows: &[(String, String)]| rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
    let (rows, _) = subjects("sort=due_at&order=desc".into()).await;
    assert_eq!(order(&rows), ["2026-05-01", "2026-05-03", "2026-05-02"]);
    // Page by page, one at a time, in both directions: the same order, nothing twice.
    for (dir, expected) in [
        ("asc", ["2026-05-02", "2026-05-03", "2026-05-01"]),
        ("desc", ["2026-05-01", "2026-05-03", "2026-05-02"]),
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = format!("sort=due_at&order={dir}&limit=1");
            if let Some(c) = &cursor {
                query.push_str(&format!("&cursor={c}"));
            }
            let (rows, next) = subjects(query).await;
            seen.extend(order(&rows));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{dir}");
    }
    // due_before counts the pause too; so does the waiting state alone.
    let (rows, _) = subjects("due_before=2026-06-03".into()).await;
    assert_eq!(order(&rows), ["2026-05-02", "2026-05-03"]);
    let (rows, _) = subjects("due_before=2026-06-04".into()).await;
    assert_eq!(rows.len(), 3);
    let (rows, _) = subjects("state=awaiting_requester&due_before=2026-06-03".into()).await;
    assert!(rows.is_empty());
    let (rows, _) = subjects("state=awaiting_requester&sort=due_at".into()).await;
    assert_eq!(order(&rows), ["2026-05-01"]);
}

async fn the_queue_filters_sorts_and_pages(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let mut made = Vec::new();
    for (i, (priority, tag, subject, day)) in [
        (
            "urgent",
            "gender",
            "Sexual violence 50% of cases",
            "2026-01-05",
        ),
        (
            "high",
            "children_youth",
            "Child recruitment records",
            "2026-02-10",
        ),
        (
            "routine",
            "missing_persons",
            "Missing persons lists",
            "2026-03-15",
        ),
        ("routine", "gender", "Detention_records", "2026-04-20"),
        (
            "routine",
            "other",
            "50 files on DetentionXrecords",
            "2026-04-21",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = w.intake_body();
        body["priority"] = json!(priority);
        body["tags"] = json!([tag]);
        body["subject"] = json!(subject);
        body["received_at"] = json!(format!("{day}T08:00:00Z"));
        if i >= 3 {
            body["jurisdiction_id"] = json!(w.other_jurisdiction);
            body["authority_id"] = json!(w.other_authority);
        }
        made.push(w.intake_with(&s, &body).await);
    }
    let reviewed = w.act(&s, &made[1], "start_review", json!({})).await;
    w.act(
        &s,
        &reviewed,
        "assign",
        json!({"assignee_id": w.supervisor_id}),
    )
    .await;
    let refs = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["subject"].as_str().unwrap().to_string())
            .collect()
    };
    let q = |query: &str| {
        let path = format!("/api/v1/rfas?{query}");
        let token = s.clone();
        let app = &w.app;
        async move {
            let res = app.get(&path, Some(&token)).await;
            assert_eq!(res.status(), 200, "{path}");
            res.json::<Value>().await.unwrap()
        }
    };
    // Default: by due date, soonest first (urgent 10 days, high 30, routine 90).
    assert_eq!(refs(&q("").await)[0], "Sexual violence 50% of cases");
    assert_eq!(
        refs(&q("state=under_review").await),
        ["Child recruitment records"]
    );
    assert_eq!(refs(&q("state=received,under_review").await).len(), 5);
    assert_eq!(refs(&q("state=received&state=closed").await).len(), 4);
    // `open` is every state but closed, and names each request once with other states.
    let (all, open, closed) = (q("").await, q("state=open").await, q("state=closed").await);
    let count = |page: &Value| page["items"].as_array().map_or(0, Vec::len);
    assert!(count(&open) > 0);
    assert_eq!(count(&open) + count(&closed), count(&all));
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] != "closed")
    );
    assert_eq!(
        count(&q("state=open,received&state=open").await),
        count(&open)
    );
    assert_eq!(
        refs(&q(&format!("jurisdiction_id={}", w.other_jurisdiction)).await).len(),
        2
    );
    assert_eq!(
        refs(&q(&format!("assignee_id={}", w.supervisor_id)).await),
        ["Child recruitment records"]
    );
    assert_eq!(refs(&q("assignee_id=unassigned").await).len(), 4);
    assert_eq!(refs(&q("priority=routine").await).len(), 3);
    assert_eq!(refs(&q("tag=gender").await).len(), 2);
    assert_eq!(refs(&q("eligibility=eligible").await).len(), 5);
    assert_eq!(
        refs(&q("received_from=2026-02-10&received_to=2026-03-15").await).len(),
        2
    );
    assert_eq!(
        refs(&q("due_before=2026-03-01").await),
        ["Sexual violence 50% of cases"]
    );
    // Every one was received long enough ago to be overdue by now.
    assert_eq!(refs(&q("overdue=true").await).len(), 5);
    assert_eq!(refs(&q("overdue=false").await).len(), 0);
    // Free text: words by their beginning, in any case; punctuation only separates words.
    assert_eq!(
        refs(&q("q=50%25").await),
        [
            "Sexual violence 50% of cases",
            "50 files on DetentionXrecords"
        ]
    );
    assert_eq!(
        refs(&q("q=_records").await),
        ["Child recruitment records", "Detention_records"]
    );
    assert_eq!(refs(&q("q=MISS").await), ["Missing persons lists"]);
    assert_eq!(refs(&q("q=issing").await).len(), 0);
    assert_eq!(
        refs(&q(&format!("q={}", made[2]["reference"].as_str().unwrap())).await),
        ["Missing persons lists"]
    );
    // Sorting.
    assert_eq!(
        refs(&q("sort=received_at&order=desc").await)[0],
        "50 files on DetentionXrecords"
    );
    assert_eq!(
        refs(&q("sort=priority").await)[0],
        "Sexual violence 50% of cases"
    );
    assert_eq!(
        refs(&q("sort=updated_at&order=desc").await)[0],
        "Child recruitment records"
    );
    // Bad parameters are named.
    let res = w
        .app
        .get(
            "/api/v1/rfas?state=lost&limit=0&sort=colour&overdue=maybe&bogus=1",
            Some(&s),
        )
        .await;
    let p = assert_problem(res, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["state", "limit", "sort", "overdue", "bogus"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    assert_problem(w.app.get("/api/v1/rfas?cursor=forged", Some(&s)).await, 400).await;
    // A cursor from one sort order does not fit another.
    let page = q("limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    assert_problem(
        w.app
            .get(
                &format!("/api/v1/rfas?limit=1&sort=received_at&cursor={cursor}"),
                Some(&s),
            )
            .await,
        400,
    )
    .await;
}

async fn pages_neither_skip_nor_repeat_while_requests_arrive(backend: Backend) {
    let w = World::new(backend).await;
    // Varied sort values, with ties, so both the value and the id tie-break are exercised.
    let body = |n: usize| {
        let mut b = w.intake_body();
        b["received_at"] = json!(format!("2026-0{}-1{}T08:00:00Z", 1 + n % 5, n % 3));
        b["priority"] = json!(["urgent", "high", "routine"][n % 3]);
        b
    };
    let mut n = 0;
    for _ in 0..7 {
        w.intake_with(&w.supervisor, &body(n)).await;
        n += 1;
    }
    for sort in ["due_at", "received_at", "priority", "updated_at"] {
        for order in ["asc", "desc"] {
            let mut seen: Vec<String> = Vec::new();
            let mut cursor: Option<String> = None;
            let before: Value = w
                .app
                .get("/api/v1/rfas?limit=200", Some(&w.supervisor))
                .await
                .json()
                .await
                .unwrap();
            let existing: Vec<String> = before["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            loop {
                let mut path = format!("/api/v1/rfas?limit=2&sort={sort}&order={order}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page: Value = w
                    .app
                    .get(&path, Some(&w.supervisor))
                    .await
                    .json()
                    .await
                    .unwrap();
                seen.extend(
                    page["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["id"].as_str().unwrap().to_string()),
                );
                // A new request arrives between pages, sometimes before the cursor's place.
                w.intake_with(&w.supervisor, &body(n)).await;
                n += 1;
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "{sort} {order}: repeated");
            for id in &existing {
                assert!(seen.contains(id), "{sort} {order}: skipped {id}");
            }
        }
    }
}

/// A page of several states in each order is one queue: the same rows in the same order
/// whatever the page size, ordered by the sort key then id (SQLite reads each state apart and
/// merges them, `db::rfas::each_state`).
async fn every_order_reads_several_states_as_one_queue(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let mut made = Vec::new();
    for n in 0..12usize {
        let mut b = w.intake_body();
        // Ties in every key, so the id must break them the same way in every part.
        b["received_at"] = json!(format!("2026-0{}-1{}T08:00:00Z", 1 + n % 4, n % 2));
        b["priority"] = json!(["urgent", "high", "routine"][n % 3]);
        let rfa = w.intake_with(&s, &b).await;
        let rfa = match n % 4 {
            0 => rfa,
            1 => w.act(&s, &rfa, "start_review", json!({})).await,
            2 => w.accepted(&s, &rfa).await,
            _ => {
                let body = json!({"outcome": "declined_other", "reason": "r"});
                w.act(&s, &rfa, "decline", body).await
            }
        };
        made.push(rfa);
    }
    let rank = |p: &str| ["urgent", "high", "routine"].iter().position(|x| *x == p);
    for states in ["", "state=all", "state=received&state=in_progress"] {
        for sort in ["due_at", "received_at", "priority", "updated_at"] {
            for order in ["asc", "desc"] {
                let what = format!("{states} {sort} {order}");
                let path = |limit: usize, cursor: &Option<String>| {
                    let mut p =
                        format!("/api/v1/rfas?{states}&limit={limit}&sort={sort}&order={order}");
                    if let Some(c) = cursor {
                        p.push_str(&format!("&cursor={c}"));
                    }
                    p
                };
                let whole: Value = w
                    .app
                    .get(&path(200, &None), Some(&s))
                    .await
                    .json()
                    .await
                    .unwrap();
                let whole = whole["items"].as_array().unwrap().clone();
                let expected = match states {
                    "" => 9,
                    "state=all" => 12,
                    _ => 6,
                };
                assert_eq!(whole.len(), expected, "{what}");
                let mut paged = Vec::new();
                let mut cursor = None;
                loop {
                    let page: Value = w
                        .app
                        .get(&path(2, &cursor), Some(&s))
                        .await
                        .json()
                        .await
                        .unwrap();
                    paged.extend(page["items"].as_array().unwrap().iter().cloned());
                    match page["next_cursor"].as_str() {
                        Some(c) => cursor = Some(c.to_string()),
                        None => break,
                    }
                }
                let ids = |rows: &[Value]| -> Vec<String> {
                    rows.iter()
                        .map(|r| r["id"].as_str().unwrap().to_string())
                        .collect()
                };
                assert_eq!(ids(&paged), ids(&whole), "{what}: pages of two");
                // The order itself, where the rows show their key.
                let key = |r: &Value| -> Option<String> {
                    match sort {
                        "due_at" => Some(r["due_on"].as_str().unwrap().to_string()),
                        "received_at" => Some(r["received_at"].as_str().unwrap().to_string()),
                        "priority" => Some(format!("{:?}", rank(r["priority"].as_str().unwrap()))),
                        _ => None,
                    }
                };
                if key(&whole[0]).is_some() {
                    let mut sorted = whole.clone();
                    sorted.sort_by_key(|r| (key(r), r["id"].as_str().unwrap().to_string()));
                    if order == "desc" {
                        sorted.reverse();
                    }
                    assert_eq!(ids(&whole), ids(&sorted), "{what}: order");
                }
            }
        }
    }
}

async fn intake_corrections_until_acceptance(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let id = rfa["id"].as_str().unwrap().to_string();
    let patch = |token: String, version: Value, body: Value| {
        let req = w
            .app
            .client
            .patch(w.app.url(&format!("/api/v1/rfas/{id}")))
            .bearer_auth(token)
            .header("if-match", format!("\"{version}\""))
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let res = patch(
        w.liaison.clone(),
        rfa["version"].clone(),
        json!({"subject": "Corrected subject", "crimes": ["war_crimes"], "tags": []}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let rfa: Value = res.json().await.unwrap();
    assert_eq!(rfa["subject"], "Corrected subject");
    assert_eq!(rfa["crimes"], json!(["war_crimes"]));
    // Fields that are not the intake's cannot be set.
    let res = patch(
        s.clone(),
        rfa["version"].clone(),
        json!({"state": "closed"}),
    )
    .await;
    assert_eq!(
        assert_problem(res, 422).await["errors"][0]["field"],
        "state"
    );
    let res = patch(
        s.clone(),
        rfa["version"].clone(),
        json!({"received_at": "1999-05-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(
        assert_problem(res, 422).await["errors"][0]["field"],
        "received_at"
    );
    let events: Value = w
        .app
        .get(&format!("/api/v1/rfas/{id}/events"), Some(&s))
        .await
        .json()
        .await
        .unwrap();
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "edit_intake");
    assert_eq!(
        last["details"]["changes"]["subject"]["to"],
        "Corrected subject"
    );
    // After acceptance, the intake is settled.
    let rfa = w.act(&s, &rfa, "start_review", json!({})).await;
    let rfa = w
        .act(&s, &rfa, "assign", json!({"assignee_id": w.liaison_id}))
        .await;
    let rfa = w.act(&s, &rfa, "accept", json!({})).await;
    let res = patch(
        s.clone(),
        rfa["version"].clone(),
        json!({"subject": "Too late"}),
    )
    .await;
    assert_problem(res, 409).await;
}

async fn registry_changes_re_evaluate_open_requests(backend: Backend) {
    let w = World::new(backend).await;
    let open = w.intake().await;
    let closed = w.intake().await;
    w.act(
        &w.supervisor,
        &closed,
        "withdraw",
        json!({"reason": "Withdrawn"}),
    )
    .await;
    assert_eq!(open["eligibility"]["outcome"], "eligible");
    let res = w
        .app
        .post(
            &format!("/api/v1/jurisdictions/{}/assessments", w.jurisdiction),
            Some(&w.admin),
            &json!({"outcome": "fails", "assessed_on": "2026-02-01", "review_due": "2027-02-01", "assessor": "Legal", "summary": "Serious violations found."}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let now: Value = w.get(&w.supervisor, &open).await.json().await.unwrap();
    assert_eq!(now["eligibility"]["outcome"], "ineligible");
    assert!(now["version"].as_i64() > open["version"].as_i64());
    let events = w.events(&w.supervisor, &open).await;
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "evaluate_eligibility");
    assert_eq!(last["details"]["trigger"], "assessment recorded");
    // Closed requests are left as they were decided.
    let closed_now: Value = w.get(&w.supervisor, &closed).await.json().await.unwrap();
    assert_eq!(closed_now["eligibility"]["outcome"], "eligible");
    // On demand, by the liaison officer: the same decision again is still recorded.
    let again = w
        .act(&w.liaison, &now, "evaluate_eligibility", json!({}))
        .await;
    assert_eq!(again["eligibility"]["outcome"], "ineligible");
}

async fn bulk_triage_reports_each_request(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let a = w.intake().await;
    let b = w.intake().await;
    let c = w.intake().await;
    w.act(&s, &c, "withdraw", json!({"reason": "Withdrawn"}))
        .await;
    let ids = json!([a["id"], b["id"], c["id"], uuid::Uuid::now_v7().to_string()]);
    let body = |dry_run: bool| json!({"ids": ids, "action": "set_priority", "fields": {"priority": "urgent"}, "dry_run": dry_run});
    let dry: Value = w
        .app
        .post("/api/v1/rfas/bulk", Some(&s), &body(true))
        .await
        .json()
        .await
        .unwrap();
    let statuses: Vec<u64> = dry["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 409, 404]);
    assert_eq!(
        (dry["succeeded"].as_u64(), dry["failed"].as_u64()),
        (Some(2), Some(2))
    );
    let unchanged: Value = w.get(&s, &a).await.json().await.unwrap();
    assert_eq!(
        unchanged["priority"], "routine",
        "a dry run changes nothing"
    );
    let done: Value = w
        .app
        .post("/api/v1/rfas/bulk", Some(&s), &body(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["succeeded"], 2);
    for rfa in [&a, &b] {
        let now: Value = w.get(&s, rfa).await.json().await.unwrap();
        assert_eq!(now["priority"], "urgent");
        let events = w.events(&s, rfa).await;
        assert_eq!(
            events["items"].as_array().unwrap().last().unwrap()["action"],
            "set_priority"
        );
    }
    let res = w
        .app
        .post(
            "/api/v1/rfas/bulk",
            Some(&s),
            &json!({"ids": ids, "action": "close", "fields": {}}),
        )
        .await;
    assert_problem(res, 422).await;
    let res = w
        .app
        .post(
            "/api/v1/rfas/bulk",
            Some(&s),
            &json!({"ids": [a["id"]], "action": "assign", "fields": {"assignee_id": "nobody"}}),
        )
        .await;
    assert_problem(res, 422).await;
}

async fn the_audit_chain_names_an_edited_event(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let rfa = w
        .act(
            &w.supervisor,
            &rfa,
            "add_note",
            json!({"text": "Original note"}),
        )
        .await;
    w.intake().await;
    let ok = w.verify().await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["events_checked"], 5);
    assert_eq!(ok["head_seq"], 5);
    assert_eq!(ok["records_checked"], 2);
    assert_eq!(ok["findings"], json!([]));
    assert_problem(
        w.app.get("/api/v1/audit/verify", Some(&w.supervisor)).await,
        403,
    )
    .await;
    // Someone with database access rewrites the note (lifting the append-only guard first).
    w.app.db.lift_append_only();
    let n = w.app.db.execute(&format!(
        "UPDATE rfa_events SET details = '{{\"text\":\"Rewritten note\"}}' WHERE rfa_id = '{}' AND action = 'add_note'",
        rfa["id"].as_str().unwrap()
    ));
    assert_eq!(n, 1);
    let broken = w.verify().await;
    assert_eq!(broken["ok"], false);
    assert_eq!(broken["first_broken_seq"], 3);
}

async fn two_instances_keep_references_and_the_chain_single(backend: Backend) {
    let w = World::new(backend).await;
    let second = w.app.second_instance();
    let apps = [&w.app, &second];
    // Many intakes at once, spread over both instances.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = apps[i % 2];
        let (client, url, token, body) = (
            app.client.clone(),
            app.url("/api/v1/rfas"),
            w.supervisor.clone(),
            w.intake_body(),
        );
        tasks.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_string()
        }));
    }
    let mut refs = Vec::new();
    for t in tasks {
        refs.push(t.await.unwrap());
    }
    refs.sort();
    let expected: Vec<String> = (1..=24).map(|n| format!("RFA-2026-{n:04}")).collect();
    assert_eq!(refs, expected, "unique and without gaps");
    // Two conflicting changes of one RFA with the same version, one through each instance.
    let rfa = w.intake().await;
    let mut racers = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        let req = app
            .client
            .post(app.url(&format!(
                "/api/v1/rfas/{}/actions/set_priority",
                rfa["id"].as_str().unwrap()
            )))
            .bearer_auth(&w.supervisor)
            .header("if-match", format!("\"{}\"", rfa["version"]))
            .json(&json!({"priority": if i == 0 { "urgent" } else { "high" }}));
        racers.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 412], "exactly one wins");
    let verify: Value = second
        .get("/api/v1/audit/verify", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["events_checked"], 2 * 25 + 1);
}

/// The queue and the read by id check the session inside their one database call (not in
/// the middleware): an ended session still gets 401 before anything else is looked at, and
/// a role without reading rights gets 403 before its query string is.
async fn an_ended_session_reads_nothing(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let id = rfa["id"].as_str().expect("id");
    let unknown = "00000000-0000-4000-8000-000000000000";
    let reads = [
        format!("/api/v1/rfas/{id}"),
        format!("/api/v1/rfas/{unknown}"),
        "/api/v1/rfas/not-an-id".to_string(),
        "/api/v1/rfas".to_string(),
        "/api/v1/rfas?limit=0".to_string(),
        "/api/v1/rfas?q=%00".to_string(),
    ];
    let before = [200, 404, 404, 200, 422, 422];
    for (path, status) in reads.iter().zip(before) {
        let res = w.app.get(path, Some(&w.liaison)).await;
        assert_eq!(res.status(), status, "{path} before");
    }
    // Reporting staff may not read requests: 403 whatever the id or query, so they learn
    // neither which ids exist nor anything from the query's validation.
    for path in &reads {
        assert_problem(w.app.get(path, Some(&w.reporting)).await, 403).await;
    }
    for rfa_id in [id, unknown] {
        let history = format!("/api/v1/rfas/{rfa_id}/events");
        assert_problem(w.app.get(&history, Some(&w.reporting)).await, 403).await;
    }

    let res = w
        .app
        .patch_current(
            &format!("/api/v1/users/{}", w.liaison_id),
            Some(&w.admin),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    for path in &reads {
        assert_problem(w.app.get(path, Some(&w.liaison)).await, 401).await;
    }
    // A token that is not genuine is refused before any database work.
    let forged = format!("{}x", w.supervisor);
    for path in &reads {
        assert_problem(w.app.get(path, Some(&forged)).await, 401).await;
        assert_problem(w.app.get(path, None).await, 401).await;
    }
}

/// The queue answers list rows: what a list shows, with the names a person reads, and the
/// same state, due date, eligibility outcome, actions and version as the full request;
/// `view=full` gives full requests. Bulk results carry the same rows, a dry run the row as it
/// would be.
async fn queue_rows_are_summaries_with_names(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let rfa = w
        .act(&s, &rfa, "assign", json!({"assignee_id": w.supervisor_id}))
        .await;
    let page = |query: &'static str, token: String| {
        let app = &w.app;
        async move {
            let res = app
                .get(&format!("/api/v1/rfas?{query}"), Some(&token))
                .await;
            assert_eq!(res.status(), 200, "{query}");
            res.json::<Value>().await.unwrap()
        }
    };
    let supervisor: Value = w
        .app
        .get(
            &format!("/api/v1/users/{}", w.supervisor_id),
            Some(&w.admin),
        )
        .await
        .json()
        .await
        .unwrap();
    let jurisdiction: Value = w
        .app
        .get(
            &format!("/api/v1/jurisdictions/{}", w.jurisdiction),
            Some(&s),
        )
        .await
        .json()
        .await
        .unwrap();
    let full: Value = w.get(&s, &rfa).await.json().await.unwrap();

    let listed = page("", s.clone()).await;
    let row = &listed["items"][0];
    assert_eq!(row["id"], full["id"]);
    assert_eq!(
        row["jurisdiction"],
        json!({"id": w.jurisdiction, "name": jurisdiction["name"]})
    );
    assert_eq!(
        row["assignee"],
        json!({"id": w.supervisor_id, "display_name": supervisor["display_name"]})
    );
    for same in [
        "reference",
        "subject",
        "state",
        "outcome",
        "priority",
        "assignee_id",
        "received_at",
        "due_on",
        "overdue",
        "allowed_actions",
        "version",
    ] {
        assert_eq!(row[same], full[same], "{same}");
    }
    assert_eq!(
        row["eligibility"],
        json!({"outcome": full["eligibility"]["outcome"]})
    );
    // What only the request itself shows is not in the list.
    for absent in ["description", "requester", "conduct", "due", "created_by"] {
        assert!(row.get(absent).is_none(), "{absent} in a list row: {row}");
    }
    // A liaison officer's row: their own actions, the same names.
    let theirs = page("", w.liaison.clone()).await;
    assert_eq!(theirs["items"][0]["jurisdiction"], row["jurisdiction"]);
    assert_ne!(
        theirs["items"][0]["allowed_actions"],
        row["allowed_actions"]
    );
    // The full view on request, the same as reading the request.
    let full_page = page("view=full", s.clone()).await;
    assert_eq!(full_page["items"][0], full);
    let res = w.app.get("/api/v1/rfas?view=everything", Some(&s)).await;
    let p = assert_problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "view", "{p}");

    // An unassigned request names nobody; a dry run shows the assignee it would have.
    let other = w.intake().await;
    let unassigned = page("assignee_id=unassigned", s.clone()).await;
    assert_eq!(unassigned["items"][0]["id"], other["id"]);
    assert!(unassigned["items"][0]["assignee"].is_null());
    let dry: Value = w
        .app
        .post(
            "/api/v1/rfas/bulk",
            Some(&s),
            &json!({"ids": [other["id"]], "action": "assign",
                    "fields": {"assignee_id": w.supervisor_id}, "dry_run": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let item = &dry["items"][0];
    assert_eq!(item["status"], 200, "{dry}");
    assert_eq!(
        item["rfa"]["assignee"]["display_name"],
        supervisor["display_name"]
    );
    assert_eq!(item["rfa"]["version"], item["version"]);
    let still: Value = w.get(&s, &other).await.json().await.unwrap();
    assert!(still["assignee_id"].is_null(), "a dry run changes nothing");

    // Paged through several states in both orders, the list rows are the same requests in
    // the same order as the full view's.
    for (i, priority) in ["urgent", "high", "routine", "urgent", "high"]
        .iter()
        .enumerate()
    {
        let mut body = w.intake_body();
        body["priority"] = json!(priority);
        let r = w.intake_with(&s, &body).await;
        if i % 2 == 0 {
            w.act(&s, &r, "start_review", json!({})).await;
        }
    }
    for order in ["asc", "desc"] {
        let mut by_view = Vec::new();
        for view in ["summary", "full"] {
            let mut ids = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!(
                    "/api/v1/rfas?state=received,under_review&sort=due_at&order={order}&limit=2&view={view}"
                );
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page: Value = w.app.get(&path, Some(&s)).await.json().await.unwrap();
                ids.extend(
                    page["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["id"].as_str().unwrap().to_string()),
                );
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            by_view.push(ids);
        }
        assert_eq!(by_view[0].len(), 7, "{order}");
        assert_eq!(by_view[0], by_view[1], "{order}");
    }
}

/// Views name the people in them, and the directory shows each role only whom it works
/// with: supervisors everyone who works on requests, liaison officers names only.
async fn people_are_named_within_reach(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake_with(&w.liaison.clone(), &w.intake_body()).await;
    assert_eq!(rfa["creator"]["id"], w.liaison_id);
    assert_eq!(rfa["creator"]["display_name"], "Test User");
    assert!(rfa["assignee"].is_null());
    let rfa = w
        .act(
            &w.supervisor,
            &rfa,
            "assign",
            json!({"assignee_id": w.liaison_id}),
        )
        .await;
    assert_eq!(rfa["assignee"]["id"], w.liaison_id);
    assert_eq!(rfa["assignee"]["display_name"], "Test User");
    let events = w.events(&w.liaison, &rfa).await;
    let actors: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["actor"])
        .collect();
    assert!(
        actors.iter().any(|a| a["id"] == w.supervisor_id.as_str()),
        "{actors:?}"
    );
    assert!(
        actors.iter().all(|a| a["display_name"] == "Test User"),
        "{actors:?}"
    );

    let people = |token: String| {
        let app = &w.app;
        async move {
            let res = app.get("/api/v1/people", Some(&token)).await;
            assert_eq!(res.status(), 200);
            let body: Value = res.json().await.unwrap();
            body["items"].as_array().unwrap().clone()
        }
    };
    let seen = people(w.supervisor.clone()).await;
    let ids: Vec<&str> = seen.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&w.supervisor_id.as_str()) && ids.contains(&w.liaison_id.as_str()));
    // Two liaison officers, the supervisor; not the reporting officer or the administrator.
    assert_eq!(seen.len(), 3, "{seen:?}");
    let liaison = seen
        .iter()
        .find(|p| p["id"] == w.liaison_id.as_str())
        .unwrap();
    assert!(liaison["email"].as_str().unwrap().ends_with("@rfa.test"));
    assert_eq!(liaison["roles"], json!(["liaison_officer"]));
    assert_eq!(liaison["jurisdiction_ids"], json!([w.jurisdiction]));

    // A liaison officer: the supervisor and themselves, not the other jurisdiction's officer,
    // and nobody's email or roles.
    let seen = people(w.liaison.clone()).await;
    let ids: Vec<&str> = seen.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{seen:?}");
    assert!(ids.contains(&w.supervisor_id.as_str()) && ids.contains(&w.liaison_id.as_str()));
    for p in &seen {
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["display_name", "id"], "{p}");
    }
    for token in [&w.reporting, &w.admin] {
        assert_problem(w.app.get("/api/v1/people", Some(token)).await, 403).await;
    }
}

/// A day alone is the start of that day in the reporting time zone (Berlin here: 23:00 UTC
/// the evening before in winter); anything else that is not a date-time is named.
async fn received_at_may_be_a_day_alone(backend: Backend) {
    let w = World::new_with(backend, &[("reporting.time_zone", json!("Europe/Berlin"))]).await;
    let mut body = w.intake_body();
    body["received_at"] = json!("2026-03-02");
    let rfa = w.intake_with(&w.supervisor.clone(), &body).await;
    assert_eq!(rfa["received_at"], "2026-03-01T23:00:00Z");
    for wrong in ["2026-02-30", "2 March 2026", "2026-03-02T09:30"] {
        body["received_at"] = json!(wrong);
        let res = w.app.post("/api/v1/rfas", Some(&w.supervisor), &body).await;
        let p = assert_problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], "received_at", "{wrong}: {p}");
        assert!(
            p["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("YYYY-MM-DD"),
            "{wrong}: {p}"
        );
    }
}
