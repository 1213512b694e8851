//! Sessions, forged forms, escaping and headers, over plain HTTP (no browser needed).

use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, token_of};
use crate::screens::{Desk, PASSWORD, XSS};

both_backends!(
    browser_sessions_start_end_and_refuse_forged_forms,
    pages_keep_to_their_reach_and_escape_what_people_typed,
    a_stale_form_says_the_case_changed_and_keeps_the_text,
    one_intake_form_sent_twice_logs_one_request,
    a_generated_password_must_be_changed_before_anything_else,
    bulk_triage_previews_then_changes_and_reports_each_case,
    the_list_counts_pages_back_and_downloads_for_supervisors,
    every_screen_answers_each_role_as_the_policy_says,
    intake_corrections_until_acceptance_record_what_changed,
    documents_are_added_downloaded_and_withdrawn_on_the_case_page,
    a_case_says_why_it_cannot_be_accepted_yet,
    an_empty_intake_form_names_every_missing_field_at_once,
    the_closed_tab_reads_newest_first_without_bulk_triage,
    deadline_dates_are_written_as_people_write_them,
    figures_of_a_period_not_begun_or_not_over_say_so,
);

/// The value of a cookie an answer sets.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (pair, attributes) = v.split_once(';').unwrap_or((v, ""));
        let (n, value) = pair.split_once('=')?;
        (n == name).then(|| (value.to_string(), attributes.to_string()))
    })
}

/// A hidden field's value in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Signs in through the form, as a browser would; returns the session cookie's value.
pub async fn sign_in(desk: &Desk, email: &str) -> String {
    sign_in_with(desk, email, PASSWORD).await
}

pub async fn sign_in_with(desk: &Desk, email: &str, password: &str) -> String {
    let app = &desk.app;
    let form = app.get("/sign-in", None).await;
    let (form_cookie, _) = set_cookie(&form, "rfa_form").expect("form cookie");
    let html = form.text().await.unwrap();
    let res = app
        .client
        .post(app.url("/sign-in"))
        .header(COOKIE, format!("rfa_form={form_cookie}"))
        .header("origin", "http://127.0.0.1:8080")
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/"),
            ("form_token", &hidden(&html, "form_token")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "sign-in of {email}");
    let (session, attributes) = set_cookie(&res, "rfa_session").expect("session cookie");
    assert!(attributes.contains("HttpOnly"), "{attributes}");
    assert!(attributes.contains("SameSite=Lax"), "{attributes}");
    session
}

async fn page(desk: &Desk, path: &str, session: &str) -> reqwest::Response {
    desk.app
        .client
        .get(desk.app.url(path))
        .header(COOKIE, format!("rfa_session={session}"))
        .send()
        .await
        .unwrap()
}

/// A page's HTML, as the session sees it.
async fn page_html(desk: &Desk, path: &str, session: &str) -> String {
    page(desk, path, session).await.text().await.unwrap()
}

