//! Hostile and unusual input from outside (issue 9, "bad input"): texts in every script come
//! back byte for byte; NUL bytes, invalid UTF-8, oversized or deeply nested bodies, numbers
//! out of range, malformed ids, dates and content types, forged cursors and wild limits each
//! get a clear 4xx problem and write nothing; slow clients are cut off while others are served.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};
use crate::rfas::World;

both_backends!(
    texts_in_every_script_are_kept_byte_for_byte,
    search_finds_capitalised_non_latin_text_as_typed,
    nul_bytes_are_refused_and_nothing_is_written,
    addresses_the_mailer_would_rewrite_are_refused,
    invalid_utf8_and_malformed_json_are_bad_requests,
    oversized_strings_and_arrays_are_refused,
    bodies_over_the_size_limit_get_413,
    deeply_nested_json_is_refused,
    numbers_out_of_range_are_refused,
    malformed_uuids_are_refused,
    malformed_dates_and_times_are_refused,
    wrong_content_types_are_refused,
    wildcards_and_quotes_are_no_operators_in_a_search,
    limits_out_of_range_are_refused,
    forged_and_tampered_cursors_are_refused,
    slow_clients_are_cut_off_while_others_are_served,
    idle_keep_alive_connections_are_closed,
    a_client_sending_its_body_slowly_is_cut_off,
    a_full_worker_serves_the_next_client_once_a_slow_one_is_cut_off,
);

// ---------------------------------------------------------------------------------------
// Texts

/// Arabic with harakat (combining marks).
const ARABIC_MARKS: &str = "شَهَادَةُ الشُّهُودِ عَنْ مَرَاكِزِ الاحْتِجَازِ";
/// Right-to-left text with Arabic-Indic digits, left-to-right isolates and direction marks.
const RTL_MIXED: &str = "\u{200F}ملف رقم ٣/٢٠١٩ \u{2066}3 StE 9/19\u{2069} بتاريخ\u{200E}";
const HEBREW: &str = "בקשה לסיוע משפטי";
/// Decomposed accents (NFD), which must not be normalised to NFC.
const DECOMPOSED: &str = "Me\u{301}moire sur la de\u{301}tention a\u{300} Ho\u{302}ms";
/// Stacked combining marks (Vietnamese, Thai, Devanagari).
const STACKED: &str = "Nguye\u{302}\u{303}n — ข้อมูลพยาน — हिंदी साक्ष्य";
/// Woman judge: a ZWJ sequence with a variation selector.
const ZWJ_JUDGE: &str = "👩\u{200D}⚖\u{FE0F}";
const ZWJ_FAMILY: &str = "👨\u{200D}👩\u{200D}👧\u{200D}👦";
const EMOJI: &str = "📁 🔍 🇸🇾 👍🏽 𝔸𝕓𝕔";
const CJK: &str = "国际刑事司法协助请求 証拠の共有 사법 공조";

/// The subjects of a queue answer, in order.
fn subjects(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["subject"].as_str().expect("subject").to_string())
        .collect()
}

/// The queue as the supervisor sees it, with the query parameters encoded by the client.
async fn queue(w: &World, params: &[(&str, &str)]) -> reqwest::Response {
    w.app
        .client
        .get(w.app.url("/api/v1/rfas"))
        .query(params)
        .bearer_auth(&w.supervisor)
        .send()
        .await
        .expect("request")
}

/// Subjects found by the queue's text search.
async fn search(w: &World, text: &str) -> Vec<String> {
    let res = queue(w, &[("q", text), ("limit", "200")]).await;
    let status = res.status();
    let body = res.text().await.expect("text");
    assert_eq!(status, 200, "search for {text:?}: {body}");
    let mut found = subjects(&serde_json::from_str(&body).expect("page JSON"));
    found.sort();
    found
}

async fn intake_with_subject(w: &World, subject: &str) -> Value {
    let mut body = w.intake_body();
    body["subject"] = json!(subject);
    w.intake_with(&w.supervisor, &body).await
}

