//! Documents on a request: upload, list, download, withdrawal, who may, what is refused,
//! and the bytes checked against their SHA-256 on every read and by the audit check.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::helpers::{Backend, assert_problem};
use crate::rfas::World;

both_backends!(
    a_document_goes_in_and_comes_out_the_same,
    a_document_in_the_database_store_goes_in_and_comes_out_the_same,
    a_document_added_through_one_instance_is_read_through_another,
    uploads_are_refused_by_content_size_and_reach,
    a_withdrawn_document_is_kept_with_its_reason,
    altered_bytes_are_refused_and_reported,
    altered_bytes_in_the_database_store_are_refused_and_reported,
    a_response_names_the_documents_sent,
);

/// The two document stores (`documents.store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Files,
    Database,
}

impl Store {
    fn settings(self) -> Vec<(&'static str, Value)> {
        match self {
            Store::Files => vec![("documents.store", json!("files"))],
            Store::Database => vec![("documents.store", json!("database"))],
        }
    }
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\ntrailer <<>>\n%%EOF\n";

fn form(bytes: &[u8], name: &str, kind: &str) -> Form {
    Form::new()
        .text("kind", kind.to_string())
        .text("description", "Letter of request with annex list")
        .part(
            "file",
            Part::bytes(bytes.to_vec())
                .file_name(name.to_string())
                .mime_str("application/octet-stream")
                .unwrap(),
        )
}

async fn upload(w: &World, token: &str, rfa: &Value, form: Form) -> reqwest::Response {
    w.app
        .client
        .post(w.app.url(&format!(
            "/api/v1/rfas/{}/documents",
            rfa["id"].as_str().unwrap()
        )))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn listed(w: &World, token: &str, rfa: &Value, query: &str) -> Vec<Value> {
    let res = w
        .app
        .get(
            &format!(
                "/api/v1/rfas/{}/documents{query}",
                rfa["id"].as_str().unwrap()
            ),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// The files under the store's directory (staging included).
fn stored_files(w: &World) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &w.app.db.dir.path().join("data").join("documents"),
        &mut out,
    );
    out
}

/// A minimal Word document: a zip with the entries that make it one.
fn docx() -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, body) in [
            ("[Content_Types].xml", "<Types/>"),
            ("word/document.xml", "<w:document/>"),
        ] {
            z.start_file(name, opts).unwrap();
            z.write_all(body.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

async fn a_document_goes_in_and_comes_out_the_same(backend: Backend) {
    round_trip(backend, Store::Files).await
}

async fn a_document_in_the_database_store_goes_in_and_comes_out_the_same(backend: Backend) {
    round_trip(backend, Store::Database).await
}

async fn round_trip(backend: Backend, store: Store) {
    let w = World::new_with(backend, &store.settings()).await;
    let rfa = w.intake().await;
    let res = upload(
        &w,
        &w.liaison,
        &rfa,
        form(PDF, "Ersuchen.pdf", "request_letter"),
    )
    .await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let doc: Value = res.json().await.unwrap();
    let sha = hex::encode(Sha256::digest(PDF));
    assert_eq!(doc["sha256"], sha);
    assert_eq!(doc["size"], PDF.len());
    assert_eq!(doc["media_type"], "application/pdf");
    assert_eq!(doc["kind"], "request_letter");
    assert_eq!(doc["file_name"], "Ersuchen.pdf");
    assert_eq!(doc["added_by"]["id"], w.liaison_id);
    assert!(location.ends_with(doc["id"].as_str().unwrap()));
    // Listed, described, and the bytes come back identical, as an attachment nothing renders.
    let items = listed(&w, &w.supervisor, &rfa, "").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], doc["id"]);
    let meta: Value = w
        .app
        .get(&location, Some(&w.supervisor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(meta["sha256"], sha);
    let res = w
        .app
        .get(&format!("{location}/content"), Some(&w.supervisor))
        .await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"Ersuchen.pdf\"")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");
    assert_eq!(h["cache-control"], "private, no-store");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PDF);
    // Adding is an event of the request's chain, with the hash; the chain still verifies.
    let events = w.events(&w.supervisor, &rfa).await;
    let added = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "add_document")
        .expect("an add_document event")
        .clone();
    assert_eq!(added["details"]["sha256"], sha);
    assert_eq!(added["details"]["kind"], "request_letter");
    let verify = w.verify().await;
    assert_eq!(verify["ok"], true, "{verify}");
    let check: Value = w
        .app
        .get("/api/v1/audit/documents", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        check,
        json!({"ok": true, "checked": 1, "missing": [], "mismatched": []})
    );
    // A Word document is known by what its zip holds.
    let res = upload(
        &w,
        &w.supervisor,
        &rfa,
        form(&docx(), "annex.docx", "annex"),
    )
    .await;
    assert_eq!(res.status(), 201);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(
        doc["media_type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    // The same bytes twice are stored once.
    assert_eq!(
        upload(&w, &w.supervisor, &rfa, form(PDF, "copy.pdf", "annex"))
            .await
            .status(),
        201
    );
    match store {
        Store::Files => assert_eq!(stored_files(&w).len(), 2, "{:?}", stored_files(&w)),
        Store::Database => {
            assert_eq!(
                w.app.db.number("SELECT count(*) AS n FROM document_blobs"),
                2
            );
            // Nothing stays on this machine's disk: not the staged uploads, not the copies
            // the downloads were served from.
            assert!(stored_files(&w).is_empty(), "{:?}", stored_files(&w));
        }
    }
}

/// Bytes that look like a PDF and fill `chunks` and a half of the database store's chunks.
fn large_pdf(chunks: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut x: u32 = 0x2545_4446;
    while bytes.len() < chunks * 1024 * 1024 + 512 * 1024 {
        // A small linear congruential generator: bytes that do not compress.
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        bytes.push((x >> 24) as u8);
    }
    bytes
}

async fn a_document_added_through_one_instance_is_read_through_another(backend: Backend) {
    let store = Store::Database.settings();
    let w = World::new_with(backend, &store).await;
    let other = w.app.second_instance_with(&store);
    let rfa = w.intake().await;
    let bytes = large_pdf(3);
    let res = upload(&w, &w.liaison, &rfa, form(&bytes, "Anlage.pdf", "annex")).await;
    assert_eq!(res.status(), 201);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(
        w.app.db.number("SELECT count(*) AS n FROM document_chunks"),
        4,
        "three whole chunks of 1 MiB and a part"
    );
    // The second instance has a data directory of its own: it serves what the first took.
    let res = other
        .get(
            &format!(
                "/api/v1/rfas/{}/documents/{}/content",
                rfa["id"].as_str().unwrap(),
                doc["id"].as_str().unwrap()
            ),
            Some(&w.supervisor),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    let served = res.bytes().await.unwrap();
    assert!(served.as_ref() == bytes.as_slice(), "the same bytes");
    let check: Value = other
        .get("/api/v1/audit/documents", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        check,
        json!({"ok": true, "checked": 1, "missing": [], "mismatched": []})
    );
}

async fn uploads_are_refused_by_content_size_and_reach(backend: Backend) {
    let w = World::new_with(backend, &[("documents.max_bytes", json!(4096))]).await;
    let rfa = w.intake().await;
    // An executable renamed .pdf, and a zip that is no office document: 415, nothing kept.
    for (bytes, name) in [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".to_vec(), "letter.pdf"),
        (b"PK\x03\x04 not really a zip".to_vec(), "annex.docx"),
    ] {
        let res = upload(&w, &w.supervisor, &rfa, form(&bytes, name, "annex")).await;
        let p = assert_problem(res, 415).await;
        assert!(p["detail"].as_str().unwrap().contains("PDF"), "{p}");
    }
    // Too large: 413, and nothing left in the store, not even in staging.
    let big = [b'a'; 5000];
    let res = upload(&w, &w.supervisor, &rfa, form(&big, "big.txt", "annex")).await;
    assert_problem(res, 413).await;
    // A wrong kind, no file: 422 naming the field.
    let res = upload(
        &w,
        &w.supervisor,
        &rfa,
        form(PDF, "a.pdf", "secret_dossier"),
    )
    .await;
    let p = assert_problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "kind");
    let res = upload(&w, &w.supervisor, &rfa, Form::new().text("kind", "annex")).await;
    let p = assert_problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "file");
    assert!(stored_files(&w).is_empty(), "{:?}", stored_files(&w));
    assert!(
        listed(&w, &w.supervisor, &rfa, "?withdrawn=true")
            .await
            .is_empty()
    );
    // Out of reach: another jurisdiction's officer learns nothing; reporting and admin never.
    let res = upload(&w, &w.other_liaison, &rfa, form(PDF, "a.pdf", "annex")).await;
    assert_problem(res, 404).await;
    for token in [&w.reporting, &w.admin] {
        let res = upload(&w, token, &rfa, form(PDF, "a.pdf", "annex")).await;
        assert_problem(res, 403).await;
    }
    let path = format!("/api/v1/rfas/{}/documents", rfa["id"].as_str().unwrap());
    assert_problem(w.app.get(&path, Some(&w.other_liaison)).await, 404).await;
    assert_problem(w.app.get(&path, Some(&w.reporting)).await, 403).await;
    assert!(stored_files(&w).is_empty());
    // A path for a name is only a name.
    let res = upload(
        &w,
        &w.supervisor,
        &rfa,
        form(b"plain words\n", "../../etc/passwd.txt", "other"),
    )
    .await;
    assert_eq!(res.status(), 201);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["file_name"], "passwd.txt");
    assert_eq!(doc["media_type"], "text/plain");
    let events = w.events(&w.supervisor, &rfa).await;
    let added = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "add_document")
        .count();
    assert_eq!(added, 1, "only the accepted upload is an event");
}

