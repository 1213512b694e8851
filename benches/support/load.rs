//! The API load benchmark's engine: a server process on a seeded database, a fixed
//! concurrency for a fixed time per scenario, latencies in an HdrHistogram, and the limits
//! the scenarios are held against (the storage layer alone, a trivial endpoint).
//! `benches/api.rs` runs it in full; a test runs it tiny so it cannot rot.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::{BenchDb, login, web_session};

pub struct Config {
    /// RFAs stored for the "small" queue scenario and the large-data scenarios.
    pub small: usize,
    pub large: usize,
    pub concurrency: usize,
    pub seconds: f64,
    /// The server binary.
    pub binary: String,
    /// A PostgreSQL server to create the database on; SQLite without one.
    pub postgres: Option<String>,
    /// Searches a second sent at a steady pace, whoever is still waiting (BENCH_SEARCH_RATE).
    pub search_rate: f64,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: String,
    pub rfas_stored: usize,
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Against which limit, and the ratio to it.
    pub limit: Option<(String, f64)>,
    pub server_peak_mib: f64,
}

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(binary: &str, db: &BenchDb) -> anyhow::Result<Self> {
        Self::start_with(binary, db, &[])
    }

    /// The server with some settings of its own (`RFA__…` variables).
    pub fn start_with(binary: &str, db: &BenchDb, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(binary)
            .arg("serve")
            .envs(env.iter().copied())
            .env("RFA__DATABASE__URL", &db.url)
            .env("RFA__DATA_DIR", db.dir.path())
            .env("RFA__SERVER__BIND", "127.0.0.1:0")
            .env("RFA__LOG__LEVEL", "error")
            .env(
                "RFA__AUTH__JWT_SECRET",
                "benchmark-signing-secret-0123456789abcdef",
            )
            .env("RFA__AUTH__LOGIN_BURST", "1000000")
            .env("RFA__AUTH__LOGIN_REPLENISH_MS", "1")
            .env("RFA__DATABASE__POOL_SIZE", "8")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("rfa-tracker listening on ") {
                        break addr.trim().to_string();
                    }
                }
                _ => anyhow::bail!("the server did not start"),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(Self { child, base })
    }

    /// The server process's resident memory now.
    pub fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    fn status_mib(&self, key: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(str::to_string))
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }

    /// The server process's peak resident memory so far.
    pub fn peak_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .map(str::to_string)
            })
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one request of a scenario is, given the worker number and its own counter.
pub type Make = Arc<dyn Fn(&reqwest::Client, usize, u64) -> reqwest::RequestBuilder + Send + Sync>;

/// Sees each answer's headers (to follow ETags), given the worker number.
pub type After = Arc<dyn Fn(usize, &reqwest::header::HeaderMap) + Send + Sync>;

/// Drives `concurrency` workers for `seconds`, each sending requests back to back.
pub async fn drive(
    client: &reqwest::Client,
    concurrency: usize,
    seconds: f64,
    make: Make,
    after: Option<After>,
) -> anyhow::Result<(Histogram<u64>, u64, u64, f64)> {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, make, stop, errors, after) = (
            client.clone(),
            make.clone(),
            stop.clone(),
            errors.clone(),
            after.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match make(&client, w, i).send().await {
                    Ok(res) => {
                        let ok = res.status().is_success();
                        if let Some(f) = &after {
                            f(w, res.headers());
                        }
                        let _ = res.bytes().await;
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                hist.record(t.elapsed().as_micros().max(1) as u64)?;
                i += 1;
            }
            anyhow::Ok(hist)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        hist.add(t.await??)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((
        hist.clone(),
        hist.len(),
        errors.load(Ordering::Relaxed),
        elapsed,
    ))
}

pub fn outcome(
    scenario: &str,
    stored: usize,
    run: (Histogram<u64>, u64, u64, f64),
    server: &Server,
) -> Outcome {
    let (h, n, errors, elapsed) = run;
    // Progress on stderr, so that a profiler can be attached when the next scenario starts.
    eprintln!("done: {scenario} ({n} requests)");
    Outcome {
        scenario: scenario.into(),
        rfas_stored: stored,
        requests: n,
        errors,
        per_second: n as f64 / elapsed,
        p50_ms: h.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: h.max() as f64 / 1000.0,
        limit: None,
        server_peak_mib: server.peak_mib(),
    }
}

pub fn intake_body(jurisdiction: &str, authority: &str) -> Value {
    json!({
        "jurisdiction_id": jurisdiction,
        "authority_id": authority,
        "received_at": "2026-03-02T09:30:00Z",
        "channel": "email",
        "subject": "Benchmark intake",
        "description": "A request logged by the load benchmark.",
        "requester": {"name": "Bench", "email": "bench@justice.example"},
        "assistance_types": ["information_and_evidence"],
        "proceeding_type": "prosecution",
        "crimes": ["war_crimes"],
        "conduct": {"country_code": "SY", "from": "2013-01-01"},
        "priority": "routine",
        "confidentiality": "confidential",
        "tags": []
    })
}

pub fn print(results: &[Outcome]) {
    println!(
        "| scenario | RFAs stored | requests | errors | req/s | p50 ms | p99 ms | max ms | limit | ratio | server peak MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let (limit, ratio) = match &r.limit {
            Some((l, x)) => (l.clone(), format!("{:.0}%", x * 100.0)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {:.0} |",
            r.scenario,
            r.rfas_stored,
            r.requests,
            r.errors,
            r.per_second,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            limit,
            ratio,
            r.server_peak_mib
        );
    }
}

pub fn to_json(results: &[Outcome]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| {
                json!({
                    "scenario": r.scenario, "rfas_stored": r.rfas_stored, "requests": r.requests,
                    "errors": r.errors, "per_second": r.per_second, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
                    "max_ms": r.max_ms, "limit": r.limit.as_ref().map(|l| &l.0),
                    "ratio_to_limit": r.limit.as_ref().map(|l| l.1), "server_peak_mib": r.server_peak_mib,
                })
            })
            .collect(),
    )
}