async fn texts_in_every_script_are_kept_byte_for_byte(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let subject_ar = format!("{ARABIC_MARKS} {RTL_MIXED}");
    let description = format!(
        "{ARABIC_MARKS}\n{RTL_MIXED}\n{HEBREW}\n{DECOMPOSED}\n{STACKED}\n\
         {ZWJ_JUDGE} {ZWJ_FAMILY} {EMOJI}\n{CJK}\tEnd"
    );
    let requester = "د. عبدُ الله الحَسَن \u{2067}(مدعي عام)\u{2069}";
    let case_ref = "ملف ٣/٢٠١٩ — 3 StE 9/19";
    let mut body = w.intake_body();
    body["subject"] = json!(subject_ar);
    body["description"] = json!(description);
    body["requester"]["name"] = json!(requester);
    body["national_case_reference"] = json!(case_ref);
    let ar = w.intake_with(&s, &body).await;
    let check = |rfa: &Value| {
        assert_eq!(rfa["subject"].as_str().unwrap(), subject_ar);
        assert_eq!(rfa["description"].as_str().unwrap(), description);
        assert_eq!(rfa["requester"]["name"].as_str().unwrap(), requester);
        assert_eq!(rfa["national_case_reference"].as_str().unwrap(), case_ref);
    };
    check(&ar);
    // Read back, also as raw bytes: the answer's JSON decodes to the very same bytes.
    let res = w.get(&s, &ar).await;
    assert_eq!(res.status(), 200);
    let raw = res.bytes().await.unwrap();
    let read: Value = serde_json::from_slice(&raw).unwrap();
    check(&read);
    assert_eq!(
        read["description"].as_str().unwrap().as_bytes(),
        description.as_bytes()
    );

    let subject_emoji = format!("Photographs {ZWJ_JUDGE} {ZWJ_FAMILY} {EMOJI}");
    let subject_cjk = format!("{CJK} {HEBREW}");
    let subject_marks = format!("{DECOMPOSED} {STACKED}");
    for subject in [&subject_emoji, &subject_cjk, &subject_marks] {
        let rfa = intake_with_subject(&w, subject).await;
        assert_eq!(rfa["subject"].as_str().unwrap(), subject.as_str());
        let read: Value = w.get(&s, &rfa).await.json().await.unwrap();
        assert_eq!(read["subject"].as_str().unwrap(), subject.as_str());
    }

    // A note with every script is kept in the history as written.
    let note = format!("{RTL_MIXED}\n{ZWJ_JUDGE}{ZWJ_FAMILY}\n{DECOMPOSED}\n{CJK}");
    let noted = w.act(&s, &ar, "add_note", json!({"text": note})).await;
    assert_eq!(noted["version"], ar["version"].as_i64().unwrap() + 1);
    let events = w.events(&s, &ar).await;
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "add_note");
    assert_eq!(last["details"]["text"].as_str().unwrap(), note);

    // The queue's text search finds each by words of its own script (in the subject, or in
    // the Arabic request's description, which holds every script), with or without marks.
    let both = |other: &String| {
        let mut v = vec![subject_ar.clone(), other.clone()];
        v.sort();
        v
    };
    let arabic = std::slice::from_ref(&subject_ar);
    assert_eq!(search(&w, "الشُّهُودِ").await, arabic);
    assert_eq!(search(&w, "الشهود").await, arabic);
    assert_eq!(search(&w, "٣/٢٠١٩").await, arabic);
    assert_eq!(search(&w, "\u{2067}ملف رقم\u{2069}").await, arabic);
    assert_eq!(search(&w, HEBREW).await, both(&subject_cjk));
    assert_eq!(search(&w, "国际刑事").await, both(&subject_cjk));
    assert_eq!(search(&w, "사법").await, both(&subject_cjk));
    assert_eq!(search(&w, "me\u{301}moire").await, both(&subject_marks));
    assert_eq!(search(&w, "MÉMOIRE").await, both(&subject_marks));
    assert_eq!(search(&w, "ข้อมูลพยาน").await, both(&subject_marks));
    assert_eq!(search(&w, "nguyen").await, both(&subject_marks));
    // Mathematical letters are letters: found by the plain ones.
    assert_eq!(search(&w, "abc").await, both(&subject_emoji));
    // Near misses: another digit; a word in the middle of a Chinese run of characters.
    assert!(search(&w, "ملف رقم ٤").await.is_empty());
    assert!(search(&w, "司法协助").await.is_empty());
    // Pictures are no words: a search of nothing but emoji is refused with the reason.
    for text in [ZWJ_JUDGE, ZWJ_FAMILY, "🇸🇾", "👩\u{200D}⚕"] {
        let res = queue(&w, &[("q", text)]).await;
        let p = assert_problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], "q", "{text:?}: {p}");
    }

    // A jurisdiction and an authority named in Arabic keep their names exactly.
    let name = format!(
        "{ARABIC_MARKS} \u{2067}{ZWJ_JUDGE}\u{2069} {}",
        uuid::Uuid::now_v7().simple()
    );
    let res = w
        .app
        .post(
            "/api/v1/jurisdictions",
            Some(&w.admin),
            &json!({"name": name, "country_code": "SY", "death_penalty_status": "retentionist",
                    "competence_bases": [{"basis": "territorial", "crimes": ["war_crimes"]}]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let j: Value = res.json().await.unwrap();
    assert_eq!(j["name"].as_str().unwrap(), name);
    let jid = j["id"].as_str().unwrap();
    let read: Value = w
        .app
        .get(&format!("/api/v1/jurisdictions/{jid}"), Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["name"].as_str().unwrap(), name);
    let authority = "النيابة العامة — محكمة الجنايات";
    let res = w
        .app
        .post(
            &format!("/api/v1/jurisdictions/{jid}/authorities"),
            Some(&w.admin),
            &json!({"name": authority, "kind": "prosecution"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let list: Value = w
        .app
        .get(
            &format!("/api/v1/jurisdictions/{jid}/authorities"),
            Some(&w.admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["name"].as_str().unwrap(), authority);
}

/// Capital letters outside ASCII (Cyrillic, Greek) are found when searched exactly as they
/// were written, on both databases.
async fn search_finds_capitalised_non_latin_text_as_typed(backend: Backend) {
    let w = World::new(backend).await;
    let subject = "Дело № 5 — Υπόθεση ΣΥΡΙΑ";
    intake_with_subject(&w, subject).await;
    assert_eq!(search(&w, "Дело").await, [subject]);
    assert_eq!(search(&w, "ΣΥΡΙΑ").await, [subject]);
    assert_eq!(search(&w, "Υπόθεση").await, [subject]);
}

// ---------------------------------------------------------------------------------------
// Writes nothing: counts and records before and after

async fn rfa_count(w: &World) -> usize {
    let res = queue(w, &[("limit", "200")]).await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().len()
}

async fn jurisdiction_count(w: &World) -> usize {
    let res = w
        .app
        .get("/api/v1/jurisdictions?limit=200", Some(&w.admin))
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().len()
}

/// An RFA as read now together with its history, to show that nothing changed.
async fn record(w: &World, rfa: &Value) -> (Value, Value) {
    let res = w.get(&w.supervisor, rfa).await;
    assert_eq!(res.status(), 200);
    let read: Value = res.json().await.unwrap();
    let events = w.events(&w.supervisor, rfa).await;
    (read, events)
}

/// Asserts a 4xx problem document (any client-error status) and returns it.
async fn assert_client_problem(res: reqwest::Response, what: &str) -> Value {
    let status = res.status().as_u16();
    assert!(
        (400..500).contains(&status),
        "{what}: status {status}, body {}",
        res.text().await.unwrap_or_default()
    );
    assert_problem(res, status).await
}

/// Sends raw bytes as a body with a content type.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    if_match: Option<&Value>,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(v) = if_match {
        req = req.header("if-match", format!("\"{v}\""));
    }
    req.send().await.expect("request")
}

fn note_path(rfa: &Value) -> String {
    format!(
        "/api/v1/rfas/{}/actions/add_note",
        rfa["id"].as_str().unwrap()
    )
}

fn rfa_path(rfa: &Value) -> String {
    format!("/api/v1/rfas/{}", rfa["id"].as_str().unwrap())
}

fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn addresses_the_mailer_would_rewrite_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    // Addresses the mail library would read as another mailbox (the security review's
    // `"a\r\nb"@x.org` was delivered to arnb@x.org) are refused, and nothing is stored.
    let count = rfa_count(&w).await;
    for email in [r#""a\r\nb"@x.org"#, r#""a b"@x.org"#, "a(comment)@x.org"] {
        let mut body = w.intake_body();
        body["requester"]["email"] = json!(email);
        let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
        assert!(
            field_names(&p).contains(&"requester.email".to_string()),
            "{email}: {p}"
        );
    }
    assert_eq!(
        rfa_count(&w).await,
        count,
        "a refused intake stores nothing"
    );
}

async fn nul_bytes_are_refused_and_nothing_is_written(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    let (count, jcount) = (rfa_count(&w).await, jurisdiction_count(&w).await);

    // Intake: every text field with a NUL is named.
    for (field, value) in [
        ("subject", json!("Detention\u{0}records")),
        ("description", json!("line one\n\u{0}line two")),
        ("national_case_reference", json!("3 StE\u{0}9/19")),
        ("jurisdiction_id", json!(format!("{}\u{0}", w.jurisdiction))),
        ("channel", json!("email\u{0}")),
        ("priority", json!("\u{0}routine")),
    ] {
        let mut body = w.intake_body();
        body[field] = value;
        let res = w.app.post("/api/v1/rfas", Some(&s), &body).await;
        let p = assert_problem(res, 422).await;
        assert!(field_names(&p).contains(&field.to_string()), "{field}: {p}");
    }
    for (field, path) in [("requester.name", "name"), ("requester.email", "email")] {
        let mut body = w.intake_body();
        body["requester"][path] = json!("A. Prosecutor\u{0}@justice.example");
        let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
        assert!(field_names(&p).contains(&field.to_string()), "{field}: {p}");
    }
    let mut body = w.intake_body();
    body["tags"] = json!(["missing\u{0}persons"]);
    assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
    // A NUL key.
    let mut body = w.intake_body();
    body["subject\u{0}"] = json!("x");
    assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
    // A raw (unescaped) NUL inside a JSON string is not JSON.
    let mut raw_body = w.intake_body();
    raw_body["subject"] = json!("A & B");
    let mut raw = serde_json::to_vec(&raw_body).unwrap();
    let at = raw.iter().position(|b| *b == b'&').unwrap();
    raw.insert(at + 1, 0);
    let res = send_raw(
        &w.app,
        Method::POST,
        "/api/v1/rfas",
        &s,
        Some("application/json"),
        raw,
        None,
    )
    .await;
    assert_problem(res, 400).await;

    // Corrections and actions.
    let res = w
        .app
        .client
        .patch(w.app.url(&rfa_path(&rfa)))
        .bearer_auth(&s)
        .header("if-match", format!("\"{}\"", rfa["version"]))
        .json(&json!({"subject": "Corrected\u{0}"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422).await;
    for (action, body) in [
        ("add_note", json!({"text": "note\u{0}"})),
        (
            "assign",
            json!({"assignee_id": format!("{}\u{0}", w.supervisor_id)}),
        ),
        ("set_priority", json!({"priority": "high\u{0}"})),
        ("withdraw", json!({"reason": "\u{0}"})),
        (
            "record_assurance",
            json!({"reference": "R\u{0}1", "given_on": "2026-01-01"}),
        ),
    ] {
        let res = w.act_raw(&s, &rfa, action, body).await;
        assert_problem(res, 422).await;
    }

    // Registry and accounts.
    let res = w
        .app
        .post(
            "/api/v1/jurisdictions",
            Some(&w.admin),
            &json!({"name": "Null\u{0}land", "country_code": "DE", "death_penalty_status": "abolished_all_crimes",
                    "competence_bases": [{"basis": "universal_jurisdiction", "crimes": ["war_crimes"]}]}),
        )
        .await;
    assert_problem(res, 422).await;
    let res = w
        .app
        .post(
            "/api/v1/users",
            Some(&w.admin),
            &json!({"email": "nul\u{0}@rfa.test", "display_name": "N\u{0}", "roles": ["supervisor"],
                    "jurisdiction_ids": [], "password": "a password for this test user"}),
        )
        .await;
    assert_problem(res, 422).await;
    let res = w
        .app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "admin@rfa.test\u{0}", "password": "x\u{0}"}),
        )
        .await;
    assert_client_problem(res, "sign-in with NUL").await;

    // NUL in query parameters, percent-encoded: search text, tag, dates, ids, cursor.
    for (name, value) in [
        ("q", "detention\u{0}"),
        ("q", "\u{0}"),
        ("tag", "missing\u{0}persons"),
        ("due_before", "2026-01-01\u{0}"),
        ("jurisdiction_id", "\u{0}"),
        ("cursor", "\u{0}"),
        ("state", "received\u{0}"),
    ] {
        let res = queue(&w, &[(name, value)]).await;
        assert_client_problem(res, &format!("queue {name}={value:?}")).await;
    }
    let res = w
        .app
        .get(
            &format!(
                "/api/v1/rfas/{}/events?cursor=%00",
                rfa["id"].as_str().unwrap()
            ),
            Some(&s),
        )
        .await;
    assert_client_problem(res, "events cursor NUL").await;
    let res = w.app.get("/api/v1/rfas/%00", Some(&s)).await;
    assert_problem(res, 404).await;

    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
    assert_eq!(jurisdiction_count(&w).await, jcount);
}

async fn invalid_utf8_and_malformed_json_are_bad_requests(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    let count = rfa_count(&w).await;
    let valid = serde_json::to_string(&w.intake_body()).unwrap();
    // Bytes spliced into the subject's string: not UTF-8 in several ways.
    let spliced = |bad: &[u8]| -> Vec<u8> {
        let at = valid.find("Detention facility").unwrap();
        let mut v = valid.as_bytes()[..at].to_vec();
        v.extend_from_slice(bad);
        v.extend_from_slice(&valid.as_bytes()[at..]);
        v
    };
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("lone continuation byte", spliced(b"\x80")),
        ("0xFF", spliced(b"\xff\xfe")),
        ("overlong slash", spliced(b"\xc0\xaf")),
        ("UTF-16 surrogate in UTF-8", spliced(b"\xed\xa0\x80")),
        ("truncated sequence", spliced(b"\xe2\x82")),
        ("beyond U+10FFFF", spliced(b"\xf4\x90\x80\x80")),
        ("lone surrogate escape", spliced(b"\\ud800")),
        ("bad escape", spliced(b"\\x41")),
        ("truncated", valid.as_bytes()[..valid.len() / 2].to_vec()),
        ("trailing garbage", format!("{valid} {{}}").into_bytes()),
        ("two documents", format!("{valid}{valid}").into_bytes()),
        ("single quotes", b"{'subject': 'x'}".to_vec()),
        ("trailing comma", b"{\"subject\": \"x\",}".to_vec()),
        ("empty", Vec::new()),
        (
            "BOM",
            [b"\xef\xbb\xbf".as_slice(), valid.as_bytes()].concat(),
        ),
        ("NaN", b"{\"subject\": NaN}".to_vec()),
        ("UTF-16 body", {
            let mut v = vec![0xff, 0xfe];
            for u in valid.encode_utf16() {
                v.extend_from_slice(&u.to_le_bytes());
            }
            v
        }),
    ];
    for (what, body) in &bodies {
        let res = send_raw(
            &w.app,
            Method::POST,
            "/api/v1/rfas",
            &s,
            Some("application/json"),
            body.clone(),
            None,
        )
        .await;
        let p = assert_problem(res, 400).await;
        let detail = p["detail"].as_str().unwrap();
        assert!(
            !detail.contains("src/") && !detail.contains("serde"),
            "{what}: {detail}"
        );
    }
    // The same through an action, a correction and the registry.
    for (what, body) in bodies.iter().filter(|(w, _)| *w != "empty") {
        let res = send_raw(
            &w.app,
            Method::POST,
            &note_path(&rfa),
            &s,
            Some("application/json"),
            body.clone(),
            Some(&rfa["version"]),
        )
        .await;
        assert_client_problem(res, &format!("action, {what}")).await;
        let res = send_raw(
            &w.app,
            Method::PATCH,
            &rfa_path(&rfa),
            &s,
            Some("application/json"),
            body.clone(),
            Some(&rfa["version"]),
        )
        .await;
        assert_problem(res, 400).await;
    }
    let res = send_raw(
        &w.app,
        Method::POST,
        "/api/v1/jurisdictions",
        &w.admin,
        Some("application/json"),
        b"{\"name\": \"\xd8\xb3\xd9\"}".to_vec(),
        None,
    )
    .await;
    assert_problem(res, 400).await;
    // Invalid UTF-8 in the query string and the path.
    let res = w.app.get("/api/v1/rfas?q=%FF%FE", Some(&s)).await;
    assert_client_problem(res, "q=%FF%FE").await;
    let res = w.app.get("/api/v1/rfas/%FF%FE", Some(&s)).await;
    assert_problem(res, 404).await;

    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
}

async fn oversized_strings_and_arrays_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let (count, jcount) = (rfa_count(&w).await, jurisdiction_count(&w).await);

    // Limits count characters, not bytes: 300 Arabic letters (600 bytes) fit a subject,
    // 301 do not.
    let at_limit = "ش".repeat(300);
    let mut body = w.intake_body();
    body["subject"] = json!(at_limit);
    let ok = w.intake_with(&s, &body).await;
    assert_eq!(ok["subject"].as_str().unwrap(), at_limit);
    let count = count + 1;
    let before = record(&w, &rfa).await;

    let cases: Vec<(&str, Value)> = vec![
        ("subject", json!("ش".repeat(301))),
        ("subject", json!(ZWJ_JUDGE.repeat(100))),
        ("description", json!("d".repeat(20_001))),
        ("national_case_reference", json!("r".repeat(201))),
        (
            "tags",
            json!((0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()),
        ),
        ("tags[0]", json!(["t".repeat(41)])),
        (
            "assistance_types",
            json!(vec!["information_and_evidence"; 1000]),
        ),
        ("crimes", json!(vec!["torture"; 10_000])),
    ];
    for (field, value) in cases {
        let mut body = w.intake_body();
        let key = field.split('[').next().unwrap();
        body[key] = value;
        let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
        assert!(
            field_names(&p).contains(&field.to_string()),
            "{field}: {}",
            p["errors"]
        );
    }
    let mut body = w.intake_body();
    body["requester"]["name"] = json!("ن".repeat(201));
    let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
    assert_eq!(field_names(&p), ["requester.name"]);
    let mut body = w.intake_body();
    body["requester"]["email"] = json!(format!("{}@justice.example", "a".repeat(250)));
    assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
    // Thousands of unknown fields.
    let mut body = w.intake_body();
    for i in 0..5_000 {
        body[format!("extra{i}")] = json!(i);
    }
    assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;

    // Actions and corrections.
    for (action, body) in [
        ("add_note", json!({"text": "n".repeat(10_001)})),
        ("withdraw", json!({"reason": "ر".repeat(10_001)})),
        (
            "record_assurance",
            json!({"reference": "r".repeat(201), "given_on": "2026-01-01"}),
        ),
    ] {
        assert_problem(w.act_raw(&s, &rfa, action, body).await, 422).await;
    }
    let res = w
        .app
        .client
        .patch(w.app.url(&rfa_path(&rfa)))
        .bearer_auth(&s)
        .header("if-match", format!("\"{}\"", rfa["version"]))
        .json(&json!({"subject": "s".repeat(301)}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422).await;
    // Bulk triage of more than 200 requests at once.
    let ids: Vec<String> = (0..201).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let res = w
        .app
        .post(
            "/api/v1/rfas/bulk",
            Some(&s),
            &json!({"ids": ids, "action": "set_priority", "fields": {"priority": "high"}}),
        )
        .await;
    assert_problem(res, 422).await;
    // Registry: a long name, too many competence bases.
    let res = w
        .app
        .post(
            "/api/v1/jurisdictions",
            Some(&w.admin),
            &json!({"name": "ج".repeat(201), "country_code": "DE", "death_penalty_status": "abolished_all_crimes",
                    "competence_bases": [{"basis": "universal_jurisdiction", "crimes": ["war_crimes"]}]}),
        )
        .await;
    assert_problem(res, 422).await;
    let bases: Vec<Value> = (0..2_000)
        .map(|_| json!({"basis": "territorial", "crimes": ["war_crimes"]}))
        .collect();
    let res = w
        .app
        .post(
            "/api/v1/jurisdictions",
            Some(&w.admin),
            &json!({"name": "Many bases", "country_code": "DE", "death_penalty_status": "abolished_all_crimes",
                    "competence_bases": bases}),
        )
        .await;
    assert_problem(res, 422).await;
    // A search text over 200 characters.
    let res = queue(&w, &[("q", &"س".repeat(201))]).await;
    assert_problem(res, 422).await;

    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
    assert_eq!(jurisdiction_count(&w).await, jcount);
}

async fn bodies_over_the_size_limit_get_413(backend: Backend) {
    let w = World::new_with(backend, &[("server.max_body_bytes", json!(4096))]).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    let count = rfa_count(&w).await;
    // Valid in every other way: the description is under its own limit.
    let mut body = w.intake_body();
    body["description"] = json!("d".repeat(5_000));
    assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 413).await;
    let res = w
        .act_raw(&s, &rfa, "add_note", json!({"text": "n".repeat(5_000)}))
        .await;
    assert_problem(res, 413).await;
    let res = w
        .app
        .client
        .patch(w.app.url(&rfa_path(&rfa)))
        .bearer_auth(&s)
        .header("if-match", format!("\"{}\"", rfa["version"]))
        .json(&json!({"description": "d".repeat(5_000)}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413).await;
    // Chunked, so the size is only known while reading.
    let payload = serde_json::to_vec(&body).unwrap();
    let mut request = format!(
        "POST /api/v1/rfas HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {s}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in payload.chunks(1000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_exchange(&w.app, &request);
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert!(
        answer
            .content_type()
            .starts_with("application/problem+json"),
        "{}",
        answer.text
    );
    // A Content-Length that claims too much is refused without waiting for the body.
    let request = format!(
        "POST /api/v1/rfas HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {s}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n{{"
    );
    let started = Instant::now();
    let answer = raw_exchange(&w.app, request.as_bytes());
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert!(started.elapsed() < Duration::from_secs(5));

    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
}

async fn deeply_nested_json_is_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    let (count, jcount) = (rfa_count(&w).await, jurisdiction_count(&w).await);
    let deep_open = "[".repeat(10_000);
    let deep_closed = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    // Nesting inside an otherwise valid intake.
    let mut inner = serde_json::to_string(&w.intake_body()).unwrap();
    inner.insert_str(
        inner.find("\"tags\":").unwrap(),
        &format!("\"deep\": {}{}, ", "[".repeat(5_000), "]".repeat(5_000)),
    );
    for body in [&deep_open, &deep_closed, &deep_objects, &inner] {
        let body = body.as_bytes().to_vec();
        for (method, path, token, version) in [
            (Method::POST, "/api/v1/rfas".to_string(), &s, None),
            (Method::POST, note_path(&rfa), &s, Some(&rfa["version"])),
            (Method::PATCH, rfa_path(&rfa), &s, Some(&rfa["version"])),
            (
                Method::POST,
                "/api/v1/jurisdictions".to_string(),
                &w.admin,
                None,
            ),
            (Method::POST, "/api/v1/rfas/bulk".to_string(), &s, None),
        ] {
            let res = send_raw(
                &w.app,
                method.clone(),
                &path,
                token,
                Some("application/json"),
                body.clone(),
                version,
            )
            .await;
            assert_problem(res, 400).await;
        }
    }
    // Sign-in is reached without a token.
    let res = w
        .app
        .client
        .post(w.app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(deep_closed.clone())
        .send()
        .await
        .unwrap();
    assert_problem(res, 400).await;
    // The server is still there.
    assert_eq!(w.app.get("/health/live", None).await.status(), 200);
    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
    assert_eq!(jurisdiction_count(&w).await, jcount);
}

async fn numbers_out_of_range_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    let count = rfa_count(&w).await;
    // Numbers JSON allows but a double does not hold: malformed for this service.
    for (field, number) in [
        ("subject", "1e400"),
        ("priority", "-1e400"),
        ("tags", "[1e999999]"),
    ] {
        let body = serde_json::to_string(&w.intake_body()).unwrap();
        let key = format!("\"{field}\":");
        let at = body.find(&key).unwrap() + key.len();
        let end = at + body[at..].find([',', '}']).unwrap_or(body.len() - at);
        let body = format!("{}{number}{}", &body[..at], &body[end..]);
        let res = send_raw(
            &w.app,
            Method::POST,
            "/api/v1/rfas",
            &s,
            Some("application/json"),
            body.into_bytes(),
            None,
        )
        .await;
        assert_client_problem(res, &format!("{field}: {number}")).await;
    }
    // Numbers where text or booleans belong.
    for (field, value) in [
        ("subject", json!(18_446_744_073_709_551_615_u64)),
        ("priority", json!(-9_223_372_036_854_775_808_i64)),
        ("received_at", json!(1.0e300)),
    ] {
        let mut body = w.intake_body();
        body[field] = value;
        let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
        assert!(field_names(&p).contains(&field.to_string()), "{p}");
    }
    let body = br#"{"ids": [], "action": "set_priority", "fields": {"priority": "high"}, "dry_run": 18446744073709551616}"#;
    let res = send_raw(
        &w.app,
        Method::POST,
        "/api/v1/rfas/bulk",
        &s,
        Some("application/json"),
        body.to_vec(),
        None,
    )
    .await;
    assert_client_problem(res, "dry_run: 2^64").await;
    let res = send_raw(
        &w.app,
        Method::POST,
        &note_path(&rfa),
        &s,
        Some("application/json"),
        br#"{"text": 1e400}"#.to_vec(),
        Some(&rfa["version"]),
    )
    .await;
    assert_client_problem(res, "note: 1e400").await;
    // Integers in query parameters: limits, years, event cursors.
    for path in [
        "/api/v1/rfas?limit=18446744073709551616".to_string(),
        "/api/v1/rfas?limit=9223372036854775807".to_string(),
        "/api/v1/rfas?limit=-9223372036854775808".to_string(),
        "/api/v1/rfas?limit=1e400".to_string(),
        format!(
            "/api/v1/rfas/{}/events?limit=18446744073709551616",
            rfa["id"].as_str().unwrap()
        ),
        format!(
            "/api/v1/rfas/{}/events?cursor=18446744073709551616",
            rfa["id"].as_str().unwrap()
        ),
        "/api/v1/users?limit=18446744073709551616".to_string(),
    ] {
        let token = if path.starts_with("/api/v1/users") {
            &w.admin
        } else {
            &s
        };
        let res = w.app.get(&path, Some(token)).await;
        assert_client_problem(res, &path).await;
    }
    // Report years far outside what a calendar holds: refused, never a crash or a hang.
    for path in [
        "/api/v1/reports/annual?year=18446744073709551616",
        "/api/v1/reports/annual?year=2147483647",
        "/api/v1/reports/annual?year=-2147483648",
        "/api/v1/reports/cumulative?through=2147483647",
        "/api/v1/reports/cumulative?through=-2147483648",
        "/api/v1/reports/range?from=-262143-01-01&to=+262142-12-31",
        "/api/v1/reports/charts/annual.svg?from=-2147483648&to=2147483647",
        "/api/v1/reports/charts/annual.svg?from=1&to=1e400",
    ] {
        let res =
            tokio::time::timeout(Duration::from_secs(20), w.app.get(path, Some(&w.reporting)))
                .await
                .unwrap_or_else(|_| panic!("{path} did not answer within 20 s"));
        assert_client_problem(res, path).await;
    }

    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
}

async fn malformed_uuids_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    let (count, jcount) = (rfa_count(&w).await, jurisdiction_count(&w).await);
    let id = rfa["id"].as_str().unwrap();
    let bad_ids = [
        "not-a-uuid".to_string(),
        "0".to_string(),
        format!("{id}0"),
        id[..35].to_string(),
        id.replace('-', "_"),
        format!("{}g", &id[..35]),
        "%27%20OR%20%271%27%3D%271".to_string(),
        "..%2F..%2Fetc%2Fpasswd".to_string(),
        "%E2%80%AE".to_string(),
        "x".repeat(2_000),
    ];
    for bad in &bad_ids {
        for path in [
            format!("/api/v1/rfas/{bad}"),
            format!("/api/v1/rfas/{bad}/events"),
            format!("/api/v1/jurisdictions/{bad}"),
            format!("/api/v1/jurisdictions/{bad}/authorities"),
        ] {
            let token = if path.contains("jurisdictions") {
                &w.admin
            } else {
                &s
            };
            let res = w.app.get(&path, Some(token)).await;
            assert_problem(res, 404).await;
        }
        let res = w
            .app
            .client
            .post(w.app.url(&format!("/api/v1/rfas/{bad}/actions/add_note")))
            .bearer_auth(&s)
            .header("if-match", "\"1\"")
            .json(&json!({"text": "t"}))
            .send()
            .await
            .unwrap();
        assert_problem(res, 404).await;
        let res = w
            .app
            .post(
                &format!("/api/v1/jurisdictions/{bad}/authorities"),
                Some(&w.admin),
                &json!({"name": "Office", "kind": "prosecution"}),
            )
            .await;
        assert_problem(res, 404).await;
    }
    // In bodies: named as the wrong field.
    for bad in [
        "not-a-uuid",
        "",
        "00000000-0000-0000-0000-00000000000g",
        "{}",
    ] {
        for field in ["jurisdiction_id", "authority_id"] {
            let mut body = w.intake_body();
            body[field] = json!(bad);
            let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
            assert!(field_names(&p).contains(&field.to_string()), "{p}");
        }
        let res = w
            .act_raw(&s, &rfa, "assign", json!({"assignee_id": bad}))
            .await;
        assert_problem(res, 422).await;
        // Bulk triage reports each request on its own: a malformed id is one not found.
        let res = w
            .app
            .post(
                "/api/v1/rfas/bulk",
                Some(&s),
                &json!({"ids": [bad], "action": "set_priority", "fields": {"priority": "high"}}),
            )
            .await;
        assert_eq!(res.status(), 200);
        let result: Value = res.json().await.unwrap();
        assert_eq!(result["succeeded"], 0, "{result}");
        assert_eq!(result["items"][0]["status"], 404, "{result}");
        let res = w
            .app
            .post(
                "/api/v1/users",
                Some(&w.admin),
                &json!({"email": format!("{}@rfa.test", uuid::Uuid::now_v7().simple()),
                        "display_name": "U", "roles": ["liaison_officer"], "jurisdiction_ids": [bad]}),
            )
            .await;
        assert_problem(res, 422).await;
    }
    // Ids of the wrong type.
    let mut body = w.intake_body();
    body["jurisdiction_id"] = json!(12345);
    assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
    // In the queue's filters.
    for (name, value) in [
        ("jurisdiction_id", "nope"),
        ("assignee_id", "nope"),
        ("jurisdiction_id", ""),
    ] {
        let res = queue(&w, &[(name, value)]).await;
        assert_client_problem(res, &format!("{name}={value}")).await;
    }

    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
    assert_eq!(jurisdiction_count(&w).await, jcount);
}

async fn malformed_dates_and_times_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    let count = rfa_count(&w).await;
    for (field, value) in [
        ("received_at", json!("2026-02-30T09:30:00Z")),
        ("received_at", json!("2026-03-02T25:00:00Z")),
        ("received_at", json!("2026-03-02 09:30")),
        ("received_at", json!("2026-03-02T09:30:00")),
        ("received_at", json!("yesterday")),
        ("received_at", json!("")),
        ("received_at", json!("+10000-01-01T00:00:00Z")),
        ("received_at", json!("-5000-01-01T00:00:00Z")),
        ("received_at", json!("0000-06-01T00:00:00Z")),
        ("received_at", json!("0001-01-01T00:00:00+01:00")),
        ("received_at", json!("2026-03-02T09:30:00+99:00")),
        ("received_at", json!(1_772_443_800)),
    ] {
        let mut body = w.intake_body();
        body[field] = value.clone();
        let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
        assert!(field_names(&p).contains(&field.to_string()), "{value}: {p}");
    }
    for value in [
        "2012-13-01",
        "2012-02-30",
        "12/01/2012",
        "0000-00-00",
        "2012-01-01T00:00:00Z",
        "",
    ] {
        let mut body = w.intake_body();
        body["conduct"]["from"] = json!(value);
        let p = assert_problem(w.app.post("/api/v1/rfas", Some(&s), &body).await, 422).await;
        assert!(
            field_names(&p).iter().any(|f| f.starts_with("conduct")),
            "{value}: {p}"
        );
    }
    // Collected, so that one run names every date that gets through.
    let mut wrong = Vec::new();
    for (action, body) in [
        (
            "extend_deadline",
            json!({"due_on": "2099-02-29", "reason": "r"}),
        ),
        (
            "extend_deadline",
            json!({"due_on": "+262142-12-31", "reason": "r"}),
        ),
        ("extend_deadline", json!({"due_on": "soon", "reason": "r"})),
        (
            "record_assurance",
            json!({"reference": "R", "given_on": "2026-00-10"}),
        ),
        (
            "record_assurance",
            json!({"reference": "R", "given_on": "-262143-01-01"}),
        ),
    ] {
        let res = w.act_raw(&s, &rfa, action, body.clone()).await;
        refused(res, &format!("{action} {body}"), &mut wrong).await;
    }
    // Dates on the wire are YYYY-MM-DD: years with a sign or more than four digits (which
    // chrono would read) are not dates of this API, and are not stored.
    for (field, value) in [("to", "+262142-12-31"), ("from", "-0001-01-01")] {
        let mut body = w.intake_body();
        body["conduct"][field] = json!(value);
        let res = w.app.post("/api/v1/rfas", Some(&s), &body).await;
        refused(res, &format!("conduct.{field} {value}"), &mut wrong).await;
    }
    // Dates in the queue's filters, including ones at the very ends of the calendar.
    for (name, value) in [
        ("due_before", "2026-02-30"),
        ("due_before", "tomorrow"),
        ("received_from", "2026-1-1x"),
        ("received_to", "20260101"),
        ("received_to", "+262142-12-31"),
        ("received_from", "-262143-01-01"),
        ("due_before", "-262143-01-01"),
        ("due_before", "+262142-12-31"),
    ] {
        let res = queue(&w, &[(name, value)]).await;
        // A filter may accept a date the calendar holds; anything else is a 4xx problem.
        if res.status() != 200 {
            refused(res, &format!("queue {name}={value}"), &mut wrong).await;
        }
    }
    // Report parameters.
    for path in [
        "/api/v1/reports/annual?year=2026&as_of=yesterday",
        "/api/v1/reports/annual?year=2026&as_of=-5000-01-01T00:00:00Z",
        "/api/v1/reports/annual?year=2026&as_of=0000-06-01T00:00:00Z",
        "/api/v1/reports/annual?year=2026&as_of=2026-02-30T00:00:00Z",
        "/api/v1/reports/range?from=2026-02-30&to=2026-03-01",
        "/api/v1/reports/range?from=2026-03-01&to=2026-01-01",
        "/api/v1/reports/annual?year=twenty",
    ] {
        let res = w.app.get(path, Some(&w.reporting)).await;
        assert_client_problem(res, path).await;
    }

    assert!(wrong.is_empty(), "accepted: {wrong:#?}");
    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
}

