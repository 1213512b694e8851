//! The access policy is kept by the services themselves, not only by the handlers in front
//! of them: every service entry point, called directly (as a second front end would) with a
//! caller whose roles do not permit it, refuses as the policy says — 403 for a role with no
//! business there, 404 for a request outside a liaison officer's jurisdictions — and writes
//! nothing.

use rfa_tracker::domain::ids::{AuthorityId, JurisdictionId, MessageId, SnapshotId, UserId};
use rfa_tracker::domain::lifecycle::Priority;
use rfa_tracker::domain::roles::Role;
use rfa_tracker::error::AppError;
use rfa_tracker::service::accounts::{self, Caller};
use rfa_tracker::service::reports::{self, ReportSpec};
use rfa_tracker::service::rfas::{
    self, BulkChange, BulkTriage, Command, Expected, IntakeCorrection, QueueQuery,
};
use rfa_tracker::service::{Services, outbox, registry};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestDb, settings};

both_backends!(every_service_entry_point_checks_the_caller_itself);

fn body<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("a request body")
}

/// What the policy answers: 403 (`Forbidden`) or 404 (`NotFound`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Refusal {
    Forbidden,
    Hidden,
}

fn refusal<T: std::fmt::Debug>(what: &str, result: Result<T, AppError>) -> Refusal {
    match result {
        Err(AppError::Forbidden(_)) => Refusal::Forbidden,
        Err(AppError::NotFound(_)) => Refusal::Hidden,
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

macro_rules! refused {
    ($expected:expr, $call:expr) => {
        assert_eq!(
            refusal(stringify!($call), $call.await),
            $expected,
            "{}",
            stringify!($call)
        )
    };
}

fn new_rfa(svc: &Services, j: &JurisdictionId, a: &AuthorityId) -> rfas::NewRfa {
    let wire = crate::rfas::intake_json(j.as_str(), a.as_str());
    rfa_tracker::api::rfas::wire::parse_intake(wire, svc.rules()).expect("a valid intake")
}

async fn every_service_entry_point_checks_the_caller_itself(backend: Backend) {
    let db = TestDb::create(backend);
    let svc = rfa_tracker::startup::prepare(settings(&db, &[]))
        .await
        .expect("services");
    let svc: &Services = &svc;
    let admin_id = svc
        .db()
        .run(|c| Ok(rfa_tracker::db::users::list(c, None, 1)?))
        .await
        .unwrap()[0]
        .id
        .clone();
    let admin_id = UserId::parse(&admin_id).unwrap();
    // Callers with one role each; the liaison officer covers no jurisdiction at all.
    let as_role = |role: Role| Caller::operator(Some(admin_id.clone()), vec![role]);
    let admin = || as_role(Role::Admin);
    let supervisor = || as_role(Role::Supervisor);
    let liaison = || as_role(Role::LiaisonOfficer);
    let reporting = || as_role(Role::Reporting);

    // A jurisdiction, an authority and a request, made by callers who may.
    let j = registry::create_jurisdiction(
        svc,
        admin(),
        body(json!({"name": "Access test", "country_code": "DE",
                    "death_penalty_status": "abolished_all_crimes",
                    "competence_bases": [{"basis": "universal_jurisdiction", "crimes": ["torture"]}]})),
    )
    .await
    .unwrap();
    let jid = JurisdictionId::parse(&j.id).unwrap();
    let a = registry::create_authority(
        svc,
        admin(),
        jid.clone(),
        body(json!({"name": "Prosecutor", "kind": "prosecution"})),
    )
    .await
    .unwrap();
    let aid = AuthorityId::parse(&a.id).unwrap();
    let rfa = rfas::intake(svc, supervisor(), new_rfa(svc, &jid, &aid), None)
        .await
        .unwrap()
        .view;
    let id = rfa_tracker::domain::ids::RfaId::parse(&rfa.id).unwrap();
    let events_before = svc
        .db()
        .run(|c| Ok(rfa_tracker::db::rfas::events_after(c, 0, 10_000)?.len()))
        .await
        .unwrap();
    use Refusal::{Forbidden, Hidden};

    // Requests for assistance: roles without any access are refused outright; a liaison
    // officer learns nothing of a request outside their jurisdictions.
    for role in [Role::Admin, Role::Reporting] {
        let caller = || as_role(role);
        refused!(Forbidden, rfas::get(svc, caller(), id.clone()));
        refused!(Forbidden, rfas::queue(svc, caller(), QueueQuery::default()));
        refused!(Forbidden, rfas::events(svc, caller(), id.clone(), None, 50));
        refused!(
            Forbidden,
            rfas::intake(svc, caller(), new_rfa(svc, &jid, &aid), None)
        );
        refused!(
            Forbidden,
            rfas::act(
                svc,
                caller(),
                id.clone(),
                Command::AddNote { text: "n".into() },
                Expected::Version(rfa.version)
            )
        );
        refused!(
            Forbidden,
            rfas::correct_intake(
                svc,
                caller(),
                id.clone(),
                IntakeCorrection::default(),
                Expected::Version(rfa.version)
            )
        );
    }
    refused!(Hidden, rfas::get(svc, liaison(), id.clone()));
    refused!(Hidden, rfas::events(svc, liaison(), id.clone(), None, 50));
    refused!(
        Hidden,
        rfas::act(
            svc,
            liaison(),
            id.clone(),
            Command::AddNote { text: "n".into() },
            Expected::Version(rfa.version)
        )
    );
    refused!(
        Hidden,
        rfas::correct_intake(
            svc,
            liaison(),
            id.clone(),
            IntakeCorrection::default(),
            Expected::Version(rfa.version)
        )
    );
    refused!(
        Forbidden,
        rfas::intake(svc, liaison(), new_rfa(svc, &jid, &aid), None)
    );
    refused!(
        Forbidden,
        rfas::bulk(
            svc,
            liaison(),
            BulkTriage {
                ids: vec![Some(id.clone())],
                change: BulkChange::SetPriority(Priority::High),
                dry_run: false,
            }
        )
    );
    // A supervisor may do much, but not verify the audit chain or the stored documents.
    refused!(Forbidden, rfas::verify_chain(svc, supervisor()));
    refused!(
        Forbidden,
        rfas::documents::verify_documents(svc, supervisor())
    );

    // Documents follow the request; withdrawing is a supervisor's.
    for role in [Role::Admin, Role::Reporting] {
        let caller = || as_role(role);
        refused!(
            Forbidden,
            rfas::documents::start_upload(svc, caller(), id.clone())
        );
        refused!(
            Forbidden,
            rfas::documents::list(svc, caller(), id.clone(), true)
        );
    }
    refused!(
        Hidden,
        rfas::documents::withdraw(
            svc,
            liaison(),
            id.clone(),
            uuid::Uuid::now_v7().to_string(),
            "r".into()
        )
    );

    // The registry: only administrators write; reporting staff do not even read.
    for role in [Role::Supervisor, Role::LiaisonOfficer, Role::Reporting] {
        let caller = || as_role(role);
        refused!(
            Forbidden,
            registry::create_jurisdiction(
                svc,
                caller(),
                body(json!({"name": "X", "country_code": "FR",
                            "death_penalty_status": "abolished_all_crimes", "competence_bases": []}))
            )
        );
        refused!(
            Forbidden,
            registry::update_jurisdiction(
                svc,
                caller(),
                jid.clone(),
                body(json!({"name": "Y"})),
                Expected::Version(1)
            )
        );
        refused!(
            Forbidden,
            registry::add_assessment(
                svc,
                caller(),
                jid.clone(),
                body(json!({"outcome": "meets", "assessed_on": "2024-01-01",
                            "review_due": "2030-01-01", "assessor": "A", "summary": "S"}))
            )
        );
        refused!(
            Forbidden,
            registry::add_assurance(
                svc,
                caller(),
                jid.clone(),
                body(json!({"reference": "R", "given_on": "2024-01-01"}))
            )
        );
        refused!(
            Forbidden,
            registry::add_framework(
                svc,
                caller(),
                jid.clone(),
                body(json!({"kind": "other", "reference": "R", "signed_on": "2024-01-01"}))
            )
        );
        refused!(
            Forbidden,
            registry::create_authority(
                svc,
                caller(),
                jid.clone(),
                body(json!({"name": "Z", "kind": "court"}))
            )
        );
        refused!(
            Forbidden,
            registry::update_authority(
                svc,
                caller(),
                jid.clone(),
                aid.clone(),
                body(json!({"active": false})),
                Expected::Version(1)
            )
        );
    }
    refused!(
        Forbidden,
        registry::get_jurisdiction(svc, reporting(), jid.clone())
    );
    refused!(
        Forbidden,
        registry::list_jurisdictions(svc, reporting(), None, 50)
    );
    refused!(
        Forbidden,
        registry::history(svc, reporting(), jid.clone(), None, 50)
    );
    refused!(
        Forbidden,
        registry::list_authorities(svc, reporting(), jid.clone(), None, 50)
    );

    // Accounts and outgoing mail: administrators only.
    for role in [Role::Supervisor, Role::LiaisonOfficer, Role::Reporting] {
        let caller = || as_role(role);
        refused!(
            Forbidden,
            accounts::create_user(
                svc,
                caller(),
                body(json!({"email": "x@rfa.test", "display_name": "X", "roles": ["admin"]}))
            )
        );
        refused!(Forbidden, accounts::list_users(svc, caller(), None, 50));
        refused!(
            Forbidden,
            accounts::get_user(svc, caller(), admin_id.clone())
        );
        refused!(
            Forbidden,
            accounts::update_user(
                svc,
                caller(),
                admin_id.clone(),
                body(json!({"roles": ["supervisor"]})),
                Expected::Version(1)
            )
        );
        refused!(Forbidden, outbox::list(svc, caller(), None, None, 50));
        refused!(
            Forbidden,
            outbox::retry(svc, caller(), MessageId::generate())
        );
    }

    // The people directory: those who work on requests.
    for role in [Role::Admin, Role::Reporting] {
        refused!(Forbidden, accounts::people(svc, as_role(role)));
    }

    // Figures: supervisors and reporting staff only.
    for role in [Role::Admin, Role::LiaisonOfficer] {
        let caller = || as_role(role);
        let spec = ReportSpec::Annual { year: 2026 };
        refused!(Forbidden, reports::report(svc, caller(), spec, None));
        refused!(Forbidden, reports::yearly(svc, caller(), 2024, 2026));
        refused!(
            Forbidden,
            reports::create_snapshot(svc, caller(), body(json!({"kind": "annual", "year": 2026})))
        );
        refused!(Forbidden, reports::list_snapshots(svc, caller(), None, 50));
        refused!(
            Forbidden,
            reports::get_snapshot(svc, caller(), SnapshotId::generate())
        );
        refused!(
            Forbidden,
            reports::diff_snapshot(svc, caller(), SnapshotId::generate())
        );
    }

    // Nothing was written by any of the refused calls.
    let events_after = svc
        .db()
        .run(|c| Ok(rfa_tracker::db::rfas::events_after(c, 0, 10_000)?.len()))
        .await
        .unwrap();
    assert_eq!(events_after, events_before, "a refused call wrote events");
    let unchanged = registry::get_jurisdiction(svc, admin(), jid.clone())
        .await
        .unwrap();
    assert_eq!(unchanged.name, "Access test");
    let users = accounts::list_users(svc, admin(), None, 50).await.unwrap();
    assert_eq!(users.items.len(), 1, "a refused call created a user");
    let snapshots = reports::list_snapshots(svc, supervisor(), None, 50)
        .await
        .unwrap();
    assert!(snapshots.items.is_empty(), "a refused call froze a report");
    // And the callers who may, can: the refusals above are the policy, not a broken call.
    assert!(rfas::get(svc, supervisor(), id.clone()).await.is_ok());
    assert!(
        reports::report(svc, reporting(), ReportSpec::Annual { year: 2026 }, None)
            .await
            .is_ok()
    );
    assert!(rfas::verify_chain(svc, admin()).await.unwrap().ok);
}
