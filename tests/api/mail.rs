//! Notifications through the outbox: every kind arrives, failures are retried until
//! delivered, a crashed worker's messages are delivered once, files are parsable, and two
//! instances never send a message twice.

use std::time::Duration;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, settings};
use crate::rfas::World;
use crate::smtp::SmtpServer;

both_backends!(
    every_kind_of_message_arrives,
    a_refusing_or_absent_server_delays_but_loses_nothing,
    a_crashed_workers_messages_are_delivered_once,
    the_file_transport_writes_parsable_messages,
    failed_messages_can_be_retried_by_an_administrator,
    two_instances_send_each_message_once,
    administrators_read_no_case_content_in_the_outbox,
);

fn smtp_settings(port: u16) -> Vec<(&'static str, Value)> {
    vec![
        ("mail.transport", json!("smtp")),
        ("mail.smtp_host", json!("127.0.0.1")),
        ("mail.smtp_port", json!(port)),
        ("mail.smtp_security", json!("none")),
        ("mail.poll_interval_ms", json!(100)),
        ("mail.retry_base_secs", json!(1)),
        ("mail.lease_secs", json!(2)),
        ("mail.digest_hour", json!(0)),
    ]
}

async fn wait_for(smtp: &SmtpServer, n: usize) -> Vec<crate::smtp::Received> {
    for _ in 0..150 {
        let m = smtp.messages();
        if m.len() >= n {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "expected {n} messages, got {:?}",
        smtp.messages()
            .iter()
            .map(|m| m.header("Subject"))
            .collect::<Vec<_>>()
    );
}

async fn every_kind_of_message_arrives(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let w = World::new_with(backend, &smtp_settings(smtp.port)).await;
    let s = w.supervisor.clone();
    let rfa = w.intake().await;
    let reference = rfa["reference"].as_str().unwrap().to_string();
    let rfa = w.act(&s, &rfa, "start_review", json!({})).await;
    let rfa = w
        .act(&s, &rfa, "assign", json!({"assignee_id": w.supervisor_id}))
        .await;
    let rfa = w.act(&s, &rfa, "accept", json!({})).await;
    w.act(
        &s,
        &rfa,
        "request_information",
        json!({"message": "Please send the indictment."}),
    )
    .await;
    let other = w.intake().await;
    w.act(
        &s,
        &other,
        "decline",
        json!({"outcome": "declined_other", "reason": "internal reasoning that must not leak"}),
    )
    .await;
    // A third request waits in the queue, overdue: the supervisor's digest lists it (its hour
    // is midnight, so today's is due).
    w.intake().await;
    // Acknowledgements (3), assignment, acceptance, information request, decline, digest.
    let messages = wait_for(&smtp, 8).await;
    let find = |subject: &str| {
        messages
            .iter()
            .find(|m| m.header("Subject").is_some_and(|s| s.contains(subject)))
            .unwrap_or_else(|| panic!("no message with subject {subject}"))
            .clone()
    };
    let ack = find(&format!("[{reference}] Request for assistance received"));
    assert_eq!(ack.to, ["wcp@justice.example"]);
    assert!(ack.data.contains(&reference));
    assert!(
        ack.header("Message-ID")
            .is_some_and(|id| id.ends_with("@rfa-tracker>"))
    );
    let assigned = find(&format!("[{reference}] Assigned to you"));
    let me: Value = w
        .app
        .get("/api/v1/me", Some(&s))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(assigned.to, [me["email"].as_str().unwrap()]);
    let accepted = find(&format!("[{reference}] Request accepted"));
    assert_eq!(accepted.to, ["wcp@justice.example"]);
    let info = find(&format!("[{reference}] Further information needed"));
    assert_eq!(info.to, ["a.prosecutor@justice.example"]);
    assert!(info.data.contains("Please send the indictment."));
    let declined = find("Request declined");
    assert!(
        !declined.data.contains("internal reasoning"),
        "no internal reasoning in a decision notice"
    );
    let digest = find("RFA digest for");
    assert_eq!(digest.to, [me["email"].as_str().unwrap()]);
    // Nothing is sent twice: a few more rounds later, the count is the same.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 8);
}

async fn a_refusing_or_absent_server_delays_but_loses_nothing(backend: Backend) {
    let smtp = SmtpServer::start().await;
    smtp.refuse(true);
    let w = World::new_with(backend, &smtp_settings(smtp.port)).await;
    let rfa = w.intake().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        smtp.messages()
            .iter()
            .all(|m| !m.header("Subject").unwrap_or_default().contains("received"))
    );
    let pending: Value = w
        .app
        .get("/api/v1/admin/outbox?status=pending", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    let ack = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "acknowledgement")
        .cloned()
        .expect("still queued");
    assert!(ack["attempts"].as_i64().unwrap() >= 1);
    assert!(ack["last_error"].as_str().unwrap().contains("451"));
    smtp.refuse(false);
    let messages = wait_for(&smtp, 1).await;
    let reference = rfa["reference"].as_str().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m.header("Subject").unwrap_or_default().contains(reference))
    );

    // No server at all: connection refused, recorded, kept for another attempt.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let w2 = World::new_with(backend, &smtp_settings(port)).await;
    w2.intake().await;
    let mut tried = false;
    for _ in 0..50 {
        let all: Value = w2
            .app
            .get("/api/v1/admin/outbox", Some(&w2.admin))
            .await
            .json()
            .await
            .unwrap();
        tried = all["items"].as_array().unwrap().iter().any(|m| {
            m["kind"] == "acknowledgement"
                && m["status"] != "sent"
                && m["attempts"].as_i64().unwrap_or(0) >= 1
                && m["last_error"].is_string()
        });
        if tried {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(tried, "the failed attempt is recorded and the message kept");
}

async fn a_crashed_workers_messages_are_delivered_once(backend: Backend) {
    let smtp = SmtpServer::start().await;
    smtp.refuse(true);
    let mut s = smtp_settings(smtp.port);
    s.push(("mail.send", json!(["acknowledgement"])));
    let w = World::new_with(backend, &s).await;
    w.intake().await;
    // A worker "crashed" holding the message: claimed, leased, never sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let future = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let n = w.app.db.execute(&format!(
        "UPDATE outbox SET status = 'sending', lease_owner = 'crashed-worker', leased_until = '{future}', next_attempt_at = '{future}' WHERE kind = 'acknowledgement'"
    ));
    assert_eq!(n, 1);
    smtp.refuse(false);
    // While the lease holds, nobody else takes it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(smtp.messages().is_empty());
    // After it, it is delivered, once.
    wait_for(&smtp, 1).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let acks = smtp
        .messages()
        .iter()
        .filter(|m| m.header("Subject").unwrap_or_default().contains("received"))
        .count();
    assert_eq!(acks, 1);
    let sent: Value = w
        .app
        .get("/api/v1/admin/outbox?status=sent", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        sent["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "acknowledgement")
    );
}

