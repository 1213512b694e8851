//! A caseworker's day in the browser: sign in, the case list, a case, sign out.

use serde_json::{Value, json};

use crate::both_backends;
use crate::browser::{self, Browser};
use crate::helpers::{Backend, TestApp, token_of};

pub const PASSWORD: &str = "a password for the screens";
pub const XSS: &str = "<script>alert(1)</script> Detention records";

/// A registry entry, a supervisor and a liaison officer with names, and two requests (one
/// with a subject that would be a script if it were not escaped).
pub struct Desk {
    pub app: TestApp,
    pub supervisor_email: String,
    pub liaison_email: String,
    pub outsider_email: String,
    pub rfa: Value,
    pub xss_rfa: Value,
}

async fn created(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let res = app.post(path, Some(token), &body).await;
    assert_eq!(res.status(), 201, "{path}");
    res.json().await.unwrap()
}

impl Desk {
    pub async fn new(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let j = created(
            &app,
            "/api/v1/jurisdictions",
            &admin,
            json!({"name": "Federal Republic of Germany", "country_code": "DE",
                   "death_penalty_status": "abolished_all_crimes",
                   "competence_bases": [{"basis": "universal_jurisdiction",
                                          "crimes": ["war_crimes", "crimes_against_humanity", "torture"]}]}),
        )
        .await;
        let jid = j["id"].as_str().unwrap().to_string();
        created(
            &app,
            &format!("/api/v1/jurisdictions/{jid}/assessments"),
            &admin,
            json!({"outcome": "meets", "assessed_on": "2025-01-15", "review_due": "2099-01-15",
                   "assessor": "Legal", "summary": "Standards respected."}),
        )
        .await;
        let a = created(
            &app,
            &format!("/api/v1/jurisdictions/{jid}/authorities"),
            &admin,
            json!({"name": "Federal Public Prosecutor General", "kind": "prosecution"}),
        )
        .await;
        let other = created(
            &app,
            "/api/v1/jurisdictions",
            &admin,
            json!({"name": "Kingdom of Sweden", "country_code": "SE",
                   "death_penalty_status": "abolished_all_crimes", "competence_bases": []}),
        )
        .await;
        let user = |name: &str, roles: Value, jurisdictions: Value| {
            let email = format!("{}@rfa.test", uuid::Uuid::now_v7().simple());
            let body = json!({"email": email, "display_name": name, "roles": roles,
                              "jurisdiction_ids": jurisdictions, "password": PASSWORD});
            let (app, admin) = (&app, admin.clone());
            async move {
                created(app, "/api/v1/users", &admin, body).await;
                email
            }
        };
        let supervisor_email = user("Samira Haddad", json!(["supervisor"]), json!([])).await;
        let liaison_email = user("Lukas Brandt", json!(["liaison_officer"]), json!([jid])).await;
        let outsider_email = user(
            "Olof Berg",
            json!(["liaison_officer"]),
            json!([other["id"]]),
        )
        .await;
        let supervisor = token_of(&app.login(&supervisor_email, PASSWORD).await);
        let intake = |subject: &str| {
            json!({"jurisdiction_id": jid, "authority_id": a["id"],
                   "received_at": "2026-03-02T09:30:00Z", "channel": "email",
                   "subject": subject,
                   "description": "Request for documentary evidence on detention practices.",
                   "requester": {"name": "Dr. A. Prosecutor", "email": "a.prosecutor@justice.example"},
                   "assistance_types": ["information_and_evidence"], "proceeding_type": "prosecution",
                   "crimes": ["crimes_against_humanity", "torture"],
                   "conduct": {"country_code": "SY", "from": "2012-01-01", "to": "2014-12-31"},
                   "priority": "high", "confidentiality": "confidential", "tags": []})
        };
        let rfa = created(
            &app,
            "/api/v1/rfas",
            &supervisor,
            intake("Detention facility records, 2012-2014"),
        )
        .await;
        let xss_rfa = created(&app, "/api/v1/rfas", &supervisor, intake(XSS)).await;
        Self {
            app,
            supervisor_email,
            liaison_email,
            outsider_email,
            rfa,
            xss_rfa,
        }
    }
}

