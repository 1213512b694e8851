#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Sign-in pressure benchmark: while N sign-ins run at once (argon2id each), how fast does a
//! cheap authenticated GET (`/api/v1/me`) stay? Not a test: it prints figures for
//! docs/benchmarks.md.
//!
//!     cargo bench --bench signin
//!
//! Environment: BENCH_SECONDS (default 10) per phase, BENCH_SIGNINS (default 50) concurrent
//! sign-ins, BENCH_POSTGRES_URL to run against a PostgreSQL server instead of SQLite (a
//! database is created and dropped).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use hdrhistogram::Histogram;
use rfa_tracker::config::{DEFAULT_TOML, Settings};
use rfa_tracker::startup::Application;
use serde_json::{Value, json};

const EMAIL: &str = "bench@rfa.test";
const PASSWORD: &str = "benchmark password 1";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let seconds = env_u64("BENCH_SECONDS", 10);
    let signins = env_u64("BENCH_SIGNINS", 50) as usize;
    let dir = tempfile::tempdir()?;
    let (url, pg) = match std::env::var("BENCH_POSTGRES_URL") {
        Ok(admin) => {
            let name = format!("rfa_bench_{}", uuid::Uuid::now_v7().simple());
            let mut c = diesel::pg::PgConnection::establish(&admin)?;
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut c)?;
            let mut u = url::Url::parse(&admin)?;
            u.set_path(&name);
            (u.to_string(), Some((admin, name)))
        }
        Err(_) => (format!("sqlite://{}/bench.db", dir.path().display()), None),
    };
    let settings = Settings::from_figment(
        Figment::from(Toml::string(DEFAULT_TOML))
            .merge(Serialized::default("server.bind", "127.0.0.1:0"))
            .merge(Serialized::default("data_dir", dir.path()))
            .merge(Serialized::default("database.url", &url))
            .merge(Serialized::default("log.level", "error"))
            .merge(Serialized::default(
                "auth.jwt_secret",
                "benchmark-signing-secret-0123456789abcdef",
            ))
            .merge(Serialized::default("auth.login_burst", 1_000_000))
            .merge(Serialized::default("auth.login_replenish_ms", 1))
            .merge(Serialized::default("bootstrap.admin_email", EMAIL))
            .merge(Serialized::default("bootstrap.admin_password", PASSWORD)),
    )?;
    let hashes = settings.auth.max_concurrent_hashes;
    let backend = if pg.is_some() { "PostgreSQL" } else { "SQLite" };

    // The server on its own runtime, as in production; the load generator on another.
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

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(run(base, seconds, signins))?;
    rt.block_on(handle.stop(true));
    let _ = server.join();
    if let Some((admin, name)) = pg {
        let mut c = diesel::pg::PgConnection::establish(&admin)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c)?;
    }

    println!(
        "\nsign-in pressure on {backend}, {} s per phase, auth.max_concurrent_hashes = {hashes}",
        seconds
    );
    println!(
        "| phase | GET /api/v1/me requests | p50 ms | p99 ms | max ms | sign-ins/s | sign-in p50 ms | sign-in p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, r) in [
        ("idle", &report.idle),
        (&*format!("{signins} sign-ins at once"), &report.loaded),
    ] {
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} |",
            r.gets.len(),
            ms(r.gets.value_at_quantile(0.5)),
            ms(r.gets.value_at_quantile(0.99)),
            ms(r.gets.max()),
            r.signins as f64 / seconds as f64,
            r.signin_hist.as_ref().map_or("-".into(), |h| format!(
                "{:.1}",
                ms(h.value_at_quantile(0.5))
            )),
            r.signin_hist.as_ref().map_or("-".into(), |h| format!(
                "{:.1}",
                ms(h.value_at_quantile(0.99))
            )),
        );
    }
    let json = json!({
        "backend": backend,
        "seconds_per_phase": seconds,
        "concurrent_signins": signins,
        "max_concurrent_hashes": hashes,
        "idle_get_p99_ms": ms(report.idle.gets.value_at_quantile(0.99)),
        "loaded_get_p50_ms": ms(report.loaded.gets.value_at_quantile(0.5)),
        "loaded_get_p99_ms": ms(report.loaded.gets.value_at_quantile(0.99)),
        "loaded_get_max_ms": ms(report.loaded.gets.max()),
        "signins_per_second": report.loaded.signins as f64 / seconds as f64,
    });
    std::fs::create_dir_all("target/bench")?;
    std::fs::write(
        "target/bench/signin.json",
        serde_json::to_string_pretty(&json)?,
    )?;
    println!("\nwritten to target/bench/signin.json");
    Ok(())
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

struct Phase {
    gets: Histogram<u64>,
    signins: u64,
    signin_hist: Option<Histogram<u64>>,
}

struct Report {
    idle: Phase,
    loaded: Phase,
}

async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<Value> {
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "sign-in answered {}", res.status());
    Ok(res.json().await?)
}

/// Sequential GETs for the duration, latency of each in microseconds.
async fn probe(
    client: reqwest::Client,
    url: String,
    token: String,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Histogram<u64>> {
    let mut hist = Histogram::<u64>::new(3)?;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let res = client.get(&url).bearer_auth(&token).send().await?;
        anyhow::ensure!(res.status() == 200, "GET answered {}", res.status());
        res.bytes().await?;
        hist.record(started.elapsed().as_micros() as u64)?;
    }
    Ok(hist)
}

async fn run(base: String, seconds: u64, signins: usize) -> anyhow::Result<Report> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let token = login(&client, &base).await?["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let me = format!("{base}/api/v1/me");
    let duration = Duration::from_secs(seconds);

    // Warm-up, then the idle phase.
    let stop = Arc::new(AtomicBool::new(false));
    let warm = tokio::spawn(probe(
        client.clone(),
        me.clone(),
        token.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    warm.await??;
    let stop = Arc::new(AtomicBool::new(false));
    let idle = tokio::spawn(probe(
        client.clone(),
        me.clone(),
        token.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let idle = Phase {
        gets: idle.await??,
        signins: 0,
        signin_hist: None,
    };

    // The loaded phase: N clients signing in back to back, each on its own connection.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..signins {
        let (stop, done, base) = (stop.clone(), done.clone(), base.clone());
        let c = reqwest::Client::new();
        workers.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3)?;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                login(&c, &base).await?;
                hist.record(started.elapsed().as_micros() as u64)?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(hist)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = done.load(Ordering::Relaxed);
    let probe_stop = Arc::new(AtomicBool::new(false));
    let loaded = tokio::spawn(probe(client.clone(), me, token, probe_stop.clone()));
    tokio::time::sleep(duration).await;
    probe_stop.store(true, Ordering::Relaxed);
    let gets = loaded.await??;
    let signed_in = done.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    let mut signin_hist = Histogram::<u64>::new(3)?;
    for w in workers {
        signin_hist.add(w.await??)?;
    }
    Ok(Report {
        idle,
        loaded: Phase {
            gets,
            signins: signed_in,
            signin_hist: Some(signin_hist),
        },
    })
}