/// Notes `what` in `wrong` unless the answer is a 4xx problem document.
async fn refused(res: reqwest::Response, what: &str, wrong: &mut Vec<String>) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !(400..500).contains(&status) || !ct.starts_with("application/problem+json") {
        let text = res.text().await.unwrap_or_default();
        wrong.push(format!("{what}: {status} {ct} {text:.200}"));
    }
}

async fn wrong_content_types_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    let (count, jcount) = (rfa_count(&w).await, jurisdiction_count(&w).await);
    let intake = serde_json::to_vec(&w.intake_body()).unwrap();
    let note = br#"{"text": "a note"}"#.to_vec();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/xml"),
        Some("application/jsonx"),
        Some("json"),
        Some(""),
    ] {
        let res = send_raw(
            &w.app,
            Method::POST,
            "/api/v1/rfas",
            &s,
            content_type,
            intake.clone(),
            None,
        )
        .await;
        assert_problem(res, 415).await;
        let res = send_raw(
            &w.app,
            Method::POST,
            &note_path(&rfa),
            &s,
            content_type,
            note.clone(),
            Some(&rfa["version"]),
        )
        .await;
        assert_problem(res, 415).await;
        let res = send_raw(
            &w.app,
            Method::PATCH,
            &rfa_path(&rfa),
            &s,
            content_type,
            br#"{"subject": "Changed"}"#.to_vec(),
            Some(&rfa["version"]),
        )
        .await;
        assert_problem(res, 415).await;
        let res = send_raw(
            &w.app,
            Method::POST,
            "/api/v1/jurisdictions",
            &w.admin,
            content_type,
            br#"{"name": "Typed wrongly", "country_code": "DE", "death_penalty_status": "abolished_all_crimes", "competence_bases": [{"basis": "territorial", "crimes": ["war_crimes"]}]}"#.to_vec(),
            None,
        )
        .await;
        assert_problem(res, 415).await;
    }

    assert_eq!(record(&w, &rfa).await, before);
    assert_eq!(rfa_count(&w).await, count);
    assert_eq!(jurisdiction_count(&w).await, jcount);
}

