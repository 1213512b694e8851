//! API load benchmark: each scenario at a fixed concurrency for a fixed time over real HTTP
//! connections to the server binary, against the limits measured in the same run.
//!
//!     cargo bench --bench api
//!
//! BENCH_POSTGRES_URL runs it on PostgreSQL; BENCH_SECONDS (default 10), BENCH_CONCURRENCY
//! (default 16), BENCH_SMALL (default 10,000 RFAs), BENCH_LARGE (default 1,000,000) and
//! BENCH_SEARCH_RATE (searches a second in the paced search scenario, default 200).
//! BENCH_KEEP=1 keeps the database and prints its URL; BENCH_REUSE=<that URL> then runs only
//! the search scenarios on it (no seeding), for work on the search.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let cfg = support::load::Config {
        small: var("BENCH_SMALL", 10_000),
        large: var("BENCH_LARGE", 1_000_000),
        concurrency: var("BENCH_CONCURRENCY", 16),
        seconds: var("BENCH_SECONDS", 10.0),
        binary: env!("CARGO_BIN_EXE_rfa-tracker").to_string(),
        postgres: std::env::var("BENCH_POSTGRES_URL")
            .ok()
            .filter(|v| !v.is_empty()),
        search_rate: var("BENCH_SEARCH_RATE", 200.0),
    };
    let reuse = std::env::var("BENCH_REUSE").ok().filter(|v| !v.is_empty());
    let on_postgres = match &reuse {
        Some(url) => url.starts_with("postgres"),
        None => cfg.postgres.is_some(),
    };
    let backend = if on_postgres { "PostgreSQL" } else { "SQLite" };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let results = match reuse {
        Some(url) => {
            let db = support::BenchDb::reuse(&url)?;
            rt.block_on(support::load::search_only(&cfg, &db))?
        }
        None => rt.block_on(support::load::run(&cfg))?,
    };
    println!(
        "\nAPI load on {backend}: concurrency {}, {} s per scenario, database.sqlite_synchronous = full",
        cfg.concurrency, cfg.seconds
    );
    support::load::print(&results);
    std::fs::create_dir_all("target/bench")?;
    let file = format!("target/bench/api-{}.json", backend.to_lowercase());
    std::fs::write(
        &file,
        serde_json::to_string_pretty(&support::load::to_json(&results))?,
    )?;
    println!("written to {file}");
    Ok(())
}
