//! The authorization matrix: every endpoint the service has, called by every role and by
//! nobody, with the status each must get. A new endpoint adds its row here; the OpenAPI
//! test fails until it does.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// Columns: no token, liaison_officer, supervisor, reporting, admin.
const WHO: [&str; 5] = [
    "anonymous",
    "liaison_officer",
    "supervisor",
    "reporting",
    "admin",
];

/// Ids of records the rows act on, made before the walk.
pub struct Ids {
    pub message_id: String,
    pub snapshot_id: String,
    pub jurisdiction_id: String,
    pub authority_id: String,
    pub rfa_id: String,
    pub document_id: String,
}

pub struct Row {
    pub method: &'static str,
    /// The documented path; `{id}` is replaced by a real user's id.
    pub path: String,
    pub body: fn(&Ids) -> Value,
    pub expect: [u16; 5],
    /// The call ends or changes the caller's session: run it with a fresh sign-in.
    pub fresh_session: bool,
}

fn none(_: &Ids) -> Value {
    Value::Null
}

pub fn rows() -> Vec<Row> {
    let r = |method, path: &str, body, expect| Row {
        method,
        path: path.to_string(),
        body,
        expect,
        fresh_session: false,
    };
    let act = |action: &str, body| {
        let path = format!("/api/v1/rfas/{{id}}/actions/{action}");
        r("POST", &path, body, [401, 404, 428, 403, 403])
    };
    vec![
        r("GET", "/health/live", none, [200; 5]),
        r("GET", "/health/ready", none, [200; 5]),
        r("GET", "/api/v1/openapi.json", none, [200; 5]),
        r(
            "POST",
            "/api/v1/auth/login",
            |_| json!({"email": "nobody@rfa.test", "password": "wrong password"}),
            [401; 5],
        ),
        r(
            "POST",
            "/api/v1/auth/refresh",
            |_| json!({"refresh_token": "not-a-token"}),
            [401; 5],
        ),
        r("GET", "/api/v1/me", none, [401, 200, 200, 200, 200]),
        r("GET", "/api/v1/people", none, [401, 200, 200, 403, 403]),
        r(
            "POST",
            "/api/v1/users",
            |_| json!({"email": format!("{}@rfa.test", uuid::Uuid::now_v7().simple()), "display_name": "M", "roles": ["reporting"]}),
            [401, 403, 403, 403, 201],
        ),
        r("GET", "/api/v1/users", none, [401, 403, 403, 403, 200]),
        r("GET", "/api/v1/users/{id}", none, [401, 403, 403, 403, 200]),
        r(
            "PATCH",
            "/api/v1/users/{id}",
            |_| json!({"display_name": "Renamed"}),
            [401, 403, 403, 403, 428],
        ),
        r(
            "POST",
            "/api/v1/users/{id}/password-reset",
            none,
            [401, 403, 403, 403, 200],
        ),
        r(
            "POST",
            "/api/v1/users/{id}/unlock",
            none,
            [401, 403, 403, 403, 200],
        ),
        r(
            "POST",
            "/api/v1/jurisdictions",
            |_| json!({"name": format!("J {}", uuid::Uuid::now_v7()), "country_code": "FR", "death_penalty_status": "abolished_all_crimes", "competence_bases": []}),
            [401, 403, 403, 403, 201],
        ),
        r(
            "GET",
            "/api/v1/jurisdictions",
            none,
            [401, 200, 200, 403, 200],
        ),
        r(
            "GET",
            "/api/v1/jurisdictions/{id}",
            none,
            [401, 200, 200, 403, 200],
        ),
        r(
            "PATCH",
            "/api/v1/jurisdictions/{id}",
            |_| json!({"active": true}),
            [401, 403, 403, 403, 428],
        ),
        r(
            "POST",
            "/api/v1/jurisdictions/{id}/assessments",
            |_| json!({"outcome": "meets", "assessed_on": "2025-01-01", "review_due": "2027-01-01", "assessor": "Unit", "summary": "Fine."}),
            [401, 403, 403, 403, 201],
        ),
        r(
            "POST",
            "/api/v1/jurisdictions/{id}/assurances",
            |_| json!({"reference": "NV-1", "given_on": "2025-01-01"}),
            [401, 403, 403, 403, 201],
        ),
        r(
            "POST",
            "/api/v1/jurisdictions/{id}/frameworks",
            |_| json!({"kind": "memorandum_of_understanding", "reference": "MOU-1", "signed_on": "2024-05-01"}),
            [401, 403, 403, 403, 201],
        ),
        r(
            "GET",
            "/api/v1/jurisdictions/{id}/history",
            none,
            [401, 200, 200, 403, 200],
        ),
        r(
            "POST",
            "/api/v1/jurisdictions/{id}/authorities",
            |_| json!({"name": format!("A {}", uuid::Uuid::now_v7()), "kind": "court"}),
            [401, 403, 403, 403, 201],
        ),
        r(
            "GET",
            "/api/v1/jurisdictions/{id}/authorities",
            none,
            [401, 200, 200, 403, 200],
        ),
        r(
            "PATCH",
            "/api/v1/jurisdictions/{id}/authorities/{aid}",
            |_| json!({"active": true}),
            [401, 403, 403, 403, 428],
        ),
        r(
            "POST",
            "/api/v1/rfas",
            |ids| crate::rfas::intake_json(&ids.jurisdiction_id, &ids.authority_id),
            [401, 403, 201, 403, 403],
        ),
        r("GET", "/api/v1/rfas", none, [401, 200, 200, 403, 403]),
        r("GET", "/api/v1/rfas/{id}", none, [401, 404, 200, 403, 403]),
        // Without If-Match: those who may change it learn they must send one.
        r(
            "PATCH",
            "/api/v1/rfas/{id}",
            |_| json!({"subject": "Changed"}),
            [401, 404, 428, 403, 403],
        ),
        // Each action is its own operation: with a valid body and without If-Match, those
        // who may take it learn they must send one.
        act("start_review", |_| json!({})),
        act("accept", |_| Value::Null),
        act(
            "decline",
            |_| json!({"outcome": "declined_other", "reason": "Out of scope."}),
        ),
        act(
            "request_information",
            |_| json!({"message": "Which period?"}),
        ),
        act("resume", |_| json!({})),
        act(
            "record_response",
            |_| json!({"kind": "other", "description": "Records", "shared_on": "2025-01-15"}),
        ),
        act("close", |_| json!({"outcome": "partially_fulfilled"})),
        act("withdraw", |_| json!({"reason": "Withdrawn."})),
        act("reopen", |_| json!({"reason": "New facts."})),
        act(
            "assign",
            |_| json!({"assignee_id": uuid::Uuid::now_v7().to_string()}),
        ),
        act("set_priority", |_| json!({"priority": "high"})),
        act(
            "extend_deadline",
            |_| json!({"due_on": "2099-01-15", "reason": "Volume."}),
        ),
        act("add_note", |_| json!({"text": "A note"})),
        act("evaluate_eligibility", |_| json!({})),
        act(
            "override_eligibility",
            |_| json!({"justification": "The assessment is outdated for this case."}),
        ),
        act(
            "record_assurance",
            |_| json!({"reference": "A-1", "given_on": "2025-01-15"}),
        ),
        r(
            "GET",
            "/api/v1/rfas/{id}/events",
            none,
            [401, 404, 200, 403, 403],
        ),
        // JSON where a multipart form belongs: those who may add documents learn it is
        // unreadable; the others are refused first.
        r(
            "POST",
            "/api/v1/rfas/{id}/documents",
            |_| json!({"kind": "annex"}),
            [401, 404, 400, 403, 403],
        ),
        r(
            "GET",
            "/api/v1/rfas/{id}/documents",
            none,
            [401, 404, 200, 403, 403],
        ),
        r(
            "GET",
            "/api/v1/rfas/{id}/documents/{doc_id}",
            none,
            [401, 404, 200, 403, 403],
        ),
        r(
            "GET",
            "/api/v1/rfas/{id}/documents/{doc_id}/content",
            none,
            [401, 404, 200, 403, 403],
        ),
        r(
            "POST",
            "/api/v1/rfas/{id}/documents/{doc_id}/withdraw",
            |_| json!({"reason": "Sent in error."}),
            [401, 404, 200, 403, 403],
        ),
        r(
            "GET",
            "/api/v1/audit/documents",
            none,
            [401, 403, 403, 403, 200],
        ),
        r(
            "POST",
            "/api/v1/rfas/bulk",
            |ids| json!({"ids": [ids.rfa_id], "action": "set_priority", "fields": {"priority": "high"}, "dry_run": true}),
            [401, 403, 200, 403, 403],
        ),
        r(
            "GET",
            "/api/v1/audit/verify",
            none,
            [401, 403, 403, 403, 200],
        ),
        r(
            "GET",
            "/api/v1/audit/checkpoints",
            none,
            [401, 403, 403, 403, 200],
        ),
        r(
            "POST",
            "/api/v1/audit/checkpoints",
            |_| json!({}),
            [401, 403, 403, 403, 201],
        ),
        r(
            "GET",
            "/api/v1/audit/access",
            none,
            [401, 403, 403, 403, 200],
        ),
        r(
            "GET",
            "/api/v1/reports/annual",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/range",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/cumulative",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/charts/annual.svg",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/figure",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/charts/annual.png",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/charts/jurisdictions.svg",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/charts/jurisdictions.png",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "POST",
            "/api/v1/reports/snapshots",
            |_| json!({"kind": "annual", "year": 2026}),
            [401, 403, 201, 201, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/snapshots",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/snapshots/{id}",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/reports/snapshots/{id}/diff",
            none,
            [401, 403, 200, 200, 403],
        ),
        r(
            "GET",
            "/api/v1/admin/outbox",
            none,
            [401, 403, 403, 403, 200],
        ),
        // Only failed messages can be retried: the acknowledgement of the matrix's RFA is not.
        r(
            "POST",
            "/api/v1/admin/outbox/{id}/retry",
            none,
            [401, 403, 403, 403, 409],
        ),
        // Last: these end or change the caller's session.
        Row {
            fresh_session: true,
            ..r(
                "POST",
                "/api/v1/me/password",
                |_| json!({"current_password": "a password for this test user", "new_password": "a brand new passphrase"}),
                [401, 204, 204, 204, 204],
            )
        },
        Row {
            fresh_session: true,
            ..r(
                "POST",
                "/api/v1/auth/logout",
                |_| json!({}),
                [401, 204, 204, 204, 204],
            )
        },
    ]
}

/// (METHOD, path) of every row, for the OpenAPI comparison.
pub fn served_operations() -> BTreeSet<(String, String)> {
    let mut ops: BTreeSet<_> = rows()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    // Served by the metrics middleware, deliberately outside the API document.
    ops.remove(&("GET".into(), "/metrics".into()));
    ops
}

pub fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in item.as_object().into_iter().flat_map(|o| o.keys()) {
                ops.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

both_backends!(every_endpoint_against_every_role);

async fn every_endpoint_against_every_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let mut tokens = vec![None];
    let mut emails = vec![String::new()];
    // The liaison officer covers another jurisdiction than the matrix's request.
    let (elsewhere, _) = crate::registry::jurisdiction_with_authority(&app, &admin, "DE").await;
    for role in ["liaison_officer", "supervisor", "reporting"] {
        let places = if role == "liaison_officer" {
            vec![elsewhere.clone()]
        } else {
            vec![]
        };
        let (email, token) = user_for(&app, &admin, role, &places).await;
        tokens.push(Some(token));
        emails.push(email);
    }
    let (email, token) = user_for(&app, &admin, "admin", &[]).await;
    tokens.push(Some(token));
    emails.push(email);
    // The target of `{id}` rows: a user nobody else depends on.
    let (target_email, _) = user_for(&app, &admin, "reporting", &[]).await;
    let target_id = find_user_id(&app, &admin, &target_email).await;
    let (jurisdiction_id, authority_id) =
        crate::registry::jurisdiction_with_authority(&app, &admin, "FR").await;
    let rfa: Value = app
        .post(
            "/api/v1/rfas",
            tokens[2].as_deref(),
            &crate::rfas::intake_json(&jurisdiction_id, &authority_id),
        )
        .await
        .json()
        .await
        .unwrap();
    let document: Value = app
        .client
        .post(app.url(&format!(
            "/api/v1/rfas/{}/documents",
            rfa["id"].as_str().unwrap()
        )))
        .bearer_auth(tokens[2].as_deref().unwrap())
        .multipart(reqwest::multipart::Form::new().text("kind", "annex").part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF\n".to_vec()).file_name("a.pdf"),
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let snapshot: Value = app
        .post(
            "/api/v1/reports/snapshots",
            tokens[2].as_deref(),
            &json!({"kind": "annual", "year": 2026}),
        )
        .await
        .json()
        .await
        .unwrap();
    let outbox: Value = app
        .get("/api/v1/admin/outbox", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let ids = Ids {
        message_id: outbox["items"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        snapshot_id: snapshot["id"].as_str().unwrap().to_string(),
        jurisdiction_id: jurisdiction_id.clone(),
        authority_id: authority_id.clone(),
        rfa_id: rfa["id"].as_str().unwrap().to_string(),
        document_id: document["id"].as_str().unwrap().to_string(),
    };
    let concrete = |path: &str| {
        if path.starts_with("/api/v1/users/") {
            path.replace("{id}", &target_id)
        } else if path.starts_with("/api/v1/admin/outbox/") {
            path.replace("{id}", &ids.message_id)
        } else if path.starts_with("/api/v1/reports/snapshots/") {
            path.replace("{id}", &ids.snapshot_id)
        } else if path.starts_with("/api/v1/reports/") {
            let query = match path.rsplit('/').next().unwrap_or_default() {
                "annual" => "?year=2026",
                "range" => "?from=2026-01-01&to=2026-04-30",
                "cumulative" => "?through=2026",
                "annual.svg" | "annual.png" => "?from=2024&to=2026",
                "figure" => "?report=annual&year=2026&figure=received",
                "jurisdictions.svg" | "jurisdictions.png" => "?from=2026-01-01&to=2026-12-31",
                _ => "",
            };
            format!("{path}{query}")
        } else if path.starts_with("/api/v1/rfas/") {
            path.replace("{id}", &ids.rfa_id)
                .replace("{doc_id}", &ids.document_id)
        } else {
            path.replace("{id}", &jurisdiction_id)
                .replace("{aid}", &authority_id)
        }
    };

    let mut failures = Vec::new();
    for row in rows() {
        let path = concrete(&row.path);
        for (col, who) in WHO.iter().enumerate() {
            let token = match (&tokens[col], row.fresh_session) {
                (None, _) => None,
                (Some(_), true) => Some(fresh_token(&app, &emails[col]).await),
                (Some(t), false) => Some(t.clone()),
            };
            let method = reqwest::Method::from_bytes(row.method.as_bytes()).expect("method");
            let mut req = app.client.request(method, app.url(&path));
            let body = (row.body)(&ids);
            if !body.is_null() {
                req = req.json(&body);
            }
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            let status = req.send().await.expect("request").status().as_u16();
            if status != row.expect[col] {
                failures.push(format!(
                    "{} {} as {who}: expected {}, got {status}",
                    row.method, row.path, row.expect[col]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix mismatches:\n{}",
        failures.join("\n")
    );
}

const MATRIX_PASSWORD: &str = "a password for this test user";

async fn user_for(
    app: &TestApp,
    admin: &str,
    role: &str,
    jurisdictions: &[String],
) -> (String, String) {
    let email = format!("{role}.{}@rfa.test", uuid::Uuid::now_v7().simple());
    let res = app
        .post(
            "/api/v1/users",
            Some(admin),
            &json!({"email": email, "display_name": role, "roles": [role],
                    "jurisdiction_ids": jurisdictions, "password": MATRIX_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let token = crate::helpers::token_of(&app.login(&email, MATRIX_PASSWORD).await);
    (email, token)
}

/// A new session for the user; rows that change the password restore it afterwards.
async fn fresh_token(app: &TestApp, email: &str) -> String {
    let password = MATRIX_PASSWORD;
    let res = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await;
    if res.status() == 200 {
        let tokens: Value = res.json().await.expect("json");
        return crate::helpers::token_of(&tokens);
    }
    // The password row already ran for this user: sign in with the new one and put it back.
    let tokens = app.login(email, "a brand new passphrase").await;
    let t = crate::helpers::token_of(&tokens);
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&t),
            &json!({"current_password": "a brand new passphrase", "new_password": password}),
        )
        .await;
    assert_eq!(res.status(), 204);
    t
}

async fn find_user_id(app: &TestApp, admin: &str, email: &str) -> String {
    let page: Value = app
        .get("/api/v1/users?limit=200", Some(admin))
        .await
        .json()
        .await
        .expect("json");
    page["items"]
        .as_array()
        .and_then(|items| items.iter().find(|u| u["email"] == email))
        .and_then(|u| u["id"].as_str())
        .expect("user in list")
        .to_string()
}
