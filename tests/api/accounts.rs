//! Sign-in, tokens, sessions, lockout, rate limiting and user management.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TEST_SECRET, TestApp, assert_problem, token_of,
};

both_backends!(
    sign_in_and_read_own_account,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_ends_the_session_at_once,
    password_change_signs_out_other_sessions,
    deactivation_takes_effect_at_once,
    lockout_after_failures_and_its_expiry,
    a_lock_holds_for_one_source_and_grows_with_each_lock,
    a_spent_failure_budget_holds_back_the_guessers_not_the_staff,
    a_flood_of_sign_ins_is_answered_503_not_queued_without_end,
    an_administrator_resets_a_forgotten_password_and_unlocks,
    burst_of_sign_ins_gets_429,
    sign_in_limits_hold_across_instances,
    unknown_email_and_wrong_password_look_alike,
    forged_and_stale_tokens_are_refused,
    admins_manage_users,
    inputs_cannot_set_what_they_should_not,
    the_last_administrator_stays,
    administrators_cannot_give_themselves_case_roles_and_others_hear_of_grants,
    user_list_pages_without_gaps,
);

async fn sign_in_and_read_own_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "  ADMIN@rfa.test ", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let tokens: Value = res.json().await.expect("json");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(
        tokens["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 43)
    );
    let me: Value = app
        .get("/api/v1/me", Some(&token_of(&tokens)))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["roles"], json!(["admin"]));
    assert!(me["last_login_at"].is_string());
    assert!(me.get("password_hash").is_none() && !me.to_string().contains("argon2"));
    // Without a token: 401 with a problem body and a Bearer challenge-free message.
    assert_problem(app.get("/api/v1/me", None).await, 401).await;
    assert_problem(app.get("/api/v1/me", Some("garbage")).await, 401).await;
}

async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refresh = |t: &Value| json!({"refresh_token": t["refresh_token"]});
    let res = app
        .post("/api/v1/auth/refresh", None, &refresh(&first))
        .await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.expect("json");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        app.get("/api/v1/me", Some(&token_of(&second)))
            .await
            .status(),
        200
    );
    // The first refresh token is spent; showing it again means it leaked.
    assert_problem(
        app.post("/api/v1/auth/refresh", None, &refresh(&first))
            .await,
        401,
    )
    .await;
    // So the whole family is revoked: the newest refresh token and the access tokens too.
    assert_problem(
        app.post("/api/v1/auth/refresh", None, &refresh(&second))
            .await,
        401,
    )
    .await;
    assert_problem(app.get("/api/v1/me", Some(&token_of(&second))).await, 401).await;
    // Other sessions are unaffected.
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token_of(&other)))
            .await
            .status(),
        200
    );
}

async fn logout_ends_the_session_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = token_of(&tokens);
    let res = app
        .post(
            "/api/v1/auth/logout",
            Some(&access),
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_problem(app.get("/api/v1/me", Some(&access)).await, 401).await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_problem(res, 401).await;
}

async fn password_change_signs_out_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _) = app.user_with(&["supervisor"], &[]).await;
    let a = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let b = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Wrong current password: refused, nothing changes.
    let res = app
        .post("/api/v1/me/password", Some(&token_of(&a)), &json!({"current_password": "not it at all", "new_password": "a completely new passphrase"}))
        .await;
    let p = assert_problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "current_password");
    // Too short a new password names the field.
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token_of(&a)),
            &json!({"current_password": ADMIN_PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(
        assert_problem(res, 422).await["errors"][0]["field"],
        "new_password"
    );

    let res = app
        .post("/api/v1/me/password", Some(&token_of(&a)), &json!({"current_password": ADMIN_PASSWORD, "new_password": "a completely new passphrase"}))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.get("/api/v1/me", Some(&token_of(&a))).await.status(),
        200,
        "this session stays"
    );
    assert_problem(app.get("/api/v1/me", Some(&token_of(&b))).await, 401).await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": b["refresh_token"]}),
        )
        .await;
    assert_problem(res, 401).await;
    let res = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_problem(res, 401).await;
    app.login(ADMIN_EMAIL, "a completely new passphrase").await;
}