async fn a_withdrawn_document_is_kept_with_its_reason(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let doc: Value = upload(&w, &w.liaison, &rfa, form(PDF, "draft.pdf", "annex"))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/rfas/{}/documents/{}/withdraw",
        rfa["id"].as_str().unwrap(),
        doc["id"].as_str().unwrap()
    );
    // Liaison officers do not withdraw; a reason is needed.
    assert_problem(
        w.app
            .post(&path, Some(&w.liaison), &json!({"reason": "wrong file"}))
            .await,
        403,
    )
    .await;
    assert_problem(
        w.app
            .post(&path, Some(&w.supervisor), &json!({"reason": "  "}))
            .await,
        422,
    )
    .await;
    let res = w
        .app
        .post(
            &path,
            Some(&w.supervisor),
            &json!({"reason": "Sent in error; replaced by the signed copy."}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let withdrawn: Value = res.json().await.unwrap();
    assert_eq!(
        withdrawn["withdrawn"]["reason"],
        "Sent in error; replaced by the signed copy."
    );
    assert_eq!(withdrawn["withdrawn"]["by"]["id"], w.supervisor_id);
    assert_problem(
        w.app
            .post(&path, Some(&w.supervisor), &json!({"reason": "again"}))
            .await,
        409,
    )
    .await;
    assert!(listed(&w, &w.liaison, &rfa, "").await.is_empty());
    let all = listed(&w, &w.liaison, &rfa, "?withdrawn=true").await;
    assert_eq!(all.len(), 1);
    assert!(all[0]["withdrawn"]["at"].is_string());
    // Still readable, and both changes are in the chain.
    let content = format!(
        "/api/v1/rfas/{}/documents/{}/content",
        rfa["id"].as_str().unwrap(),
        doc["id"].as_str().unwrap()
    );
    assert_eq!(w.app.get(&content, Some(&w.supervisor)).await.status(), 200);
    let events = w.events(&w.supervisor, &rfa).await;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"add_document") && actions.contains(&"withdraw_document"),
        "{actions:?}"
    );
}

