//! The black-box harness: a real server on port 0 against a fresh database, spoken to over
//! HTTP. Every test runs once on SQLite (a temporary file) and once on PostgreSQL (a
//! database created for the test and dropped after) when RFA_TEST_POSTGRES_URL is set.

use std::io::Write as _;
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use diesel::Connection;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use rfa_tracker::config::{DEFAULT_TOML, Settings};
use rfa_tracker::startup::Application;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const TEST_SECRET: &str = "test-signing-secret-of-at-least-32-chars";
pub const ADMIN_EMAIL: &str = "admin@rfa.test";
pub const ADMIN_PASSWORD: &str = "admin password for tests";

/// Writes past the test harness's output capture, so a skip is seen in the summary.
pub fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("RFA_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Whether the PostgreSQL run of a test can happen. Under CI a missing or unreachable
/// PostgreSQL fails the suite instead of skipping.
pub fn backend_available(backend: Backend, test: &str) -> bool {
    if backend == Backend::Sqlite {
        return true;
    }
    let in_ci = std::env::var_os("CI").is_some();
    match postgres_admin_url() {
        Some(url) => {
            if let Err(e) = PgConnection::establish(&url) {
                assert!(
                    !in_ci,
                    "CI is set but PostgreSQL at RFA_TEST_POSTGRES_URL is unreachable: {e}"
                );
                say(&format!(
                    "SKIPPED {test} on PostgreSQL: cannot connect ({e})"
                ));
                return false;
            }
            true
        }
        None => {
            assert!(!in_ci, "CI is set but RFA_TEST_POSTGRES_URL is not");
            say(&format!(
                "SKIPPED {test} on PostgreSQL: set RFA_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
            ));
            false
        }
    }
}

/// Runs each named `async fn(Backend)` once per backend, as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::backend_available($crate::helpers::Backend::Postgres, stringify!($name)) {
                        super::$name($crate::helpers::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

/// A database made for one test, removed when the test ends.
pub struct TestDb {
    /// The owner's URL (migrations, and tests acting behind the service's back).
    pub url: String,
    pg_admin: Option<(String, String)>,
    pub dir: tempfile::TempDir,
    /// What the service connects with: on PostgreSQL a role that owns nothing and may only
    /// read and append the history (docs/operations.md), made once the schema exists.
    service: std::sync::OnceLock<String>,
}

impl TestDb {
    pub fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.path().join("rfa.db").display()),
                pg_admin: None,
                dir,
                service: Default::default(),
            },
            Backend::Postgres => {
                let admin = postgres_admin_url().expect("RFA_TEST_POSTGRES_URL");
                let name = format!("rfa_test_{}", uuid::Uuid::now_v7().simple());
                let mut conn =
                    PgConnection::establish(&admin).expect("PostgreSQL admin connection");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create the test database");
                let mut url = url::Url::parse(&admin).expect("RFA_TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    pg_admin: Some((admin, name)),
                    dir,
                    service: Default::default(),
                }
            }
        }
    }

    /// An SQLite file somewhere else, to look into (never removed by this value).
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            url: format!("sqlite://{}", path.display()),
            pg_admin: None,
            dir: tempfile::tempdir().expect("temporary directory"),
            service: Default::default(),
        }
    }

    /// The same database for a second server instance; only the first removes it.
    pub fn shared(&self) -> Self {
        let service = std::sync::OnceLock::new();
        let _ = service.set(self.service_url());
        Self {
            url: self.url.clone(),
            pg_admin: None,
            dir: tempfile::tempdir().expect("temporary directory"),
            service,
        }
    }

    /// The URL the service connects with. On PostgreSQL the first call migrates the
    /// database as its owner and makes the service's role, as production does.
    pub fn service_url(&self) -> String {
        self.service
            .get_or_init(|| {
                let Some((_, name)) = &self.pg_admin else {
                    return self.url.clone();
                };
                let owner = rfa_tracker::config::DatabaseSettings {
                    url: self.url.clone(),
                    pool_size: 1,
                    connect_timeout_secs: 5,
                    sqlite_synchronous: rfa_tracker::config::SqliteSynchronous::Normal,
                    sqlite_busy_timeout_ms: 5000,
                };
                rfa_tracker::db::migrate(&owner).expect("migrate as the owner");
                let role = service_role(name);
                for sql in [
                    format!("CREATE ROLE {role} LOGIN"),
                    format!("GRANT CONNECT ON DATABASE {name} TO {role}"),
                    format!("GRANT USAGE ON SCHEMA public TO {role}"),
                    format!(
                        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
                    ),
                    format!(
                        "REVOKE UPDATE, DELETE, TRUNCATE ON rfa_events, trail_events, access_log, registry_changes, document_downloads, document_blobs, document_chunks, report_snapshots, chain_checkpoints FROM {role}"
                    ),
                ] {
                    self.execute(&sql);
                }
                let mut url = url::Url::parse(&self.url).expect("a URL");
                url.set_username(&role).expect("a user name");
                url.to_string()
            })
            .clone()
    }

    /// Runs SQL directly against the database, behind the service's back.
    pub fn execute(&self, sql: &str) -> usize {
        self.try_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The same, giving the database's refusal back.
    pub fn try_execute(&self, sql: &str) -> Result<usize, String> {
        let r = if self.url.starts_with("postgres") {
            let mut c = PgConnection::establish(&self.url).expect("connect");
            diesel::sql_query(sql).execute(&mut c)
        } else {
            let path = self.url.trim_start_matches("sqlite://");
            let mut c = diesel::sqlite::SqliteConnection::establish(path).expect("connect");
            // The service writes meanwhile (the access log every 100 ms): wait for its turn.
            diesel::sql_query("PRAGMA busy_timeout = 10000")
                .execute(&mut c)
                .expect("busy timeout");
            diesel::sql_query(sql).execute(&mut c)
        };
        r.map_err(|e| e.to_string())
    }

    /// Drops the triggers that keep the history append-only, as the database's owner can.
    pub fn lift_append_only(&self) {
        let tables = [
            "rfa_events",
            "trail_events",
            "access_log",
            "registry_changes",
            "document_downloads",
            "document_blobs",
            "document_chunks",
            "report_snapshots",
            "chain_checkpoints",
        ];
        for t in tables {
            if self.url.starts_with("postgres") {
                self.execute(&format!("ALTER TABLE {t} DISABLE TRIGGER USER"));
            } else {
                self.execute(&format!("DROP TRIGGER {t}_no_update"));
                self.execute(&format!("DROP TRIGGER {t}_no_delete"));
            }
        }
    }

    /// One number from SQL run directly against the database (`SELECT count(*) AS n …`).
    pub fn number(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Vec<N> = match self.url.starts_with("postgres") {
            true => {
                let mut c = PgConnection::establish(&self.url).expect("connect");
                diesel::sql_query(sql).load(&mut c).expect("query")
            }
            false => {
                let path = self.url.trim_start_matches("sqlite://");
                let mut c = diesel::sqlite::SqliteConnection::establish(path).expect("connect");
                diesel::sql_query(sql).load(&mut c).expect("query")
            }
        };
        rows.first().expect("one row").n
    }

    /// SQLite's own consistency check of the file: "ok" when nothing is damaged.
    pub fn sqlite_integrity(&self) -> String {
        #[derive(diesel::QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let path = self.url.trim_start_matches("sqlite://");
        let mut c = diesel::sqlite::SqliteConnection::establish(path).expect("connect");
        let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
            .load(&mut c)
            .expect("integrity_check");
        lines
            .into_iter()
            .map(|l| l.integrity_check)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Makes the database disappear under a running server.
    pub fn destroy(&mut self) {
        match &self.pg_admin {
            Some((admin, name)) => {
                let mut conn = PgConnection::establish(admin).expect("PostgreSQL admin connection");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .expect("drop the test database");
            }
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(self.dir.path().join(format!("rfa.db{suffix}")));
                }
            }
        }
    }
}