async fn deactivation_takes_effect_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (id, token) = app.user_with(&["supervisor"], &[]).await;
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
    let res = app
        .patch_current(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.expect("json");
    assert_eq!(user["active"], false);
    assert_problem(app.get("/api/v1/me", Some(&token)).await, 401).await;
    // Reactivated, the old session stays ended: the user signs in again.
    let res = app
        .patch_current(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            &json!({"active": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(app.get("/api/v1/me", Some(&token)).await, 401).await;
}

/// A sign-in sent as if from `source` (the server trusts X-Forwarded-For in these tests).
async fn login_from(app: &TestApp, source: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", source)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A 429's `Retry-After`: whole seconds, from one to sixty.
fn assert_waits_up_to_a_minute(res: &reqwest::Response) {
    let wait: u64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
}

/// Seconds until the end of the account's latest lock, as administrators see it.
async fn lock_secs(app: &TestApp, admin: &str, user: &str) -> i64 {
    let u: Value = app.get(user, Some(admin)).await.json().await.unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(u["locked_until"].as_str().unwrap()).unwrap();
    (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds()
}

async fn a_lock_holds_for_one_source_and_grows_with_each_lock(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("server.trust_forwarded_for", json!(true)),
            ("auth.lockout_secs", json!(60)),
        ],
    )
    .await;
    let admin = app.admin_token().await;
    let me: Value = app
        .get("/api/v1/me", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let user = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let wrong = json!({"email": ADMIN_EMAIL, "password": "not the password"});
    let right = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let (guesser, owner) = ("203.0.113.5", "198.51.100.9");
    for _ in 0..5 {
        assert_eq!(login_from(&app, guesser, &wrong).await.status(), 401);
    }
    // The guesser's source is locked out, even with the right password; the owner is not.
    assert_eq!(login_from(&app, guesser, &right).await.status(), 401);
    assert_eq!(login_from(&app, owner, &right).await.status(), 200);
    // The owner's sign-in does not end the guesser's lock, and administrators see it.
    assert_eq!(login_from(&app, guesser, &right).await.status(), 401);
    let first = lock_secs(&app, &admin, &user).await;
    assert!((40..=60).contains(&first), "first lock: {first} s");
    // Once it has run out, five more failures lock the source for twice as long.
    app.db
        .execute("UPDATE sign_in_failures SET locked_until = '2001-01-01 00:00:00'");
    assert_eq!(login_from(&app, guesser, &right).await.status(), 200);
    app.db.execute("DELETE FROM sign_in_failures");
    for round in 1..=2 {
        for _ in 0..5 {
            assert_eq!(login_from(&app, guesser, &wrong).await.status(), 401);
        }
        if round == 1 {
            app.db
                .execute("UPDATE sign_in_failures SET locked_until = '2001-01-01 00:00:00'");
        }
    }
    let second = lock_secs(&app, &admin, &user).await;
    assert!((100..=120).contains(&second), "second lock: {second} s");
    // An administrator ends every lock at once.
    let res = app
        .post(&format!("{user}/unlock"), Some(&admin), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(login_from(&app, guesser, &right).await.status(), 200);
}

async fn a_spent_failure_budget_holds_back_the_guessers_not_the_staff(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("server.trust_forwarded_for", json!(true)),
            ("auth.failure_budget_per_minute", json!(3)),
        ],
    )
    .await;
    let guess = json!({"email": "nobody@example.org", "password": "a guess"});
    let guessers = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"];
    for g in guessers {
        assert_eq!(login_from(&app, g, &guess).await.status(), 401, "{g}");
    }
    // Beyond the budget, a source that failed lately is told to wait before any hashing.
    for g in guessers {
        let res = login_from(&app, g, &guess).await;
        assert_waits_up_to_a_minute(&res);
        assert_problem(res, 429).await;
    }
    let right = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    assert_eq!(
        login_from(&app, "198.51.100.20", &right).await.status(),
        200
    );
}

async fn lockout_after_failures_and_its_expiry(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("auth.lockout_secs", json!(2))]).await;
    let wrong = json!({"email": ADMIN_EMAIL, "password": "not the password"});
    for _ in 0..5 {
        assert_problem(app.post("/api/v1/auth/login", None, &wrong).await, 401).await;
    }
    let right = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    // Locked: even the right password is refused, with the same answer as any failure.
    let locked = assert_problem(app.post("/api/v1/auth/login", None, &right).await, 401).await;
    let failed = assert_problem(app.post("/api/v1/auth/login", None, &wrong).await, 401).await;
    assert_eq!(locked, failed);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        app.post("/api/v1/auth/login", None, &right).await.status(),
        200
    );
    // A success resets the count: four more failures do not lock.
    for _ in 0..4 {
        assert_problem(app.post("/api/v1/auth/login", None, &wrong).await, 401).await;
    }
    assert_eq!(
        app.post("/api/v1/auth/login", None, &right).await.status(),
        200
    );
}

