//! Storage: one connection type over SQLite and PostgreSQL, the pool, migrations and the
//! write-transaction helper. Queries live in the submodules, one per table group.

pub mod access;
pub mod backup;
pub mod calendar;
pub mod checkpoints;
pub mod dates;
pub mod documents;
pub mod outbox;
pub mod registry;
pub mod reports;
pub mod rfas;
pub mod schema;
pub mod search;
pub mod sign_in;
pub mod trail;
pub mod users;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::{DatabaseSettings, SqliteSynchronous};
use crate::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the URL chose. Only portable SQL types are used
/// (ids are TEXT, times are UTC TIMESTAMP), so one query serves both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type Conn = PooledConnection<Manager>;

/// A pooled connection and when work on it last succeeded, so that checking it out again
/// soon after needs no round trip to prove it is alive (see `Manager::is_valid`).
pub struct Pooled {
    conn: DbConnection,
    returned_at: Instant,
    /// Work on it failed in a way a lost PostgreSQL connection can: the pool drops it.
    failed: bool,
}

impl std::ops::Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// A PostgreSQL connection used again within this time of its last successful work is taken
/// to be alive
/// without a `SELECT 1` first (the same rule as HikariCP's bypass window). Checking every
/// checkout cost a network round trip per request; a connection idle longer than this is
/// still checked, so one the server or a firewall dropped is replaced before any work.
const TRUST_RECENTLY_USED: Duration = Duration::from_secs(1);