async fn wildcards_and_quotes_are_no_operators_in_a_search(backend: Backend) {
    let w = World::new(backend).await;
    let subjects_made = [
        "Rate 50% confirmed",
        "Rate 50x confirmed",
        "Rate 5 confirmed",
        "Rate 500 confirmed",
        "file_q detention",
        "fileXq detention",
        "fileq detention",
        "back\\slash detention",
        "backslash detention",
        "percent%%twice",
    ];
    for subject in subjects_made {
        intake_with_subject(&w, subject).await;
    }
    let expect = |v: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    // Words are letters and digits; `%`, `_`, `\` and quotes only separate them, and every
    // word of the search begins a word of the request.
    let fifty = [
        "Rate 50% confirmed",
        "Rate 50x confirmed",
        "Rate 500 confirmed",
    ];
    assert_eq!(search(&w, "50%").await, expect(&fifty));
    assert_eq!(search(&w, "50% c").await, expect(&fifty));
    assert_eq!(search(&w, "50_").await, expect(&fifty));
    // `%` is no wildcard: `50%x` is the words `50` and `x`, and "50x" is one word.
    assert!(search(&w, "50%x").await.is_empty());
    assert_eq!(search(&w, "file_q").await, expect(&["file_q detention"]));
    assert_eq!(search(&w, "FILE_Q").await, expect(&["file_q detention"]));
    assert_eq!(
        search(&w, "back\\slash").await,
        expect(&["back\\slash detention"])
    );
    assert_eq!(search(&w, "percent%%").await, expect(&["percent%%twice"]));
    // Nothing but wildcards and punctuation is no search, and is refused as such.
    for text in ["%", "%%", "_", "\\", "\\%", "\\_", "' -- '"] {
        let res = queue(&w, &[("q", text)]).await;
        let p = assert_problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], "q", "{text:?}: {p}");
    }
    // SQL-looking text is only text.
    assert!(search(&w, "' OR '1'='1").await.is_empty());
    assert!(search(&w, "%' OR 1=1 --").await.is_empty());
}

