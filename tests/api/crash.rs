//! Crashes and outages, seen from outside: the server process killed with SIGKILL in the
//! middle of intakes, PostgreSQL going away under load and coming back or ending the
//! service's connections, and SQLite's disk filling up. An acknowledged write is never lost,
//! nothing is written twice, the event chain and the outbox stay whole, and the service says
//! 503 (never 500) while it cannot write.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use crate::both_backends;
use crate::cli::{Running, binary, serve};
use crate::helpers::{Backend, TEST_SECRET, TestApp, TestDb, backend_available, say, settings};
use crate::rfas::World;

both_backends!(
    acknowledged_intakes_survive_sigkill,
    a_server_killed_mid_upload_leaves_no_document,
);

/// Kills per backend: 20 by default (CI), more with RFA_KILL_ROUNDS for a longer run.
fn kill_rounds() -> usize {
    std::env::var("RFA_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// The server binary on the test's database, as its own process (so it can be killed).
pub fn start_binary(db: &TestDb) -> Running {
    start_binary_with(db, &[])
}

/// The server binary with some settings of its own (`RFA__…` variables).
pub fn start_binary_with(db: &TestDb, env: &[(&str, &str)]) -> Running {
    let mut cmd = binary();
    cmd.envs(env.iter().copied());
    cmd.env("RFA__DATABASE__URL", &db.url)
        .env("RFA__DATA_DIR", db.dir.path().join("data"))
        .env("RFA__SERVER__BIND", "127.0.0.1:0")
        .env("RFA__SERVER__WORKERS", "2")
        .env("RFA__AUTH__JWT_SECRET", TEST_SECRET)
        .env("RFA__LOG__LEVEL", "error")
        // The durable setting: a commit is on disk before the answer goes out.
        .env("RFA__DATABASE__SQLITE_SYNCHRONOUS", "full");
    let mut running = serve(cmd);
    // Keep reading the log, or a full pipe would stall the server; keep its first lines.
    let stderr = running.child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines() {
            match line {
                Ok(line) if line.contains("ERROR") || line.contains("panicked") => {
                    say(&format!("server log: {line}"))
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    running
}

/// What each idempotency key's intake got: the RFA id after a 2xx, None while unknown
/// (the connection broke before an answer came).
pub type Outcomes = Arc<Mutex<BTreeMap<String, Option<String>>>>;

/// Posts intakes with fresh idempotency keys until `stop`, recording every outcome.
pub fn intake_clients(
    base: &str,
    token: &str,
    body: &Value,
    clients: usize,
    outcomes: &Outcomes,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<u16>>> {
    (0..clients)
        .map(|_| {
            let (base, token, body) = (base.to_string(), token.to_string(), body.clone());
            let (outcomes, stop) = (outcomes.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let key = uuid::Uuid::now_v7().to_string();
                    outcomes.lock().unwrap().insert(key.clone(), None);
                    let sent = client
                        .post(format!("{base}/api/v1/rfas"))
                        .bearer_auth(&token)
                        .header("idempotency-key", &key)
                        .json(&body)
                        .send()
                        .await;
                    match sent {
                        Ok(res) => {
                            let status = res.status().as_u16();
                            statuses.push(status);
                            if res.status().is_success() {
                                let rfa: Value = res.json().await.unwrap_or(Value::Null);
                                if let Some(id) = rfa["id"].as_str() {
                                    outcomes.lock().unwrap().insert(key, Some(id.to_string()));
                                }
                            } else {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                        // The server died under the request: the outcome is unknown.
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
                statuses
            })
        })
        .collect()
}

/// Sends each key whose outcome is unknown again, with the same body: the answer is the
/// RFA stored under the key (200, replayed) or a new one (201), never a second copy.
async fn settle(base: &str, token: &str, body: &Value, outcomes: &Outcomes) {
    let client = reqwest::Client::new();
    let keys: Vec<(String, Option<String>)> = outcomes
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, known) in keys {
        let res = client
            .post(format!("{base}/api/v1/rfas"))
            .bearer_auth(token)
            .header("idempotency-key", &key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let rfa: Value = res.json().await.unwrap();
        let id = rfa["id"].as_str().map(str::to_string);
        match known {
            // Acknowledged before: still there, the same one.
            Some(known) => {
                assert_eq!(status, 200, "acknowledged intake {key} replays");
                assert_eq!(id.as_deref(), Some(known.as_str()), "key {key}");
            }
            None => {
                assert!(status == 200 || status == 201, "retry of {key}: {status}");
                outcomes.lock().unwrap().insert(key, id);
            }
        }
    }
}

/// After the dust settles: one RFA per key and nothing else, an acknowledgement in the
/// outbox for each, a whole event chain, and (SQLite) an undamaged file.
async fn check_store(app: &TestApp, admin: &str, db: &TestDb, outcomes: &Outcomes) {
    let ids: BTreeSet<String> = outcomes
        .lock()
        .unwrap()
        .values()
        .map(|v| v.clone().expect("every key settled"))
        .collect();
    let keys = outcomes.lock().unwrap().len();
    assert_eq!(ids.len(), keys, "one RFA per idempotency key");
    assert_eq!(
        db.number("SELECT count(*) AS n FROM rfas") as usize,
        keys,
        "no RFA beyond the keys sent"
    );
    assert_eq!(
        db.number("SELECT count(DISTINCT rfa_id) AS n FROM outbox WHERE kind = 'acknowledgement'")
            as usize,
        keys,
        "an acknowledgement message for every stored intake"
    );
    assert_eq!(
        db.number("SELECT count(*) AS n FROM outbox WHERE kind = 'acknowledgement'") as usize,
        keys,
        "and only one"
    );
    let verify: Value = app
        .get("/api/v1/audit/verify", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
    assert!(verify["events_checked"].as_i64().unwrap() >= keys as i64);
    if db.url.starts_with("sqlite://") {
        assert_eq!(db.sqlite_integrity(), "ok");
    }
}

async fn acknowledged_intakes_survive_sigkill(backend: Backend) {
    let w = World::new(backend).await;
    let db = w.app.db.shared();
    let body = w.intake_body();
    let outcomes: Outcomes = Arc::default();
    let rounds = kill_rounds();
    let mut acknowledged_per_round = Vec::new();
    for _ in 0..rounds {
        let mut server = start_binary(&db);
        let stop = Arc::new(AtomicBool::new(false));
        let clients = intake_clients(&server.base, &w.supervisor, &body, 6, &outcomes, &stop);
        let before = acknowledged(&outcomes);
        let pause = rand::rng().random_range(150..600);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        // SIGKILL: no shutdown hook, no flush, whatever was in flight is cut.
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.await.unwrap();
        }
        acknowledged_per_round.push(acknowledged(&outcomes) - before);
    }
    assert!(
        acknowledged_per_round.iter().filter(|n| **n > 0).count() >= rounds / 2,
        "the kills must land among acknowledged intakes: {acknowledged_per_round:?}"
    );
    say(&format!(
        "kill test on {backend:?}: {rounds} kills, {} intakes acknowledged, {} unknown when cut",
        acknowledged(&outcomes),
        outcomes
            .lock()
            .unwrap()
            .values()
            .filter(|v| v.is_none())
            .count()
    ));
    let server = start_binary(&db);
    settle(&server.base, &w.supervisor, &body, &outcomes).await;
    check_store(&w.app, &w.admin, &db, &outcomes).await;
}

fn acknowledged(outcomes: &Outcomes) -> usize {
    outcomes
        .lock()
        .unwrap()
        .values()
        .filter(|v| v.is_some())
        .count()
}

// ---------------------------------------------------------------------------------------
// PostgreSQL going away

/// A TCP relay between the server and PostgreSQL that can play an outage: `cut` drops every
/// open connection and refuses new ones until `restore`.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open2.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            port,
            up,
            open,
            accept,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_gives_503_and_recovers_without_a_restart() {
    if !backend_available(
        Backend::Postgres,
        "postgres_outage_gives_503_and_recovers_without_a_restart",
    ) {
        return;
    }
    let db = TestDb::create(Backend::Postgres);
    let mut url = url::Url::parse(&db.url).unwrap();
    let target: SocketAddr = format!(
        "{}:{}",
        url.host_str().unwrap().replace("localhost", "127.0.0.1"),
        url.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let relay = Relay::start(target).await;
    url.set_port(Some(relay.port)).unwrap();
    let overrides = [
        ("database.url", json!(url.to_string())),
        ("database.connect_timeout_secs", json!(1)),
    ];
    let s = settings(&db, &overrides);
    let w = World::around(TestApp::start(db, s)).await;
    let body = w.intake_body();
    let outcomes: Outcomes = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients = intake_clients(&w.app.base, &w.supervisor, &body, 4, &outcomes, &stop);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let acknowledged_before = acknowledged(&outcomes);
    assert!(
        acknowledged_before > 0,
        "intakes went through before the outage"
    );

    relay.cut();
    // While the database is away: readiness fails and answers are 503 problems.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ready = w.app.get("/health/ready", None).await;
    assert_eq!(ready.status(), 503);
    let res = w.app.post("/api/v1/rfas", Some(&w.supervisor), &body).await;
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let problem: Value = res.json().await.unwrap();
    let text = problem.to_string().to_lowercase();
    assert!(
        !text.contains("connection") && !text.contains("postgres") && !text.contains("5432"),
        "no internals in the problem: {problem}"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;

    relay.restore();
    // Back by itself, without a restart.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = w.app.get("/health/ready", None).await;
        if ready.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for c in clients {
        statuses.extend(c.await.unwrap());
    }
    let unexpected: Vec<u16> = statuses
        .iter()
        .copied()
        .filter(|s| !matches!(s, 200 | 201 | 503))
        .collect();
    assert!(unexpected.is_empty(), "only 2xx or 503: {unexpected:?}");
    assert!(statuses.contains(&503), "the clients saw the outage");
    assert!(
        acknowledged(&outcomes) > acknowledged_before,
        "intakes went through after the outage"
    );
    settle(&w.app.base, &w.supervisor, &body, &outcomes).await;
    check_store(&w.app, &w.admin, &w.app.db, &outcomes).await;
}

// ---------------------------------------------------------------------------------------
// SQLite on a full disk

/// A small tmpfs mounted for the test (needs the right to mount, as in CI here); unmounted
/// when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Self { dir })
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// PostgreSQL ends every connection of the service (a restart, a failover, an administrator)
/// while requests keep coming. The pool trusts a connection used within the last second
/// without pinging it, so the next requests may meet dead connections: each such request
/// fails with 503 and its connection is dropped, so at most one request per pooled connection
/// fails and the service is whole again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ending_the_connections_costs_at_most_one_request_each() {
    if !backend_available(
        Backend::Postgres,
        "postgres_ending_the_connections_costs_at_most_one_request_each",
    ) {
        return;
    }
    let pool_size = 4;
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[("database.pool_size", json!(pool_size))],
    )
    .await;
    let token = app.admin_token().await;
    let me = || app.get("/api/v1/me", Some(&token));
    // Use the connections: 8 requests at once, then a few one after another.
    let mut at_once = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (url, token) = (app.url("/api/v1/me"), token.clone());
        at_once.spawn(async move {
            let res = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await;
            res.map(|r| r.status().as_u16()).unwrap_or(0)
        });
    }
    while let Some(status) = at_once.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    for _ in 0..5 {
        assert_eq!(me().await.status(), 200);
    }

    let database = url::Url::parse(&app.db.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_string();
    let ended = app.db.number(&format!(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    ));
    assert!(ended >= 1, "the service's connections were found");

    let mut failed = 0;
    for _ in 0..(pool_size * 5) {
        let res = me().await;
        match res.status().as_u16() {
            200 => {}
            503 => failed += 1,
            other => panic!("a lost connection answered {other}, not 503"),
        }
    }
    assert!(
        failed <= pool_size,
        "{failed} requests failed: a dead connection was handed out again"
    );
    for _ in 0..10 {
        assert_eq!(me().await.status(), 200, "the service recovered");
    }
    assert_eq!(app.get("/health/ready", None).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_refuses_writes_and_keeps_reading() {
    let Some(disk) = SmallDisk::mount(24) else {
        say("SKIPPED sqlite_on_a_full_disk_refuses_writes_and_keeps_reading: cannot mount a tmpfs");
        return;
    };
    let db = TestDb::create(Backend::Sqlite);
    let file = disk.dir.path().join("rfa.db");
    let overrides = [(
        "database.url",
        json!(format!("sqlite://{}", file.display())),
    )];
    let s = settings(&db, &overrides);
    let w = World::around(TestApp::start(db, s)).await;
    let stored = w.intake().await;
    let filler = disk.fill();

    // Writes are refused with 503 (a few may still fit in pages SQLite already has);
    // reads go on.
    let mut statuses = Vec::new();
    let mut written = vec![stored["id"].as_str().unwrap().to_string()];
    for _ in 0..30 {
        let res = w
            .app
            .post("/api/v1/rfas", Some(&w.supervisor), &w.intake_body())
            .await;
        statuses.push(res.status().as_u16());
        if res.status() == 201 {
            let rfa: Value = res.json().await.unwrap();
            written.push(rfa["id"].as_str().unwrap().to_string());
        } else {
            assert_eq!(
                res.headers()["content-type"].to_str().unwrap(),
                "application/problem+json"
            );
        }
    }
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&503),
        "the full disk was noticed: {statuses:?}"
    );
    let read = w
        .app
        .get(
            &format!("/api/v1/rfas/{}", stored["id"].as_str().unwrap()),
            Some(&w.supervisor),
        )
        .await;
    assert_eq!(read.status(), 200, "reads keep working");
    let page = w.app.get("/api/v1/rfas", Some(&w.supervisor)).await;
    assert_eq!(page.status(), 200);

    // Space again: writes go through, and nothing was damaged or half-written.
    std::fs::remove_file(filler).unwrap();
    let after = w.intake().await;
    written.push(after["id"].as_str().unwrap().to_string());
    let probe = TestDb::sqlite_file(&file);
    assert_eq!(
        probe.number("SELECT count(*) AS n FROM rfas") as usize,
        written.len(),
        "exactly the acknowledged intakes"
    );
    assert_eq!(probe.sqlite_integrity(), "ok");
    let verify = w.verify().await;
    assert_eq!(verify["ok"], true, "{verify}");
}

/// An upload cut by SIGKILL half way: after a restart there is no document, no event, and
/// nothing in the store but the staging area's remains.
async fn a_server_killed_mid_upload_leaves_no_document(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let w = World::new(backend).await;
    let rfa = w.intake().await;
    let id = rfa["id"].as_str().unwrap();
    let db = w.app.db.shared();
    let mut server = start_binary(&db);
    let boundary = "rfa-crash-test-boundary";
    let preamble = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nannex\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    let file_len = 8 * 1024 * 1024;
    let closing = format!("\r\n--{boundary}--\r\n");
    let total = preamble.len() + file_len + closing.len();
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/rfas/{id}/documents HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {total}\r\n\r\n",
        w.supervisor
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(preamble.as_bytes()).await.unwrap();
    let mut half = b"%PDF-1.7\n".to_vec();
    half.resize(file_len / 2, b'x');
    stream.write_all(&half).await.unwrap();
    stream.flush().await.unwrap();
    // The upload is being staged when the server dies.
    let staging = db.dir.path().join("data").join("documents").join("tmp");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(&staging).map_or(0, |d| d.count()) == 0 {
        assert!(
            Instant::now() < deadline,
            "the upload never reached the store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(stream);
    // A restart that keeps fresh uploads leaves the cut one in staging (another instance
    // could be writing it); one that counts it stale removes it.
    let server = start_binary(&db);
    let left = std::fs::read_dir(&staging).map_or(0, |d| d.count());
    assert_eq!(left, 1, "a fresh upload is kept at start");
    drop(server);
    let server = start_binary_with(&db, &[("RFA__DOCUMENTS__STALE_UPLOAD_MINUTES", "0")]);
    let left: Vec<_> = std::fs::read_dir(&staging).unwrap().flatten().collect();
    assert!(left.is_empty(), "the crash's upload is swept: {left:?}");
    let client = reqwest::Client::new();
    let list: Value = client
        .get(format!(
            "{}/api/v1/rfas/{id}/documents?withdrawn=true",
            server.base
        ))
        .bearer_auth(&w.supervisor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]), "no document");
    let events = w.events(&w.supervisor, &rfa).await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] != "add_document"),
        "no event: {events}"
    );
    let stored: Vec<_> = std::fs::read_dir(db.dir.path().join("data").join("documents"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "tmp")
        .collect();
    assert!(
        stored.is_empty(),
        "nothing stored outside staging: {stored:?}"
    );
    // The service goes on taking uploads.
    let form = reqwest::multipart::Form::new().text("kind", "annex").part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.7\n%%EOF\n".to_vec()).file_name("after.pdf"),
    );
    let res = client
        .post(format!("{}/api/v1/rfas/{id}/documents", server.base))
        .bearer_auth(&w.supervisor)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}
