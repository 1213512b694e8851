//! Administrators in the browser: the users, adding one with a one-time password,
//! changing and deactivating an account, resetting a forgotten password.

use crate::both_backends;
use crate::browser::{self, Browser};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend};
use crate::screens::Desk;

both_backends!(
    an_administrator_adds_changes_and_resets_a_user,
    an_administrator_keeps_the_registry,
);

async fn sign_in_as_admin(b: &Browser, base: &str) {
    b.goto(&format!("{base}/sign-in")).await;
    b.fill("#email", ADMIN_EMAIL).await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("button[type=submit].button").await;
    b.wait_for_path("/admin/users").await;
}

async fn an_administrator_keeps_the_registry(backend: Backend) {
    if !browser::available("an_administrator_keeps_the_registry") {
        return;
    }
    let desk = Desk::new(backend).await;
    let b = Browser::start(&format!("registry-{backend:?}").to_lowercase()).await;
    let base = desk.app.base.clone();
    sign_in_as_admin(&b, &base).await;
    b.click("header nav a[href='/registry']").await;
    b.wait_for("table.data").await;
    let list = b.text("table.data").await;
    assert!(list.contains("Federal Republic of Germany"), "{list}");
    assert!(list.contains("Meets the standards"), "{list}");
    assert!(list.contains("No assessment"), "Sweden has none: {list}");
    b.check("registry").await;

    // A new jurisdiction: what is missing or wrong is named, field by field.
    b.click("a[href='/registry/new']").await;
    b.wait_for("#name").await;
    b.fill("#country_code", "XX").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".error-summary").await;
    assert!(b.text(".error-summary").await.contains("Death penalty"));
    b.click("#death_penalty_status").await;
    b.click("main form button[type=submit].button").await;
    // The same form comes back: wait for its new summary, not the old page's.
    let summary = b.wait_for_text(".error-summary", "Country code").await;
    assert!(
        summary.contains("Name") && summary.contains("Country code"),
        "{summary}"
    );
    b.check("registry-new-error").await;
    b.fill("#name", "Kingdom of the Netherlands").await;
    b.fill("#country_code", "NL").await;
    b.click("input[name=basis_universal_jurisdiction][value=war_crimes]")
        .await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".banner.success").await;
    assert!(b.text("h1").await.contains("Kingdom of the Netherlands"));
    let facts = b.text(".summary-list").await;
    assert!(
        facts.contains("Universal jurisdiction over war crimes"),
        "{facts}"
    );

    // An assessment, then an authority, each in the history.
    b.click("a[href$='/assessments']").await;
    b.wait_for("#assessed_on").await;
    b.click("#outcome").await;
    b.fill("#assessed_on", "01/15/2026").await;
    b.fill("#review_due", "01/15/2025").await;
    b.fill("#assessor", "Legal Unit").await;
    b.fill("#summary", "Fair-trial guarantees respected.").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".error-summary").await;
    assert!(b.text(".error-summary").await.contains("Review due"));
    b.check("registry-assessment-error").await;
    b.fill("#review_due", "01/15/2030").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".banner.success").await;
    b.click("a[href$='/authorities']").await;
    b.wait_for("#name").await;
    b.fill("#name", "National Public Prosecutor's Office").await;
    b.click("input[name=kind][value=prosecution]").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".banner.success").await;
    let page = b.text("main").await;
    assert!(page.contains("Meets the standards"), "{page}");
    assert!(
        page.contains("National Public Prosecutor's Office"),
        "{page}"
    );
    let history = b.text(".timeline").await;
    assert!(history.contains("Jurisdiction created"), "{history}");
    assert!(history.contains("Assessment created"), "{history}");
    assert!(history.contains("Authority created"), "{history}");
    assert!(
        history.contains("Administrator"),
        "who did it, by name: {history}"
    );
    b.check("jurisdiction").await;

    // Changing the authority: deactivated, it says so.
    b.click("table.data a[href*='/authorities/']").await;
    b.wait_for("input[name=active]").await;
    b.click("input[name=active]").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".banner.success").await;
    assert!(b.text("main").await.contains("Inactive"));

    // The checks on the record, run on demand and told in words.
    b.click("header nav a[href='/admin/audit']").await;
    b.wait_for("main form button[type=submit]").await;
    b.click("main form button[type=submit]").await;
    b.wait_for(".identity").await;
    let result = b.text("main").await;
    assert!(result.contains("The event log: intact."), "{result}");
    assert!(result.contains("The case records: intact."), "{result}");
    assert!(
        result.contains("The accounts and the registry: intact."),
        "{result}"
    );
    assert!(result.contains("The documents: intact."), "{result}");
    b.check("audit").await;
    // Signing the history now, to hand the statement to an auditor.
    b.click("form[action='/admin/audit/checkpoint'] button")
        .await;
    b.wait_for_text(".banner.success", "The history is signed")
        .await;
    b.click("details > summary").await;
    let statement = b.text("pre.statement").await;
    assert!(
        statement.contains("rfa-tracker chain checkpoint") && statement.contains("signature"),
        "{statement}"
    );
    b.check("audit-signed").await;
    // Who looked at what: the administrator's own sign-in is there, by name.
    b.click("a[href='/admin/access']").await;
    let log = b.wait_for_text("table.data", "Signed in").await;
    assert!(log.contains("Administrator"), "{log}");
    b.check("access").await;
    // An unknown reference is said plainly.
    b.fill("#rfa", "RFA-1999-0001").await;
    b.click("main form.filters button[type=submit]").await;
    b.wait_for_text(".error-summary", "no case has the reference")
        .await;
    b.goto(&format!("{base}/admin/audit")).await;
    b.wait_for("a[href='/admin/outbox']").await;
    b.click("a[href='/admin/outbox']").await;
    b.wait_for(".tabs").await;
    b.click("a[href='/admin/outbox?status=pending']").await;
    b.wait_for("h1").await;
    b.check("outbox").await;
    b.close().await;
}