async fn limits_out_of_range_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let events = format!("/api/v1/rfas/{}/events", rfa["id"].as_str().unwrap());
    let bad = [
        "-1",
        "0",
        "201",
        "1000000",
        "99999999999999999999",
        "abc",
        "",
        "1.5",
        "%2B5x",
        "0x10",
        "%201",
        "NaN",
        "%00",
    ];
    for value in bad {
        for (path, token) in [
            ("/api/v1/rfas", &s),
            (events.as_str(), &s),
            ("/api/v1/users", &w.admin),
            ("/api/v1/jurisdictions", &w.admin),
        ] {
            let url = format!("{path}?limit={value}");
            let res = w.app.get(&url, Some(token)).await;
            assert_client_problem(res, &url).await;
        }
    }
    // Repeated: refused rather than silently taking one.
    assert_client_problem(
        w.app.get("/api/v1/rfas?limit=1&limit=500", Some(&s)).await,
        "limit twice",
    )
    .await;
    // The bounds themselves are fine.
    for value in ["1", "200"] {
        for (path, token) in [
            ("/api/v1/rfas", &s),
            (events.as_str(), &s),
            ("/api/v1/users", &w.admin),
            ("/api/v1/jurisdictions", &w.admin),
        ] {
            let url = format!("{path}?limit={value}");
            let res = w.app.get(&url, Some(token)).await;
            assert_eq!(res.status(), 200, "{url}");
            let page: Value = res.json().await.unwrap();
            assert!(page["items"].as_array().unwrap().len() <= 200);
        }
    }
}

