//! Shared by the benchmarks: a server on a seeded database.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub mod documents;
pub mod load;
pub mod seed;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use rfa_tracker::config::{DEFAULT_TOML, Settings};
use rfa_tracker::domain::ids::{JurisdictionId, UserId};
use rfa_tracker::domain::registry::{AuthorityKind, CompetenceBasis, Crime, DeathPenaltyStatus};
use rfa_tracker::domain::roles::Role;
use rfa_tracker::service::Services;
use rfa_tracker::service::accounts::Caller;
use rfa_tracker::service::{accounts, registry};

pub const ADMIN: (&str, &str) = ("bench-admin@rfa.test", "benchmark password 1");
pub const PASSWORD: &str = "benchmark password 1";

/// Where the benchmark's database lives: a temporary SQLite file, or a fresh database on the
/// PostgreSQL server that BENCH_POSTGRES_URL names (dropped at the end).
pub struct BenchDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
    /// BENCH_KEEP=1: the database outlives the run (its URL is printed), for `reuse`.
    keep: bool,
}

impl BenchDb {
    /// BENCH_POSTGRES_URL, when set, names the PostgreSQL server.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::new(
            std::env::var("BENCH_POSTGRES_URL")
                .ok()
                .filter(|v| !v.is_empty()),
        )
    }

    /// A database a run kept, by its URL (SQLite's data directory is the file's folder).
    pub fn reuse(url: &str) -> anyhow::Result<Self> {
        let mut dir = tempfile::tempdir()?;
        dir.disable_cleanup(true);
        Ok(Self {
            url: url.to_string(),
            dir,
            pg: None,
            keep: true,
        })
    }

    pub fn new(postgres: Option<String>) -> anyhow::Result<Self> {
        use diesel::{Connection, RunQueryDsl};
        let keep = std::env::var("BENCH_KEEP").is_ok_and(|v| v == "1");
        let mut dir = tempfile::tempdir()?;
        dir.disable_cleanup(keep);
        match postgres {
            Some(admin) => {
                let name = format!("rfa_bench_{}", uuid::Uuid::now_v7().simple());
                let mut c = diesel::pg::PgConnection::establish(&admin)?;
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut c)?;
                let mut u = url::Url::parse(&admin)?;
                u.set_path(&name);
                Ok(Self {
                    url: u.to_string(),
                    dir,
                    pg: Some((admin, name)),
                    keep,
                })
            }
            None => Ok(Self {
                url: format!("sqlite://{}/bench.db", dir.path().display()),
                dir,
                pg: None,
                keep,
            }),
        }
    }

    pub fn backend(&self) -> &'static str {
        if self.pg.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    pub fn settings(&self, extra: &[(&str, serde_json::Value)]) -> Settings {
        let mut f = Figment::from(Toml::string(DEFAULT_TOML))
            .merge(Serialized::default("server.bind", "127.0.0.1:0"))
            .merge(Serialized::default("data_dir", self.dir.path()))
            .merge(Serialized::default("database.url", &self.url))
            .merge(Serialized::default("log.level", "error"))
            .merge(Serialized::default(
                "auth.jwt_secret",
                "benchmark-signing-secret-0123456789abcdef",
            ))
            .merge(Serialized::default("auth.login_burst", 1_000_000))
            .merge(Serialized::default("auth.login_replenish_ms", 1))
            .merge(Serialized::default("bootstrap.admin_email", ADMIN.0))
            .merge(Serialized::default("bootstrap.admin_password", ADMIN.1));
        for (k, v) in extra {
            f = f.merge(Serialized::default(k, v));
        }
        Settings::from_figment(f).expect("settings")
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if self.keep {
            eprintln!("kept: BENCH_REUSE={}", self.url);
            return;
        }
        if let Some((admin, name)) = &self.pg
            && let Ok(mut c) = diesel::pg::PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c);
        }
    }
}