/// The service's role for a test database (roles are the cluster's, so named after it).
fn service_role(database: &str) -> String {
    format!("{database}_svc")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_admin.clone() {
            self.destroy();
            if self.service.get().is_some() {
                let mut conn =
                    PgConnection::establish(&admin).expect("PostgreSQL admin connection");
                let _ = diesel::sql_query(format!("DROP ROLE IF EXISTS {}", service_role(&name)))
                    .execute(&mut conn);
            }
        }
    }
}

/// Settings for a test server: defaults, then the test database, then `overrides`.
pub fn settings(db: &TestDb, overrides: &[(&str, Value)]) -> Settings {
    let mut figment = Figment::from(Toml::string(DEFAULT_TOML))
        .merge(Serialized::default("server.bind", "127.0.0.1:0"))
        .merge(Serialized::default("server.workers", 2))
        .merge(Serialized::default("data_dir", db.dir.path().join("data")))
        .merge(Serialized::default("database.url", db.service_url()))
        .merge(Serialized::default("database.sqlite_synchronous", "normal"))
        .merge(Serialized::default("log.level", "error"))
        .merge(Serialized::default("auth.jwt_secret", TEST_SECRET))
        .merge(Serialized::default("auth.login_burst", 1000))
        .merge(Serialized::default("bootstrap.admin_email", ADMIN_EMAIL))
        .merge(Serialized::default(
            "bootstrap.admin_password",
            ADMIN_PASSWORD,
        ));
    for (key, value) in overrides {
        figment = figment.merge(Serialized::default(key, value));
    }
    Settings::from_figment(figment).expect("test settings")
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, overrides: &[(&str, Value)]) -> Self {
        let db = TestDb::create(backend);
        let settings = settings(&db, overrides);
        Self::start(db, settings)
    }

    /// Starts the server on its own thread and runtime, as the binary would.
    pub fn start(db: TestDb, settings: Settings) -> Self {
        rfa_tracker::telemetry::init(&settings.log);
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                match Application::build(settings).await {
                    Ok(app) => {
                        let _ = tx.send(Ok((app.port(), app.handle())));
                        let _ = app.run_until_stopped().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("{e:#}")));
                    }
                }
            });
        });
        let (port, handle) = rx
            .recv()
            .expect("server thread")
            .unwrap_or_else(|e| panic!("server failed to start: {e}"));
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            db,
            handle,
            thread: Some(thread),
        }
    }

    /// A second server instance on the same database.
    pub fn second_instance(&self) -> Self {
        self.second_instance_with(&[])
    }

    /// A second server instance on the same database (with its own data directory), with
    /// `overrides` on the default settings.
    pub fn second_instance_with(&self, overrides: &[(&str, Value)]) -> Self {
        let db = self.db.shared();
        let settings = settings(&db, overrides);
        Self::start(db, settings)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.send(reqwest::Method::POST, path, token, body).await
    }

    /// The version a user, jurisdiction or authority has now, as its ETag or its `version`
    /// (an authority is found in its jurisdiction's list); `None` if `token` cannot read it.
    pub async fn version_of(&self, path: &str, token: Option<&str>) -> Option<i64> {
        let res = self.get(path, token).await;
        if res.status() == 200 {
            let tag = res.headers().get("etag")?.to_str().ok()?.trim_matches('"');
            return tag.parse().ok();
        }
        let (list, id) = path.rsplit_once('/')?;
        let page: Value = self.get(list, token).await.json().await.ok()?;
        page["items"].as_array()?.iter().find(|i| i["id"] == id)?["version"].as_i64()
    }

    /// PATCH with `If-Match` naming the version the resource has now (without one when the
    /// caller cannot read it: then the answer is about access, not versions).
    pub async fn patch_current(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self.client.patch(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(v) = self.version_of(path, token).await {
            req = req.header("if-match", format!("\"{v}\""));
        }
        req.send().await.expect("request")
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// Signs in and returns the whole token answer.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let res = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 200, "sign-in of {email}");
        res.json().await.expect("token JSON")
    }

    pub async fn admin_token(&self) -> String {
        token_of(&self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await)
    }

    /// Creates a user with the given roles and password and returns (id, access token).
    pub async fn user_with(&self, roles: &[&str], jurisdictions: &[&str]) -> (String, String) {
        let admin = self.admin_token().await;
        let email = format!("{}@rfa.test", uuid::Uuid::now_v7().simple());
        let password = "a password for this test user";
        let res = self
            .post(
                "/api/v1/users",
                Some(&admin),
                &json!({"email": email, "display_name": "Test User", "roles": roles,
                        "jurisdiction_ids": jurisdictions, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 201, "create user");
        let user: Value = res.json().await.expect("user JSON");
        let id = user["id"].as_str().expect("id").to_string();
        (id, token_of(&self.login(&email, password).await))
    }
}

pub fn token_of(tokens: &Value) -> String {
    tokens["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent at once; the server's own runtime completes it.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Asserts an answer is a problem document with the status, and returns it.
pub async fn assert_problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct}"
    );
    let body: Value = res.json().await.expect("problem JSON");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["title"].as_str().is_some());
    assert!(body["detail"].as_str().is_some());
    body
}
