//! A property over the whole service: random sequences of lifecycle actions by random
//! callers never break the lifecycle rules, the access rules, the report identity or the
//! event chain. Each step is checked against a small model of the documented rules
//! (docs/lifecycle.md, the access table in SPEC section 5).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::Backend;
use crate::rfas::{ACTIONS, World, body_for, state_allows};

both_backends!(random_action_sequences_keep_every_rule);

#[derive(Debug, Clone, Copy)]
enum Caller {
    Supervisor,
    /// A liaison officer of the request's jurisdiction.
    Liaison,
    /// A liaison officer of another jurisdiction.
    OtherLiaison,
    Reporting,
    Admin,
}

const CALLERS: [Caller; 5] = [
    Caller::Supervisor,
    Caller::Liaison,
    Caller::OtherLiaison,
    Caller::Reporting,
    Caller::Admin,
];

/// What the model knows of one request.
struct Model {
    state: &'static str,
    assigned: bool,
}

/// Actions a liaison officer may take on requests of their own jurisdictions.
fn liaison_may(action: &str) -> bool {
    matches!(
        action,
        "request_information"
            | "resume"
            | "record_response"
            | "add_note"
            | "record_assurance"
            | "evaluate_eligibility"
            | "withdraw"
    )
}

/// The answer the rules call for, and the state after a success.
fn expected(caller: Caller, action: &str, m: &Model) -> (u16, &'static str) {
    match caller {
        Caller::OtherLiaison => return (404, m.state),
        Caller::Reporting | Caller::Admin => return (403, m.state),
        Caller::Liaison if !liaison_may(action) => return (403, m.state),
        _ => {}
    }
    if !state_allows(action, m.state) {
        return (409, m.state);
    }
    match action {
        // Acceptance needs an assignee; an override only applies to a request that is not
        // eligible (this one is).
        "accept" if !m.assigned => (409, m.state),
        "override_eligibility" => (409, m.state),
        "start_review" => (200, "under_review"),
        "accept" | "resume" | "reopen" => (200, "in_progress"),
        "decline" | "close" | "withdraw" => (200, "closed"),
        "request_information" => (200, "awaiting_requester"),
        _ => (200, m.state),
    }
}

async fn run_sequence(w: &World, steps: &[(usize, usize)]) -> Result<(), TestCaseError> {
    let mut rfa = w.intake().await;
    let mut model = Model {
        state: "received",
        assigned: false,
    };
    let mut extensions = 0;
    for (step, &(c, a)) in steps.iter().enumerate() {
        let (caller, action) = (CALLERS[c], ACTIONS[a]);
        let token = match caller {
            Caller::Supervisor => &w.supervisor,
            Caller::Liaison => &w.liaison,
            Caller::OtherLiaison => &w.other_liaison,
            Caller::Reporting => &w.reporting,
            Caller::Admin => &w.admin,
        };
        let body = match action {
            // Each extension moves the deadline further out.
            "extend_deadline" => {
                extensions += 1;
                json!({"due_on": format!("{}-01-01", 2100 + extensions), "reason": "r"})
            }
            "assign" => json!({"assignee_id": w.supervisor_id}),
            _ => body_for(w, action),
        };
        let res = w.act_raw(token, &rfa, action, body).await;
        let status = res.status().as_u16();
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        let (want, next) = expected(caller, action, &model);
        let label = format!("step {step}: {caller:?} {action} in {}", model.state);
        if want == 200 {
            prop_assert!((200..300).contains(&status), "{label}: {status} {answer}");
            prop_assert_eq!(answer["state"].as_str(), Some(next), "{}", label);
            prop_assert!(
                answer["version"].as_i64() > rfa["version"].as_i64(),
                "{label}"
            );
            model.state = next;
            model.assigned |= action == "assign";
            rfa = answer;
        } else {
            prop_assert_eq!(status, want, "{}: {}", label, answer);
            prop_assert_eq!(
                answer["type"]
                    .as_str()
                    .map(|t| t.starts_with("urn:rfa-tracker:problem:")),
                Some(true),
                "{}: a problem answer",
                label
            );
            // Refused: the request did not change.
            let now: Value = w.get(&w.supervisor, &rfa).await.json().await.unwrap();
            prop_assert_eq!(&now["version"], &rfa["version"], "{}", label);
            prop_assert_eq!(&now["state"], &rfa["state"], "{}", label);
        }
    }
    // Whatever happened: the chain holds and the year's figures add up.
    let verify = w.verify().await;
    prop_assert_eq!(&verify["ok"], &json!(true), "{}", verify);
    let year = chrono::Utc::now().format("%Y").to_string();
    let report: Value = w
        .app
        .get(
            &format!("/api/v1/reports/annual?year={year}"),
            Some(&w.reporting),
        )
        .await
        .json()
        .await
        .unwrap();
    prop_assert_eq!(&report["identity_holds"], &json!(true), "{}", report);
    Ok(())
}

async fn random_action_sequences_keep_every_rule(backend: Backend) {
    let w = World::new(backend).await;
    let cases = std::env::var("RFA_SEQUENCE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let steps = prop::collection::vec((0..CALLERS.len(), 0..ACTIONS.len()), 1..30);
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&steps, |steps| handle.block_on(run_sequence(&w, &steps)))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
