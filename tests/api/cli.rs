//! The binary itself: configuration layers, refused settings, migrations, sign-in from the
//! command line, graceful shutdown.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

both_backends!(
    file_and_environment_layers_apply,
    migrations_apply_once_and_restarts_are_clean,
    users_are_created_from_the_command_line,
    sigterm_stops_gracefully,
);

pub fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rfa-tracker"));
    for (k, _) in std::env::vars() {
        if k.starts_with("RFA__") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

fn base_env(cmd: &mut Command, db: &TestDb) {
    cmd.env("RFA__DATABASE__URL", &db.url)
        .env("RFA__DATA_DIR", db.dir.path().join("data"))
        .env("RFA__SERVER__BIND", "127.0.0.1:0")
        .env("RFA__SERVER__WORKERS", "1")
        .env("RFA__DATABASE__SQLITE_SYNCHRONOUS", "normal");
}

pub struct Running {
    pub child: Child,
    pub base: String,
    stdout: Vec<String>,
}

/// Starts `serve` and waits for the line saying where it listens.
pub fn serve(mut cmd: Command) -> Running {
    let mut child = cmd
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.strip_prefix("rfa-tracker listening on ") {
                    let base = addr.trim().to_string();
                    seen.push(line);
                    // Keep draining so the child never blocks on a full pipe.
                    std::thread::spawn(move || for _ in lines.by_ref() {});
                    return Running {
                        child,
                        base,
                        stdout: seen,
                    };
                }
                seen.push(line);
            }
            _ => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not start:\n{}\n{err}", seen.join("\n"));
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed assertion must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn ready(base: &str) -> Value {
    let res = reqwest::get(format!("{base}/health/ready"))
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn file_and_environment_layers_apply(backend: Backend) {
    let db = TestDb::create(backend);
    let file = db.dir.path().join("override.toml");
    std::fs::write(
        &file,
        format!(
            "[database]\nurl = \"{}\"\n[log]\nformat = \"text\"\n[bootstrap]\nadmin_email = \"file-admin@rfa.test\"\nadmin_password = \"password from the file\"\n",
            db.url
        ),
    )
    .expect("write config");
    let mut cmd = binary();
    cmd.arg("--config").arg(&file);
    cmd.env("RFA__SERVER__BIND", "127.0.0.1:0")
        .env("RFA__DATA_DIR", db.dir.path().join("data"))
        .env("RFA__SERVER__WORKERS", "1")
        // The environment beats the file.
        .env("RFA__LOG__FORMAT", "json");
    let mut running = serve(cmd);
    let health = ready(&running.base).await;
    let expected = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(
        health["database"], expected,
        "the file's database.url was used"
    );
    // The admin named in the file was created.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", running.base))
        .json(&json!({"email": "file-admin@rfa.test", "password": "password from the file"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let stderr = running.child.stderr.take().expect("stderr");
    let status = running.terminate();
    assert!(status.success(), "{status}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut logs).expect("logs");
    let first = logs.lines().next().expect("a log line");
    assert!(
        serde_json::from_str::<Value>(first).is_ok(),
        "JSON logs from RFA__LOG__FORMAT: {first}"
    );
    assert!(
        !logs.contains("password from the file"),
        "secrets never reach the log"
    );
}

async fn migrations_apply_once_and_restarts_are_clean(backend: Backend) {
    let db = TestDb::create(backend);
    let run = |args: &[&str]| {
        let mut cmd = binary();
        base_env(&mut cmd, &db);
        cmd.args(args).output().expect("run")
    };
    let first = run(&["migrate"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(!out.contains(": 0 migration"), "{out}");
    let second = run(&["migrate"]);
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains(": 0 migration(s) applied"));
    // Two starts in a row on the same database.
    for round in 0..2 {
        let mut cmd = binary();
        base_env(&mut cmd, &db);
        let mut running = serve(cmd);
        ready(&running.base).await;
        // First start with no configured admin: a password is printed once; never again.
        let printed = running.stdout.iter().any(|l| l.contains("password:"));
        assert_eq!(printed, round == 0, "round {round}: {:?}", running.stdout);
        assert!(running.terminate().success());
    }
    // What the service made is its own alone: files 0600, folders 0700.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: std::path::PathBuf| {
        std::fs::metadata(&p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let data = db.dir.path().join("data");
    assert_eq!(mode(data.clone()), 0o700);
    for key in ["jwt-secret", "checkpoint-signing.key"] {
        assert_eq!(mode(data.join(key)), 0o600, "{key}");
    }
    if backend == Backend::Sqlite {
        assert_eq!(mode(db.dir.path().join("rfa.db")), 0o600);
        let mail = data.join("mail");
        if mail.exists() {
            assert_eq!(mode(mail), 0o700);
        }
    }
}

async fn users_are_created_from_the_command_line(backend: Backend) {
    let db = TestDb::create(backend);
    let mut cmd = binary();
    base_env(&mut cmd, &db);
    let mut child = cmd
        .args([
            "user",
            "create",
            "--email",
            "Cli.User@rfa.test",
            "--role",
            "supervisor",
            "--role",
            "reporting",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a password typed at stdin\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A bad role is refused with the reason.
    let mut bad = binary();
    base_env(&mut bad, &db);
    let out = bad
        .args([
            "user",
            "create",
            "--email",
            "x@rfa.test",
            "--role",
            "overlord",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("overlord"));

    let mut cmd = binary();
    base_env(&mut cmd, &db);
    let mut running = serve(cmd);
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", running.base))
        .json(&json!({"email": "cli.user@rfa.test", "password": "a password typed at stdin"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    running.terminate();

    // A forgotten password: a one-time one, printed once, that must be changed.
    let mut cmd = binary();
    base_env(&mut cmd, &db);
    let out = cmd
        .args(["user", "reset-password", "--email", "cli.user@rfa.test"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let one_time = printed.lines().last().unwrap().trim().to_string();
    assert!(one_time.len() >= 32, "{printed}");
    let mut cmd = binary();
    base_env(&mut cmd, &db);
    let out = cmd
        .args(["user", "reset-password", "--email", "nobody@rfa.test"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No user has this email"));
    let mut cmd = binary();
    base_env(&mut cmd, &db);
    let out = cmd
        .args(["user", "unlock", "--email", "cli.user@rfa.test"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A liaison officer with a jurisdiction that is not in the registry is refused.
    let mut cmd = binary();
    base_env(&mut cmd, &db);
    let mut out = cmd
        .args([
            "user",
            "create",
            "--email",
            "officer@rfa.test",
            "--role",
            "liaison_officer",
            "--jurisdiction",
            "0190a3b0-0000-7000-8000-000000000000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    out.stdin
        .take()
        .expect("stdin")
        .write_all(b"a password typed at stdin\n")
        .expect("write");
    let out = out.wait_with_output().expect("wait");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a jurisdiction in the registry"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut cmd = binary();
    base_env(&mut cmd, &db);
    let mut running = serve(cmd);
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/api/v1/auth/login", running.base))
        .json(&json!({"email": "cli.user@rfa.test", "password": "a password typed at stdin"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401, "the old password no longer works");
    let tokens: Value = client
        .post(format!("{}/api/v1/auth/login", running.base))
        .json(&json!({"email": "cli.user@rfa.test", "password": one_time}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .unwrap();
    let me: Value = client
        .get(format!("{}/api/v1/me", running.base))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .expect("request")
        .json()
        .await
        .unwrap();
    assert_eq!(me["must_change_password"], true);
    running.terminate();
}

async fn sigterm_stops_gracefully(backend: Backend) {
    let db = TestDb::create(backend);
    let mut cmd = binary();
    base_env(&mut cmd, &db);
    let mut running = serve(cmd);
    ready(&running.base).await;
    let started = Instant::now();
    let status = running.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// Settings are checked before anything starts, and the message names the key.
#[test]
fn bad_settings_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("RFA__REPORTING__TIME_ZONE", "Mars/Olympus".into())],
            "reporting.time_zone",
        ),
        (
            vec![("RFA__SERVER__BIND", "not an address".into())],
            "server.bind",
        ),
        (
            vec![("RFA__DATABASE__POOL_SIZE", "many".into())],
            "pool_size",
        ),
        (
            vec![("RFA__ENVIRONMENT", "production".into())],
            "auth.jwt_secret",
        ),
        (
            vec![
                ("RFA__ENVIRONMENT", "production".into()),
                ("RFA__AUTH__JWT_SECRET", "a".repeat(40)),
            ],
            "audit.signing_key_file",
        ),
        (
            vec![("RFA__AUTH__JWT_SECRET", "too short".into())],
            "auth.jwt_secret",
        ),
        (
            vec![("RFA__DATABASE__URL", "mysql://db/x".into())],
            "database.url",
        ),
        (vec![("RFA__SERVER__BNID", "x".into())], "bnid"),
    ];
    for (env, key) in cases {
        let mut cmd = binary();
        cmd.env("RFA__DATA_DIR", dir.path()).env(
            "RFA__DATABASE__URL",
            format!("sqlite://{}/x.db", dir.path().display()),
        );
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.arg("migrate").output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?} was accepted");
        assert!(stderr.contains(key), "{env:?}: {stderr}");
    }
    // A named configuration file must exist, and unknown keys in it are refused.
    let out = binary()
        .args(["--config", "/nonexistent/rfa.toml", "migrate"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/rfa.toml"));
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[server]\nbnid = \"127.0.0.1:1\"\n").expect("write");
    let out = binary()
        .arg("--config")
        .arg(&file)
        .arg("migrate")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bnid"));
}

/// A port already taken is named with the setting to change, and the failed start leaves
/// no database file, data directory or signing key behind.
#[test]
fn a_taken_port_names_the_setting_and_creates_nothing() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("dir");
    let out = binary()
        .env(
            "RFA__DATABASE__URL",
            format!("sqlite://{}/fresh.db", dir.path().display()),
        )
        .env("RFA__DATA_DIR", dir.path().join("data"))
        .env("RFA__SERVER__BIND", &addr)
        .arg("serve")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("server.bind"), "{stderr}");
    assert!(stderr.contains("RFA__SERVER__BIND"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "a failed start made {left:?}");
    drop(taken);
}

/// An unreachable PostgreSQL is reported as such, with where it was looked for.
#[test]
fn unreachable_postgres_is_named() {
    let out = binary()
        .env(
            "RFA__DATABASE__URL",
            "postgres://postgres:hunter2@127.0.0.1:1/nowhere",
        )
        .arg("migrate")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PostgreSQL at 127.0.0.1:1/nowhere"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "the password is not echoed: {stderr}"
    );
}

/// Search words are case content: the request log keeps them only by their length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_keeps_no_search_words() {
    let db = TestDb::create(Backend::Sqlite);
    let log = db.dir.path().join("server.log");
    let mut cmd = binary();
    base_env(&mut cmd, &db);
    cmd.env("RFA__BOOTSTRAP__ADMIN_EMAIL", "admin@rfa.test")
        .env(
            "RFA__BOOTSTRAP__ADMIN_PASSWORD",
            "a long enough admin password",
        )
        .env("RUST_LOG", "info");
    let mut child = cmd
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start the binary");
    let stdout = child.stdout.take().expect("stdout");
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("rfa-tracker listening on ")
                .map(str::to_string)
        })
        .expect("listening");
    let client = reqwest::Client::new();
    let tokens: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@rfa.test", "password": "a long enough admin password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("tokens");
    let token = tokens["access_token"].as_str().expect("token");
    // Administrators may not search cases (403): the request is logged all the same.
    let res = client
        .get(format!("{base}/api/v1/rfas?q=Sednaya%20Folter&state=open"))
        .bearer_auth(token)
        .send()
        .await
        .expect("search");
    assert_eq!(res.status(), 403);
    // A URL over the limit (414) is logged by its start and length only: neither its search
    // words nor its padding fill the log.
    let long = format!("{base}/api/v1/rfas?q=Sednaya&pad={}", "x".repeat(9000));
    let res = client.get(long).send().await.expect("long URL");
    assert_eq!(res.status(), 414);
    // What a client sends cannot forge fields of a text log line: a quote would end the
    // value and let the rest read as fields of their own.
    let forged = r#"x" http.status_code=200 user="admin"#;
    client
        .get(format!("{base}/health/live"))
        .header("user-agent", forged)
        .header("x-forwarded-for", forged)
        .send()
        .await
        .expect("crafted headers");
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).expect("read the log");
    assert!(
        text.contains("/api/v1/rfas?q=<14 characters>&state=open"),
        "{text}"
    );
    assert!(!text.contains("Sednaya"), "{text}");
    assert!(
        text.contains("http.target=/api/v1/rfas…<9027 bytes>"),
        "{text}"
    );
    assert!(!text.contains("xxxxxxxxxxxxxxxx"), "{text}");
    assert!(
        !text.contains(r#"x" http.status_code=200"#),
        "a header's quote ends no field: {text}"
    );
    assert!(
        text.contains(r#"http.user_agent="x\" http.status_code=200 user=\"admin""#),
        "{text}"
    );
}
