//! Administrators in the browser: the users, adding one with a one-time password,
//! changing and deactivating an account, resetting a forgotten password.

use crate::both_backends;
use crate::browser::{self, Browser};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend};
use crate::screens::Desk;

both_backends!(an_administrator_adds_changes_and_resets_a_user);

async fn an_administrator_adds_changes_and_resets_a_user(backend: Backend) {
    if !browser::available("an_administrator_adds_changes_and_resets_a_user") {
        return;
    }
    let desk = Desk::new(backend).await;
    let b = Browser::start(&format!("admin-{backend:?}").to_lowercase()).await;
    let base = desk.app.base.clone();
    b.goto(&format!("{base}/sign-in")).await;
    b.fill("#email", ADMIN_EMAIL).await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("button[type=submit].button").await;
    // Administrators start on the users; they have no case list or figures.
    b.wait_for_path("/admin/users").await;
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
    assert!(summary.contains("The name"), "{summary}");
    assert!(summary.contains("The email address"), "{summary}");
    assert!(summary.contains("A jurisdiction"), "{summary}");
    b.check("user-new-error").await;
    b.fill("#display_name", "Nadia Khalil").await;
    b.fill("#email", "nadia.khalil@rfa.test").await;
    b.click("input[name=jurisdiction_ids]").await;
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
    b.click("input[name=active]").await;
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