async fn burst_of_sign_ins_gets_429(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("auth.login_burst", json!(3)),
            ("auth.login_replenish_ms", json!(60_000)),
        ],
    )
    .await;
    let body = json!({"email": "someone@rfa.test", "password": "whatever it is"});
    for _ in 0..3 {
        assert_eq!(
            app.post("/api/v1/auth/login", None, &body).await.status(),
            401
        );
    }
    let res = app.post("/api/v1/auth/login", None, &body).await;
    assert_waits_up_to_a_minute(&res);
    assert_problem(res, 429).await;
    // Other endpoints are not limited.
    assert_eq!(app.get("/health/live", None).await.status(), 200);
}

/// Two instances on one database share the pace of each source and the failure budget:
/// alternating between them gives a guesser no more attempts than one instance would.
async fn sign_in_limits_hold_across_instances(backend: Backend) {
    let limits = [
        ("server.trust_forwarded_for", json!(true)),
        ("auth.login_burst", json!(3)),
        ("auth.login_replenish_ms", json!(60_000)),
        ("auth.failure_budget_per_minute", json!(5)),
    ];
    let a = TestApp::spawn_with(backend, &limits).await;
    let b = a.second_instance_with(&limits);
    let guess = json!({"email": "nobody@example.org", "password": "a guess"});
    // One source, three attempts spread over both instances: the burst is spent for both.
    let pacer = "192.0.2.10";
    for app in [&a, &b, &a] {
        assert_eq!(login_from(app, pacer, &guess).await.status(), 401);
    }
    for app in [&b, &a] {
        let res = login_from(app, pacer, &guess).await;
        assert_eq!(res.status(), 429, "the burst is counted across instances");
        assert_waits_up_to_a_minute(&res);
    }
    // Three more failures from other sources, on the other instance: six in the minute, one
    // past the budget of five. Every source that failed lately waits, on either instance.
    let guessers = ["192.0.2.11", "192.0.2.12", "192.0.2.13"];
    for g in guessers {
        assert_eq!(login_from(&b, g, &guess).await.status(), 401, "{g}");
    }
    for g in guessers {
        assert_problem(login_from(&a, g, &guess).await, 429).await;
    }
    // A colleague who has not failed signs in through either.
    let right = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    assert_eq!(login_from(&a, "198.51.100.20", &right).await.status(), 200);
    assert_eq!(login_from(&b, "198.51.100.21", &right).await.status(), 200);
}

async fn unknown_email_and_wrong_password_look_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "nobody@rfa.test", "password": ADMIN_PASSWORD}),
        )
        .await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": ADMIN_EMAIL, "password": "wrong password here"}),
        )
        .await;
    let (a, b) = (
        assert_problem(unknown, 401).await,
        assert_problem(wrong, 401).await,
    );
    assert_eq!(a, b);
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64")).expect("json")
}

fn encode_part(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"))
}

fn sign(header: &Value, claims: &Value, secret: &[u8], alg: jsonwebtoken::Algorithm) -> String {
    let mut h = jsonwebtoken::Header::new(alg);
    h.kid = header["kid"].as_str().map(str::to_string);
    let key = jsonwebtoken::EncodingKey::from_secret(secret).expect("key");
    jsonwebtoken::encode(&h, claims, &key).expect("sign")
}