/// Named advisory locks (values are arbitrary but fixed).
#[derive(Debug, Clone, Copy)]
pub enum AdvisoryLock {
    Accounts = 7_410_001,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database is, parsed from `database.url`.
#[derive(Debug, Clone)]
pub enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, DbSetupError> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("sqlite://") {
            // sqlite://relative/path and sqlite:///absolute/path
            return Self::sqlite_path(rest);
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            return Self::sqlite_path(rest);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let parsed = url::Url::parse(url).map_err(|e| DbSetupError::BadUrl {
                reason: format!("not a PostgreSQL URL: {e}"),
            })?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(DbSetupError::BadUrl {
                    reason: "the PostgreSQL URL names no host".into(),
                });
            }
            return Ok(Target::Postgres(url.to_string()));
        }
        match url.split_once("://") {
            Some((scheme, _)) => Err(DbSetupError::BadUrl {
                reason: format!(
                    "unsupported scheme `{scheme}`; use sqlite://PATH or postgres://USER@HOST/DB"
                ),
            }),
            // A bare path is a SQLite file, as most tools accept.
            None => Self::sqlite_path(url),
        }
    }

    fn sqlite_path(path: &str) -> Result<Self, DbSetupError> {
        if path.is_empty() || path == ":memory:" || path.contains('?') {
            return Err(DbSetupError::BadUrl {
                reason: "a SQLite URL names a file: sqlite://data/rfa-tracker.db".into(),
            });
        }
        Ok(Target::Sqlite(PathBuf::from(path)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        }
    }

    /// A description safe to log: no password.
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite(path) => format!("SQLite file {}", path.display()),
            Target::Postgres(url) => match url::Url::parse(url) {
                Ok(u) => format!(
                    "PostgreSQL at {}:{}{}",
                    u.host_str().unwrap_or("?"),
                    u.port().unwrap_or(5432),
                    u.path()
                ),
                Err(_) => "PostgreSQL".into(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("configuration key `database.url`: {reason}")]
    BadUrl { reason: String },
    #[error("cannot open the {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("cannot apply database migrations on the {target}: {reason}")]
    Migrate { target: String, reason: String },
}

/// Builds connections of the variant the URL names. diesel's own `establish` on the enum
/// tries each backend in turn and reports only the last failure, so it is not used.
#[derive(Debug)]
pub struct Manager {
    target: Target,
    synchronous: SqliteSynchronous,
    busy_timeout_ms: u32,
}

impl Manager {
    pub fn new(target: Target, settings: &DatabaseSettings) -> Self {
        Self {
            target,
            synchronous: settings.sqlite_synchronous,
            busy_timeout_ms: settings.sqlite_busy_timeout_ms,
        }
    }

    fn open(&self) -> Result<DbConnection, DbSetupError> {
        let fail = |reason: String| DbSetupError::Connect {
            target: self.target.describe(),
            reason,
        };
        match &self.target {
            Target::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| fail(format!("cannot create {}: {e}", parent.display())))?;
                }
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(|e| fail(e.to_string()))?;
                let synchronous = match self.synchronous {
                    SqliteSynchronous::Full => "FULL",
                    SqliteSynchronous::Normal => "NORMAL",
                };
                // busy_timeout first: switching to WAL itself may need to wait for a lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};\
                     PRAGMA journal_mode = WAL;\
                     PRAGMA synchronous = {synchronous};\
                     PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(|e| fail(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
            Target::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(|e| fail(e.to_string().trim().to_string())),
        }
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = DbSetupError;

    fn connect(&self) -> Result<Pooled, DbSetupError> {
        Ok(Pooled {
            conn: self.open()?,
            returned_at: Instant::now(),
            failed: false,
        })
    }

    /// Run by the pool at every checkout. A SQLite connection is a handle on a local file and
    /// cannot go stale; a PostgreSQL connection is pinged only when it has been idle.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), DbSetupError> {
        match pooled.conn {
            DbConnection::Sqlite(_) => Ok(()),
            DbConnection::Postgresql(_) if pooled.returned_at.elapsed() < TRUST_RECENTLY_USED => {
                Ok(())
            }
            DbConnection::Postgresql(ref mut c) => {
                c.batch_execute("SELECT 1")
                    .map_err(|e| DbSetupError::Connect {
                        target: self.target.describe(),
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// Run by the pool when a connection comes back. One whose last work failed because the
    /// database could not be reached is dropped here, never handed out again.
    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        use diesel::r2d2::R2D2Connection;
        pooled.failed || std::thread::panicking() || pooled.conn.is_broken()
    }
}

/// Sends pool connection failures to the log instead of r2d2's default stderr printing.
#[derive(Debug)]
struct LogPoolErrors;

impl r2d2::HandleError<DbSetupError> for LogPoolErrors {
    fn handle_error(&self, error: DbSetupError) {
        tracing::warn!(%error, "database connection failed");
    }
}

/// The pool plus what readiness needs to know about the backend.
#[derive(Clone)]
pub struct Database {
    pub pool: Pool,
    pub target: Target,
    sqlite_identity: Option<FileIdentity>,
}

/// Device and inode of the SQLite file when it was opened: if the file is deleted or
/// replaced under a running server, its open connections would go on writing into a
/// file nobody will ever read again, so readiness fails instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| Self {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

impl Database {
    /// Opens one connection first so that a bad URL or an unreachable server fails with
    /// its own message, then builds the pool and applies pending migrations.
    pub fn connect(settings: &DatabaseSettings) -> Result<Self, DbSetupError> {
        Self::open_with(settings, |target, first| {
            run_migrations(first).map_err(|reason| DbSetupError::Migrate {
                target: target.describe(),
                reason,
            })
        })
    }

    /// Opens the database as it is, writing nothing to it (`rfa-tracker backup` reads a
    /// database a running service owns). A database whose migrations this binary has not
    /// all applied is refused: what it would read might not be there yet.
    pub fn open_as_is(settings: &DatabaseSettings) -> Result<Self, DbSetupError> {
        Self::open_with(settings, |target, first| {
            if all_applied(first) {
                Ok(())
            } else {
                Err(DbSetupError::Migrate {
                    target: target.describe(),
                    reason: "it lacks migrations this version of rfa-tracker brings; start the \
                             service of this version (or run `rfa-tracker migrate`) first"
                        .into(),
                })
            }
        })
    }

    fn open_with(
        settings: &DatabaseSettings,
        first_check: impl FnOnce(&Target, &mut DbConnection) -> Result<(), DbSetupError>,
    ) -> Result<Self, DbSetupError> {
        let target = Target::parse(&settings.url)?;
        let manager = Manager::new(target.clone(), settings);
        let mut first = manager.open()?;
        first_check(&target, &mut first)?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size)
            .min_idle(Some(1.min(settings.pool_size)))
            .connection_timeout(Duration::from_secs(settings.connect_timeout_secs))
            .error_handler(Box::new(LogPoolErrors))
            .build_unchecked(manager);
        let sqlite_identity = match &target {
            Target::Sqlite(path) => FileIdentity::of(path),
            Target::Postgres(_) => None,
        };
        Ok(Self {
            pool,
            target,
            sqlite_identity,
        })
    }

    pub fn backend(&self) -> Backend {
        self.target.backend()
    }

    /// Runs blocking database work on the blocking thread pool, never on an async worker.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| {
                tracing::warn!(error = %e, "no database connection available");
                AppError::Unavailable
            })?;
            let result = f(&mut conn);
            match &result {
                Ok(_) => conn.returned_at = Instant::now(),
                // A lost PostgreSQL connection shows as an outage, or as an internal error
                // when libpq words it in a way we do not recognise: drop it either way (a
                // reconnect is cheap). On SQLite these are a lock, a full disk or a bug, not
                // a lost connection.
                Err(AppError::Unavailable | AppError::Internal(_))
                    if conn.backend() == Backend::Postgres =>
                {
                    conn.failed = true;
                }
                Err(_) => {}
            }
            result
        })
        .await
        .map_err(|e| AppError::internal(format!("database task failed: {e}")))?
    }

    /// Readiness: a round trip to the database within a short time, and on SQLite the
    /// file still being the one that was opened.
    pub async fn ping(&self) -> Result<(), String> {
        if let (Target::Sqlite(path), Some(opened)) = (&self.target, self.sqlite_identity) {
            match FileIdentity::of(path) {
                Some(now) if now == opened => {}
                Some(_) => return Err("the database file was replaced".into()),
                None => return Err("the database file is gone".into()),
            }
        }
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get_timeout(Duration::from_secs(2))
                .map_err(|e| e.to_string())?;
            match conn.batch_execute("SELECT 1") {
                Ok(()) => {
                    conn.returned_at = Instant::now();
                    Ok(())
                }
                Err(e) => {
                    conn.failed = true;
                    Err(e.to_string())
                }
            }
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// Whether every embedded migration is recorded as applied, read without creating anything:
/// on PostgreSQL the service may run as a role that cannot create tables
/// (docs/operations.md), and diesel's own check begins with `CREATE TABLE IF NOT EXISTS`.
fn all_applied(conn: &mut DbConnection) -> bool {
    use diesel::migration::MigrationSource;
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let embedded = match conn {
        DbConnection::Sqlite(_) => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
        }
        DbConnection::Postgresql(_) => {
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
        }
    };
    let Ok(embedded): Result<Vec<String>, _> = embedded else {
        return false;
    };
    let Ok(applied) =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load::<Version>(conn)
    else {
        return false;
    };
    let applied: std::collections::HashSet<String> =
        applied.into_iter().map(|v| v.version).collect();
    embedded.iter().all(|v| applied.contains(v))
}

