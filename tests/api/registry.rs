//! Jurisdictions, their eligibility facts and authorities: writes by administrators, reads
//! by liaison officers and supervisors, validation, and the record of changes.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

/// A jurisdiction (with universal jurisdiction over the mandate's crimes) and one authority.
pub async fn jurisdiction_with_authority(
    app: &TestApp,
    admin: &str,
    country: &str,
) -> (String, String) {
    let res = app
        .post(
            "/api/v1/jurisdictions",
            Some(admin),
            &json!({
                "name": format!("Jurisdiction {country} {}", uuid::Uuid::now_v7().simple()),
                "country_code": country,
                "death_penalty_status": "abolished_all_crimes",
                "competence_bases": [{"basis": "universal_jurisdiction",
                    "crimes": ["war_crimes", "crimes_against_humanity", "genocide", "torture", "enforced_disappearance"]}],
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let j: Value = res.json().await.unwrap();
    let jid = j["id"].as_str().unwrap().to_string();
    let res = app
        .post(
            &format!("/api/v1/jurisdictions/{jid}/authorities"),
            Some(admin),
            &json!({"name": "Office of the War Crimes Prosecutor", "kind": "prosecution", "contact_email": "wcp@justice.example"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let a: Value = res.json().await.unwrap();
    (jid, a["id"].as_str().unwrap().to_string())
}

both_backends!(
    registry_is_kept_with_its_history,
    registry_input_is_validated,
    registry_bodies_name_every_wrong_field,
    registry_is_read_by_liaison_and_supervisors_only,
    authorities_belong_to_their_jurisdiction,
    users_jurisdictions_and_authorities_change_only_from_the_current_version,
);

async fn registry_is_kept_with_its_history(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let me: Value = app
        .get("/api/v1/me", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .post(
            "/api/v1/jurisdictions",
            Some(&admin),
            &json!({"name": "Federal Republic of Germany", "country_code": "de", "death_penalty_status": "abolished_all_crimes",
                    "competence_bases": [{"basis": "universal_jurisdiction", "crimes": ["war_crimes", "crimes_against_humanity", "genocide"]},
                                         {"basis": "passive_personality", "crimes": ["torture"]}]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let j: Value = res.json().await.unwrap();
    let id = j["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/jurisdictions/{id}"));
    assert_eq!(j["country_code"], "DE");
    assert_eq!(j["active"], true);
    assert_eq!(j["latest_assessment"], Value::Null);
    assert_eq!(
        j["competence_bases"][1],
        json!({"basis": "passive_personality", "crimes": ["torture"]})
    );

    // Assessments are history: the latest by assessment date counts, whatever the order
    // they were recorded in.
    let path = format!("/api/v1/jurisdictions/{id}");
    for (outcome, on, due) in [
        ("meets", "2024-02-01", "2026-02-01"),
        ("concerns", "2019-06-01", "2021-06-01"),
    ] {
        let res = app
            .post(&format!("{path}/assessments"), Some(&admin), &json!({"outcome": outcome, "assessed_on": on, "review_due": due, "assessor": "Legal Office", "summary": "Periodic review.\nSee file."}))
            .await;
        assert_eq!(res.status(), 201);
    }
    let res = app
        .post(&format!("{path}/assurances"), Some(&admin), &json!({"reference": "NV/2025/114", "given_on": "2025-03-01", "scope": ["war_crimes"], "expires_on": "2028-03-01"}))
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .post(&format!("{path}/frameworks"), Some(&admin), &json!({"kind": "memorandum_of_understanding", "reference": "MOU-DE-2021", "signed_on": "2021-09-15"}))
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .patch_current(
            &path,
            Some(&admin),
            &json!({"death_penalty_status": "abolished_all_crimes", "name": "Germany"}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let j: Value = app.get(&path, Some(&admin)).await.json().await.unwrap();
    assert_eq!(j["name"], "Germany");
    assert_eq!(j["assessments"].as_array().unwrap().len(), 2);
    assert_eq!(j["latest_assessment"]["outcome"], "meets");
    assert_eq!(
        j["latest_assessment"]["summary"],
        "Periodic review.\nSee file."
    );
    assert_eq!(j["latest_assessment"]["recorded_by"], me["id"]);
    assert_eq!(j["assurances"][0]["scope"], json!(["war_crimes"]));
    assert_eq!(j["frameworks"][0]["reference"], "MOU-DE-2021");

    let history: Value = app
        .get(&format!("{path}/history"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let entries: Vec<(String, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap().into(),
                c["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("jurisdiction", "created"),
        ("assessment", "created"),
        ("assessment", "created"),
        ("assurance", "created"),
        ("framework", "created"),
        ("jurisdiction", "updated"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(entries, expected);
    for c in history["items"].as_array().unwrap() {
        assert_eq!(c["actor_id"], me["id"]);
        assert!(c["at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(history["items"][5]["details"]["name"], "Germany");

    let list: Value = app
        .get("/api/v1/jurisdictions", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["next_cursor"], Value::Null);
}

async fn registry_input_is_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let fields = |p: &Value| -> Vec<String> {
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect()
    };
    // Several wrong fields at once.
    let res = app
        .post("/api/v1/jurisdictions", Some(&admin), &json!({"name": " ", "country_code": "ZZ", "death_penalty_status": "retentionist",
            "competence_bases": [{"basis": "territorial", "crimes": []}, {"basis": "territorial", "crimes": ["genocide", "genocide"]}]}))
        .await;
    let p = assert_problem(res, 422).await;
    for f in [
        "name",
        "country_code",
        "competence_bases",
        "competence_bases[0].crimes",
        "competence_bases[1].crimes",
    ] {
        assert!(
            fields(&p).contains(&f.to_string()),
            "{f} in {:?}",
            fields(&p)
        );
    }
    // An unknown enumeration value names its field.
    let res = app
        .post("/api/v1/jurisdictions", Some(&admin), &json!({"name": "X", "country_code": "FR", "death_penalty_status": "sometimes", "competence_bases": []}))
        .await;
    assert_eq!(
        fields(&assert_problem(res, 422).await),
        vec!["death_penalty_status"]
    );
    let res = app
        .post("/api/v1/jurisdictions", Some(&admin), &json!({"name": "X", "country_code": "FR", "death_penalty_status": "retentionist", "competence_bases": [{"basis": "universal_jurisdiction", "crimes": ["piracy"]}]}))
        .await;
    assert_eq!(
        fields(&assert_problem(res, 422).await),
        vec!["competence_bases[0].crimes[0]"]
    );
    let list: Value = app
        .get("/api/v1/jurisdictions", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing was written"
    );

    let (jid, _) = jurisdiction_with_authority(&app, &admin, "SE").await;
    let path = format!("/api/v1/jurisdictions/{jid}");
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    let cases = [
        (
            "assessments",
            json!({"outcome": "meets", "assessed_on": "2024-05-01", "review_due": "2024-04-30", "assessor": "A", "summary": "S"}),
            "review_due",
        ),
        (
            "assessments",
            json!({"outcome": "meets", "assessed_on": tomorrow, "review_due": "2099-01-01", "assessor": "A", "summary": "S"}),
            "assessed_on",
        ),
        (
            "assessments",
            json!({"outcome": "excellent", "assessed_on": "2024-05-01", "review_due": "2025-01-01", "assessor": "A", "summary": "S"}),
            "outcome",
        ),
        (
            "assessments",
            json!({"outcome": "meets", "assessed_on": "2024-02-30", "review_due": "2025-01-01", "assessor": "A", "summary": "S"}),
            "assessed_on",
        ),
        (
            "assurances",
            json!({"reference": "R", "given_on": "2025-01-01", "expires_on": "2024-01-01"}),
            "expires_on",
        ),
        (
            "frameworks",
            json!({"kind": "handshake", "reference": "R", "signed_on": "2020-01-01"}),
            "kind",
        ),
        (
            "authorities",
            json!({"name": "Court", "kind": "court", "contact_email": "not-an-address"}),
            "contact_email",
        ),
        (
            "authorities",
            json!({"name": "Police", "kind": "police"}),
            "kind",
        ),
    ];
    for (sub, body, field) in cases {
        let res = app
            .post(&format!("{path}/{sub}"), Some(&admin), &body)
            .await;
        let p = assert_problem(res, 422).await;
        assert_eq!(fields(&p), vec![field.to_string()], "{sub} {body}");
    }
    // Names are unique.
    let j: Value = app.get(&path, Some(&admin)).await.json().await.unwrap();
    let res = app
        .post("/api/v1/jurisdictions", Some(&admin), &json!({"name": j["name"], "country_code": "SE", "death_penalty_status": "abolished_all_crimes", "competence_bases": []}))
        .await;
    assert_problem(res, 409).await;
    let res = app
        .post(
            &format!("{path}/authorities"),
            Some(&admin),
            &json!({"name": "Office of the War Crimes Prosecutor", "kind": "court"}),
        )
        .await;
    assert_problem(res, 409).await;
    // Unknown ids.
    let nobody = uuid::Uuid::now_v7();
    assert_problem(
        app.get(&format!("/api/v1/jurisdictions/{nobody}"), Some(&admin))
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get("/api/v1/jurisdictions/not-an-id", Some(&admin))
            .await,
        404,
    )
    .await;
    let res = app
        .post(&format!("/api/v1/jurisdictions/{nobody}/assessments"), Some(&admin), &json!({"outcome": "meets", "assessed_on": "2024-05-01", "review_due": "2025-01-01", "assessor": "A", "summary": "S"}))
        .await;
    assert_problem(res, 404).await;
    // The history holds only what succeeded: the jurisdiction and its authority.
    let history: Value = app
        .get(&format!("{path}/history"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
}

async fn registry_is_read_by_liaison_and_supervisors_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (jid, aid) = jurisdiction_with_authority(&app, &admin, "FR").await;
    let (_, liaison) = app.user_with(&["liaison_officer"], &[&jid]).await;
    let (_, supervisor) = app.user_with(&["supervisor"], &[]).await;
    let (_, reporting) = app.user_with(&["reporting"], &[]).await;
    for token in [&liaison, &supervisor] {
        for path in [
            "/api/v1/jurisdictions".to_string(),
            format!("/api/v1/jurisdictions/{jid}"),
            format!("/api/v1/jurisdictions/{jid}/authorities"),
            format!("/api/v1/jurisdictions/{jid}/history"),
        ] {
            assert_eq!(app.get(&path, Some(token)).await.status(), 200, "{path}");
        }
        let res = app
            .patch_current(
                &format!("/api/v1/jurisdictions/{jid}"),
                Some(token),
                &json!({"death_penalty_status": "retentionist"}),
            )
            .await;
        assert_problem(res, 403).await;
        let res = app
            .patch_current(
                &format!("/api/v1/jurisdictions/{jid}/authorities/{aid}"),
                Some(token),
                &json!({"active": false}),
            )
            .await;
        assert_problem(res, 403).await;
    }
    assert_problem(
        app.get("/api/v1/jurisdictions", Some(&reporting)).await,
        403,
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/jurisdictions/{jid}"), Some(&reporting))
            .await,
        403,
    )
    .await;
    // Nothing changed.
    let j: Value = app
        .get(&format!("/api/v1/jurisdictions/{jid}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(j["death_penalty_status"], "abolished_all_crimes");
}

async fn authorities_belong_to_their_jurisdiction(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (fr, fr_authority) = jurisdiction_with_authority(&app, &admin, "FR").await;
    let (se, _) = jurisdiction_with_authority(&app, &admin, "SE").await;
    // Reached through another jurisdiction, the authority does not exist.
    let res = app
        .patch_current(
            &format!("/api/v1/jurisdictions/{se}/authorities/{fr_authority}"),
            Some(&admin),
            &json!({"active": false}),
        )
        .await;
    assert_problem(res, 404).await;
    let res = app
        .patch_current(
            &format!("/api/v1/jurisdictions/{fr}/authorities/{fr_authority}"),
            Some(&admin),
            &json!({"active": false, "contact_email": "", "kind": "investigating_judge"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let a: Value = res.json().await.unwrap();
    assert_eq!(
        (
            a["active"].clone(),
            a["contact_email"].clone(),
            a["kind"].clone()
        ),
        (json!(false), Value::Null, json!("investigating_judge"))
    );
    let page: Value = app
        .get(
            &format!("/api/v1/jurisdictions/{se}/authorities"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["jurisdiction_id"], se);
}

async fn registry_bodies_name_every_wrong_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let fields = |problem: &Value| -> Vec<String> {
        let mut f: Vec<String> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect();
        f.sort();
        f
    };
    // Wrong vocabulary, a wrong nested value, a field it does not have, one missing.
    let problem = assert_problem(
        app.post(
            "/api/v1/jurisdictions",
            Some(&admin),
            &json!({"name": "Atlantis", "death_penalty_status": "sometimes",
                    "competence_bases": [{"basis": "vibes", "crimes": ["war_crimes"]}],
                    "colour": "blue"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields(&problem),
        [
            "colour",
            "competence_bases[0].basis",
            "country_code",
            "death_penalty_status"
        ],
        "{problem}"
    );
    // Nothing was written.
    let list: Value = app
        .get("/api/v1/jurisdictions", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
    let (jid, _) = jurisdiction_with_authority(&app, &admin, "DE").await;
    let problem = assert_problem(
        app.post(
            &format!("/api/v1/jurisdictions/{jid}/assessments"),
            Some(&admin),
            &json!({"outcome": "great", "assessed_on": "yesterday", "review_due": "2030-13-01",
                    "summary": "Fine."}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields(&problem),
        ["assessed_on", "assessor", "outcome", "review_due"],
        "{problem}"
    );
    let problem = assert_problem(
        app.post(
            &format!("/api/v1/jurisdictions/{jid}/authorities"),
            Some(&admin),
            &json!({"kind": "oracle", "contact_email": 5}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields(&problem),
        ["contact_email", "kind", "name"],
        "{problem}"
    );
}

/// A PATCH of a user, a jurisdiction or an authority names the version it was based on: none
/// is 428, an old one 412 (and nothing changes), the current one succeeds and moves it on.
async fn users_jurisdictions_and_authorities_change_only_from_the_current_version(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (jid, aid) = jurisdiction_with_authority(&app, &admin, "NL").await;
    let (uid, _) = app.user_with(&["reporting"], &[]).await;
    let cases = [
        (
            format!("/api/v1/users/{uid}"),
            json!({"display_name": "Renamed"}),
            "display_name",
            "Renamed",
        ),
        (
            format!("/api/v1/jurisdictions/{jid}"),
            json!({"name": "The Netherlands"}),
            "name",
            "The Netherlands",
        ),
        (
            format!("/api/v1/jurisdictions/{jid}/authorities/{aid}"),
            json!({"name": "Landelijk Parket"}),
            "name",
            "Landelijk Parket",
        ),
    ];
    for (path, body, field, value) in cases {
        let v = app.version_of(&path, Some(&admin)).await.unwrap();
        let send = |tag: Option<String>| {
            let mut req = app
                .client
                .patch(app.url(&path))
                .bearer_auth(&admin)
                .json(&body);
            if let Some(t) = tag {
                req = req.header("if-match", t);
            }
            req.send()
        };
        assert_problem(send(None).await.unwrap(), 428).await;
        assert_problem(send(Some(format!("\"{}\"", v + 7))).await.unwrap(), 412).await;
        assert_problem(send(Some("\"not a version\"".into())).await.unwrap(), 412).await;
        assert_eq!(app.version_of(&path, Some(&admin)).await, Some(v), "{path}");
        let res = send(Some(format!("\"{v}\""))).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["etag"], format!("\"{}\"", v + 1).as_str());
        let changed: Value = res.json().await.unwrap();
        assert_eq!(changed[field], value);
        assert_eq!(changed["version"], v + 1);
        // The version it was based on is now stale.
        assert_problem(send(Some(format!("\"{v}\""))).await.unwrap(), 412).await;
    }
}