async fn forged_and_stale_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let good = app.admin_token().await;
    let parts: Vec<&str> = good.split('.').collect();
    let (header, claims) = (decode_part(parts[0]), decode_part(parts[1]));
    // A re-signed copy with the right key is accepted: the forgeries below differ only in
    // what they test.
    let hs256 = jsonwebtoken::Algorithm::HS256;
    let same = sign(&header, &claims, TEST_SECRET.as_bytes(), hs256);
    assert_eq!(app.get("/api/v1/me", Some(&same)).await.status(), 200);

    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let now = chrono::Utc::now().timestamp();
    let forged = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                encode_part(&json!({"alg": "none", "typ": "JWT", "kid": header["kid"]})),
                parts[1]
            ),
        ),
        (
            "another key",
            sign(
                &header,
                &claims,
                b"some-other-secret-of-thirty-two-chars",
                hs256,
            ),
        ),
        (
            "another algorithm",
            sign(
                &header,
                &claims,
                TEST_SECRET.as_bytes(),
                jsonwebtoken::Algorithm::HS512,
            ),
        ),
        (
            "expired",
            sign(
                &header,
                &with("exp", json!(now - 120)),
                TEST_SECRET.as_bytes(),
                hs256,
            ),
        ),
        (
            "wrong audience",
            sign(
                &header,
                &with("aud", json!("someone-else")),
                TEST_SECRET.as_bytes(),
                hs256,
            ),
        ),
        (
            "wrong issuer",
            sign(
                &header,
                &with("iss", json!("someone-else")),
                TEST_SECRET.as_bytes(),
                hs256,
            ),
        ),
        (
            "tampered payload",
            format!(
                "{}.{}.{}",
                parts[0],
                encode_part(&with("roles", json!(["admin", "supervisor"]))),
                parts[2]
            ),
        ),
        (
            "unknown kid",
            sign(
                &json!({"kid": "0000"}),
                &claims,
                TEST_SECRET.as_bytes(),
                hs256,
            ),
        ),
        ("no exp", {
            let mut c = claims.clone();
            c.as_object_mut().expect("object").remove("exp");
            sign(&header, &c, TEST_SECRET.as_bytes(), hs256)
        }),
    ];
    for (what, token) in forged {
        let res = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(res.status(), 401, "{what}");
    }
}

