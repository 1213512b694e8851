//! Typed settings, loaded once at start.
//!
//! Layers, later ones winning: the defaults in `config/default.toml` (compiled into the
//! binary, so the service starts from any directory), an optional file given with
//! `--config`, then environment variables `RFA__SECTION__KEY`. Unknown keys and wrong
//! values are refused with a message that names the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

/// The defaults, kept in one file that is also the documentation of every key.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// The highest `server.max_uri_bytes`: half of the 65,534 bytes beyond which actix-http
/// refuses a request line itself (the `http` crate's URI limit).
pub const MAX_URI_BYTES_CEILING: usize = 32 * 1024;
/// The highest `server.max_header_bytes`: with the longest URI allowed, a head at both
/// limits takes 96 KiB, so header sections 32 KiB larger still fit in actix-http's 128 KiB
/// read buffer and get this service's 431 rather than actix's.
pub const MAX_HEADER_BYTES_CEILING: usize = 64 * 1024;
/// The highest `server.max_headers`: actix-http parses at most 96 header lines and answers
/// more with a bare 431 itself.
pub const MAX_HEADERS_CEILING: usize = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub bootstrap: BootstrapSettings,
    pub reporting: ReportingSettings,
    pub eligibility: EligibilitySettings,
    pub deadlines: DeadlineSettings,
    pub mail: MailSettings,
    pub web: WebSettings,
    pub documents: DocumentSettings,
    pub audit: AuditSettings,
}

/// Signed checkpoints of the event log (see `service::checkpoint`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// A file holding the Ed25519 signing key (its 32-byte seed, 64 hex digits). Empty: in
    /// development one is made in `data_dir`; production requires it.
    pub signing_key_file: PathBuf,
    /// How often the head is signed when it has moved; 0 signs on demand only.
    pub checkpoint_minutes: u64,
}

/// Where the bytes of documents live, and how large one may be.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    pub store: DocumentStoreKind,
    pub directory: PathBuf,
    pub max_bytes: u64,
    /// At start, uploads left in staging (`tmp/`) untouched for this long are removed: what a
    /// crash or a cut connection left behind. Uploads in progress write all the time.
    pub stale_upload_minutes: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStoreKind {
    /// The local filesystem under `directory` (one instance, or a shared filesystem).
    Files,
    /// The database itself, in chunks: shared by every instance, and in its backups.
    Database,
}

/// The screens: where people reach them, and how long a browser session lasts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    pub public_url: String,
    pub session_idle_minutes: u32,
    pub session_hours: u32,
}