/// A statement with numbered parameters for this backend: PostgreSQL's `$n` as written;
/// SQLite's `?n`, because SQLite reads `$n` as a name and numbers names in order of first
/// appearance, which would bind the wrong values to a statement that uses `$2` before `$1`.
pub(crate) fn numbered(conn: &DbConnection, sql: &str) -> diesel::query_builder::SqlQuery {
    match conn {
        DbConnection::Sqlite(_) => {
            // Only a `$` before a digit is a parameter; any other stays as written.
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(ch) = chars.next() {
                let parameter = ch == '$' && chars.peek().is_some_and(char::is_ascii_digit);
                out.push(if parameter { '?' } else { ch });
            }
            diesel::sql_query(out)
        }
        DbConnection::Postgresql(_) => diesel::sql_query(sql),
    }
}

fn run_migrations(conn: &mut DbConnection) -> Result<(), String> {
    if all_applied(conn) {
        return Ok(());
    }
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgresql(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .map_err(|e| e.to_string())?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

/// Applies pending migrations and reports how many ran (`rfa-tracker migrate`).
pub fn migrate(settings: &DatabaseSettings) -> Result<(String, usize), DbSetupError> {
    let target = Target::parse(&settings.url)?;
    let mut conn = Manager::new(target.clone(), settings).open()?;
    let fail = |reason: String| DbSetupError::Migrate {
        target: target.describe(),
        reason,
    };
    let applied = match &mut conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgresql(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .map_err(|e| fail(e.to_string()))?;
    Ok((target.describe(), applied))
}

/// A filter that `column` is one of `values`, as `column = ? OR column = ? …`.
///
/// For SQLite: diesel prepares a statement with an `IN (?, ?)` list afresh on every call
/// (the number of binds varies, so it is never cached), while a statement without one is
/// kept in the connection's cache by its text. On PostgreSQL `eq_any` (`= ANY($1)`, one
/// array bind) is cached already and is what the planner reads best.
///
/// Lists longer than `CACHED_LIST` are written as `IN` after all: the cache keeps one
/// statement per list length, so this bounds it, and SQLite refuses an expression more than
/// 1,000 levels deep (a chain of `OR`s is one level per value).
pub(crate) fn any_of<T: 'static, C>(
    column: C,
    values: &[String],
) -> Box<dyn BoxableExpression<T, QueryBackend, SqlType = diesel::sql_types::Bool>>
where
    C: Column<Table = T> + Expression<SqlType = diesel::sql_types::Text> + Copy,
    diesel::dsl::Eq<C, String>:
        BoxableExpression<T, QueryBackend, SqlType = diesel::sql_types::Bool> + 'static,
    diesel::dsl::EqAny<C, Vec<String>>:
        BoxableExpression<T, QueryBackend, SqlType = diesel::sql_types::Bool> + 'static,
{
    type Filter<T> = Box<dyn BoxableExpression<T, QueryBackend, SqlType = diesel::sql_types::Bool>>;
    if values.len() > CACHED_LIST {
        return Box::new(column.eq_any(values.to_vec()));
    }
    let mut values = values.iter();
    let first: Filter<T> = match values.next() {
        Some(v) => Box::new(column.eq(v.clone())),
        None => Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0")),
    };
    values.fold(first, |any, v| {
        let this: Filter<T> = Box::new(column.eq(v.clone()));
        Box::new(any.or(this))
    })
}

/// The longest list `any_of` writes as a chain of `OR`s: a page (200 rows) names at most
/// this many people or jurisdictions.
const CACHED_LIST: usize = 200;

/// The backend type diesel's queries on a `DbConnection` are built for.
pub(crate) type QueryBackend = <DbConnection as diesel::Connection>::Backend;

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Sqlite(_) => Backend::Sqlite,
            DbConnection::Postgresql(_) => Backend::Postgres,
        }
    }

    /// Inside a write transaction: waits until no other transaction holds the same lock, for
    /// check-then-write rules that span rows (the last administrator, the first start). On
    /// PostgreSQL a transaction-scoped advisory lock; on SQLite the IMMEDIATE transaction
    /// already excludes every other writer.
    pub fn exclusive(&mut self, lock: AdvisoryLock) -> QueryResult<()> {
        if let DbConnection::Postgresql(_) = self {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({})", lock as i64))
                .execute(self)?;
        }
        Ok(())
    }

    /// A read-only transaction that sees one consistent state of the database for all its
    /// queries (a long check, such as verification, is not confused by writes committed
    /// meanwhile). SQLite's WAL gives each read transaction its snapshot; PostgreSQL needs
    /// REPEATABLE READ for that.
    pub fn snapshot<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        match self {
            DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?,
            DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction_sql(
                c,
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            )?,
        }
        let result = f(self);
        // Nothing was written: ending it either way is the same.
        if let Err(e) = <Self as TransactionManager<Self>>::rollback_transaction(self) {
            tracing::error!(error = %e, "ending a read transaction failed");
        }
        result
    }

    /// A write transaction. On SQLite it starts `BEGIN IMMEDIATE`, taking the write lock up
    /// front: a deferred transaction that reads and then writes fails with SQLITE_BUSY
    /// instead of waiting when another writer got there first. Nested `transaction` calls
    /// inside `f` become savepoints, as usual.
    ///
    /// SQLite writers in this process also queue on a mutex first: waiting on SQLite's busy
    /// handler is polling with growing sleeps, so under many concurrent writers some wait past
    /// `busy_timeout` and fail while others get through; a blocked thread on a mutex is woken
    /// as soon as the writer before it is done.
    pub fn write<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        let _turn = match self {
            DbConnection::Sqlite(_) => Some(SqliteWriterTurn::take()),
            DbConnection::Postgresql(_) => None,
        };
        match self {
            DbConnection::Sqlite(c) => {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
            }
            DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
        }
        match f(self) {
            Ok(value) => match <Self as TransactionManager<Self>>::commit_transaction(self) {
                Ok(()) => Ok(value),
                Err(e) => {
                    if let Err(rollback) =
                        <Self as TransactionManager<Self>>::rollback_transaction(self)
                    {
                        tracing::error!(error = %rollback, "rollback after a failed commit failed");
                    }
                    Err(e.into())
                }
            },
            Err(e) => {
                if let Err(rollback) =
                    <Self as TransactionManager<Self>>::rollback_transaction(self)
                {
                    tracing::error!(error = %rollback, "rollback failed");
                }
                Err(e)
            }
        }
    }
}

