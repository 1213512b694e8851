//! Health, error answers, limits and the OpenAPI document.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

both_backends!(
    health_and_readiness,
    readiness_fails_when_the_database_is_gone,
    errors_are_problem_documents,
    answers_are_never_cached_or_sniffed,
    oversized_bodies_are_refused,
    openapi_document_lists_every_route,
    metrics_count_requests_per_route,
    made_up_methods_are_refused_before_they_are_counted,
    metrics_can_require_a_token,
);

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let live = app.get("/health/live", None).await;
    assert_eq!(live.status(), 200);
    assert!(live.headers().contains_key("x-request-id"));
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body, json!({"status": "ok", "database": expected}));
}

async fn readiness_fails_when_the_database_is_gone(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    assert_eq!(app.get("/health/ready", None).await.status(), 200);
    app.db.destroy();
    let body = assert_problem(app.get("/health/ready", None).await, 503).await;
    // The answer says what is wrong without naming files, hosts or SQL.
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        !detail.contains('/') && !detail.to_lowercase().contains("select"),
        "{detail}"
    );
    // Liveness is about the process, which is fine.
    assert_eq!(app.get("/health/live", None).await.status(), 200);
}

async fn errors_are_problem_documents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Unknown route.
    let p = assert_problem(app.get("/api/v1/no-such-thing", None).await, 404).await;
    assert_eq!(p["type"], "urn:rfa-tracker:problem:not-found");
    // Known route, wrong method: 405 with the methods that work.
    let res = app
        .client
        .delete(app.url("/health/live"))
        .send()
        .await
        .expect("request");
    let allow = res
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(allow.contains("GET"), "Allow: {allow}");
    assert_problem(res, 405).await;
    // Malformed JSON is a 400 that says so; it must not echo internals.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("request");
    let p = assert_problem(res, 400).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Malformed JSON")
    );
    // A body of the wrong type.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("request");
    assert_problem(res, 415).await;
}

async fn answers_are_never_cached_or_sniffed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    // A success with data, a problem, and a route that does not exist.
    for res in [
        app.get("/api/v1/me", Some(&admin)).await,
        app.get("/api/v1/me", None).await,
        app.get("/api/v1/no-such-thing", None).await,
        app.get("/metrics", None).await,
    ] {
        let h = res.headers();
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("server.max_body_bytes", json!(4096))]).await;
    let big = json!({"email": "a@b.test", "password": "x".repeat(10_000)});
    let res = app.post("/api/v1/auth/login", None, &big).await;
    assert_problem(res, 413).await;
}

async fn openapi_document_lists_every_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.expect("OpenAPI JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let documented = crate::matrix::documented_operations(&doc);
    let served = crate::matrix::served_operations();
    for op in &served {
        assert!(documented.contains(op), "served but not documented: {op:?}");
    }
    for op in &documented {
        assert!(
            served.contains(op),
            "documented but missing from the access matrix: {op:?}"
        );
    }
}

async fn metrics_count_requests_per_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.get("/health/live", None).await;
    app.get("/nothing/here/42", None).await;
    let text = app.get("/metrics", None).await.text().await.expect("text");
    assert!(
        text.contains(
            "rfa_http_requests_total{endpoint=\"/health/live\",method=\"GET\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("rfa_http_requests_duration_seconds_bucket"));
    // Unknown paths are pooled, so a scanner cannot blow up the label set.
    assert!(!text.contains("/nothing/here/42"));
}

async fn made_up_methods_are_refused_before_they_are_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.get("/health/live", None).await;
    let size_before = app
        .get("/metrics", None)
        .await
        .text()
        .await
        .expect("text")
        .len();
    // The security review's attack: 300 made-up methods took /metrics from 208 KB to 1 MB.
    for i in 0..300 {
        let method = reqwest::Method::from_bytes(format!("XMETHOD{i}").as_bytes()).expect("method");
        let res = app
            .client
            .request(method, app.url("/api/v1/rfas"))
            .send()
            .await
            .expect("request");
        assert_problem(res, 501).await;
    }
    let text = app.get("/metrics", None).await.text().await.expect("text");
    assert!(!text.contains("XMETHOD"), "made-up methods are not counted");
    assert!(
        text.len() < size_before + 4096,
        "/metrics did not grow with them: {size_before} then {}",
        text.len()
    );
    // HTTP's own methods still reach the routes (a 405 names the allowed ones).
    for method in [reqwest::Method::PUT, reqwest::Method::TRACE] {
        let res = app
            .client
            .request(method, app.url("/health/live"))
            .send()
            .await
            .expect("request");
        assert_problem(res, 405).await;
    }
}

async fn metrics_can_require_a_token(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[("server.metrics_token", json!("scraper-token-0123456789"))],
    )
    .await;
    // Nothing else changes: the API still answers without the metrics token.
    assert_eq!(app.get("/health/live", None).await.status(), 200);
    assert_problem(app.get("/metrics", None).await, 401).await;
    assert_problem(app.get("/metrics", Some("wrong-token")).await, 401).await;
    let res = app.get("/metrics", Some("scraper-token-0123456789")).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .expect("text")
            .contains("rfa_http_requests_total")
    );
}