impl WebSettings {
    /// Whether people reach the service over https (then cookies are `Secure`).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub max_body_bytes: usize,
    /// Longest request target (path and query, as sent) accepted; longer ones get 414.
    pub max_uri_bytes: usize,
    /// Largest header section accepted (names, values and 4 bytes per line); larger: 431.
    pub max_header_bytes: usize,
    /// Most header lines accepted; more get 431.
    pub max_headers: usize,
    pub client_request_timeout_ms: u64,
    pub keep_alive_secs: u64,
    pub max_connections_per_worker: usize,
    pub shutdown_timeout_secs: u64,
    /// On SIGTERM, how long readiness answers 503 (while serving on) before the listener
    /// closes, so a load balancer stops sending first. 0 stops at once.
    pub drain_secs: u64,
    pub trust_forwarded_for: bool,
    /// When set, `GET /metrics` needs `Authorization: Bearer <this>`; empty leaves it open.
    pub metrics_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSynchronous {
    Full,
    Normal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    pub sqlite_synchronous: SqliteSynchronous,
    pub sqlite_busy_timeout_ms: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: String,
    pub jwt_previous_secrets: Vec<String>,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_days: u32,
    pub max_failed_logins: u32,
    /// The first lock of an account for one source; each further one lasts twice as long.
    pub lockout_secs: u64,
    /// The longest lock.
    pub longest_lockout_secs: u64,
    /// Failed sign-ins per minute the service takes before sources that failed lately wait.
    pub failure_budget_per_minute: u32,
    pub failed_login_floor_ms: u64,
    pub login_burst: u32,
    pub login_replenish_ms: u64,
    pub max_concurrent_hashes: usize,
    /// How long a sign-in waits for a free hasher before it is answered 503.
    pub hash_wait_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSettings {
    pub admin_email: String,
    pub admin_password: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingSettings {
    pub time_zone: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilitySettings {
    pub mandate_start: NaiveDate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineSettings {
    pub urgent_days: u32,
    pub high_days: u32,
    pub routine_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTransport {
    Smtp,
    File,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub file_dir: PathBuf,
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: String,
    pub smtp_password: String,
    pub send: Vec<String>,
    pub digest_days: u32,
    pub digest_hour: u32,
    pub poll_interval_ms: u64,
    pub lease_secs: u64,
    pub max_attempts: u32,
    pub retry_base_secs: u64,
}

/// The kinds of message `mail.send` may name.
pub const MAIL_KINDS: [&str; 6] = [
    "acknowledgement",
    "request_information",
    "assignment",
    "decision",
    "digest",
    "role_granted",
];

/// A setting that cannot be used, with the key it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}", describe_figment(.0))]
    Load(#[from] Box<figment::Error>),
    #[error("configuration file {path} cannot be read: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Settings {
    /// Loads the layers from the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file)?)
    }

    /// The layered sources before extraction; tests add their own layers on top.
    pub fn figment(file: Option<&Path>) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            // Figment would silently skip a missing file; a named file must exist.
            std::fs::metadata(path).map_err(|e| ConfigError::File {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
            figment = figment.merge(Toml::file_exact(path));
        }
        Ok(figment.merge(Env::prefixed("RFA__").split("__")))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
            ConfigError::Invalid {
                key,
                message: message.into(),
            }
        }
        self.bind_addr()?;
        match url::Url::parse(&self.web.public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(invalid(
                    "web.public_url",
                    "must be an http or https URL such as https://rfa.example.org",
                ));
            }
        }
        if self.web.session_idle_minutes == 0 || self.web.session_hours == 0 {
            return Err(invalid(
                "web.session_idle_minutes",
                "session_idle_minutes and session_hours must be at least 1",
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        // Ceilings that keep each limit below the one actix-http applies by itself (a URI
        // of 65,534 bytes, a head of 128 KiB, 96 header lines), where its answer is a bare
        // 400 or 431 instead of a problem document (docs/security.md).
        if !(1024..=MAX_URI_BYTES_CEILING).contains(&self.server.max_uri_bytes) {
            return Err(invalid(
                "server.max_uri_bytes",
                format!("must be between 1024 and {MAX_URI_BYTES_CEILING}"),
            ));
        }
        if !(1024..=MAX_HEADER_BYTES_CEILING).contains(&self.server.max_header_bytes) {
            return Err(invalid(
                "server.max_header_bytes",
                format!("must be between 1024 and {MAX_HEADER_BYTES_CEILING}"),
            ));
        }
        if !(8..=MAX_HEADERS_CEILING).contains(&self.server.max_headers) {
            return Err(invalid(
                "server.max_headers",
                format!("must be between 8 and {MAX_HEADERS_CEILING}"),
            ));
        }
        if self.database.url.trim().is_empty() {
            return Err(invalid("database.url", "must not be empty"));
        }
        if self.database.pool_size == 0 {
            return Err(invalid("database.pool_size", "must be at least 1"));
        }
        if self.database.connect_timeout_secs == 0 {
            return Err(invalid(
                "database.connect_timeout_secs",
                "must be at least 1",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", format!("not a log filter: {e}")))?;
        self.time_zone()?;
        if self.auth.access_token_ttl_secs < 60 || self.auth.access_token_ttl_secs > 3600 {
            return Err(invalid(
                "auth.access_token_ttl_secs",
                "must be between 60 and 3600 seconds",
            ));
        }
        if self.auth.refresh_token_ttl_days == 0 {
            return Err(invalid("auth.refresh_token_ttl_days", "must be at least 1"));
        }
        if self.auth.failure_budget_per_minute == 0 {
            return Err(invalid(
                "auth.failure_budget_per_minute",
                "must be at least 1",
            ));
        }
        if self.auth.longest_lockout_secs < self.auth.lockout_secs {
            return Err(invalid(
                "auth.longest_lockout_secs",
                "must be at least auth.lockout_secs",
            ));
        }
        if self.auth.max_failed_logins == 0 {
            return Err(invalid("auth.max_failed_logins", "must be at least 1"));
        }
        if self.auth.login_burst == 0 || self.auth.login_replenish_ms == 0 {
            return Err(invalid(
                "auth.login_burst",
                "the burst and auth.login_replenish_ms must be positive",
            ));
        }
        if self.auth.max_concurrent_hashes == 0 {
            return Err(invalid("auth.max_concurrent_hashes", "must be at least 1"));
        }
        let secret = self.auth.jwt_secret.trim();
        if !secret.is_empty() && secret.len() < MIN_SECRET_LEN {
            return Err(invalid(
                "auth.jwt_secret",
                format!("must be at least {MIN_SECRET_LEN} characters"),
            ));
        }
        if self.environment == Environment::Production && secret.is_empty() {
            return Err(invalid(
                "auth.jwt_secret",
                "is required when environment = \"production\"",
            ));
        }
        if self.environment == Environment::Production
            && self.audit.signing_key_file.as_os_str().is_empty()
        {
            return Err(invalid(
                "audit.signing_key_file",
                "is required when environment = \"production\" (the key that signs checkpoints of the event log)",
            ));
        }
        if self
            .auth
            .jwt_previous_secrets
            .iter()
            .any(|old| old.trim().len() < MIN_SECRET_LEN)
        {
            return Err(invalid(
                "auth.jwt_previous_secrets",
                format!("each earlier secret must be at least {MIN_SECRET_LEN} characters"),
            ));
        }
        if self.bootstrap.admin_email.is_empty() != self.bootstrap.admin_password.is_empty() {
            return Err(invalid(
                "bootstrap.admin_password",
                "bootstrap.admin_email and bootstrap.admin_password are set together",
            ));
        }
        let m = &self.mail;
        if m.transport == MailTransport::Smtp && m.smtp_host.trim().is_empty() {
            return Err(invalid(
                "mail.smtp_host",
                "is required when mail.transport = \"smtp\"",
            ));
        }
        if m.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "mail.from",
                "is not a mailbox such as \"Name <address@example.org>\"",
            ));
        }
        if let Some(bad) = m.send.iter().find(|k| !MAIL_KINDS.contains(&k.as_str())) {
            return Err(invalid(
                "mail.send",
                format!("`{bad}` is not one of {}", MAIL_KINDS.join(", ")),
            ));
        }
        if m.digest_hour > 23 {
            return Err(invalid("mail.digest_hour", "must be between 0 and 23"));
        }
        if m.max_attempts == 0
            || m.retry_base_secs == 0
            || m.lease_secs == 0
            || m.poll_interval_ms == 0
        {
            return Err(invalid(
                "mail.max_attempts",
                "max_attempts, retry_base_secs, lease_secs and poll_interval_ms must be positive",
            ));
        }
        for (key, days) in [
            ("deadlines.urgent_days", self.deadlines.urgent_days),
            ("deadlines.high_days", self.deadlines.high_days),
            ("deadlines.routine_days", self.deadlines.routine_days),
        ] {
            if days == 0 || days > 3650 {
                return Err(invalid(key, "must be between 1 and 3650 days"));
            }
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.bind.parse().map_err(|_| ConfigError::Invalid {
            key: "server.bind",
            message: format!("`{}` is not an address:port", self.server.bind),
        })
    }

    pub fn time_zone(&self) -> Result<chrono_tz::Tz, ConfigError> {
        self.reporting
            .time_zone
            .parse()
            .map_err(|_| ConfigError::Invalid {
                key: "reporting.time_zone",
                message: format!(
                    "`{}` is not an IANA time zone name",
                    self.reporting.time_zone
                ),
            })
    }
}

/// "configuration key `server.bind`: invalid type … (in RFA__ environment variables)", one
/// line per problem, with keys in the dotted lower-case form the documentation uses.
fn describe_figment(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_lowercase();
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            if key.is_empty() {
                format!("configuration: {}{source}", e.kind)
            } else {
                format!("configuration key `{key}`: {}{source}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Shortest accepted HMAC signing secret.
pub const MIN_SECRET_LEN: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    fn with(key: &str, value: impl serde::Serialize) -> Result<Settings, ConfigError> {
        Settings::from_figment(
            Figment::from(Toml::string(DEFAULT_TOML)).merge(Serialized::default(key, value)),
        )
    }

    #[test]
    fn defaults_are_valid() {
        let s = Settings::from_figment(Figment::from(Toml::string(DEFAULT_TOML)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.environment, Environment::Development);
        assert_eq!(s.database.sqlite_synchronous, SqliteSynchronous::Full);
    }

    #[test]
    fn wrong_values_name_their_key() {
        for (key, value) in [
            ("server.bind", "nowhere"),
            ("reporting.time_zone", "Mars/Olympus"),
            ("log.level", "lots=of=noise"),
            ("auth.jwt_secret", "short"),
            ("environment", "staging"),
            ("database.sqlite_synchronous", "off"),
        ] {
            let err = with(key, value).expect_err(key).to_string();
            let leaf = key.rsplit('.').next().unwrap_or(key);
            assert!(err.contains(leaf), "{key}: {err}");
        }
    }

    #[test]
    fn production_requires_a_secret() {
        let err = with("environment", "production").expect_err("no secret");
        assert!(err.to_string().contains("auth.jwt_secret"));
    }

    #[test]
    fn production_requires_a_checkpoint_signing_key() {
        let err = Settings::from_figment(
            Figment::from(Toml::string(DEFAULT_TOML))
                .merge(Serialized::default("environment", "production"))
                .merge(Serialized::default("auth.jwt_secret", "s".repeat(40))),
        )
        .expect_err("no signing key");
        assert!(err.to_string().contains("audit.signing_key_file"), "{err}");
    }

    #[test]
    fn head_limits_stay_below_actix_own() {
        for (key, wrong, right) in [
            ("server.max_uri_bytes", 65_534, MAX_URI_BYTES_CEILING),
            ("server.max_uri_bytes", 100, 1024),
            ("server.max_header_bytes", 131_072, MAX_HEADER_BYTES_CEILING),
            ("server.max_header_bytes", 0, 1024),
            ("server.max_headers", 96, MAX_HEADERS_CEILING),
            ("server.max_headers", 2, 8),
        ] {
            let err = with(key, wrong).expect_err(key).to_string();
            assert!(err.contains(key), "{key}: {err}");
            with(key, right).unwrap_or_else(|e| panic!("{key} = {right}: {e}"));
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = with("server.bnid", "127.0.0.1:1").expect_err("typo");
        assert!(err.to_string().contains("bnid"), "{err}");
    }
}
