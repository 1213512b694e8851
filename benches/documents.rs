//! Documents: the server's peak memory while a large file is uploaded (it must not grow with
//! the file: the upload is streamed to the store), and upload and download throughput
//! against a plain file copy on the same disk.
//!
//!     cargo bench --bench documents
//!
//! BENCH_DOC_MIB sets the file's size (default 50, the default limit); BENCH_POSTGRES_URL
//! runs it on PostgreSQL; BENCH_DOC_STORE picks one document store (`files` or `database`;
//! both by default, one after the other).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

fn main() -> anyhow::Result<()> {
    let mib: usize = std::env::var("BENCH_DOC_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let postgres = std::env::var("BENCH_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty());
    let binary = env!("CARGO_BIN_EXE_rfa-tracker").to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let stores = match std::env::var("BENCH_DOC_STORE") {
        Ok(one) if !one.is_empty() => vec![one],
        _ => vec!["files".to_string(), "database".to_string()],
    };
    let mut figures = Vec::new();
    for store in &stores {
        figures.push(rt.block_on(support::documents::run(
            &binary,
            mib,
            postgres.clone(),
            store,
        ))?);
    }
    std::fs::create_dir_all("target/bench")?;
    std::fs::write(
        "target/bench/documents.json",
        serde_json::to_string_pretty(&figures)?,
    )?;
    println!("written to target/bench/documents.json");
    Ok(())
}
