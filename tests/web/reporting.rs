//! Reporting staff and supervisors in the browser: the figures pages, their downloads and
//! charts, freezing and comparing snapshots, and the supervisors' overview.

use serde_json::{Value, json};

use crate::both_backends;
use crate::browser::{self, Browser};
use crate::helpers::{Backend, token_of};
use crate::screens::{Desk, PASSWORD};

both_backends!(
    reporting_staff_read_download_and_freeze_the_figures,
    a_supervisor_follows_the_overview_to_the_cases,
);

async fn sign_in(b: &Browser, base: &str, email: &str) {
    b.goto(&format!("{base}/sign-in")).await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.click("button[type=submit].button").await;
}

async fn reporting_user(desk: &Desk) -> String {
    let admin = desk.app.admin_token().await;
    let email = format!("{}@rfa.test", uuid::Uuid::now_v7().simple());
    let res = desk
        .app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": email, "display_name": "Rana Aziz", "roles": ["reporting"],
                    "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 201);
    email
}

async fn reporting_staff_read_download_and_freeze_the_figures(backend: Backend) {
    if !browser::available("reporting_staff_read_download_and_freeze_the_figures") {
        return;
    }
    let desk = Desk::new(backend).await;
    let email = reporting_user(&desk).await;
    let b = Browser::start(&format!("reporting-{backend:?}").to_lowercase()).await;
    let base = desk.app.base.clone();

    // Reporting staff have no case list: they start on the figures of this year.
    sign_in(&b, &base, &email).await;
    b.wait_for_path("/reports").await;
    b.wait_for("#table-jurisdictions").await;
    let nav = b.text("header nav").await;
    assert!(nav.contains("Figures") && !nav.contains("Cases"), "{nav}");
    b.goto(&format!("{base}/reports?kind=annual&year=2026"))
        .await;
    b.wait_for("#table-jurisdictions").await;
    let page = b.text("main").await;
    assert!(page.contains("The figures add up."), "{page}");
    assert!(page.contains("Federal Republic of Germany"), "{page}");
    assert!(page.contains("Received, by crime alleged"), "{page}");
    assert!(page.contains("Crimes against humanity"), "{page}");
    let total = b.text("#table-jurisdictions tfoot").await;
    assert!(total.starts_with("Total"), "{total}");
    assert!(total.contains('2'), "two requests received: {total}");
    // A figure opens to its count; the cases behind it are not for reporting staff.
    b.click("#table-totals a[href*='figure=received']").await;
    b.wait_for_path("/reports/figure").await;
    b.wait_for("h1").await;
    let page = b.text("main").await;
    assert!(page.contains("2 requests"), "{page}");
    assert!(!page.contains("RFA-"), "no references: {page}");
    b.check("figure-count").await;
    b.goto(&format!("{base}/reports?kind=annual&year=2026"))
        .await;
    b.wait_for("#table-jurisdictions").await;
    b.wait_for("img.chart").await;
    b.check("figures").await;

    // A year the reports do not cover is named in the error summary.
    b.fill("#year", "1800").await;
    b.click("form.filters button[type=submit]").await;
    b.wait_for(".error-summary").await;
    assert!(
        b.text(".error-summary")
            .await
            .contains("between 2000 and 2100")
    );
    b.check("figures-error").await;

    // A period: its own form, the chart by jurisdiction.
    b.click("a[href='/reports?kind=range']").await;
    b.wait_for("#from").await;
    b.fill("#from", "01/01/2026").await;
    b.fill("#to", "06/30/2026").await;
    b.click("form.filters button[type=submit]").await;
    b.wait_for("#table-jurisdictions").await;
    assert!(
        b.text("main")
            .await
            .contains("1 January 2026 to 30 June 2026")
    );
    let src: Value = b
        .client
        .execute("return document.querySelector('img.chart').src;", vec![])
        .await
        .unwrap();
    assert!(src.as_str().unwrap().contains("kind=range"), "{src}");
    b.check("figures-period").await;

    // The downloads answer files with the page's tables.
    let links: Value = b
        .client
        .execute(
            "return [...document.querySelectorAll('.downloads a')].map(a => a.getAttribute('href'));",
            vec![],
        )
        .await
        .unwrap();
    let links: Vec<String> = serde_json::from_value(links).unwrap();
    assert!(links.iter().any(|l| l.contains("format=xlsx")), "{links:?}");
    assert!(links.iter().any(|l| l.contains("chart.png")), "{links:?}");

    // Freeze the year's figures with a label; the snapshot page shows the digest.
    b.goto(&format!("{base}/reports?kind=annual&year=2026"))
        .await;
    b.wait_for("#label").await;
    b.fill("#label", "Annual report 2026, as published").await;
    b.click("form[action='/reports/snapshots'] button[type=submit]")
        .await;
    b.wait_for(".banner.success").await;
    let page = b.text("main").await;
    assert!(page.contains("Annual report 2026, as published"), "{page}");
    assert!(page.contains("Matches"), "{page}");
    let snapshot_path = b.path().await;
    b.check("snapshot").await;
    b.click("a[href$='/compare']").await;
    b.wait_for_path("/reports/snapshots/").await;
    b.wait_for("h1").await;
    assert!(b.text("main").await.contains("Nothing has changed"));
    b.check("snapshot-compare").await;

    // A closing after the freeze: the comparison says which figures moved.
    let supervisor = token_of(&desk.app.login(&desk.supervisor_email, PASSWORD).await);
    let id = desk.rfa["id"].as_str().unwrap();
    let res = desk
        .app
        .client
        .post(desk.app.url(&format!("/api/v1/rfas/{id}/actions/withdraw")))
        .bearer_auth(&supervisor)
        .header("if-match", format!("\"{}\"", desk.rfa["version"]))
        .json(&json!({"reason": "The prosecutor withdrew the request"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    b.goto(&format!(
        "{base}{}/compare",
        snapshot_path.split('?').next().unwrap()
    ))
    .await;
    b.wait_for("table.data").await;
    let changes = b.text("table.data").await;
    assert!(changes.contains("Processed"), "{changes}");
    assert!(changes.contains("+1"), "{changes}");
    b.check("snapshot-compare-changed").await;
    b.goto(&format!("{base}/reports/snapshots")).await;
    b.wait_for("table.data").await;
    assert!(
        b.text("table.data")
            .await
            .contains("Annual report 2026, as published")
    );
    b.check("snapshots").await;
    b.close().await;
}

async fn a_supervisor_follows_the_overview_to_the_cases(backend: Backend) {
    if !browser::available("a_supervisor_follows_the_overview_to_the_cases") {
        return;
    }
    let desk = Desk::new(backend).await;
    let b = Browser::start(&format!("overview-{backend:?}").to_lowercase()).await;
    let base = desk.app.base.clone();
    sign_in(&b, &base, &desk.supervisor_email).await;
    b.wait_for("table").await;
    b.click("header nav a[href='/overview']").await;
    b.wait_for_path("/overview").await;
    b.wait_for(".figures").await;
    let figures = b.text(".figures").await;
    assert!(
        figures.contains("2\nOpen") || figures.contains("2 Open"),
        "{figures}"
    );
    assert!(b.text("main").await.contains("Not assigned"));
    b.check("overview").await;
    // Each number opens the list of exactly those cases.
    b.click(".figures a[href='/?tab=unassigned']").await;
    b.wait_for_path("/?tab=unassigned").await;
    b.wait_for("table").await;
    assert!(b.text("main").await.contains("2 cases"));
    b.goto(&format!("{base}/overview")).await;
    b.click("a[href='/?tab=open&state=received']").await;
    b.wait_for(".chips").await;
    assert!(b.text(".chips").await.contains("State: Received"));
    assert!(b.text("main").await.contains("2 cases"));
    b.check("overview-followed").await;
    // A supervisor opens a figure to the requests behind it, and reaches them.
    b.goto(&format!("{base}/reports?kind=annual&year=2026"))
        .await;
    b.wait_for("#table-jurisdictions").await;
    b.click("#table-jurisdictions tbody a[href*='figure=received']")
        .await;
    b.wait_for("table.data").await;
    let page = b.text("main").await;
    assert!(page.contains("Federal Republic of Germany"), "{page}");
    let reference = desk.rfa["reference"].as_str().unwrap();
    assert!(page.contains(reference), "{page}");
    b.check("figure-cases").await;
    b.click(&format!(
        "a[href='/cases/{}']",
        desk.rfa["id"].as_str().unwrap()
    ))
    .await;
    b.wait_for(".timeline").await;
    b.close().await;
}