async fn forged_and_tampered_cursors_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    for _ in 0..3 {
        w.intake().await;
    }
    let rfa = w.intake().await;
    let before = record(&w, &rfa).await;
    // Collected, so that one run names every cursor that gets through.
    let mut wrong = Vec::new();
    // A real cursor for each sort order.
    let mut real = Vec::new();
    for sort in ["due_at", "received_at", "priority", "updated_at"] {
        let res = queue(&w, &[("limit", "1"), ("sort", sort)]).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        let cursor = page["next_cursor"].as_str().unwrap().to_string();
        // It works as issued.
        let res = queue(&w, &[("limit", "1"), ("sort", sort), ("cursor", &cursor)]).await;
        assert_eq!(res.status(), 200);
        real.push((sort, cursor));
    }
    let forge = |v: Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap());
    let some_id = rfa["id"].as_str().unwrap();
    for (sort, cursor) in &real {
        let decoded: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
        let mut tampered_v = decoded.clone();
        tampered_v["v"] = json!("not a value");
        let mut tampered_id = decoded.clone();
        tampered_id["id"] = json!("'; DROP TABLE rfas; --");
        let mut tampered_sort = decoded.clone();
        tampered_sort["s"] = json!("colour");
        let mut extreme_low = decoded.clone();
        let mut extreme_high = decoded.clone();
        match *sort {
            "due_at" => {
                extreme_low["v"] = json!("-262143-01-01");
                extreme_high["v"] = json!("+262142-12-31");
            }
            "priority" => {
                extreme_low["v"] = json!("-99999999999999999999");
                extreme_high["v"] = json!("99999999999999999999");
            }
            _ => {
                extreme_low["v"] = json!("-262143-01-01T00:00:00");
                extreme_high["v"] = json!("+262142-12-31T23:59:59.999999999");
            }
        }
        let mut flipped = cursor.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let garbage = [
            "forged".to_string(),
            "=".to_string(),
            "!!!!".to_string(),
            format!("{cursor}x"),
            cursor[..cursor.len() / 2].to_string(),
            String::from_utf8(flipped).unwrap(),
            URL_SAFE_NO_PAD.encode("null"),
            URL_SAFE_NO_PAD.encode("[]"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00]),
            forge(json!({"s": sort, "d": false, "v": decoded["v"]})),
            forge(tampered_v),
            forge(tampered_id),
            forge(tampered_sort),
            "A".repeat(20_000),
        ];
        for forged in &garbage {
            let res = queue(&w, &[("limit", "1"), ("sort", sort), ("cursor", forged)]).await;
            let status = res.status().as_u16();
            // A flipped bit may still decode to a cursor that positions a page: harmless.
            if status == 200 && forged.len() == cursor.len() {
                continue;
            }
            assert_client_problem(res, &format!("sort {sort}, cursor {forged:.60}")).await;
        }
        // Well-formed cursors at the ends of the calendar (or beyond any rank): a page or
        // a 4xx, never a database error.
        for extreme in [extreme_low, extreme_high] {
            let forged = forge(extreme.clone());
            let res = queue(&w, &[("limit", "1"), ("sort", sort), ("cursor", &forged)]).await;
            if res.status() != 200 {
                refused(res, &format!("sort {sort}, cursor {extreme}"), &mut wrong).await;
            }
        }
        // A cursor naming an id that does not exist still pages (it is only a position).
        let mut other = decoded.clone();
        other["id"] = json!(some_id);
        let res = queue(
            &w,
            &[("limit", "1"), ("sort", sort), ("cursor", &forge(other))],
        )
        .await;
        assert_eq!(res.status(), 200);
    }
    // Events and plain lists.
    let events = format!("/api/v1/rfas/{}/events", rfa["id"].as_str().unwrap());
    for cursor in ["-1", "abc", "9223372036854775808", "1.5", "%00", "1e3"] {
        let url = format!("{events}?cursor={cursor}");
        assert_client_problem(w.app.get(&url, Some(&s)).await, &url).await;
    }
    for cursor in [
        "forged".to_string(),
        URL_SAFE_NO_PAD.encode("not-a-uuid"),
        URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
        "%00".to_string(),
    ] {
        for path in ["/api/v1/users", "/api/v1/jurisdictions"] {
            let url = format!("{path}?cursor={cursor}");
            assert_client_problem(w.app.get(&url, Some(&w.admin)).await, &url).await;
        }
    }
    assert!(wrong.is_empty(), "not refused: {wrong:#?}");
    assert_eq!(record(&w, &rfa).await, before);
}