/// The whole benchmark. `small` RFAs are seeded first (intake, read, queue, assign, limits),
/// then the database grows to `large` for the queue page and the annual report.
pub async fn run(cfg: &Config) -> anyhow::Result<Vec<Outcome>> {
    let db = BenchDb::new(cfg.postgres.clone())?;
    let settings = db.settings(&[]);
    let state = rfa_tracker::startup::prepare(settings.clone()).await?;
    let (pairs, supervisor) = super::registry_and_users(&state).await?;
    {
        let (db_handle, pairs, supervisor, n) = (
            state.db().clone(),
            pairs.clone(),
            supervisor.clone(),
            cfg.small,
        );
        tokio::task::spawn_blocking(move || {
            super::seed::seed(&db_handle, &pairs, &supervisor, n, 2016..=2025)
        })
        .await??;
    }
    let mut results = Vec::new();

    // The storage layer's limit for an intake: the same transaction with no HTTP.
    let storage = storage_intake_limit(&state, &pairs, &supervisor, cfg).await?;
    drop(state);

    let server = Server::start(&cfg.binary, &db)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(cfg.concurrency * 2)
        .timeout(Duration::from_secs(60))
        .build()?;
    let token = login(&client, &server.base, "bench-supervisor@rfa.test").await?;
    let base = server.base.clone();

    // The HTTP stack's limit: a trivial JSON endpoint of the same server.
    let url = format!("{base}/health/live");
    let trivial = outcome(
        "trivial JSON endpoint (GET /health/live)",
        cfg.small,
        drive(
            &client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |c, _, _| c.get(&url)),
            None,
        )
        .await?,
        &server,
    );

    // 1. Intake.
    let (url, t, body) = (
        format!("{base}/api/v1/rfas"),
        token.clone(),
        intake_body(&pairs[0].0, &pairs[0].1),
    );
    let mut intake = outcome(
        "intake (POST /api/v1/rfas)",
        cfg.small,
        drive(
            &client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |c, _, _| c.post(&url).bearer_auth(&t).json(&body)),
            None,
        )
        .await?,
        &server,
    );
    intake.limit = Some((
        format!("storage-layer intake {:.0}/s", storage.per_second),
        intake.per_second / storage.per_second,
    ));

    // 2. Read one RFA by id.
    let page: Value = client
        .get(format!("{base}/api/v1/rfas?limit=200&state=received"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = page["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    anyhow::ensure!(!ids.is_empty(), "no RFAs to read");
    let (b, t, list) = (base.clone(), token.clone(), Arc::new(ids.clone()));
    let mut read = outcome(
        "read one RFA (GET /api/v1/rfas/{id})",
        cfg.small,
        drive(
            &client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |c, w, i| {
                let id = &list[(w * 7919 + i as usize) % list.len()];
                c.get(format!("{b}/api/v1/rfas/{id}")).bearer_auth(&t)
            }),
            None,
        )
        .await?,
        &server,
    );
    read.limit = Some((
        format!("trivial endpoint {:.0}/s", trivial.per_second),
        read.per_second / trivial.per_second,
    ));

    // 3. A queue page, small data.
    let queue_path = format!(
        "{base}/api/v1/rfas?limit=50&state=received&state=in_progress&jurisdiction_id={}&sort=due_at",
        pairs[3].0
    );
    let (q, t) = (queue_path.clone(), token.clone());
    let queue_small = outcome(
        "queue page (50 rows, state + jurisdiction, by due date)",
        cfg.small,
        drive(
            &client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |c, _, _| c.get(&q).bearer_auth(&t)),
            None,
        )
        .await?,
        &server,
    );

    // 4. A lifecycle action with If-Match: each worker assigns its own RFAs in turn.
    let versions: Arc<std::sync::Mutex<Vec<(String, i64)>>> =
        Arc::new(std::sync::Mutex::new(Vec::new()));
    for id in ids.iter().take(cfg.concurrency * 4) {
        let res = client
            .get(format!("{base}/api/v1/rfas/{id}"))
            .bearer_auth(&token)
            .send()
            .await?;
        let v: Value = res.json().await?;
        versions
            .lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .push((id.clone(), v["version"].as_i64().unwrap_or(1)));
    }
    let per_worker = 4;
    let (b, t, vs, sup) = (
        base.clone(),
        token.clone(),
        versions.clone(),
        supervisor.clone(),
    );
    let vs2 = versions.clone();
    let slot = Arc::new(std::sync::Mutex::new(vec![0usize; cfg.concurrency]));
    let slot2 = slot.clone();
    let assign = outcome(
        "assign with If-Match (POST …/actions/assign)",
        cfg.small,
        drive(
            &client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |c, w, i| {
                let k = w * per_worker + (i as usize % per_worker);
                if let Ok(mut s) = slot.lock() {
                    s[w] = k;
                }
                let (id, version) = vs.lock().map(|v| v[k].clone()).unwrap_or_default();
                c.post(format!("{b}/api/v1/rfas/{id}/actions/assign"))
                    .bearer_auth(&t)
                    .header("if-match", format!("\"{version}\""))
                    .json(&json!({"assignee_id": sup}))
            }),
            Some(Arc::new(move |w, headers| {
                let k = slot2.lock().map(|s| s[w]).unwrap_or(0);
                if let Some(v) = headers
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim_matches('"').parse().ok())
                    && let Ok(mut list) = vs2.lock()
                {
                    list[k].1 = v;
                }
            })),
        )
        .await?,
        &server,
    );
    let pages_small = page_scenarios(&client, cfg, &server, &pairs[3].0, cfg.small).await?;
    let small_peak = server.peak_mib();
    drop(server);

    results.push(trivial);
    results.push(storage);
    results.push(intake);
    results.push(read);
    results.push(queue_small);
    results.push(assign);
    results.extend(pages_small);

    // Grow to the large data set, then the queue page and the annual report again.
    if cfg.large > cfg.small {
        let state = rfa_tracker::startup::prepare(settings.clone()).await?;
        let (db_handle, pairs2, supervisor2, n) = (
            state.db().clone(),
            pairs.clone(),
            supervisor.clone(),
            cfg.large - cfg.small,
        );
        tokio::task::spawn_blocking(move || {
            super::seed::seed(&db_handle, &pairs2, &supervisor2, n, 2016..=2025)
        })
        .await??;
        drop(state);
    }
    let server = Server::start(&cfg.binary, &db)?;
    let token = login(&client, &server.base, "bench-supervisor@rfa.test").await?;
    let queue_path = queue_path.replace(&base, &server.base);
    let (q, t) = (queue_path, token.clone());
    let queue_large = outcome(
        "queue page (50 rows, state + jurisdiction, by due date)",
        cfg.large.max(cfg.small),
        drive(
            &client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |c, _, _| c.get(&q).bearer_auth(&t)),
            None,
        )
        .await?,
        &server,
    );
    let search_large =
        search_scenarios(&client, cfg, &server, &token, cfg.large.max(cfg.small)).await?;
    let url = format!("{}/api/v1/reports/annual?year=2024", server.base);
    let t = token.clone();
    let report = outcome(
        "annual report (GET /api/v1/reports/annual)",
        cfg.large.max(cfg.small),
        drive(
            &client,
            1,
            cfg.seconds.max(3.0),
            Arc::new(move |c, _, _| c.get(&url).bearer_auth(&t)),
            None,
        )
        .await?,
        &server,
    );
    let pages_large =
        page_scenarios(&client, cfg, &server, &pairs[3].0, cfg.large.max(cfg.small)).await?;
    results.push(queue_large);
    results.extend(search_large);
    results.extend(pages_large);
    results.push(report);
    let _ = small_peak;
    Ok(results)
}