both_backends!(
    a_caseworker_signs_in_reads_the_queue_and_a_case,
    a_request_is_logged_with_the_keyboard_alone,
    a_stale_form_and_a_forged_one_change_nothing,
);

async fn a_caseworker_signs_in_reads_the_queue_and_a_case(backend: Backend) {
    if !browser::available("a_caseworker_signs_in_reads_the_queue_and_a_case") {
        return;
    }
    let desk = Desk::new(backend).await;
    let b = Browser::start(&format!("{backend:?}").to_lowercase()).await;
    let base = desk.app.base.clone();

    // Not signed in: the sign-in page, which brings you back afterwards.
    b.goto(&format!("{base}/?tab=unassigned")).await;
    assert!(b.path().await.starts_with("/sign-in"), "{}", b.path().await);
    b.check("sign-in").await;

    // A wrong password is told in words, the email kept.
    b.fill("#email", &desk.liaison_email).await;
    b.fill("#password", "not the password").await;
    b.click("button[type=submit].button").await;
    b.wait_for(".error-summary").await;
    assert!(
        b.text(".error-summary")
            .await
            .contains("email or password is wrong")
    );
    b.check("sign-in-error").await;

    b.fill("#password", PASSWORD).await;
    b.click("button[type=submit].button").await;
    b.wait_for_path("/?tab=unassigned").await;
    b.wait_for("table").await;
    let list = b.text("main").await;
    assert!(list.contains("Lukas Brandt") || b.text("header").await.contains("Lukas Brandt"));
    assert!(list.contains("Detention facility records"), "{list}");
    assert!(list.contains("Federal Republic of Germany"), "{list}");
    // The script in a subject is shown as text, never run.
    assert!(list.contains(XSS), "{list}");
    let scripts: Value = b
        .client
        .execute(
            "return document.querySelectorAll('script:not([src=\"/static/app.js\"])').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(scripts, 0, "only our own script file");
    b.check("cases").await;

    // Logging a request: the jurisdiction first, then the form; a missing subject is named.
    b.click("a[href='/cases/new']").await;
    b.wait_for("select#jurisdiction").await;
    b.check("new-case-step-1").await;
    b.click("form button[type=submit].button").await;
    b.wait_for("select#authority_id").await;
    let authority = b
        .client
        .find(fantoccini::Locator::Css("select#authority_id"))
        .await
        .unwrap();
    authority
        .select_by_label("Federal Public Prosecutor General")
        .await
        .unwrap();
    b.fill("#received_on", "03/02/2026").await;
    b.fill(
        "#description",
        "Witness statements about a detention facility.",
    )
    .await;
    b.fill("#requester_name", "Dr. B. Judge").await;
    b.fill("#conduct_from", "01/01/2013").await;
    b.click("#assistance_types").await;
    b.click("#crimes-torture").await;
    b.check("new-case").await;
    b.click("form[method=post] button[type=submit].button")
        .await;
    b.wait_for(".error-summary").await;
    assert!(
        b.text(".error-summary").await.contains("Subject"),
        "{}",
        b.text(".error-summary").await
    );
    b.check("new-case-error").await;
    b.fill("#subject", "Witness statements, 2013").await;
    b.click("form[method=post] button[type=submit].button")
        .await;
    b.wait_for(".banner.success").await;
    assert!(b.text(".banner").await.contains("The request is logged."));
    assert!(b.text("h1").await.contains("Witness statements, 2013"));
    b.goto(&format!("{base}/?tab=unassigned")).await;

    // Filters are kept in the URL and shown as chips.
    b.goto(&format!("{base}/?tab=open&priority=high")).await;
    assert!(b.text(".chips").await.contains("Priority: High"));
    b.check("cases-filtered").await;

    // A case, with its history in words and names.
    let reference = desk.rfa["reference"].as_str().unwrap();
    let id = desk.rfa["id"].as_str().unwrap();
    b.click(&format!("a[href='/cases/{id}']")).await;
    b.wait_for_path(&format!("/cases/{id}")).await;
    b.wait_for(".timeline").await;
    let page = b.text("main").await;
    assert!(page.contains(reference), "{page}");
    assert!(page.contains("Request logged"), "{page}");
    assert!(page.contains("Samira Haddad"), "{page}");
    assert!(page.contains("No death penalty"), "{page}");
    b.check("case").await;

    // An action on its confirm page: nothing typed is an error named at the field, then the
    // note lands in the history with a banner.
    b.click("a[href$='/actions/add_note']").await;
    b.wait_for("textarea#text").await;
    b.check("action").await;
    b.click("button[type=submit].button").await;
    b.wait_for(".error-summary").await;
    assert!(
        b.text(".error-summary").await.contains("Note"),
        "{}",
        b.text(".error-summary").await
    );
    b.check("action-error").await;
    b.fill(
        "textarea#text",
        "Called the prosecutor's office; annex follows by courier.",
    )
    .await;
    b.click("button[type=submit].button").await;
    b.wait_for(".banner.success").await;
    assert!(b.text(".banner").await.contains("The note is added."));
    assert!(
        b.text(".timeline")
            .await
            .contains("annex follows by courier")
    );
    b.check("case-after-note").await;

    // Correcting the intake: the form as the case is, one field changed, a banner.
    b.click("a[href$='/intake']").await;
    b.wait_for("textarea#description").await;
    b.check("correct-intake").await;
    b.fill(
        "textarea#description",
        "Request for documentary evidence on detention practices, with annexes.",
    )
    .await;
    b.click("form[method=post] button[type=submit].button")
        .await;
    b.wait_for(".banner.success").await;
    assert!(
        b.text(".banner")
            .await
            .contains("The intake details are corrected.")
    );
    assert!(b.text("main").await.contains("with annexes"));

    // A document: the letter of request, chosen from the disk, with its kind.
    let dir = tempfile::tempdir().unwrap();
    let letter = dir.path().join("Rechtshilfeersuchen.pdf");
    std::fs::write(
        &letter,
        b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
    )
    .unwrap();
    b.click("a[href$='/documents/new']").await;
    b.wait_for("input#file").await;
    b.check("add-document").await;
    b.client
        .find(fantoccini::Locator::Css("input#file"))
        .await
        .unwrap()
        .send_keys(letter.to_str().unwrap())
        .await
        .unwrap();
    b.click("label[for='kind']").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".banner.success").await;
    assert!(b.text(".banner").await.contains("The document is added."));
    assert!(
        b.text(".documents")
            .await
            .contains("Rechtshilfeersuchen.pdf")
    );
    b.check("case-with-document").await;
    let xss = desk.xss_rfa["id"].as_str().unwrap();
    b.goto(&format!("{base}/cases/{xss}")).await;
    assert!(b.text("h1").await.contains(XSS));

    // Signing out ends the session: the list asks to sign in again.
    b.click("header button[type=submit]").await;
    b.wait_for_path("/sign-in").await;
    b.goto(&format!("{base}/")).await;
    assert!(b.path().await.starts_with("/sign-in"));

    // A supervisor triages it: starts the review, assigns it by name, accepts it.
    b.fill("#email", &desk.supervisor_email).await;
    b.fill("#password", PASSWORD).await;
    b.click("button[type=submit].button").await;
    b.wait_for("table").await;
    b.goto(&format!("{base}/cases/{id}")).await;
    for (action, banner) in [
        ("start_review", "The review has started."),
        ("assign", "The request is assigned."),
        ("accept", "The request is accepted."),
        ("close", "The request is closed."),
    ] {
        b.click(&format!("a[href$='/actions/{action}']")).await;
        b.wait_for("form[method=post] button[type=submit].button")
            .await;
        if action == "assign" {
            b.check("assign").await;
            let picker = b
                .client
                .find(fantoccini::Locator::Css("select#assignee_id"))
                .await
                .unwrap();
            picker.select_by_label("Samira Haddad").await.unwrap();
        }
        if action == "close" {
            b.click("label[for='outcome-partially_fulfilled']").await;
        }
        b.click("form[method=post] button[type=submit].button")
            .await;
        b.wait_for(".banner.success").await;
        assert!(b.text(".banner").await.contains(banner), "{action}");
        if action == "start_review" {
            // In review and nobody's yet: the page says why Accept is not among the buttons.
            let note = b.text("#accept-note").await;
            assert!(note.contains("assign it to someone first"), "{note}");
            b.check("case-in-review").await;
        }
    }
    let page = b.text("main").await;
    assert!(page.contains("Closed"), "{page}");
    assert!(b.text(".timeline").await.contains("To Samira Haddad"));
    b.check("case-accepted").await;

    // Bulk triage: tick the cases, choose the change, check the preview, confirm.
    b.goto(&format!("{base}/?tab=open")).await;
    b.wait_for("#select-all").await;
    b.check("cases-supervisor").await;
    b.click("label[for='select-all']").await;
    let change = b
        .client
        .find(fantoccini::Locator::Css("select#change"))
        .await
        .unwrap();
    change
        .select_by_label("Set the priority to Urgent")
        .await
        .unwrap();
    b.click(".bulk-bar button[type=submit]").await;
    b.wait_for_path("/cases/bulk").await;
    b.wait_for("form[action='/cases/bulk/confirm']").await;
    let preview = b.text("main").await;
    assert!(
        preview.contains("Nothing has been changed yet"),
        "{preview}"
    );
    assert_eq!(preview.matches("Will be changed.").count(), 2, "{preview}");
    b.check("bulk-preview").await;
    b.click("form[action='/cases/bulk/confirm'] button[type=submit]")
        .await;
    b.wait_for(".banner").await;
    let banner = b.text(".banner").await;
    assert!(banner.contains("2 of 2 cases changed"), "{banner}");
    b.check("cases-after-bulk").await;
    b.click("header button[type=submit]").await;
    b.wait_for_path("/sign-in").await;
    b.close().await;
}