// ---------------------------------------------------------------------------------------
// Slow clients and connection limits, over raw TCP

struct RawAnswer {
    status: u16,
    head: String,
    text: String,
}

impl RawAnswer {
    fn content_type(&self) -> String {
        self.head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_string())
            })
            .unwrap_or_default()
    }
}

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Sends a whole request (which should say `Connection: close`) and reads the answer to
/// the end.
fn raw_exchange(app: &TestApp, request: &[u8]) -> RawAnswer {
    let mut stream = TcpStream::connect(address(app)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // The server may answer (and close) before reading everything; that is fine.
    let _ = stream.write_all(request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    RawAnswer {
        status,
        head: head.to_string(),
        text: body.to_string(),
    }
}

/// Reads until the server closes the connection (or `limit` passes); returns what was read
/// and how long it took, or None if it was still open at the limit.
fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> Option<(Vec<u8>, Duration)> {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return Some((got, started.elapsed())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some((got, started.elapsed())),
        }
    }
    None
}

/// Whatever the server said before closing is at most a 408 (never a served request).
fn assert_cut_off(what: &str, got: &[u8]) {
    let text = String::from_utf8_lossy(got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408") || text.starts_with("HTTP/1.0 408"),
        "{what}: {text}"
    );
}

async fn slow_clients_are_cut_off_while_others_are_served(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[("server.client_request_timeout_ms", json!(2000))],
    )
    .await;
    let addr = address(&app);
    // Twenty clients that connect and say nothing, twenty that stop half-way through the
    // request line or headers, and one that drips a byte at a time.
    let silent: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let partial: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut c = TcpStream::connect(&addr).unwrap();
            let part: &[u8] = if i % 2 == 0 {
                b"GET /health/li"
            } else {
                b"GET /health/live HTTP/1.1\r\nHost: test\r\nX-Slow: "
            };
            c.write_all(part).unwrap();
            c
        })
        .collect();
    let drip_addr = addr.clone();
    let drip = std::thread::spawn(move || {
        let mut c = TcpStream::connect(drip_addr).unwrap();
        let request = format!(
            "GET /health/live HTTP/1.1\r\nHost: test\r\nX-Padding: {}\r\n\r\n",
            "p".repeat(200)
        );
        let started = Instant::now();
        for b in request.as_bytes() {
            if c.write_all(&[*b]).is_err() {
                // The server closed the connection under it: cut off.
                return (true, started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
            if started.elapsed() > Duration::from_secs(15) {
                break;
            }
        }
        // Written in full: was it served, or cut off meanwhile?
        let cut = wait_for_close(&mut c, Duration::from_secs(5))
            .is_some_and(|(got, _)| !String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
        (cut, started.elapsed())
    });
    let started = Instant::now();
    // Meanwhile others are served, each long before the slow ones are cut off (a bound
    // this loose so a busy machine does not fail it; a server stuck on the slow clients
    // would answer only after the 2 s cut-off).
    for _ in 0..10 {
        let t = Instant::now();
        let res = app.get("/health/live", None).await;
        assert_eq!(res.status(), 200);
        assert!(
            t.elapsed() < Duration::from_millis(1500),
            "{:?}",
            t.elapsed()
        );
    }
    let checks = tokio::task::spawn_blocking(move || {
        let mut results = Vec::new();
        for (i, mut c) in silent.into_iter().chain(partial).enumerate() {
            let closed = wait_for_close(&mut c, Duration::from_secs(10));
            results.push((i, closed, started.elapsed()));
        }
        results
    })
    .await
    .unwrap();
    for (i, closed, _) in &checks {
        let Some((got, _)) = closed else {
            panic!("slow client {i} was not cut off within 10 s")
        };
        assert_cut_off(&format!("slow client {i}"), got);
    }
    // Cut off near the configured time, not long after.
    let last = checks.iter().map(|(_, _, at)| *at).max().unwrap();
    assert!(
        last < Duration::from_secs(8),
        "slow clients were cut off only after {last:?}"
    );
    let (cut, after) = drip.join().unwrap();
    assert!(
        cut,
        "a client dripping its headers was served after {after:?}"
    );
    assert!(
        after < Duration::from_secs(8),
        "drip cut off after {after:?}"
    );
    assert_eq!(app.get("/health/live", None).await.status(), 200);
}

async fn idle_keep_alive_connections_are_closed(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("server.keep_alive_secs", json!(1))]).await;
    let mut c = TcpStream::connect(address(&app)).unwrap();
    c.write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let (got, _) = wait_for_close(&mut c, Duration::from_secs(10))
        .expect("an idle kept-alive connection is closed");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        started.elapsed() >= Duration::from_millis(900)
            && started.elapsed() < Duration::from_secs(5),
        "closed after {:?}",
        started.elapsed()
    );
}