async fn admins_manage_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (jurisdiction, _) = crate::registry::jurisdiction_with_authority(&app, &admin, "NL").await;
    // Only jurisdictions in the registry can be linked.
    let res = app
        .post("/api/v1/users", Some(&admin), &json!({"email": "x@example.org", "display_name": "X", "roles": ["liaison_officer"], "jurisdiction_ids": [jurisdiction, uuid::Uuid::now_v7().to_string()]}))
        .await;
    assert_eq!(
        assert_problem(res, 422).await["errors"][0]["field"],
        "jurisdiction_ids[1]"
    );
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "Officer.One@Example.org", "display_name": "Officer One",
                    "roles": ["liaison_officer"], "jurisdiction_ids": [jurisdiction]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let created: Value = res.json().await.expect("json");
    assert_eq!(
        location,
        Some(format!(
            "/api/v1/users/{}",
            created["id"].as_str().expect("id")
        ))
    );
    assert_eq!(created["email"], "officer.one@example.org");
    assert_eq!(created["jurisdiction_ids"], json!([jurisdiction]));
    let initial = created["initial_password"]
        .as_str()
        .expect("generated password")
        .to_string();
    // The generated password works, and is never shown again. Until the user has chosen
    // their own, the session can read only their account and change the password.
    let first = token_of(&app.login("officer.one@example.org", &initial).await);
    let me: Value = app
        .get("/api/v1/me", Some(&first))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["must_change_password"], true, "{me}");
    for path in ["/api/v1/rfas", "/api/v1/jurisdictions"] {
        let res = app.get(path, Some(&first)).await;
        let problem = assert_problem(res, 403).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or("")
                .contains("/api/v1/me/password"),
            "{problem}"
        );
    }
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&first),
            &json!({"current_password": initial, "new_password": "my very own passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let me: Value = app
        .get("/api/v1/me", Some(&first))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["must_change_password"], false);
    assert_eq!(app.get("/api/v1/rfas", Some(&first)).await.status(), 200);
    let fetched: Value = app
        .get(
            &format!("/api/v1/users/{}", created["id"].as_str().expect("id")),
            Some(&admin),
        )
        .await
        .json()
        .await
        .expect("json");
    assert!(fetched.get("initial_password").is_none());
    assert_eq!(fetched["roles"], json!(["liaison_officer"]));

    // Email is unique without regard to case.
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "OFFICER.one@example.org", "display_name": "Dup", "roles": ["reporting"]}),
        )
        .await;
    assert_problem(res, 409).await;

    // An account has a role, and jurisdictions only where they limit one (a liaison officer).
    for (body, field) in [
        (json!({"roles": []}), "roles"),
        (
            json!({"roles": ["reporting"], "jurisdiction_ids": [jurisdiction]}),
            "jurisdiction_ids",
        ),
    ] {
        let mut user = json!({"email": "nobody@example.org", "display_name": "Nobody"});
        user.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let p = assert_problem(app.post("/api/v1/users", Some(&admin), &user).await, 422).await;
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }

    // Every wrong field is named at once, and nothing is written.
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "not-an-email", "display_name": "  ", "roles": ["supervisor", "supervisor"],
                    "jurisdiction_ids": ["nope"], "password": "short"}),
        )
        .await;
    let p = assert_problem(res, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for f in [
        "email",
        "display_name",
        "roles",
        "jurisdiction_ids[0]",
        "password",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": "x@example.org", "display_name": "X", "roles": ["overlord"]}),
        )
        .await;
    let p = assert_problem(res, 422).await;
    assert!(
        p["errors"][0]["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("roles"))
    );
    let page: Value = app
        .get("/api/v1/users", Some(&admin))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(2),
        "nothing else was written"
    );

    // Roles change and take effect on the next request.
    let id = created["id"].as_str().expect("id");
    let res = app
        .patch_current(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            &json!({"roles": ["supervisor", "reporting"], "display_name": "Officer 1"}),
        )
        .await;
    let updated: Value = res.json().await.expect("json");
    assert_eq!(updated["roles"], json!(["supervisor", "reporting"]));
    assert_eq!(updated["display_name"], "Officer 1");
    // The jurisdictions went with the liaison officer's role they limited.
    assert_eq!(updated["jurisdiction_ids"], json!([]));
    assert_problem(
        app.get(
            &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
            Some(&admin),
        )
        .await,
        404,
    )
    .await;
    assert_problem(app.get("/api/v1/users/not-a-uuid", Some(&admin)).await, 404).await;
}

async fn inputs_cannot_set_what_they_should_not(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (id, token) = app.user_with(&["reporting"], &[]).await;
    for (path, body) in [
        (
            format!("/api/v1/users/{id}"),
            json!({"password_hash": "$argon2id$forged"}),
        ),
        (
            format!("/api/v1/users/{id}"),
            json!({"id": uuid::Uuid::now_v7().to_string()}),
        ),
        (
            format!("/api/v1/users/{id}"),
            json!({"email": "new@rfa.test"}),
        ),
    ] {
        let p = assert_problem(app.patch_current(&path, Some(&admin), &body).await, 422).await;
        assert!(p["errors"][0]["field"].as_str().is_some());
    }
    // Users cannot give themselves roles through their own account.
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            &json!({"current_password": "x", "new_password": "y", "roles": ["admin"]}),
        )
        .await;
    assert_eq!(
        assert_problem(res, 422).await["errors"][0]["field"],
        "roles"
    );
    let res = app
        .patch_current(
            &format!("/api/v1/users/{id}"),
            Some(&token),
            &json!({"roles": ["admin"]}),
        )
        .await;
    assert_problem(res, 403).await;
    // Permission comes before the body: a forbidden caller learns nothing from validation.
    let res = app
        .post("/api/v1/users", Some(&token), &json!({"bogus": true}))
        .await;
    assert_problem(res, 403).await;
    let res = app.get("/api/v1/users?limit=oops", Some(&token)).await;
    assert_problem(res, 403).await;
    let me: Value = app
        .get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["roles"], json!(["reporting"]));
}

