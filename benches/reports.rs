//! Report benchmark: the annual report, an as-of report, a partial year and the cumulative
//! totals over HTTP with many RFAs stored (default 1,000,000 over ten years); the exports,
//! the figures page as a browser gets it, its chart, and a figure opened to its requests.
//!
//!     cargo bench --bench reports
//!
//! BENCH_RFAS sets the number of RFAs, BENCH_POSTGRES_URL runs it on PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use rfa_tracker::startup::{Application, prepare};
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_RFAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let db = support::BenchDb::from_env()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let settings = db.settings(&[]);
    let seeded = rt.block_on(async {
        let state = prepare(settings.clone()).await?;
        let (pairs, supervisor) = support::registry_and_users(&state).await?;
        let db_handle = state.db().clone();
        tokio::task::spawn_blocking(move || {
            support::seed::seed(&db_handle, &pairs, &supervisor, n, 2016..=2025)
        })
        .await?
    })?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {} RFAs and {} events in {seed_secs:.1} s",
        seeded.rfas, seeded.events
    );

    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = Application::build(settings).await.expect("server");
            tx.send((app.port(), app.handle())).expect("send");
            app.run_until_stopped().await.expect("serve");
        });
    });
    let (port, handle) = rx.recv()?;
    let base = format!("http://127.0.0.1:{port}");
    let results = rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        let token = support::login(&client, &base, "bench-reporting@rfa.test").await?;
        let session = support::web_session(&base, "bench-reporting@rfa.test").await?;
        let supervisor = support::web_session(&base, "bench-supervisor@rfa.test").await?;
        let cases = [
            (
                "annual report 2024",
                "/api/v1/reports/annual?year=2024".to_string(),
            ),
            (
                "annual report 2024 as of 2025-02-01",
                "/api/v1/reports/annual?year=2024&as_of=2025-02-01T00:00:00Z".to_string(),
            ),
            (
                "range 2025-01-01..2025-04-30",
                "/api/v1/reports/range?from=2025-01-01&to=2025-04-30".to_string(),
            ),
            (
                "cumulative through 2025",
                "/api/v1/reports/cumulative?through=2025".to_string(),
            ),
            (
                "annual report 2024 as CSV",
                "/api/v1/reports/annual?year=2024&format=csv".to_string(),
            ),
            (
                "annual report 2024 as XLSX",
                "/api/v1/reports/annual?year=2024&format=xlsx".to_string(),
            ),
            (
                "figures page 2024 (HTML, all tables)",
                "/reports?kind=annual&year=2024".to_string(),
            ),
            (
                "figures page 2024 as of 2025-02-01",
                "/reports?kind=annual&year=2024&as_of=2025-02-01T00:00".to_string(),
            ),
            (
                "figures page chart 2019-2024 (SVG)",
                "/reports/chart.svg?kind=annual&year=2024".to_string(),
            ),
            (
                "chart 2019-2024 as PNG",
                "/api/v1/reports/charts/annual.png?from=2019&to=2024".to_string(),
            ),
            (
                "received 2024 behind the figure (supervisor, every reference)",
                "/reports/figure?kind=annual&year=2024&figure=received".to_string(),
            ),
        ];
        let mut out = Vec::new();
        for (name, path) in cases {
            let mut times = Vec::new();
            let mut received = serde_json::Value::Null;
            for _ in 0..5 {
                let t = Instant::now();
                let req = client.get(format!("{base}{path}"));
                // The screens take a session cookie; the drill-down is a supervisor's.
                let req = if path.starts_with("/api/") {
                    req.bearer_auth(&token)
                } else if path.starts_with("/reports/figure") {
                    req.header(reqwest::header::COOKIE, &supervisor)
                } else {
                    req.header(reqwest::header::COOKIE, &session)
                };
                let res = req.send().await?;
                anyhow::ensure!(res.status() == 200, "{path}: {}", res.status());
                let body = res.text().await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                received = serde_json::from_str::<serde_json::Value>(&body)
                    .map(|v| v["received"].clone())
                    .unwrap_or_default();
            }
            times.sort_by(f64::total_cmp);
            out.push((name, times[0], times[2], times[4], received));
        }
        anyhow::Ok(out)
    })?;
    let peak = support::peak_rss_mib();
    rt.block_on(handle.stop(true));
    let _ = server.join();

    println!(
        "\nreports on {} with {} RFAs ({} events) over 2016-2025; 5 runs each",
        db.backend(),
        seeded.rfas,
        seeded.events
    );
    println!("| report | min ms | median ms | max ms | received |");
    println!("|---|---|---|---|---|");
    for (name, min, med, max, received) in &results {
        println!("| {name} | {min:.0} | {med:.0} | {max:.0} | {received} |");
    }
    println!(
        "\npeak memory of the process (server and load generator): {peak:.0} MiB; seeding took {seed_secs:.0} s"
    );
    let json = json!({
        "backend": db.backend(),
        "rfas": seeded.rfas,
        "events": seeded.events,
        "seed_seconds": seed_secs,
        "peak_rss_mib": peak,
        "results": results.iter().map(|(n, min, med, max, _)| json!({"report": n, "min_ms": min, "median_ms": med, "max_ms": max})).collect::<Vec<_>>(),
    });
    std::fs::create_dir_all("target/bench")?;
    let file = format!("target/bench/reports-{}.json", db.backend().to_lowercase());
    std::fs::write(&file, serde_json::to_string_pretty(&json)?)?;
    println!("written to {file}");
    Ok(())
}
