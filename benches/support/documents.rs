//! The documents benchmark: one large upload and its download through the server binary,
//! the server's memory before and after, and a plain file copy on the same disk.

use std::io::Write;
use std::time::Instant;

use serde_json::{Value, json};

/// Runs it with a file of `mib` MiB on SQLite (or on PostgreSQL when `postgres` names a
/// server), with the document store `store` (`files` or `database`); prints the table and
/// returns the figures.
pub async fn run(
    binary: &str,
    mib: usize,
    postgres: Option<String>,
    store: &str,
) -> anyhow::Result<Value> {
    let backend = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let db = super::BenchDb::new(postgres)?;
    let state = rfa_tracker::startup::prepare(db.settings(&[])).await?;
    let (pairs, _) = super::registry_and_users(&state).await?;
    drop(state);
    let server = super::load::Server::start_with(binary, &db, &[("RFA__DOCUMENTS__STORE", store)])?;
    let client = reqwest::Client::new();
    let token = super::login(&client, &server.base, "bench-supervisor@rfa.test").await?;
    let rfa: Value = client
        .post(format!("{}/api/v1/rfas", server.base))
        .bearer_auth(&token)
        .json(&super::load::intake_body(&pairs[0].0, &pairs[0].1))
        .send()
        .await?
        .json()
        .await?;
    let docs = format!(
        "{}/api/v1/rfas/{}/documents",
        server.base,
        rfa["id"].as_str().unwrap_or_default()
    );
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let form = reqwest::multipart::Form::new().text("kind", "annex").part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        client
            .post(&docs)
            .bearer_auth(&token)
            .multipart(form)
            .send()
    };
    // A small one first, so that the server's pools and buffers exist before "idle".
    let res = upload(b"%PDF-1.7\n%%EOF\n".to_vec(), "warm.pdf").await?;
    anyhow::ensure!(
        res.status() == 201,
        "warm-up upload answered {}",
        res.status()
    );
    let idle = server.rss_mib();
    let peak_idle = server.peak_mib();

    // The file: a PDF header, then bytes that do not compress.
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < mib * 1024 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(mib * 1024 * 1024);
    let size_mib = bytes.len() as f64 / (1024.0 * 1024.0);

    let started = Instant::now();
    let res = upload(bytes.clone(), "large.pdf").await?;
    let up = started.elapsed().as_secs_f64();
    anyhow::ensure!(res.status() == 201, "upload answered {}", res.status());
    let doc: Value = res.json().await?;
    let peak = server.peak_mib();

    let started = Instant::now();
    let got = client
        .get(format!(
            "{docs}/{}/content",
            doc["id"].as_str().unwrap_or_default()
        ))
        .bearer_auth(&token)
        .send()
        .await?
        .bytes()
        .await?;
    let down = started.elapsed().as_secs_f64();
    anyhow::ensure!(got.as_ref() == bytes.as_slice(), "the download differs");
    let peak_after_download = server.peak_mib();

    // A plain copy on the same disk, synced as the store syncs.
    let a = db.dir.path().join("copy-source.bin");
    let b = db.dir.path().join("copy-target.bin");
    let mut f = std::fs::File::create(&a)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    let started = Instant::now();
    std::fs::copy(&a, &b)?;
    std::fs::File::open(&b)?.sync_all()?;
    let copy = started.elapsed().as_secs_f64();

    println!("\nDocuments on {backend}, store `{store}`: one {size_mib:.0} MiB file");
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| server resident memory before (after a small upload) | {idle:.1} MiB (peak so far {peak_idle:.1} MiB) |"
    );
    println!(
        "| server peak memory after the upload | {peak:.1} MiB (+{:.1} MiB over the peak before) |",
        peak - peak_idle
    );
    println!("| server peak memory after the download | {peak_after_download:.1} MiB |");
    println!(
        "| upload (HTTP multipart, hashed, fsynced) | {:.0} MiB/s ({up:.2} s) |",
        size_mib / up
    );
    println!(
        "| download (hash checked, then streamed) | {:.0} MiB/s ({down:.2} s) |",
        size_mib / down
    );
    println!(
        "| plain file copy on the same disk, fsynced | {:.0} MiB/s ({copy:.2} s) |",
        size_mib / copy
    );
    Ok(json!({
            "backend": backend,
            "store": store,
            "file_mib": size_mib,
            "idle_rss_mib": idle,
            "peak_before_mib": peak_idle,
            "peak_after_upload_mib": peak,
            "peak_after_download_mib": peak_after_download,
            "upload_mib_s": size_mib / up,
            "download_mib_s": size_mib / down,
            "copy_mib_s": size_mib / copy,
    }))
}