async fn the_last_administrator_stays(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let me: Value = app
        .get("/api/v1/me", Some(&admin))
        .await
        .json()
        .await
        .expect("json");
    let id = me["id"].as_str().expect("id");
    let path = format!("/api/v1/users/{id}");
    assert_problem(
        app.patch_current(&path, Some(&admin), &json!({"active": false}))
            .await,
        409,
    )
    .await;
    assert_problem(
        app.patch_current(&path, Some(&admin), &json!({"roles": ["reporting"]}))
            .await,
        409,
    )
    .await;
    // With a second administrator, the first may step down.
    let (_, _) = app.user_with(&["admin"], &[]).await;
    let res = app
        .patch_current(&path, Some(&admin), &json!({"roles": ["reporting"]}))
        .await;
    assert_eq!(res.status(), 200);
}

async fn administrators_cannot_give_themselves_case_roles_and_others_hear_of_grants(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let first = app.admin_token().await;
    let me: Value = app
        .get("/api/v1/me", Some(&first))
        .await
        .json()
        .await
        .unwrap();
    let first_id = me["id"].as_str().unwrap().to_string();
    let (second_id, second) = app.user_with(&["admin"], &[]).await;
    let second_email = app
        .get(&format!("/api/v1/users/{second_id}"), Some(&first))
        .await
        .json::<Value>()
        .await
        .unwrap()["email"]
        .as_str()
        .unwrap()
        .to_string();
    // Reading case content is never an administrator's own decision.
    let own = format!("/api/v1/users/{first_id}");
    let (place, _) = crate::registry::jurisdiction_with_authority(&app, &first, "DE").await;
    for (roles, places) in [
        (json!(["admin", "supervisor"]), json!([])),
        (json!(["admin", "liaison_officer"]), json!([place])),
    ] {
        let res = app
            .patch_current(
                &own,
                Some(&first),
                &json!({"roles": roles, "jurisdiction_ids": places}),
            )
            .await;
        let problem = assert_problem(res, 403).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("Another administrator")
        );
    }
    let role_mail = |app: &TestApp| {
        let token = second.clone();
        let url = app.url("/api/v1/admin/outbox?limit=200");
        let client = app.client.clone();
        async move {
            let page: Value = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["kind"] == "role_granted")
                .map(|m| {
                    (
                        m["recipient"].as_str().unwrap().to_string(),
                        m["subject"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert!(role_mail(&app).await.is_empty());
    // A grant to someone else: the other administrator hears of it, the granter does not.
    let res = app
        .post(
            "/api/v1/users",
            Some(&first),
            &json!({"email": "new.supervisor@rfa.test", "display_name": "New Supervisor", "roles": ["supervisor"], "password": "long enough password"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let mail = role_mail(&app).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    // The outbox shows the address masked: its first letter and its domain.
    let (mailbox, domain) = second_email.split_once('@').unwrap();
    let first: String = mailbox.chars().take(1).collect();
    assert_eq!(mail[0].0, format!("{first}…@{domain}"));
    assert!(mail[0].1.contains("New Supervisor"), "{mail:?}");
    // Another administrator may give the first one the role.
    let res = app
        .patch_current(
            &own,
            Some(&second),
            &json!({"roles": ["admin", "supervisor"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Nobody else to tell: the granter and the grantee are the only administrators.
    assert_eq!(role_mail(&app).await.len(), 1);
}

async fn user_list_pages_without_gaps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    for i in 0..6 {
        let res = app
            .post("/api/v1/users", Some(&admin), &json!({"email": format!("u{i}@rfa.test"), "display_name": format!("U{i}"), "roles": ["reporting"], "password": "long enough password"}))
            .await;
        assert_eq!(res.status(), 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=3&cursor={c}"),
            None => "/api/v1/users?limit=3".to_string(),
        };
        let page: Value = app
            .get(&path, Some(&admin))
            .await
            .json()
            .await
            .expect("json");
        for u in page["items"].as_array().expect("items") {
            seen.push(u["email"].as_str().expect("email").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 7);
    for bad in [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=abc",
        "cursor=forged!",
        "cursor=Zm9v",
    ] {
        let res = app.get(&format!("/api/v1/users?{bad}"), Some(&admin)).await;
        let status = res.status().as_u16();
        assert!(status == 400 || status == 422, "{bad}: {status}");
        assert_problem(res, status).await;
    }
}

async fn an_administrator_resets_a_forgotten_password_and_unlocks(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("auth.lockout_secs", json!(3600))]).await;
    let admin = app.admin_token().await;
    let (id, token) = app.user_with(&["supervisor"], &[]).await;
    let me: Value = app
        .get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let email = me["email"].as_str().unwrap().to_string();
    let path = format!("/api/v1/users/{id}/password-reset");
    // Only administrators, never on their own account, never an unknown user.
    assert_problem(app.post(&path, Some(&token), &json!({})).await, 403).await;
    let admin_id = app
        .get("/api/v1/me", Some(&admin))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_problem(
        app.post(
            &format!("/api/v1/users/{admin_id}/password-reset"),
            Some(&admin),
            &json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_problem(
        app.post(
            &format!("/api/v1/users/{}/password-reset", uuid::Uuid::now_v7()),
            Some(&admin),
            &json!({}),
        )
        .await,
        404,
    )
    .await;
    let res = app.post(&path, Some(&admin), &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let reset: Value = res.json().await.unwrap();
    let one_time = reset["one_time_password"].as_str().unwrap().to_string();
    assert!(one_time.len() >= 32);
    assert_eq!(reset["user"]["must_change_password"], true);
    // The old session is over; the one-time password signs in, for a password change only.
    assert_problem(app.get("/api/v1/me", Some(&token)).await, 401).await;
    let fresh = token_of(&app.login(&email, &one_time).await);
    let refused = assert_problem(app.get("/api/v1/rfas", Some(&fresh)).await, 403).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/me/password")
    );
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&fresh),
            &json!({"current_password": one_time, "new_password": "a password of my own choosing"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.get("/api/v1/rfas", Some(&fresh)).await.status(), 200);

    // Five wrong passwords lock the account for an hour; an administrator ends the lock.
    let wrong = json!({"email": email, "password": "not the password"});
    for _ in 0..5 {
        assert_problem(app.post("/api/v1/auth/login", None, &wrong).await, 401).await;
    }
    let right = json!({"email": email, "password": "a password of my own choosing"});
    assert_problem(app.post("/api/v1/auth/login", None, &right).await, 401).await;
    let listed: Value = app
        .get(&format!("/api/v1/users/{id}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["locked_until"].is_string(), "{listed}");
    let unlock = format!("/api/v1/users/{id}/unlock");
    assert_problem(app.post(&unlock, Some(&fresh), &json!({})).await, 403).await;
    let res = app.post(&unlock, Some(&admin), &json!({})).await;
    assert_eq!(res.status(), 200);
    let unlocked: Value = res.json().await.unwrap();
    assert!(unlocked.get("locked_until").is_none(), "{unlocked}");
    assert_eq!(
        app.post("/api/v1/auth/login", None, &right).await.status(),
        200
    );
}

async fn a_flood_of_sign_ins_is_answered_503_not_queued_without_end(backend: Backend) {
    // One hasher and a short wait: of 24 sign-ins at once, those that cannot get their turn
    // in time are told to come back, instead of all waiting behind each other.
    let app = TestApp::spawn_with(
        backend,
        &[
            ("auth.max_concurrent_hashes", json!(1)),
            ("auth.hash_wait_ms", json!(30)),
            ("auth.login_burst", json!(1000)),
        ],
    )
    .await;
    // An unknown email costs a hash like a wrong password, and locks nobody out.
    let body = json!({"email": "nobody@rfa.test", "password": "not the password at all"});
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let (client, url, body) = (
            app.client.clone(),
            app.url("/api/v1/auth/login"),
            body.clone(),
        );
        tries.spawn(async move { client.post(url).json(&body).send().await.expect("request") });
    }
    let mut busy = 0;
    while let Some(res) = tries.join_next().await {
        let res = res.expect("task");
        match res.status().as_u16() {
            401 => {}
            503 => {
                busy += 1;
                let wait = res.headers()["retry-after"]
                    .to_str()
                    .unwrap_or_default()
                    .to_string();
                assert_eq!(wait, "1");
                let p = assert_problem(res, 503).await;
                assert!(
                    p["detail"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("try again"),
                    "{p}"
                );
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        busy > 0,
        "some sign-ins were turned away rather than queued"
    );
    // Once the flood is over, the right password signs in.
    app.admin_token().await;
}