/// One SQLite writer at a time in this process (see `DbConnection::write`). Re-entrant per
/// thread, so a nested write (there are none today) cannot deadlock.
struct SqliteWriterTurn(Option<std::sync::MutexGuard<'static, ()>>);

static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    static HOLDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl SqliteWriterTurn {
    fn take() -> Self {
        if HOLDING.with(|h| h.get()) {
            return SqliteWriterTurn(None);
        }
        // A panic while writing poisons the mutex; the data it guards is nothing.
        let guard = SQLITE_WRITER.lock().unwrap_or_else(|p| p.into_inner());
        HOLDING.with(|h| h.set(true));
        SqliteWriterTurn(Some(guard))
    }
}

impl Drop for SqliteWriterTurn {
    fn drop(&mut self) {
        if self.0.is_some() {
            HOLDING.with(|h| h.set(false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert!(
            matches!(Target::parse("sqlite://data/x.db"), Ok(Target::Sqlite(p)) if p == Path::new("data/x.db"))
        );
        assert!(
            matches!(Target::parse("sqlite:///tmp/x.db"), Ok(Target::Sqlite(p)) if p == Path::new("/tmp/x.db"))
        );
        assert!(matches!(Target::parse("data/x.db"), Ok(Target::Sqlite(_))));
        assert!(matches!(
            Target::parse("postgres://u:secret@db.example:5433/rfa"),
            Ok(Target::Postgres(_))
        ));
        for bad in ["mysql://x/y", "sqlite://", "sqlite::memory:", "postgres://"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn any_of_matches_lists_short_and_long_on_sqlite() {
        use schema::rfa_tags;
        let mut c = DbConnection::Sqlite(
            diesel::sqlite::SqliteConnection::establish(":memory:").expect("in-memory SQLite"),
        );
        run_migrations(&mut c).expect("migrations");
        // Tags without their requests: this test is about the filter alone.
        diesel::sql_query("PRAGMA foreign_keys = OFF")
            .execute(&mut c)
            .expect("pragma");
        let ids: Vec<String> = (0..1_500).map(|i| format!("rfa-{i:04}")).collect();
        for id in ["rfa-0000", "rfa-0199", "rfa-1499"] {
            diesel::insert_into(rfa_tags::table)
                .values((rfa_tags::rfa_id.eq(id), rfa_tags::tag.eq("urgent")))
                .execute(&mut c)
                .expect("a tag");
        }
        for (n, expected) in [(0, 0), (1, 1), (2, 1), (200, 2), (201, 2), (1_500, 3)] {
            let found: Vec<String> = rfa_tags::table
                .select(rfa_tags::rfa_id)
                .filter(any_of(rfa_tags::rfa_id, &ids[..n]))
                .load(&mut c)
                .expect("the filter runs");
            assert_eq!(found.len(), expected, "{n} values");
        }
    }

    #[test]
    fn descriptions_hide_passwords() {
        let t = Target::parse("postgres://u:secret@db.example:5433/rfa")
            .unwrap_or_else(|e| panic!("{e}"));
        let d = t.describe();
        assert!(!d.contains("secret"), "{d}");
        assert!(d.contains("db.example:5433/rfa"), "{d}");
    }
}