async fn the_file_transport_writes_parsable_messages(backend: Backend) {
    let w = World::new_with(
        backend,
        &[
            ("mail.poll_interval_ms", json!(100)),
            ("mail.send", json!(["acknowledgement"])),
        ],
    )
    .await;
    let rfa = w.intake().await;
    let dir = w.app.db.dir.path().join("data").join("mail");
    let mut found = None;
    for _ in 0..50 {
        if let Some(entry) = std::fs::read_dir(&dir).ok().and_then(|mut d| {
            d.find(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
        }) {
            found = Some(entry.unwrap().path());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = found.expect("an .eml file");
    let bytes = std::fs::read(&path).unwrap();
    let parsed = mailparse::parse_mail(&bytes).expect("parsable message");
    use mailparse::MailHeaderMap;
    let subject = parsed.headers.get_first_value("Subject").unwrap();
    assert!(
        subject.contains(rfa["reference"].as_str().unwrap()),
        "{subject}"
    );
    assert_eq!(
        parsed.headers.get_first_value("To").unwrap(),
        "wcp@justice.example"
    );
    assert_eq!(parsed.subparts.len(), 2, "text and HTML");
}

async fn failed_messages_can_be_retried_by_an_administrator(backend: Backend) {
    let smtp = SmtpServer::start().await;
    smtp.refuse(true);
    let mut s = smtp_settings(smtp.port);
    s.push(("mail.max_attempts", json!(1)));
    let w = World::new_with(backend, &s).await;
    w.intake().await;
    let mut failed = Value::Null;
    for _ in 0..50 {
        failed = w
            .app
            .get("/api/v1/admin/outbox?status=failed", Some(&w.admin))
            .await
            .json()
            .await
            .unwrap();
        if !failed["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let message = failed["items"][0].clone();
    assert_eq!(message["status"], "failed");
    let id = message["id"].as_str().unwrap();
    // Others may not see or touch the outbox.
    assert_problem(
        w.app.get("/api/v1/admin/outbox", Some(&w.supervisor)).await,
        403,
    )
    .await;
    smtp.refuse(false);
    let res = w
        .app
        .post(
            &format!("/api/v1/admin/outbox/{id}/retry"),
            Some(&w.admin),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    wait_for(&smtp, 1).await;
    // Only failed messages are retried.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = w
        .app
        .post(
            &format!("/api/v1/admin/outbox/{id}/retry"),
            Some(&w.admin),
            &json!({}),
        )
        .await;
    assert_problem(res, 409).await;
}

async fn two_instances_send_each_message_once(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let mut s = smtp_settings(smtp.port);
    s.push(("mail.send", json!(["acknowledgement"])));
    let w = World::new_with(backend, &s).await;
    let second_db = w.app.db.shared();
    let second_settings = settings(&second_db, &s);
    let second = TestApp::start(second_db, second_settings);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = if i % 2 == 0 { &w.app } else { &second };
        let req = app
            .client
            .post(app.url("/api/v1/rfas"))
            .bearer_auth(&w.supervisor)
            .json(&w.intake_body());
        tasks.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let messages = wait_for(&smtp, 20).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ids: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), 20, "{} messages", messages.len());
    assert_eq!(unique.len(), 20, "each message once");
}

/// The outbox is for delivery problems: an administrator sees to whom by domain and about
/// which case by reference, never a requester's mailbox or a case's subject.
async fn administrators_read_no_case_content_in_the_outbox(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let reference = rfa["reference"].as_str().unwrap();
    let page: Value = w
        .app
        .get("/api/v1/admin/outbox?limit=200", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    let ack = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "acknowledgement")
        .cloned()
        .unwrap_or_else(|| panic!("{page}"));
    let text = page.to_string();
    assert!(!text.contains("a.prosecutor"), "{text}");
    assert!(!text.contains("Detention facility"), "{text}");
    // The authority's address: one letter, then its domain.
    let to = ack["recipient"].as_str().unwrap();
    let (mailbox, domain) = to.split_once('@').unwrap();
    assert_eq!(mailbox.chars().count(), 2, "{to}");
    assert!(mailbox.ends_with('…') && !domain.is_empty(), "{to}");
    assert_eq!(
        ack["subject"],
        format!("Acknowledgement about {reference}").as_str()
    );
}