/// A form sent from our own pages (same origin) with the session's cookie.
async fn post_form(
    desk: &Desk,
    path: &str,
    session: &str,
    fields: &[(&str, String)],
) -> reqwest::Response {
    desk.app
        .client
        .post(desk.app.url(path))
        .header(COOKIE, format!("rfa_session={session}"))
        .header("sec-fetch-site", "same-origin")
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// A JSON answer of the API, as `token` sees it.
async fn api_json(desk: &Desk, path: &str, token: &str) -> serde_json::Value {
    desk.app.get(path, Some(token)).await.json().await.unwrap()
}

async fn browser_sessions_start_end_and_refuse_forged_forms(backend: Backend) {
    let desk = Desk::new(backend).await;
    let app = &desk.app;
    // Pages have their own content security policy; the API keeps its closed one.
    let signin = app.get("/sign-in", None).await;
    let csp = signin.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let api = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(
        api.headers()[CONTENT_SECURITY_POLICY],
        "default-src 'none'; frame-ancestors 'none'"
    );
    // Without a session, a page sends you to sign in, and back.
    let res = app.get("/?tab=closed", None).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/sign-in?next=%2F%3Ftab%3Dclosed");
    // A sign-in form that did not come from our page is refused, and signs nobody in.
    let forged = app
        .client
        .post(app.url("/sign-in"))
        .header("origin", "http://127.0.0.1:8080")
        .form(&[
            ("email", desk.supervisor_email.as_str()),
            ("password", PASSWORD),
            ("form_token", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(set_cookie(&forged, "rfa_session").is_none());

    let session = sign_in(&desk, &desk.supervisor_email).await;
    let list = page(&desk, "/", &session).await;
    assert_eq!(list.status(), 200);
    let html = list.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    // Sign-out without the form's token, or from another site, changes nothing.
    let post = |csrf: String, site: &'static str| {
        let (app, session) = (&desk.app, session.clone());
        async move {
            app.client
                .post(app.url("/sign-out"))
                .header(COOKIE, format!("rfa_session={session}"))
                .header("sec-fetch-site", site)
                .form(&[("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    let res = post("not the token".into(), "same-origin").await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Nothing was changed"));
    assert_eq!(post(csrf.clone(), "cross-site").await.status(), 403);
    assert_eq!(
        page(&desk, "/", &session).await.status(),
        200,
        "still signed in"
    );
    // The real sign-out ends the session at once.
    let out = post(csrf, "same-origin").await;
    assert_eq!(out.status(), 303);
    assert_eq!(page(&desk, "/", &session).await.status(), 303);

    // Deactivating a user ends their browser session too.
    let session = sign_in(&desk, &desk.liaison_email).await;
    assert_eq!(page(&desk, "/", &session).await.status(), 200);
    let admin = token_of(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let users: serde_json::Value = app
        .get("/api/v1/users?limit=200", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == desk.liaison_email.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .patch_current(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(page(&desk, "/", &session).await.status(), 303);
}

async fn pages_keep_to_their_reach_and_escape_what_people_typed(backend: Backend) {
    let desk = Desk::new(backend).await;
    let supervisor = sign_in(&desk, &desk.supervisor_email).await;
    let html = page_html(&desk, "/", &supervisor).await;
    // Escaped (askama writes `<` as `&#60;`), never as markup.
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    // The only script element is our own file's.
    assert!(!html.contains(XSS), "{html}");
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(
        html.contains("<script src=\"/static/app.js\" defer></script>"),
        "{html}"
    );
    // A liaison officer of another jurisdiction learns nothing of the case.
    let outsider = sign_in(&desk, &desk.outsider_email).await;
    let id = desk.rfa["id"].as_str().unwrap();
    let res = page(&desk, &format!("/cases/{id}"), &outsider).await;
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let theirs = page_html(&desk, "/", &outsider).await;
    assert!(!theirs.contains("Detention facility records"), "{theirs}");
    // A path the screens do not have is a page too; one outside them stays the API's.
    let res = page(&desk, "/cases/not-a-case", &supervisor).await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
    let res = desk.app.get("/nothing-here", None).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // …unless a browser asks for a page there (a mistyped address): then it is a page.
    for path in ["/nothing-here", "/users", "/login"] {
        let res = desk
            .app
            .client
            .get(desk.app.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(
            res.text().await.unwrap().contains("Page not found"),
            "{path}"
        );
    }
    // Under /api/ a browser gets the problem document all the same.
    let res = desk
        .app
        .client
        .get(desk.app.url("/api/v1/nothing-here"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

async fn a_case_says_why_it_cannot_be_accepted_yet(backend: Backend) {
    let desk = Desk::new(backend).await;
    let id = desk.rfa["id"].as_str().unwrap();
    let token = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let rfa = api_json(&desk, &format!("/api/v1/rfas/{id}"), &token).await;
    acted(&desk, &token, &rfa, "start_review", json!({})).await;
    // In review, unassigned: the button is not there, and the page says why.
    let supervisor = sign_in(&desk, &desk.supervisor_email).await;
    let case = page_html(&desk, &format!("/cases/{id}"), &supervisor).await;
    assert!(
        !case.contains(&format!("href=\"/cases/{id}/actions/accept\"")),
        "{case}"
    );
    assert!(
        case.contains("Accept is not possible yet: assign it to someone first."),
        "{case}"
    );
    // The confirmation page, opened anyway, gives the same reason and leads back.
    let res = page(&desk, &format!("/cases/{id}/actions/accept"), &supervisor).await;
    assert_eq!(res.status(), 409);
    let refusal = res.text().await.unwrap();
    assert!(
        refusal.contains("Accept is not possible yet: assign it to someone first."),
        "{refusal}"
    );
    assert!(
        refusal.contains(&format!("<a href=\"/cases/{id}\">Back to the case</a>")),
        "{refusal}"
    );
    // Once it is assigned (and eligible), the note gives way to the button.
    let rfa = assigned_through_the_api(&desk, &token, id).await;
    assert_eq!(
        rfa["allowed_actions"]
            .as_array()
            .map(|a| a.iter().any(|x| x == "accept")),
        Some(true)
    );
    let case = page_html(&desk, &format!("/cases/{id}"), &supervisor).await;
    assert!(
        case.contains(&format!("href=\"/cases/{id}/actions/accept\"")),
        "{case}"
    );
    assert!(!case.contains("Accept is not possible yet"), "{case}");
    // A liaison officer, who may not accept at all, is told nothing about it.
    let liaison = sign_in(&desk, &desk.liaison_email).await;
    let theirs = page_html(&desk, &format!("/cases/{id}"), &liaison).await;
    assert!(!theirs.contains("Accept is not possible yet"), "{theirs}");

    // Conduct with no last day, before the mandate: not eligible, and the reason says
    // how the missing day was read. Overridden, the badge says so.
    let old = logged(
        &desk,
        &token,
        "Conduct from 2005",
        "2026-03-02",
        json!({"country_code": "SY", "from": "2005-01-01"}),
    )
    .await;
    let old_id = old["id"].as_str().unwrap();
    let case = page_html(&desk, &format!("/cases/{old_id}"), &supervisor).await;
    assert!(case.contains(">Not eligible</span>"), "{case}");
    assert!(
        case.contains("was on 2005-01-01 (no last day was given)"),
        "{case}"
    );
    let justification = "The conduct continued after 2011, as the letter says.";
    acted(
        &desk,
        &token,
        &old,
        "override_eligibility",
        json!({"justification": justification}),
    )
    .await;
    let case = page_html(&desk, &format!("/cases/{old_id}"), &supervisor).await;
    assert!(case.contains(">Not eligible, overridden</span>"), "{case}");
}

/// Assigns the (reviewed) case to the supervisor through the API; returns its view.
async fn assigned_through_the_api(desk: &Desk, token: &str, id: &str) -> serde_json::Value {
    let supervisor_id = person_id(desk, token, "Samira Haddad").await;
    let rfa = api_json(desk, &format!("/api/v1/rfas/{id}"), token).await;
    acted(
        desk,
        token,
        &rfa,
        "assign",
        json!({"assignee_id": supervisor_id}),
    )
    .await
}

/// Takes `action` on `rfa` (its view as last read) through the API; returns the new view.
async fn acted(
    desk: &Desk,
    token: &str,
    rfa: &serde_json::Value,
    action: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let id = rfa["id"].as_str().unwrap();
    let res = desk
        .app
        .client
        .post(desk.app.url(&format!("/api/v1/rfas/{id}/actions/{action}")))
        .bearer_auth(token)
        .header("if-match", format!("\"{}\"", rfa["version"]))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{action}");
    res.json().await.unwrap()
}

/// Logs a request in the desk's jurisdiction through the API; returns its view.
async fn logged(
    desk: &Desk,
    token: &str,
    subject: &str,
    received_on: &str,
    conduct: serde_json::Value,
) -> serde_json::Value {
    let intake = json!({"jurisdiction_id": desk.rfa["jurisdiction_id"],
        "authority_id": desk.rfa["authority_id"],
        "received_at": format!("{received_on}T09:30:00Z"), "channel": "email",
        "subject": subject, "description": "d", "requester": {"name": "R"},
        "assistance_types": ["information_and_evidence"], "proceeding_type": "prosecution",
        "crimes": ["torture"], "conduct": conduct,
        "priority": "routine", "confidentiality": "confidential", "tags": []});
    let res = desk.app.post("/api/v1/rfas", Some(token), &intake).await;
    assert_eq!(res.status(), 201, "{subject}");
    res.json().await.unwrap()
}

/// The timeline's "New due date" and the refusal of an earlier one say "1 January 2099", as
/// every other date on the screens does, not "2099-01-01".
async fn deadline_dates_are_written_as_people_write_them(backend: Backend) {
    let desk = Desk::new(backend).await;
    let token = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let id = desk.rfa["id"].as_str().unwrap();
    let rfa = api_json(&desk, &format!("/api/v1/rfas/{id}"), &token).await;
    let body = json!({"due_on": "2099-01-01", "reason": "Awaiting the translation."});
    acted(&desk, &token, &rfa, "extend_deadline", body).await;
    let session = sign_in(&desk, &desk.supervisor_email).await;
    let case = page_html(&desk, &format!("/cases/{id}"), &session).await;
    assert!(case.contains("New due date: 1 January 2099"), "{case}");
    assert!(!case.contains("New due date: 2099"), "{case}");
    // An earlier day is refused, naming the current due date in words.
    let path = format!("/cases/{id}/actions/extend_deadline");
    let form = page_html(&desk, &path, &session).await;
    let fields = [
        ("csrf", hidden(&form, "csrf")),
        ("version", hidden(&form, "version")),
        ("due_on", "2098-06-01".to_string()),
        ("reason", "Sooner after all.".to_string()),
    ];
    let res = post_form(&desk, &path, &session, &fields).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("must be after the current due date, 1 January 2099"),
        "{html}"
    );
}

/// An empty future year, or a year still running, is not read as the mechanism's result.
async fn figures_of_a_period_not_begun_or_not_over_say_so(backend: Backend) {
    let desk = Desk::new(backend).await;
    let session = sign_in(&desk, &desk.supervisor_email).await;
    let future = page_html(&desk, "/reports?kind=annual&year=2099", &session).await;
    assert!(
        future.contains("This period begins on 1 January 2099, after the moment of these figures"),
        "{future}"
    );
    let running = page_html(
        &desk,
        "/reports?kind=range&from=2000-01-01&to=2049-12-31",
        &session,
    )
    .await;
    assert!(running.contains("This period is not over"), "{running}");
    let past = page_html(&desk, "/reports?kind=annual&year=2020", &session).await;
    assert!(past.contains("The figures"), "{past}");
    assert!(!past.contains("id=\"unfinished\""), "{past}");
}

async fn a_stale_form_says_the_case_changed_and_keeps_the_text(backend: Backend) {
    let desk = Desk::new(backend).await;
    let session = sign_in(&desk, &desk.supervisor_email).await;
    let id = desk.rfa["id"].as_str().unwrap();
    let form = page(&desk, &format!("/cases/{id}/actions/add_note"), &session).await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    let (csrf, version) = (hidden(&html, "csrf"), hidden(&html, "version"));
    let path = format!("/cases/{id}/actions/add_note");
    let post = |fields: Vec<(&'static str, String)>| {
        let (path, session) = (path.clone(), session.clone());
        let desk = &desk;
        async move { post_form(desk, &path, &session, &fields).await }
    };
    // Without the form's token nothing happens.
    let res = post(vec![("text", "n".into()), ("version", version.clone())]).await;
    assert_eq!(res.status(), 403);
    // Someone else changes the case meanwhile (through the API).
    let supervisor = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let res = desk
        .app
        .client
        .post(desk.app.url(&format!("/api/v1/rfas/{id}/actions/add_note")))
        .bearer_auth(&supervisor)
        .header("if-match", format!("\"{version}\""))
        .json(&json!({"text": "First"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let typed = "My long note that must not be lost";
    let res = post(vec![
        ("csrf", csrf.clone()),
        ("version", version.clone()),
        ("text", typed.into()),
    ])
    .await;
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("This case changed since you opened it"),
        "{html}"
    );
    assert!(html.contains(typed), "{html}");
    // The form now carries the current version: sending it again works.
    let current = hidden(&html, "version");
    assert_ne!(current, version);
    let res = post(vec![
        ("csrf", csrf),
        ("version", current),
        ("text", typed.into()),
    ])
    .await;
    assert_eq!(res.status(), 303);
    let events = api_json(&desk, &format!("/api/v1/rfas/{id}/events"), &supervisor).await;
    let notes: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "add_note")
        .map(|e| e["details"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        ["First", typed],
        "one note each, none lost or doubled"
    );
}

/// The intake form of the desk's jurisdiction, opened: its CSRF and one-time intake tokens.
async fn opened_intake_form(desk: &Desk, session: &str) -> (String, String) {
    let jurisdiction = desk.rfa["jurisdiction_id"].as_str().unwrap();
    let path = format!("/cases/new?jurisdiction={jurisdiction}");
    let html = page_html(desk, &path, session).await;
    (hidden(&html, "csrf"), hidden(&html, "intake_token"))
}

async fn an_empty_intake_form_names_every_missing_field_at_once(backend: Backend) {
    let desk = Desk::new(backend).await;
    let session = sign_in(&desk, &desk.liaison_email).await;
    let jurisdiction = desk.rfa["jurisdiction_id"].as_str().unwrap();
    let (csrf, token) = opened_intake_form(&desk, &session).await;
    let fields = vec![
        ("csrf", csrf),
        ("jurisdiction_id", jurisdiction.to_string()),
        ("intake_token", token),
        ("conduct_country", "SY".to_string()),
        ("tags", "Folter, bad tag!, also bad!".into()),
    ];
    let res = post_form(&desk, "/cases/new", &session, &fields).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    let summary = html
        .split("class=\"error-summary\"")
        .nth(1)
        .and_then(|s| s.split("</div>").next())
        .unwrap_or_else(|| panic!("an error summary in {html}"));
    // What the form reads itself and what the service checks, in one round, top to bottom.
    let expected = [
        "Choose the requesting authority",
        "Enter the day of receipt",
        "Subject",
        "Description",
        "Requester",
        "Assistance",
        "Crimes",
        "Enter the day the conduct began",
        "Tags",
    ];
    let mut at = 0;
    for e in expected {
        let found = summary[at..]
            .find(e)
            .unwrap_or_else(|| panic!("{e} after position {at} in {summary}"));
        at += found + e.len();
    }
    // Two bad tags are one line; a capital letter is not an error.
    assert_eq!(summary.matches("Tags must").count(), 1, "{summary}");
    assert!(!summary.contains("Conduct until"), "{summary}");
    // Nothing was logged: the desk's two requests are all there is.
    let supervisor = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let list = api_json(&desk, "/api/v1/rfas", &supervisor).await;
    let subjects: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["subject"].as_str())
        .collect();
    assert_eq!(subjects.len(), 2, "{list}");
    assert!(subjects.iter().all(|s| s.contains("Detention")), "{list}");
}

async fn one_intake_form_sent_twice_logs_one_request(backend: Backend) {
    let desk = Desk::new(backend).await;
    let session = sign_in(&desk, &desk.liaison_email).await;
    let jurisdiction = desk.rfa["jurisdiction_id"].as_str().unwrap();
    let (csrf, token) = opened_intake_form(&desk, &session).await;
    let fields = vec![
        ("csrf", csrf),
        ("jurisdiction_id", jurisdiction.to_string()),
        ("intake_token", token),
        (
            "authority_id",
            desk.rfa["authority_id"].as_str().unwrap().to_string(),
        ),
        ("received_on", "2026-03-04".to_string()),
        ("channel", "email".into()),
        ("subject", "Sent twice".into()),
        ("description", "A double click.".into()),
        ("requester_name", "Dr. C".into()),
        ("assistance_types", "information_and_evidence".into()),
        ("assistance_types", "analytical_product".into()),
        ("proceeding_type", "investigation".into()),
        ("crimes", "torture".into()),
        ("conduct_country", "SY".into()),
        ("conduct_from", "2013-01-01".into()),
        ("priority", "urgent".into()),
        ("confidentiality", "confidential".into()),
    ];
    let send = || post_form(&desk, "/cases/new", &session, &fields);
    let first = send().await;
    assert_eq!(first.status(), 303);
    let second = send().await;
    assert_eq!(second.status(), 303);
    assert_eq!(
        first.headers()[LOCATION],
        second.headers()[LOCATION],
        "the same request"
    );
    let supervisor = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let list = api_json(&desk, "/api/v1/rfas?q=Sent%20twice", &supervisor).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    // Both assistance types came through, and the day of receipt is that day.
    let id = items[0]["id"].as_str().unwrap();
    let rfa = api_json(&desk, &format!("/api/v1/rfas/{id}"), &supervisor).await;
    assert_eq!(
        rfa["assistance_types"],
        json!(["information_and_evidence", "analytical_product"])
    );
    assert_eq!(rfa["due"]["received_on"], "2026-03-04");
    assert_eq!(rfa["priority"], "urgent");
}

async fn a_generated_password_must_be_changed_before_anything_else(backend: Backend) {
    let desk = Desk::new(backend).await;
    let admin = desk.app.admin_token().await;
    let email = format!("{}@rfa.test", uuid::Uuid::now_v7().simple());
    let created: serde_json::Value = desk
        .app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": email, "display_name": "Nadia Karim", "roles": ["supervisor"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let initial = created["initial_password"].as_str().unwrap().to_string();
    let session = sign_in_with(&desk, &email, &initial).await;
    // Every screen but the password page sends the user there first.
    for path in [
        "/",
        "/cases/new",
        &format!("/cases/{}", desk.rfa["id"].as_str().unwrap()),
    ] {
        let res = page(&desk, path, &session).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()[LOCATION], "/account/password", "{path}");
    }
    let form = page(&desk, "/account/password", &session).await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("Choose your own before you go on"), "{html}");
    let csrf = hidden(&html, "csrf");
    // Two different new passwords: refused, with the field named, and nothing changed.
    let res = post_form(
        &desk,
        "/account/password",
        &session,
        &[
            ("csrf", csrf.clone()),
            ("current_password", initial.clone()),
            ("new_password", "my very own passphrase".into()),
            ("confirm_password", "my very own passphrase!".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("href=\"#confirm_password\""), "{html}");
    assert!(
        html.contains("The two new passwords are not the same."),
        "{html}"
    );
    // A short one: the service's rule, in words.
    let res = post_form(
        &desk,
        "/account/password",
        &session,
        &[
            ("csrf", csrf.clone()),
            ("current_password", initial.clone()),
            ("new_password", "short".into()),
            ("confirm_password", "short".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The new password must be at least 12 characters.")
    );
    assert_eq!(page(&desk, "/", &session).await.status(), 303);
    let res = post_form(
        &desk,
        "/account/password",
        &session,
        &[
            ("csrf", csrf),
            ("current_password", initial.clone()),
            ("new_password", "my very own passphrase".into()),
            ("confirm_password", "my very own passphrase".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/account/password?done=1");
    let done = page_html(&desk, "/account/password?done=1", &session).await;
    assert!(done.contains("Your password was changed"), "{done}");
    // The same session goes on to the cases; the old password no longer signs in.
    assert_eq!(page(&desk, "/", &session).await.status(), 200);
    let res = desk
        .app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": initial}),
        )
        .await;
    assert_eq!(res.status(), 401);
}

/// The id of a colleague, by name, from the people directory.
async fn person_id(desk: &Desk, token: &str, name: &str) -> String {
    let people = api_json(desk, "/api/v1/people", token).await;
    people["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["display_name"] == name)
        .unwrap_or_else(|| panic!("{name} in {people}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn bulk_triage_previews_then_changes_and_reports_each_case(backend: Backend) {
    let desk = Desk::new(backend).await;
    let session = sign_in(&desk, &desk.supervisor_email).await;
    let token = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let lukas = person_id(&desk, &token, "Lukas Brandt").await;
    let list = page_html(&desk, "/?tab=open", &session).await;
    assert!(list.contains("Preview the change"), "{list}");
    assert!(list.contains("Assign to Lukas Brandt"), "{list}");
    let csrf = hidden(&list, "csrf");
    let (a, b) = (
        desk.rfa["id"].as_str().unwrap().to_string(),
        desk.xss_rfa["id"].as_str().unwrap().to_string(),
    );
    let chosen = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("back", "/?tab=open".to_string()),
            ("change", format!("assign~{lukas}")),
            ("ids", a.clone()),
            ("ids", b.clone()),
            ("ids", uuid::Uuid::now_v7().to_string()),
        ]
    };
    // The preview says what would happen to each and changes nothing.
    let res = post_form(&desk, "/cases/bulk", &session, &chosen(&csrf)).await;
    assert_eq!(res.status(), 200);
    let preview = res.text().await.unwrap();
    assert!(preview.contains("Assign to Lukas Brandt"), "{preview}");
    assert_eq!(preview.matches("Will be changed.").count(), 2, "{preview}");
    assert!(
        preview.contains("Will not be changed: there is no such case"),
        "{preview}"
    );
    assert!(preview.contains("change 2 cases"), "{preview}");
    assert!(!preview.contains("<script>alert(1)"), "escaped");
    for id in [&a, &b] {
        let rfa = api_json(&desk, &format!("/api/v1/rfas/{id}"), &token).await;
        assert!(rfa["assignee_id"].is_null(), "{rfa}");
    }
    // Nothing chosen: said in words.
    let res = post_form(
        &desk,
        "/cases/bulk",
        &session,
        &[
            ("csrf", csrf.clone()),
            ("change", format!("assign~{lukas}")),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Choose at least one case.")
    );
    // Without the session's token: refused, nothing changed.
    let res = post_form(&desk, "/cases/bulk/confirm", &session, &chosen("forged")).await;
    assert_eq!(res.status(), 403);
    // Confirmed: each case changed, and the list's banner says so.
    let res = post_form(&desk, "/cases/bulk/confirm", &session, &chosen(&csrf)).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/?tab=open&bulk="), "{to}");
    let list = page_html(&desk, &to, &session).await;
    assert!(
        list.contains("Assign to Lukas Brandt: 2 of 3 cases changed"),
        "{list}"
    );
    assert!(
        list.contains(desk.rfa["reference"].as_str().unwrap()),
        "{list}"
    );
    assert!(list.contains("there is no such case"), "{list}");
    for id in [&a, &b] {
        let rfa = api_json(&desk, &format!("/api/v1/rfas/{id}"), &token).await;
        assert_eq!(rfa["assignee"]["display_name"], "Lukas Brandt", "{rfa}");
    }
    // A liaison officer has no bulk triage: no form, and the route refuses.
    let liaison = sign_in(&desk, &desk.liaison_email).await;
    let list = page_html(&desk, "/", &liaison).await;
    assert!(!list.contains("Preview the change"), "{list}");
    let csrf = hidden(&list, "csrf");
    let res = post_form(&desk, "/cases/bulk", &liaison, &chosen(&csrf)).await;
    assert_eq!(res.status(), 403);
}

async fn the_closed_tab_reads_newest_first_without_bulk_triage(backend: Backend) {
    let desk = Desk::new(backend).await;
    let token = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    for (subject, day) in [
        ("Older closed case", "2026-01-05"),
        ("Newer closed case", "2026-02-10"),
    ] {
        let conduct = json!({"country_code": "SY", "from": "2012-01-01"});
        let rfa = logged(&desk, &token, subject, day, conduct).await;
        let reason = "Outside what we can help with.";
        let body = json!({"outcome": "declined_other", "reason": reason});
        acted(&desk, &token, &rfa, "decline", body).await;
    }
    let session = sign_in(&desk, &desk.supervisor_email).await;
    let closed = page_html(&desk, "/?tab=closed", &session).await;
    let (newer, older) = (
        closed.find("Newer closed case").expect("the newer case"),
        closed.find("Older closed case").expect("the older case"),
    );
    assert!(newer < older, "newest first: {closed}");
    // A closed case's deadline no longer counts: the list and its page say how it ended.
    assert!(
        closed.contains("<span class=\"tag grey\">Declined</span>"),
        "{closed}"
    );
    let last = api_json(&desk, "/api/v1/rfas?state=closed&limit=1", &token).await;
    let id = last["items"][0]["id"].as_str().unwrap().to_string();
    let case = page_html(&desk, &format!("/cases/{id}"), &session).await;
    assert_eq!(case.matches(">Closed</span>").count(), 1, "{case}");
    assert!(
        case.contains("<span class=\"tag grey\">Declined</span>"),
        "{case}"
    );
    assert!(closed.contains("aria-sort=\"descending\""), "{closed}");
    assert!(!closed.contains("action=\"/cases/bulk\""), "{closed}");
    // The open tab keeps bulk triage and its order by due date, soonest first.
    let open = page_html(&desk, "/?tab=open", &session).await;
    assert!(open.contains("action=\"/cases/bulk\""), "{open}");
    assert!(open.contains("aria-sort=\"ascending\""), "{open}");
    // Asked for, the old order still comes.
    let asked = page_html(&desk, "/?tab=closed&sort=received&order=asc", &session).await;
    assert!(
        asked.find("Older closed case") < asked.find("Newer closed case"),
        "{asked}"
    );
    // Received dates the wrong way round match nothing, and the page says why.
    let reversed = page_html(
        &desk,
        "/?tab=closed&from=2026-02-01&to=2026-01-01",
        &session,
    )
    .await;
    assert!(
        reversed.contains("The last day of receipt is before the first"),
        "{reversed}"
    );
    assert!(!reversed.contains("Older closed case"), "{reversed}");
}

async fn the_list_counts_pages_back_and_downloads_for_supervisors(backend: Backend) {
    let desk = Desk::new(backend).await;
    let token = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    // 110 more requests: three pages of 50 in the open tab (112 in all).
    let body = &desk.rfa;
    for _ in 0..110 {
        let intake = json!({"jurisdiction_id": body["jurisdiction_id"], "authority_id": body["authority_id"],
            "received_at": "2026-03-05T09:30:00Z", "channel": "email", "subject": "=HYPERLINK(\"x\")",
            "description": "d", "requester": {"name": "R", "email": "r@justice.example"},
            "assistance_types": ["information_and_evidence"], "proceeding_type": "prosecution",
            "crimes": ["torture"], "conduct": {"country_code": "SY", "from": "2012-01-01"},
            "priority": "routine", "confidentiality": "confidential", "tags": ["batch"]});
        let res = desk.app.post("/api/v1/rfas", Some(&token), &intake).await;
        assert_eq!(res.status(), 201);
    }
    let session = sign_in(&desk, &desk.supervisor_email).await;
    let first = page_html(&desk, "/?tab=open", &session).await;
    assert!(first.contains("112 cases"), "{first}");
    assert!(!first.contains("Previous page"));
    let next = |html: &str, rel: &str| {
        let marker = "<a href=\"";
        let end = html
            .find(&format!("\" rel=\"{rel}\""))
            .unwrap_or_else(|| panic!("{rel}"));
        let start = html[..end].rfind(marker).unwrap() + marker.len();
        html[start..end].replace("&amp;", "&").replace("&#38;", "&")
    };
    let second_href = next(&first, "next");
    let second = page_html(&desk, &second_href, &session).await;
    let third_href = next(&second, "next");
    let third = page_html(&desk, &third_href, &session).await;
    assert!(!third.contains("rel=\"next\""), "the last page");
    // Previous goes back page by page to the same pages.
    let back = next(&third, "prev");
    assert_eq!(back, second_href);
    let back = next(&second, "prev");
    assert_eq!(
        page_html(&desk, &back, &session)
            .await
            .matches("<tr>")
            .count(),
        first.matches("<tr>").count()
    );
    // Filters by tag and by received dates, as chips.
    let tagged = page_html(
        &desk,
        "/?tab=open&tag=batch&from=2026-03-04&to=2026-03-05",
        &session,
    )
    .await;
    assert!(tagged.contains("110 cases"), "{tagged}");
    assert!(tagged.contains("Tag: batch"), "{tagged}");
    // A search is counted as its pages are read (the open requests' words), filters and all.
    for (query, count) in [
        ("q=hyperlink", "110 cases"),
        ("q=hyper+x", "110 cases"),
        ("q=hyperlink&priority=routine", "110 cases"),
        ("q=hyperlink&priority=urgent", "0 cases"),
        ("q=hyperlink+nowhere", "0 cases"),
    ] {
        let found = page_html(&desk, &format!("/?tab=open&{query}"), &session).await;
        assert!(found.contains(count), "{query}: {found}");
    }
    let wrong = page_html(&desk, "/?tab=open&from=yesterday", &session).await;
    assert!(
        wrong.contains("The first day of receipt is not a date"),
        "{wrong}"
    );
    assert!(wrong.contains("112 cases"), "{wrong}");
    // A search of nothing but punctuation is left out, and the page says so.
    let blank = page_html(&desk, "/?tab=open&q=%25%25+--", &session).await;
    assert!(
        blank.contains("The text has no letters or digits to search for"),
        "{blank}"
    );
    assert!(blank.contains("112 cases"), "{blank}");
    // The download: every matching case, formulas kept as text.
    let res = page(&desk, "/cases/list.csv?tab=open&tag=batch", &session).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 111, "{csv}");
    assert!(
        lines[0].starts_with("Reference,Subject,Jurisdiction"),
        "{csv}"
    );
    assert!(
        lines[1].contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "{}",
        lines[1]
    );
    // Liaison officers do not download lists.
    let liaison = sign_in(&desk, &desk.liaison_email).await;
    assert!(!page_html(&desk, "/", &liaison).await.contains("list.csv"));
    assert_eq!(page(&desk, "/cases/list.csv", &liaison).await.status(), 403);
}

/// Every screen, for nobody and for each role, with the status the policy gives: liaison
/// officers only within their jurisdictions (404 beyond), supervisors everything, reporting
/// staff and administrators no case screens. POSTs carry the session's own token, so only
/// the policy decides.
/// A form's fields, as `post_form` sends them.
type Form<'a> = Vec<(&'a str, String)>;

async fn every_screen_answers_each_role_as_the_policy_says(backend: Backend) {
    let desk = Desk::new(backend).await;
    let admin = desk.app.admin_token().await;
    let reporting_email = format!("{}@rfa.test", uuid::Uuid::now_v7().simple());
    let res = desk
        .app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": reporting_email, "display_name": "Rana Aziz", "roles": ["reporting"],
                    "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let mut sessions = vec![String::new()];
    for email in [
        &desk.liaison_email,
        &desk.outsider_email,
        &desk.supervisor_email,
        &reporting_email,
    ] {
        sessions.push(sign_in(&desk, email).await);
    }
    sessions.push(sign_in_with(&desk, ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let id = desk.rfa["id"].as_str().unwrap();
    let case = format!("/cases/{id}");
    let note = format!("/cases/{id}/actions/add_note");
    let registry = format!(
        "/registry/{}",
        desk.rfa["jurisdiction_id"].as_str().unwrap()
    );
    let authority = format!(
        "{registry}/authorities/{}",
        desk.rfa["authority_id"].as_str().unwrap()
    );
    let snapshot: serde_json::Value = desk
        .app
        .post(
            "/api/v1/reports/snapshots",
            Some(&token_of(&desk.app.login(&reporting_email, PASSWORD).await)),
            &json!({"kind": "annual", "year": 2026}),
        )
        .await
        .json()
        .await
        .unwrap();
    let snapshot = format!("/reports/snapshots/{}", snapshot["id"].as_str().unwrap());
    let users: serde_json::Value = api_json(&desk, "/api/v1/users", &admin).await;
    let someone = format!(
        "/admin/users/{}",
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["display_name"] == "Samira Haddad")
            .unwrap()["id"]
            .as_str()
            .unwrap()
    );
    // Columns: nobody, liaison officer, another jurisdiction's officer, supervisor,
    // reporting, administrator.
    let gets: Vec<(String, [u16; 6])> = vec![
        // Reporting staff and administrators are sent to their own start page.
        ("/".into(), [303, 200, 200, 200, 303, 303]),
        (
            "/?tab=closed&priority=high".into(),
            [303, 200, 200, 200, 303, 303],
        ),
        ("/overview".into(), [303, 403, 403, 200, 403, 403]),
        ("/admin/users".into(), [303, 403, 403, 403, 403, 200]),
        ("/registry".into(), [303, 200, 200, 200, 403, 200]),
        ("/admin/audit".into(), [303, 403, 403, 403, 403, 200]),
        ("/admin/audit?run=1".into(), [303, 403, 403, 403, 403, 200]),
        ("/admin/access".into(), [303, 403, 403, 403, 403, 200]),
        ("/admin/outbox".into(), [303, 403, 403, 403, 403, 200]),
        (
            "/admin/outbox?status=pending".into(),
            [303, 403, 403, 403, 403, 200],
        ),
        ("/registry/new".into(), [303, 403, 403, 403, 403, 200]),
        (registry.clone(), [303, 200, 200, 200, 403, 200]),
        (
            format!("{registry}/assessments"),
            [303, 403, 403, 403, 403, 200],
        ),
        (format!("{registry}/edit"), [303, 403, 403, 403, 403, 200]),
        (
            format!("{registry}/nothing"),
            [303, 404, 404, 404, 404, 404],
        ),
        ("/admin/users/new".into(), [303, 403, 403, 403, 403, 200]),
        (someone.clone(), [303, 403, 403, 403, 403, 200]),
        (
            format!("{someone}/password-reset"),
            [303, 403, 403, 403, 403, 200],
        ),
        (authority.clone(), [303, 403, 403, 403, 403, 200]),
        (snapshot.clone(), [303, 403, 403, 200, 200, 403]),
        (
            format!("{snapshot}/compare"),
            [303, 403, 403, 200, 200, 403],
        ),
        (
            format!("{snapshot}/download?format=xlsx"),
            [303, 403, 403, 200, 200, 403],
        ),
        (
            "/reports/figure?kind=annual&year=2026&figure=processed".into(),
            [303, 403, 403, 200, 200, 403],
        ),
        (
            "/reports/figure?kind=annual&year=2026&figure=pending".into(),
            [303, 403, 403, 422, 422, 403],
        ),
        (
            "/admin/users/not-a-user".into(),
            [303, 404, 404, 404, 404, 404],
        ),
        ("/reports".into(), [303, 403, 403, 200, 200, 403]),
        (
            "/reports?kind=range&from=2026-01-01&to=2026-12-31&as_of=2026-06-01T10:00".into(),
            [303, 403, 403, 200, 200, 403],
        ),
        ("/reports?year=1800".into(), [303, 403, 403, 200, 200, 403]),
        (
            "/reports/download?kind=annual&year=2026&format=xlsx".into(),
            [303, 403, 403, 200, 200, 403],
        ),
        (
            "/reports/chart.svg?kind=cumulative&through=2026".into(),
            [303, 403, 403, 200, 200, 403],
        ),
        ("/reports/snapshots".into(), [303, 403, 403, 200, 200, 403]),
        (
            "/reports/snapshots/not-a-snapshot".into(),
            [303, 404, 404, 404, 404, 404],
        ),
        ("/cases/new".into(), [303, 200, 200, 200, 403, 403]),
        (case.clone(), [303, 200, 404, 200, 403, 403]),
        (note.clone(), [303, 200, 404, 200, 403, 403]),
        (
            format!("/cases/{id}/actions/start_review"),
            [303, 403, 404, 200, 403, 403],
        ),
        ("/cases/list.csv".into(), [303, 403, 403, 200, 403, 403]),
        (
            format!("/cases/{id}/intake"),
            [303, 200, 404, 200, 403, 403],
        ),
        (
            format!("/cases/{id}/documents/new"),
            [303, 200, 404, 200, 403, 403],
        ),
        ("/account/password".into(), [303, 200, 200, 200, 200, 200]),
        ("/cases/not-a-case".into(), [303, 404, 404, 404, 404, 404]),
    ];
    let mut wrong = Vec::new();
    for (path, expect) in &gets {
        for (who, session) in sessions.iter().enumerate() {
            let status = page(&desk, path, session).await.status().as_u16();
            if status != expect[who] {
                wrong.push(format!(
                    "GET {path} as #{who}: {status}, not {}",
                    expect[who]
                ));
            }
        }
    }
    for (who, session) in sessions.iter().enumerate().skip(1) {
        let html = page_html(&desk, "/account/password", session).await;
        let csrf = hidden(&html, "csrf");
        let posts: Vec<(String, Form, [u16; 6])> = vec![
            (
                note.clone(),
                vec![
                    ("csrf", csrf.clone()),
                    ("version", "999".into()),
                    ("text", "A note".into()),
                ],
                [303, 409, 404, 409, 403, 403],
            ),
            (
                "/cases/bulk".into(),
                vec![
                    ("csrf", csrf.clone()),
                    ("ids", id.to_string()),
                    ("change", "priority~urgent".into()),
                ],
                [303, 403, 403, 200, 403, 403],
            ),
            (
                "/reports/snapshots".into(),
                vec![
                    ("csrf", csrf.clone()),
                    ("kind", "annual".into()),
                    ("year", "2026".into()),
                    ("label", "Access matrix".into()),
                ],
                [303, 403, 403, 303, 303, 403],
            ),
            (
                "/admin/users/new".into(),
                vec![
                    ("csrf", csrf.clone()),
                    ("display_name", String::new()),
                    ("email", "x".into()),
                ],
                [303, 403, 403, 403, 403, 422],
            ),
            (
                format!("{registry}/frameworks"),
                vec![("csrf", csrf.clone()), ("reference", "MoU".into())],
                [303, 403, 403, 403, 403, 422],
            ),
            (
                "/admin/audit/checkpoint".into(),
                vec![("csrf", csrf.clone())],
                [303, 403, 403, 403, 403, 303],
            ),
        ];
        for (path, form, expect) in posts {
            let status = post_form(&desk, &path, session, &form)
                .await
                .status()
                .as_u16();
            if status != expect[who] {
                wrong.push(format!(
                    "POST {path} as #{who}: {status}, not {}",
                    expect[who]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The intake form's fields for a request as the API shows it, with some changed.
fn intake_form(rfa: &serde_json::Value, csrf: &str, version: i64, subject: &str) -> Form<'static> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let mut form: Form = vec![
        ("csrf", csrf.to_string()),
        ("version", version.to_string()),
        ("authority_id", text(&rfa["authority_id"])),
        ("received_on", text(&rfa["received_at"])[..10].to_string()),
        (
            "received_time",
            text(&rfa["received_at"])[11..16].to_string(),
        ),
        ("channel", text(&rfa["channel"])),
        ("subject", subject.to_string()),
        ("description", text(&rfa["description"])),
        ("requester_name", text(&rfa["requester"]["name"])),
        ("requester_email", text(&rfa["requester"]["email"])),
        ("proceeding_type", text(&rfa["proceeding_type"])),
        ("conduct_country", text(&rfa["conduct"]["country_code"])),
        ("conduct_from", text(&rfa["conduct"]["from"])),
        ("conduct_to", text(&rfa["conduct"]["to"])),
        ("confidentiality", text(&rfa["confidentiality"])),
        ("tags", String::new()),
    ];
    for a in rfa["assistance_types"].as_array().unwrap() {
        form.push(("assistance_types", text(a)));
    }
    for c in rfa["crimes"].as_array().unwrap() {
        form.push(("crimes", text(c)));
    }
    form
}

async fn intake_corrections_until_acceptance_record_what_changed(backend: Backend) {
    let desk = Desk::new(backend).await;
    let token = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let id = desk.rfa["id"].as_str().unwrap();
    let liaison = sign_in(&desk, &desk.liaison_email).await;
    let case = page_html(&desk, &format!("/cases/{id}"), &liaison).await;
    assert!(case.contains("Correct the intake details"), "{case}");
    assert!(
        case.contains(&format!("href=\"/cases/{id}/intake#description\"")),
        "{case}"
    );
    let form = page(&desk, &format!("/cases/{id}/intake"), &liaison).await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(
        html.contains("value=\"Detention facility records, 2012-2014\""),
        "{html}"
    );
    let csrf = hidden(&html, "csrf");
    let version = desk.rfa["version"].as_i64().unwrap();
    // A blank subject is named, and nothing is written.
    let res = post_form(
        &desk,
        &format!("/cases/{id}/intake"),
        &liaison,
        &intake_form(&desk.rfa, &csrf, version, "  "),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("href=\"#subject\""));
    // The subject corrected: recorded as what changed, and nothing else.
    let res = post_form(
        &desk,
        &format!("/cases/{id}/intake"),
        &liaison,
        &intake_form(
            &desk.rfa,
            &csrf,
            version,
            "Detention facility records, 2011-2014",
        ),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()[LOCATION],
        format!("/cases/{id}?done=edit_intake").as_str()
    );
    let case = page_html(&desk, &format!("/cases/{id}?done=edit_intake"), &liaison).await;
    assert!(case.contains("The intake details are corrected."), "{case}");
    let events = api_json(&desk, &format!("/api/v1/rfas/{id}/events"), &token).await;
    let edit = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "edit_intake")
        .unwrap()
        .clone();
    assert!(edit.to_string().contains("2011-2014"), "{edit}");
    assert!(
        !edit.to_string().contains("received_at"),
        "the moment of receipt kept: {edit}"
    );
    // The same form again, on the old version: the case changed, the text is kept.
    let res = post_form(
        &desk,
        &format!("/cases/{id}/intake"),
        &liaison,
        &intake_form(&desk.rfa, &csrf, version, "Typed on a stale page"),
    )
    .await;
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("This case changed since you opened it"),
        "{html}"
    );
    assert!(html.contains("value=\"Typed on a stale page\""), "{html}");
    // Another jurisdiction's officer: no such page.
    let outsider = sign_in(&desk, &desk.outsider_email).await;
    assert_eq!(
        page(&desk, &format!("/cases/{id}/intake"), &outsider)
            .await
            .status(),
        404
    );
    // Once accepted, the intake stays as it is.
    let rfa = accepted_through_the_api(&desk, &token, id).await;
    assert_eq!(rfa["intake_editable"], false);
    let case = page_html(&desk, &format!("/cases/{id}"), &liaison).await;
    assert!(!case.contains("Correct the intake details"), "{case}");
    assert_eq!(
        page(&desk, &format!("/cases/{id}/intake"), &liaison)
            .await
            .status(),
        409
    );
}

async fn documents_are_added_downloaded_and_withdrawn_on_the_case_page(backend: Backend) {
    let desk = Desk::new(backend).await;
    let id = desk.rfa["id"].as_str().unwrap();
    let liaison = sign_in(&desk, &desk.liaison_email).await;
    let case = page_html(&desk, &format!("/cases/{id}"), &liaison).await;
    assert!(case.contains("No documents yet."), "{case}");
    assert!(
        case.contains(&format!("href=\"/cases/{id}/documents/new\"")),
        "{case}"
    );
    let form = page(&desk, &format!("/cases/{id}/documents/new"), &liaison).await;
    assert_eq!(form.status(), 200);
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let send = |csrf: Option<String>, bytes: &'static [u8], name: &'static str| {
        let mut form = reqwest::multipart::Form::new();
        if let Some(c) = csrf {
            form = form.text("csrf", c);
        }
        let form = form
            .text("kind", "annex")
            .text("description", "Witness list")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        desk.app
            .client
            .post(desk.app.url(&format!("/cases/{id}/documents")))
            .header(COOKIE, format!("rfa_session={liaison}"))
            .header("sec-fetch-site", "same-origin")
            .multipart(form)
            .send()
    };
    // Without the session's token first, nothing is stored.
    assert_eq!(
        send(None, b"%PDF-1.4\n", "a.pdf").await.unwrap().status(),
        403
    );
    assert_eq!(
        send(Some("guessed".into()), b"%PDF-1.4\n", "a.pdf")
            .await
            .unwrap()
            .status(),
        403
    );
    // An executable: the form again, saying why.
    let res = send(Some(csrf.clone()), b"MZ\x90\x00\x03", "letter.pdf")
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let html = res.text().await.unwrap();
    assert!(html.contains("href=\"#file\""), "{html}");
    assert!(html.contains("not a type the case file accepts"), "{html}");
    assert!(
        html.contains("Witness list"),
        "the description is kept: {html}"
    );
    let res = send(Some(csrf.clone()), b"%PDF-1.4\n%%EOF\n", "Zeugenliste.pdf")
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()[LOCATION],
        format!("/cases/{id}?done=add_document").as_str()
    );
    let case = page_html(&desk, &format!("/cases/{id}?done=add_document"), &liaison).await;
    assert!(case.contains("The document is added."), "{case}");
    assert!(case.contains("Zeugenliste.pdf"), "{case}");
    let marker = format!("href=\"/cases/{id}/documents/");
    let start = case.find(&marker).unwrap() + "href=\"".len();
    let href = case[start..].split('"').next().unwrap().to_string();
    assert!(
        !case.contains(&format!("{href}/withdraw")),
        "liaison officers do not withdraw: {case}"
    );
    let res = page(&desk, &href, &liaison).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"%PDF-1.4\n%%EOF\n");
    // A response names the documents sent, ticked on its form.
    let token = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let rfa = accepted_through_the_api(&desk, &token, id).await;
    let doc_id = href.rsplit('/').next().unwrap().to_string();
    let form = page_html(
        &desk,
        &format!("/cases/{id}/actions/record_response"),
        &liaison,
    )
    .await;
    assert!(form.contains("Documents sent (optional)"), "{form}");
    assert!(form.contains(&format!("value=\"{doc_id}\"")), "{form}");
    let res = post_form(
        &desk,
        &format!("/cases/{id}/actions/record_response"),
        &liaison,
        &[
            ("csrf", hidden(&form, "csrf")),
            ("version", rfa["version"].to_string()),
            ("kind", "other".into()),
            ("description", "Witness list sent by courier.".into()),
            ("shared_on", "2026-03-10".into()),
            ("documents", doc_id.clone()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let case = page_html(&desk, &format!("/cases/{id}"), &liaison).await;
    assert!(case.contains("Sent: Zeugenliste.pdf."), "{case}");
    // Another jurisdiction's officer: nothing.
    let outsider = sign_in(&desk, &desk.outsider_email).await;
    assert_eq!(page(&desk, &href, &outsider).await.status(), 404);
    assert_eq!(
        page(&desk, &format!("/cases/{id}/documents/new"), &outsider)
            .await
            .status(),
        404
    );
    // A supervisor withdraws it, with a reason.
    let supervisor = sign_in(&desk, &desk.supervisor_email).await;
    let confirm = page(&desk, &format!("{href}/withdraw"), &supervisor).await;
    assert_eq!(confirm.status(), 200);
    let csrf = hidden(&confirm.text().await.unwrap(), "csrf");
    let res = post_form(
        &desk,
        &format!("{href}/withdraw"),
        &supervisor,
        &[("csrf", csrf.clone()), ("reason", " ".into())],
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = post_form(
        &desk,
        &format!("{href}/withdraw"),
        &supervisor,
        &[("csrf", csrf), ("reason", "Unsigned copy.".into())],
    )
    .await;
    assert_eq!(res.status(), 303);
    let case = page_html(
        &desk,
        &format!("/cases/{id}?done=withdraw_document"),
        &supervisor,
    )
    .await;
    assert!(case.contains("The document is withdrawn."), "{case}");
    assert!(case.contains("No documents yet."), "{case}");
    assert!(
        case.contains("Document withdrawn"),
        "in the history: {case}"
    );
}

/// Starts the review of a request, assigns it to the supervisor and accepts it, through the
/// API as the supervisor (`token`); returns the request as it then is.
async fn accepted_through_the_api(desk: &Desk, token: &str, id: &str) -> serde_json::Value {
    let supervisor_id = person_id(desk, token, "Samira Haddad").await;
    let mut rfa = api_json(desk, &format!("/api/v1/rfas/{id}"), token).await;
    for (action, body) in [
        ("start_review", json!({})),
        ("assign", json!({"assignee_id": supervisor_id})),
        ("accept", json!({})),
    ] {
        rfa = acted(desk, token, &rfa, action, body).await;
    }
    rfa
}