async fn an_administrator_adds_changes_and_resets_a_user(backend: Backend) {
    if !browser::available("an_administrator_adds_changes_and_resets_a_user") {
        return;
    }
    let desk = Desk::new(backend).await;
    let b = Browser::start(&format!("admin-{backend:?}").to_lowercase()).await;
    let base = desk.app.base.clone();
    // Administrators start on the users; they have no case list or figures.
    sign_in_as_admin(&b, &base).await;
    b.wait_for("table.data").await;
    let nav = b.text("header nav").await;
    assert!(
        nav.contains("Users") && !nav.contains("Cases") && !nav.contains("Figures"),
        "{nav}"
    );
    let list = b.text("table.data").await;
    assert!(
        list.contains("Samira Haddad") && list.contains("Supervisor"),
        "{list}"
    );
    assert!(list.contains("Federal Republic of Germany"), "{list}");
    b.check("users").await;

    // Every mistake at once: no name, an email that is not one, a liaison officer without
    // a jurisdiction.
    b.click("a[href='/admin/users/new']").await;
    b.wait_for("#display_name").await;
    b.fill("#email", "not an email").await;
    b.click("input[name=roles][value=liaison_officer]").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".error-summary").await;
    let summary = b.text(".error-summary").await;
    assert!(summary.contains("Name: must not be empty"), "{summary}");
    assert!(summary.contains("Email address:"), "{summary}");
    assert!(
        summary.contains("Jurisdictions: must include at least one"),
        "{summary}"
    );
    b.check("user-new-error").await;
    b.fill("#display_name", "Nadia Khalil").await;
    b.fill("#email", "nadia.khalil@rfa.test").await;
    // Jurisdictions limit liaison officers only: ticked for a reporting account, they are
    // refused rather than kept as a limit that does not hold.
    b.click("input[name=roles][value=liaison_officer]").await;
    b.click("input[name=roles][value=reporting]").await;
    b.click("input[name=jurisdiction_ids]").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".error-summary").await;
    let summary = b.text(".error-summary").await;
    assert!(
        summary.contains("Jurisdictions: can be chosen only for a liaison officer"),
        "{summary}"
    );
    // The form kept the choices: a liaison officer of that jurisdiction instead.
    b.click("input[name=roles][value=reporting]").await;
    b.click("input[name=roles][value=liaison_officer]").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for("#one-time-password").await;
    let first_password = b.text("#one-time-password").await;
    assert!(first_password.len() >= 32, "{first_password}");
    b.check("user-added").await;

    // Change: deactivate the account.
    b.goto(&format!("{base}/admin/users")).await;
    b.wait_for("table.data").await;
    let link: serde_json::Value = b
        .client
        .execute(
            "return [...document.querySelectorAll('table.data a')].find(a => a.textContent === 'Nadia Khalil').getAttribute('href');",
            vec![],
        )
        .await
        .unwrap();
    let href = link.as_str().unwrap().to_string();
    b.goto(&format!("{base}{href}")).await;
    b.wait_for("input[name=active]").await;
    assert!(b.text("main").await.contains("Must choose a password"));
    b.check("user-edit").await;
    // Someone else changes the account while the form is open: saving says so, keeps what
    // was chosen, and a second save is over the account as it is now.
    let admin = crate::helpers::token_of(&desk.app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let id = href.rsplit('/').next().unwrap();
    let res = desk
        .app
        .patch_current(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            &serde_json::json!({"display_name": "Nadia K. Khalil"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    b.click("input[name=active]").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for_text(".error-summary", "changed this account meanwhile")
        .await;
    b.check("user-edit-stale").await;
    b.click("main form button[type=submit].button").await;
    b.wait_for(".banner.success").await;
    assert!(b.text(".banner").await.contains("The changes are saved."));
    let row = b.text("table.data").await;
    assert!(row.contains("Deactivated"), "{row}");

    // A forgotten password: a confirm page, then a new one-time password.
    b.goto(&format!("{base}{href}/password-reset")).await;
    b.wait_for("main form button.warning").await;
    b.check("user-reset").await;
    b.click("main form button.warning").await;
    b.wait_for("#one-time-password").await;
    let second = b.text("#one-time-password").await;
    assert_ne!(second, first_password);
    b.check("user-reset-done").await;
    b.close().await;
}