/// The open queue searched: the same page without a search (its floor), the six searches in
/// turn under the run's concurrency, the six at a steady pace of `search_rate` a second (an
/// open loop: each request is timed from when it was due to be sent, so a slow answer cannot
/// hold back the ones behind it), then each search alone, one request at a time after a
/// warm-up (what one searcher waits; printed).
async fn search_scenarios(
    client: &reqwest::Client,
    cfg: &Config,
    server: &Server,
    token: &str,
    stored: usize,
) -> anyhow::Result<Vec<Outcome>> {
    let url = format!("{}/api/v1/rfas", server.base);
    let page = |c: &reqwest::Client, url: &str, t: &str, q: Option<&str>| {
        let mut query = vec![("limit", "50"), ("sort", "due_at")];
        query.extend(q.map(|q| ("q", q)));
        c.get(url).query(&query).bearer_auth(t)
    };
    let (u, t) = (url.clone(), token.to_string());
    let plain = outcome(
        "queue page without a search (50 rows, open, by due date)",
        stored,
        drive(
            client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |c, _, _| page(c, &u, &t, None)),
            None,
        )
        .await?,
        server,
    );
    let searches: Arc<Vec<&'static str>> = Arc::new(open_queue_searches());
    let (u, t, s) = (url.clone(), token.to_string(), searches.clone());
    let search = outcome(
        "queue page with a text search (50 rows, open, by due date; six searches in turn)",
        stored,
        drive(
            client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |c, w, i| page(c, &u, &t, Some(s[(w + i as usize) % s.len()]))),
            None,
        )
        .await?,
        server,
    );
    let (u, t, s) = (url.clone(), token.to_string(), searches.clone());
    let paced = outcome(
        &format!(
            "queue page with a text search, {:.0} a second (six searches in turn)",
            cfg.search_rate
        ),
        stored,
        paced(
            client,
            cfg.search_rate,
            cfg.seconds,
            Arc::new(move |c, _, i| page(c, &u, &t, Some(s[i as usize % s.len()]))),
        )
        .await?,
        server,
    );
    for q in open_queue_searches() {
        let mut times = Vec::new();
        for i in 0..22 {
            let started = std::time::Instant::now();
            let res = page(client, &url, token, Some(q)).send().await?;
            let page: serde_json::Value = res.json().await?;
            if i >= 2 {
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            if i == 0 {
                let rows = page["items"].as_array().map_or(0, Vec::len);
                eprintln!("alone: {q}: {rows} rows");
            }
        }
        times.sort_by(f64::total_cmp);
        eprintln!(
            "alone: {q}: median {:.2} ms, max {:.2} ms",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    Ok(vec![plain, search, paced])
}

/// Sends `rate` requests a second for `seconds`, each at its own time whether or not the
/// earlier ones have been answered, and times each from when it was due: the latency a
/// steady flow of people would see, without the closed loop's habit of sending less while
/// the server is slow.
pub async fn paced(
    client: &reqwest::Client,
    rate: f64,
    seconds: f64,
    make: Make,
) -> anyhow::Result<(Histogram<u64>, u64, u64, f64)> {
    let hist = Arc::new(std::sync::Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let errors = Arc::new(AtomicU64::new(0));
    let started = tokio::time::Instant::now();
    let every = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let count = (seconds * rate).ceil() as u64;
    let mut tasks = Vec::new();
    for i in 0..count {
        let due = started + every.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let (client, make, hist, errors) =
            (client.clone(), make.clone(), hist.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let ok = match make(&client, 0, i).send().await {
                Ok(res) => {
                    let ok = res.status().is_success();
                    res.bytes().await.is_ok() && ok
                }
                Err(_) => false,
            };
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            let waited = due.elapsed().as_micros().max(1) as u64;
            if let Ok(mut h) = hist.lock() {
                let _ = h.record(waited);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let hist = hist
        .lock()
        .map_err(|_| anyhow::anyhow!("histogram lock"))?
        .clone();
    let n = hist.len();
    Ok((hist, n, errors.load(Ordering::Relaxed), elapsed))
}

/// Only the search scenarios, on a database a run kept (`BENCH_KEEP=1`) and names in
/// `BENCH_REUSE`: for working on the search without seeding a million requests each time.
pub async fn search_only(cfg: &Config, db: &BenchDb) -> anyhow::Result<Vec<Outcome>> {
    let server = Server::start(&cfg.binary, db)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(cfg.concurrency * 2)
        .timeout(Duration::from_secs(60))
        .build()?;
    let token = login(&client, &server.base, "bench-supervisor@rfa.test").await?;
    search_scenarios(&client, cfg, &server, &token, cfg.large).await
}

/// The screens' case list (the Open tab, 50 rows, of one jurisdiction, by due date) and a
/// case page, as HTML, with a browser session.
async fn page_scenarios(
    client: &reqwest::Client,
    cfg: &Config,
    server: &Server,
    jurisdiction: &str,
    stored: usize,
) -> anyhow::Result<Vec<Outcome>> {
    let base = server.base.clone();
    let session = web_session(&base, "bench-supervisor@rfa.test").await?;
    let url = format!("{base}/?tab=open&jurisdiction={jurisdiction}");
    let first = client
        .get(&url)
        .header(reqwest::header::COOKIE, &session)
        .send()
        .await?;
    anyhow::ensure!(
        first.status() == 200,
        "case list answered {}",
        first.status()
    );
    let html = first.text().await?;
    let ids: Vec<String> = html
        .split("href=\"/cases/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|id| id.len() == 36)
        .map(str::to_string)
        .collect();
    anyhow::ensure!(!ids.is_empty(), "no cases on the list page");
    let (u, c) = (url.clone(), session.clone());
    let list = outcome(
        "case list page (HTML, Open tab, 50 rows, one jurisdiction)",
        stored,
        drive(
            client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |cl, _, _| cl.get(&u).header(reqwest::header::COOKIE, &c)),
            None,
        )
        .await?,
        server,
    );
    let (b, c, ids) = (base.clone(), session.clone(), Arc::new(ids));
    let case = outcome(
        "case page (HTML, GET /cases/{id})",
        stored,
        drive(
            client,
            cfg.concurrency,
            cfg.seconds,
            Arc::new(move |cl, w, i| {
                let id = &ids[(w * 7919 + i as usize) % ids.len()];
                cl.get(format!("{b}/cases/{id}"))
                    .header(reqwest::header::COOKIE, &c)
            }),
            None,
        )
        .await?,
        server,
    );
    Ok(vec![list, case])
}

/// The same intake transaction through the service, with no HTTP: what the database allows.
async fn storage_intake_limit(
    state: &rfa_tracker::service::Services,
    pairs: &[(String, String)],
    supervisor: &str,
    cfg: &Config,
) -> anyhow::Result<Outcome> {
    use rfa_tracker::domain::policy::Principal;
    use rfa_tracker::domain::roles::Role;
    use rfa_tracker::service::rfas;
    let request = rfa_tracker::api::rfas::wire::parse_intake(
        intake_body(&pairs[0].0, &pairs[0].1),
        state.rules(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let who = Principal {
        user_id: supervisor.to_string(),
        roles: vec![Role::Supervisor],
        jurisdictions: vec![],
    };
    let ctx = *state.rules();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..cfg.concurrency {
        let (db, request, who, stop) = (
            state.db().clone(),
            request.clone(),
            who.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let (request, who) = (request.clone(), who.clone());
                let done = db
                    .run(move |c| {
                        c.write(|c| {
                            rfas::intake_in(c, &ctx, &who, request, None, String::new(), None)
                                .map(|_| ())
                        })
                    })
                    .await;
                if done.is_err() {
                    errors += 1;
                }
                hist.record(t.elapsed().as_micros().max(1) as u64)?;
            }
            anyhow::Ok((hist, errors))
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(cfg.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        hist.add(h)?;
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Outcome {
        scenario: "storage-layer intake (service, no HTTP)".into(),
        rfas_stored: cfg.small,
        requests: hist.len(),
        errors,
        per_second: hist.len() as f64 / elapsed,
        p50_ms: hist.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: hist.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: hist.max() as f64 / 1000.0,
        limit: None,
        server_peak_mib: 0.0,
    })
}

/// The open queue's searches: a family name (in about one request in fifty), a full name, two
/// words of a subject, a Cyrillic word, a word whose prefix is in one request in ten, and the
/// number of a reference.
fn open_queue_searches() -> Vec<&'static str> {
    vec![
        "lindström",
        "أحمد مصطفى",
        "Überwachung Aleppo",
        "допрос",
        "2024",
        "RFA-2023-0815",
    ]
}