async fn a_full_worker_serves_the_next_client_once_a_slow_one_is_cut_off(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("server.workers", json!(1)),
            ("server.max_connections_per_worker", json!(1)),
            ("server.client_request_timeout_ms", json!(1500)),
        ],
    )
    .await;
    let addr = address(&app);
    // Served while the worker is free.
    let answer = raw_exchange(
        &app,
        b"GET /health/live HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(answer.status, 200);
    std::thread::sleep(Duration::from_millis(200));
    // A slow client takes the only connection slot.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /health/live HTTP/1.1\r\nHost: te")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            c.write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut raw = Vec::new();
            let _ = c.read_to_end(&mut raw);
            (String::from_utf8_lossy(&raw).to_string(), started.elapsed())
        }
    })
    .await
    .unwrap();
    let (text, waited) = answer;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // It waited for the slot (the limit holds) but only until the slow one was cut off.
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(6),
        "the second client waited {waited:?}"
    );
    let closed = wait_for_close(&mut slow, Duration::from_secs(5));
    let (got, _) = closed.expect("the slow client was cut off");
    assert_cut_off("slow client", &got);
}

async fn a_client_sending_its_body_slowly_is_cut_off(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[("server.client_request_timeout_ms", json!(1000))],
    )
    .await;
    let token = app.admin_token().await;
    // Complete headers, then a body that stops after a few bytes of the announced 200.
    let mut c = TcpStream::connect(address(&app)).unwrap();
    c.write_all(
        format!(
            "POST /api/v1/jurisdictions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"name\": \"Sl"
        )
        .as_bytes(),
    )
    .unwrap();
    let closed =
        tokio::task::spawn_blocking(move || wait_for_close(&mut c, Duration::from_secs(8)))
            .await
            .unwrap();
    let Some((got, after)) = closed else {
        panic!("a client that stopped sending its body was still connected after 8 s")
    };
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408") || text.starts_with("HTTP/1.1 400"),
        "{text}"
    );
    assert!(after < Duration::from_secs(5), "cut off after {after:?}");
    assert_eq!(app.get("/health/live", None).await.status(), 200);
}