/// Everything with the keyboard: the skip link first, signing in, the way to the intake
/// form, each field, the checkboxes, a failed submit (the error summary takes the focus),
/// and the request logged. Every element reached shows its focus.
async fn a_request_is_logged_with_the_keyboard_alone(backend: Backend) {
    if !browser::available("a_request_is_logged_with_the_keyboard_alone") {
        return;
    }
    let desk = Desk::new(backend).await;
    let b = Browser::start(&format!("{backend:?}").to_lowercase()).await;
    let base = desk.app.base.clone();
    let enter = char::from(fantoccini::key::Key::Enter).to_string();
    let space = char::from(fantoccini::key::Key::Space).to_string();
    b.goto(&format!("{base}/sign-in")).await;
    b.tab_to(".skip-link").await;
    b.tab_to("#email").await;
    b.keys(&desk.liaison_email).await;
    b.tab_to("#password").await;
    b.keys(PASSWORD).await;
    b.keys(&enter).await;
    b.wait_for("table").await;
    b.tab_to("a[href='/cases/new']").await;
    b.keys(&enter).await;
    b.wait_for("select#jurisdiction").await;
    b.tab_to("main form button[type=submit]").await;
    b.keys(&enter).await;
    b.wait_for("select#authority_id").await;
    b.tab_to("#authority_id").await;
    b.keys("Federal").await;
    b.tab_to("#received_on").await;
    b.keys("03022026").await;
    b.tab_to("#description").await;
    b.keys("Statements of former detainees.").await;
    b.tab_to("#requester_name").await;
    b.keys("Dr. C. Investigating Judge").await;
    b.tab_to("#assistance_types").await;
    b.keys(&space).await;
    b.tab_to("#crimes-torture").await;
    b.keys(&space).await;
    b.tab_to("#conduct_from").await;
    b.keys("01012013").await;
    // Sent without a subject: the error summary takes the focus and links to the field.
    b.tab_to("main form[method=post] button[type=submit]").await;
    b.keys(&enter).await;
    b.wait_for(".error-summary").await;
    assert!(
        b.focused(".error-summary").await,
        "the error summary has the focus"
    );
    b.check("keyboard-error").await;
    b.tab_to(".error-summary a[href='#subject']").await;
    b.keys(&enter).await;
    assert!(b.focused("#subject").await, "the link leads to the field");
    b.keys("Statements of former detainees, 2013").await;
    b.tab_to("main form[method=post] button[type=submit]").await;
    b.keys(&enter).await;
    b.wait_for(".banner.success").await;
    assert!(b.text(".banner").await.contains("The request is logged."));
    assert!(
        b.text("h1")
            .await
            .contains("Statements of former detainees, 2013")
    );
    b.check("keyboard-logged").await;
    b.close().await;
}