/// 16 jurisdictions with an authority each, and users for every role; returns
/// ((jurisdiction, authority) pairs, supervisor id).
pub async fn registry_and_users(
    state: &Services,
) -> anyhow::Result<(Vec<(String, String)>, String)> {
    let err = |e: rfa_tracker::error::AppError| anyhow::anyhow!("{e}");
    let admin = state
        .db()
        .run(|c| Ok(rfa_tracker::db::users::list(c, None, 1)?))
        .await
        .map_err(err)?[0]
        .id
        .clone();
    // The benchmark sets up its data as the operator running it, acting as the administrator.
    let admin = || Caller::operator(UserId::parse(&admin), vec![Role::Admin]);
    let mut pairs = Vec::new();
    for i in 0..16 {
        let j = registry::create_jurisdiction(
            state,
            admin(),
            registry::CreateJurisdiction {
                name: format!("Bench jurisdiction {i}"),
                country_code: ["DE", "FR", "SE", "NL"][i % 4].into(),
                death_penalty_status: DeathPenaltyStatus::AbolishedAllCrimes,
                competence_bases: vec![registry::CompetenceBasisEntry {
                    basis: CompetenceBasis::UniversalJurisdiction,
                    crimes: vec![
                        Crime::WarCrimes,
                        Crime::CrimesAgainstHumanity,
                        Crime::Torture,
                    ],
                }],
                active: None,
            },
        )
        .await
        .map_err(err)?;
        registry::add_assessment(
            state,
            admin(),
            JurisdictionId::from_stored(j.id.clone()),
            registry::NewAssessment {
                outcome: rfa_tracker::domain::registry::AssessmentOutcome::Meets,
                assessed_on: "2015-01-01".parse()?,
                review_due: "2099-01-01".parse()?,
                assessor: "Bench".into(),
                summary: "Bench".into(),
            },
        )
        .await
        .map_err(err)?;
        let a = registry::create_authority(
            state,
            admin(),
            JurisdictionId::from_stored(j.id.clone()),
            registry::CreateAuthority {
                name: "Prosecutor".into(),
                kind: AuthorityKind::Prosecution,
                contact_email: None,
                active: None,
            },
        )
        .await
        .map_err(err)?;
        pairs.push((j.id, a.id));
    }
    let mut supervisor = String::new();
    for (email, role) in [
        ("bench-supervisor@rfa.test", Role::Supervisor),
        ("bench-reporting@rfa.test", Role::Reporting),
    ] {
        let u = accounts::create_user(
            state,
            admin(),
            accounts::CreateUser {
                email: email.into(),
                display_name: "Bench".into(),
                roles: vec![role],
                jurisdiction_ids: vec![],
                password: Some(PASSWORD.into()),
                active: None,
            },
        )
        .await
        .map_err(err)?;
        if role == Role::Supervisor {
            supervisor = u.id;
        }
    }
    Ok((pairs, supervisor))
}

pub async fn login(client: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "sign-in answered {}", res.status());
    let v: serde_json::Value = res.json().await?;
    Ok(v["access_token"].as_str().unwrap_or_default().to_string())
}

/// Signs in through the screens' form; returns the session cookie (`rfa_session=…`).
pub async fn web_session(base: &str, email: &str) -> anyhow::Result<String> {
    // The session cookie comes with the redirect after sign-in: not followed here.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = |res: &reqwest::Response, name: &str| {
        res.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
    };
    let form = client.get(format!("{base}/sign-in")).send().await?;
    let form_cookie = cookie(&form, "rfa_form").ok_or_else(|| anyhow::anyhow!("no form cookie"))?;
    let html = form.text().await?;
    let marker = "name=\"form_token\" value=\"";
    let start = html
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("no form token"))?
        + marker.len();
    let token = html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string();
    let res = client
        .post(format!("{base}/sign-in"))
        .header(reqwest::header::COOKIE, form_cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("next", "/"),
            ("form_token", &token),
        ])
        .send()
        .await?;
    anyhow::ensure!(res.status() == 303, "web sign-in answered {}", res.status());
    cookie(&res, "rfa_session").ok_or_else(|| anyhow::anyhow!("no session cookie"))
}

/// Peak resident memory of this process (the server runs in it), from /proc.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