async fn altered_bytes_are_refused_and_reported(backend: Backend) {
    altered(backend, Store::Files).await
}

async fn altered_bytes_in_the_database_store_are_refused_and_reported(backend: Backend) {
    altered(backend, Store::Database).await
}

/// Alters the stored bytes behind the service's back, as someone with access to the disk
/// or to the database as its owner could, and then removes them.
async fn altered(backend: Backend, store: Store) {
    let w = World::new_with(backend, &store.settings()).await;
    let rfa = w.intake().await;
    let doc: Value = upload(
        &w,
        &w.supervisor,
        &rfa,
        form(PDF, "letter.pdf", "request_letter"),
    )
    .await
    .json()
    .await
    .unwrap();
    let files = stored_files(&w);
    match store {
        Store::Files => {
            assert_eq!(files.len(), 1);
            std::fs::write(&files[0], b"%PDF-1.7 something else entirely").unwrap();
        }
        Store::Database => {
            assert!(files.is_empty(), "{files:?}");
            // The owner can lift the triggers that keep stored bytes unchanged.
            assert!(
                w.app
                    .db
                    .try_execute("UPDATE document_chunks SET seq = seq")
                    .is_err(),
                "stored bytes are append-only"
            );
            w.app.db.lift_append_only();
            let altered = if backend == Backend::Postgres {
                "UPDATE document_chunks SET bytes = convert_to('%PDF-1.7 forged', 'UTF8')"
            } else {
                "UPDATE document_chunks SET bytes = CAST('%PDF-1.7 forged' AS BLOB)"
            };
            assert_eq!(w.app.db.execute(altered), 1);
        }
    }
    let content = format!(
        "/api/v1/rfas/{}/documents/{}/content",
        rfa["id"].as_str().unwrap(),
        doc["id"].as_str().unwrap()
    );
    let p = assert_problem(w.app.get(&content, Some(&w.supervisor)).await, 500).await;
    assert!(
        p["detail"].as_str().unwrap().contains("no longer matches"),
        "{p}"
    );
    let check: Value = w
        .app
        .get("/api/v1/audit/documents", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["ok"], false);
    assert_eq!(check["mismatched"], json!([doc["id"]]));
    match store {
        Store::Files => std::fs::remove_file(&files[0]).unwrap(),
        Store::Database => {
            w.app.db.execute("DELETE FROM document_chunks");
            w.app.db.execute("DELETE FROM document_blobs");
        }
    }
    let check: Value = w
        .app
        .get("/api/v1/audit/documents", Some(&w.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["missing"], json!([doc["id"]]));
    assert_problem(
        w.app
            .get("/api/v1/audit/documents", Some(&w.supervisor))
            .await,
        403,
    )
    .await;
}

async fn a_response_names_the_documents_sent(backend: Backend) {
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let doc: Value = upload(
        &w,
        &w.supervisor,
        &rfa,
        form(PDF, "Antwort.pdf", "response"),
    )
    .await
    .json()
    .await
    .unwrap();
    let mut rfa = rfa;
    for (action, body) in [
        ("start_review", json!({})),
        ("assign", json!({"assignee_id": w.supervisor_id})),
        ("accept", json!({})),
    ] {
        rfa = w.act(&w.supervisor, &rfa, action, body).await;
    }
    let response = |documents: Value| {
        json!({"kind": "other", "description": "Evidence package sent by courier.",
               "shared_on": "2026-03-10", "documents": documents})
    };
    // A document of no request, or a repeated one: named, nothing recorded.
    let stranger = uuid::Uuid::now_v7().to_string();
    let res = w
        .act_raw(
            &w.supervisor,
            &rfa,
            "record_response",
            response(json!([stranger])),
        )
        .await;
    let p = assert_problem(res, 422).await;
    assert_eq!(p["errors"][0]["field"], "documents[0]", "{p}");
    let res = w
        .act_raw(
            &w.supervisor,
            &rfa,
            "record_response",
            response(json!([doc["id"], doc["id"]])),
        )
        .await;
    assert_problem(res, 422).await;
    w.act(
        &w.supervisor,
        &rfa,
        "record_response",
        response(json!([doc["id"]])),
    )
    .await;
    let events = w.events(&w.supervisor, &rfa).await;
    let recorded = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "record_response")
        .unwrap()
        .clone();
    assert_eq!(
        recorded["details"]["documents"],
        json!([{"id": doc["id"], "file_name": "Antwort.pdf", "sha256": doc["sha256"]}])
    );
}