/// A page of another origin (another port) with a form that posts to the service, as an
/// attacker's page would: served once per request by a thread, until the test ends.
fn forged_page(target: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><title>Prize</title></head><body>\
         <form method=\"post\" action=\"{target}\"><input type=\"hidden\" name=\"text\" \
         value=\"forged\"><input type=\"hidden\" name=\"version\" value=\"1\">\
         <input type=\"hidden\" name=\"csrf\" value=\"guessed\">\
         <button id=\"go\" type=\"submit\">Claim</button></form></body></html>"
    );
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    origin
}

async fn a_stale_form_and_a_forged_one_change_nothing(backend: Backend) {
    if !browser::available("a_stale_form_and_a_forged_one_change_nothing") {
        return;
    }
    let desk = Desk::new(backend).await;
    let b = Browser::start(&format!("{backend:?}").to_lowercase()).await;
    let base = desk.app.base.clone();
    let id = desk.rfa["id"].as_str().unwrap();
    b.goto(&format!("{base}/sign-in")).await;
    b.fill("#email", &desk.supervisor_email).await;
    b.fill("#password", PASSWORD).await;
    b.click("button[type=submit].button").await;
    b.wait_for("table").await;
    // The note form is opened; meanwhile a colleague changes the case through the API.
    b.goto(&format!("{base}/cases/{id}/actions/add_note")).await;
    b.wait_for("textarea#text").await;
    b.fill("textarea#text", "Typed before the case changed.")
        .await;
    let token = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let res = desk
        .app
        .client
        .post(
            desk.app
                .url(&format!("/api/v1/rfas/{id}/actions/set_priority")),
        )
        .bearer_auth(&token)
        .header("if-match", format!("\"{}\"", desk.rfa["version"]))
        .json(&json!({"priority": "urgent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    b.click("main form[method=post] button[type=submit].button")
        .await;
    b.wait_for(".banner[role=alert]").await;
    assert!(
        b.text(".banner")
            .await
            .contains("This case changed since you opened it")
    );
    let kept: Value = b
        .client
        .execute(
            "return document.querySelector('textarea#text').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, "Typed before the case changed.");
    b.check("stale-form").await;
    let events = |token: String| {
        let app = &desk.app;
        async move {
            let v: Value = app
                .get(&format!("/api/v1/rfas/{id}/events"), Some(&token))
                .await
                .json()
                .await
                .unwrap();
            v["items"].as_array().unwrap().len()
        }
    };
    let before = events(token.clone()).await;
    // A page of another origin posts to the service with the user's cookie: refused.
    let attacker = forged_page(&format!("{base}/cases/{id}/actions/add_note"));
    b.goto(&format!("{attacker}/")).await;
    b.click("#go").await;
    b.wait_for_path(&format!("/cases/{id}/actions/add_note"))
        .await;
    b.wait_for("h1").await;
    assert!(
        b.text("h1").await.contains("This form cannot be accepted"),
        "{}",
        b.text("main").await
    );
    b.check("forged-form").await;
    assert_eq!(events(token).await, before, "nothing was written");
    b.close().await;
}
