//! The command line. Everything it runs lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rfa_tracker::config::Settings;
use rfa_tracker::startup::Application;

#[derive(Parser)]
#[command(
    name = "rfa-tracker",
    version,
    about = "Requests for assistance: intake to closure, eligibility, audit trail and annual figures."
)]
struct Cli {
    /// A TOML file whose keys override config/default.toml (environment variables
    /// RFA__SECTION__KEY override both).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users from the command line.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the figures of a report (for scripts).
    #[command(subcommand)]
    Report(ReportCommand),
    /// Fill an empty database with a fictitious demonstration data set.
    DemoData,
    /// Check the record, and sign or check statements of the event log's head.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Copy the SQLite database while the service runs, check the copy (integrity, the
    /// record's verification, counts) and only then put it at FILE. On PostgreSQL use
    /// pg_dump or continuous archiving (docs/operations.md).
    Backup {
        /// Where the copy goes; it must not exist yet.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the event log's chain (and that nothing lies outside it), every request's stored
    /// record against its history, the frozen figures and the stored checkpoints; print what
    /// was found as JSON and exit 1 if anything was.
    Verify {
        /// Also check the database against a signed statement kept elsewhere (the output of
        /// `audit checkpoint`): history up to it must be unchanged.
        #[arg(long, value_name = "FILE")]
        against: Option<PathBuf>,
    },
    /// Sign the event log's head (unless this key signed it already) and print the latest
    /// signed statement, to hand to an auditor or another system.
    Checkpoint,
    /// Make a new signing key file (mode 0600; never overwrites one) and print its key id.
    NewKey { file: PathBuf },
}

#[derive(clap::Args)]
struct ReportOutput {
    /// json, csv or xlsx.
    #[arg(long, default_value = "json")]
    format: String,
    /// For csv and xlsx: `tables` (as the figures page shows them) or `long` (one row per
    /// figure, for scripts).
    #[arg(long, default_value = "tables")]
    layout: String,
    /// Count only events recorded up to this moment (RFC 3339).
    #[arg(long)]
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Write to this file instead of standard output (needed for xlsx at a terminal).
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// A calendar year.
    Annual {
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        out: ReportOutput,
    },
    /// Any period, both days inclusive.
    Range {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        #[command(flatten)]
        out: ReportOutput,
    },
    /// Totals since the first request through a year.
    Cumulative {
        #[arg(long)]
        through: i32,
        #[command(flatten)]
        out: ReportOutput,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from standard input (or asked for at a
    /// terminal), never taken as an argument where other users could see it.
    Create {
        #[arg(long)]
        email: String,
        /// A role: admin, supervisor, liaison_officer or reporting (repeat for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The name shown to others (defaults to the email).
        #[arg(long)]
        name: Option<String>,
        /// A jurisdiction's id, for a liaison officer (repeat for several).
        #[arg(long = "jurisdiction")]
        jurisdictions: Vec<String>,
    },
    /// Give a user a new one-time password, printed once; they choose their own at next
    /// sign-in. Their sessions end.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// End a lock from repeated failed sign-ins.
    Unlock {
        #[arg(long)]
        email: String,
    },
}

fn main() -> ExitCode {
    // Every file and folder the service creates is its own alone.
    rfa_tracker::files::private_umask();
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rfa-tracker: {e}");
            return ExitCode::from(2);
        }
    };
    rfa_tracker::telemetry::init(&settings.log);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(&settings),
        Command::User(UserCommand::Create {
            email,
            roles,
            name,
            jurisdictions,
        }) => create_user(&settings, &email, &roles, name.as_deref(), &jurisdictions),
        Command::User(UserCommand::ResetPassword { email }) => reset_password(&settings, &email),
        Command::User(UserCommand::Unlock { email }) => unlock(&settings, &email),
        Command::Report(r) => report(settings, r),
        Command::DemoData => demo_data(settings),
        Command::Audit(a) => audit(settings, a),
        Command::Backup { to } => backup(settings, &to),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rfa-tracker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = Application::build(settings).await?;
        println!("rfa-tracker listening on http://{}", app.local_addr());
        app.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(())
    })
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let (target, applied) = rfa_tracker::db::migrate(&settings.database)?;
    println!("{target}: {applied} migration(s) applied");
    Ok(())
}

/// A service error as the command line says it: the fields and messages, no internals.
fn said(e: rfa_tracker::error::AppError) -> anyhow::Error {
    use rfa_tracker::error::AppError;
    match e {
        AppError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        AppError::Conflict(m) | AppError::NotFound(m) => anyhow::anyhow!("{m}"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn reset_password(settings: &Settings, email: &str) -> anyhow::Result<()> {
    let db = rfa_tracker::db::Database::connect(&settings.database)?;
    let mut conn = db.pool.get()?;
    let password =
        rfa_tracker::service::accounts::reset_password_blocking(&mut conn, email).map_err(said)?;
    println!("One-time password for {email} (shown once; to be changed at next sign-in):");
    println!("{password}");
    Ok(())
}

fn unlock(settings: &Settings, email: &str) -> anyhow::Result<()> {
    let db = rfa_tracker::db::Database::connect(&settings.database)?;
    let mut conn = db.pool.get()?;
    rfa_tracker::service::accounts::unlock_blocking(&mut conn, email).map_err(said)?;
    println!("{email} may sign in again");
    Ok(())
}

fn create_user(
    settings: &Settings,
    email: &str,
    roles: &[String],
    name: Option<&str>,
    jurisdictions: &[String],
) -> anyhow::Result<()> {
    use rfa_tracker::domain::roles::Role;
    use std::io::IsTerminal;

    let roles = roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown role `{r}`; use admin, supervisor, liaison_officer or reporting"
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == second, "the passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    let db = rfa_tracker::db::Database::connect(&settings.database)?;
    let mut conn = db.pool.get()?;
    let id = rfa_tracker::service::accounts::create_user_blocking(
        &mut conn,
        email,
        name.unwrap_or(email),
        &roles,
        jurisdictions,
        &password,
    )
    .map_err(said)?;
    println!("created user {id} ({email})");
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn report(settings: Settings, command: ReportCommand) -> anyhow::Result<()> {
    use rfa_tracker::domain::roles::Role;
    use rfa_tracker::export;
    use rfa_tracker::service::accounts::Caller;
    use rfa_tracker::service::reports::{self, ReportSpec};
    use std::io::{IsTerminal, Write};
    let (spec, out) = match command {
        ReportCommand::Annual { year, out } => (ReportSpec::Annual { year }, out),
        ReportCommand::Range { from, to, out } => (ReportSpec::Range { from, to }, out),
        ReportCommand::Cumulative { through, out } => (ReportSpec::Cumulative { through }, out),
    };
    let bytes = runtime()?.block_on(async move {
        let svc = rfa_tracker::startup::prepare(settings).await?;
        // Whoever runs the binary against the database reads the figures as reporting staff.
        let caller = Caller::operator(None, vec![Role::Reporting]);
        let report = reports::report(&svc, caller, spec, out.as_of)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let layout = export::Layout::parse(&out.layout).ok_or_else(|| {
            anyhow::anyhow!("unknown layout `{}`; use tables or long", out.layout)
        })?;
        let bytes = match out.format.as_str() {
            "json" => serde_json::to_vec_pretty(&report)?,
            "csv" => export::to_csv(&report, layout, &[]).map_err(|e| anyhow::anyhow!("{e}"))?,
            "xlsx" => export::to_xlsx(&report, layout, &[]).map_err(|e| anyhow::anyhow!("{e}"))?,
            other => anyhow::bail!("unknown format `{other}`; use json, csv or xlsx"),
        };
        Ok::<_, anyhow::Error>((bytes, out.output, out.format))
    })?;
    let (bytes, output, format) = bytes;
    match output {
        Some(path) => std::fs::write(&path, bytes)?,
        None if format == "xlsx" && std::io::stdout().is_terminal() => {
            anyhow::bail!("an xlsx file is binary: give --output FILE or redirect standard output")
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

fn audit(settings: Settings, command: AuditCommand) -> anyhow::Result<()> {
    use rfa_tracker::domain::roles::Role;
    use rfa_tracker::service::accounts::Caller;
    use rfa_tracker::service::{checkpoint, rfas};
    if let AuditCommand::NewKey { file } = &command {
        checkpoint::make_key_file(file).map_err(|e| anyhow::anyhow!("{e}"))?;
        let signer = checkpoint::Signer::from_key_file(file).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("key id {}\npublic key {}", signer.key_id, signer.public_key);
        return Ok(());
    }
    runtime()?.block_on(async move {
        let svc = rfa_tracker::startup::prepare(settings).await?;
        // Whoever runs the binary against the database acts as an administrator.
        let caller = || Caller::operator(None, vec![Role::Admin]);
        let fail = |e: rfa_tracker::error::AppError| anyhow::anyhow!("{e}");
        match command {
            AuditCommand::Checkpoint => {
                let cp = checkpoint::sign_now(&svc, caller()).await.map_err(fail)?;
                println!("{}", serde_json::to_string_pretty(&cp)?);
                Ok(())
            }
            AuditCommand::Verify { against } => {
                let statement = match &against {
                    Some(path) => {
                        Some(checkpoint::read_statement(path).map_err(|e| anyhow::anyhow!("{e}"))?)
                    }
                    None => None,
                };
                let v = rfas::verify_chain(&svc, caller()).await.map_err(fail)?;
                let against = match statement {
                    Some(s) => Some(
                        checkpoint::check_against(&svc, caller(), s)
                            .await
                            .map_err(fail)?,
                    ),
                    None => None,
                };
                let ok = v.ok && against.as_ref().is_none_or(|a| a.holds);
                let mut out = serde_json::to_value(&v)?;
                if let Some(a) = against {
                    out["against"] = serde_json::to_value(a)?;
                }
                println!("{}", serde_json::to_string_pretty(&out)?);
                if ok {
                    Ok(())
                } else {
                    anyhow::bail!("the record does not verify: see the findings above")
                }
            }
            AuditCommand::NewKey { .. } => Ok(()),
        }
    })
}

/// `backup --to FILE`: the copy is written to `FILE.partial`, synced, opened as a restored
/// server would open it (in a runtime of its own, closed before the rename) and checked;
/// only a copy that passes becomes FILE.
fn backup(settings: Settings, to: &std::path::Path) -> anyhow::Result<()> {
    use rfa_tracker::domain::roles::Role;
    use rfa_tracker::service::accounts::Caller;
    use rfa_tracker::service::backup;
    let fail = |e: rfa_tracker::error::AppError| anyhow::anyhow!("{e}");
    if !settings.database.url.starts_with("sqlite:") {
        anyhow::bail!(
            "the database is PostgreSQL: back it up with pg_dump or continuous archiving \
             (docs/operations.md); this command copies an SQLite database"
        );
    }
    if to.exists() {
        anyhow::bail!(
            "{} exists already: a backup never overwrites a file",
            to.display()
        );
    }
    let name = to
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("--to must name a file"))?
        .to_string_lossy()
        .into_owned();
    let partial = to.with_file_name(format!("{name}.partial"));
    let scratch = to.with_file_name(format!("{name}.check"));
    for leftover in [&partial, &scratch] {
        // What an earlier backup that was interrupted left.
        let _ = std::fs::remove_file(leftover);
        let _ = std::fs::remove_dir_all(leftover);
    }
    let started = std::time::Instant::now();
    let (before, after) = runtime()?.block_on(async {
        // The live database is only read: no migrations, no start-up work, no writes that
        // would wait behind the running service's.
        let db_settings = settings.database.clone();
        let db = tokio::task::spawn_blocking(move || {
            rfa_tracker::db::Database::open_as_is(&db_settings)
        })
        .await??;
        let before = backup::counts(&db).await.map_err(fail)?;
        backup::copy(&db, &partial).await.map_err(fail)?;
        let after = backup::counts(&db).await.map_err(fail)?;
        anyhow::Ok((before, after))
    })?;
    let copied = started.elapsed();
    // The copy, opened as a restored server opens it, with a data directory of its own.
    let mut of_copy = settings.clone();
    of_copy.database.url = format!("sqlite://{}", partial.display());
    of_copy.data_dir = scratch.clone();
    of_copy.documents.directory = scratch.join("documents");
    let check = {
        let rt = runtime()?;
        let check = rt.block_on(async {
            let svc = rfa_tracker::startup::prepare(of_copy).await?;
            backup::check(&svc, || Caller::operator(None, vec![Role::Admin]))
                .await
                .map_err(fail)
        });
        // Every connection to the copy is closed before it is moved.
        rt.shutdown_timeout(std::time::Duration::from_secs(10));
        check?
    };
    let _ = std::fs::remove_dir_all(&scratch);
    let counts_hold = check.counts.between(&before, &after);
    let report = serde_json::json!({
        "file": to.display().to_string(),
        "bytes": std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0),
        "copy_seconds": copied.as_secs_f64(),
        "integrity": check.integrity,
        "chain_ok": check.chain.ok,
        "events_checked": check.chain.events_checked,
        "documents_ok": check.documents_ok,
        "counts": check.counts,
        "counts_before_copy": before,
        "counts_after_copy": after,
        "findings": check.chain.findings,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !check.ok() || !counts_hold {
        anyhow::bail!(
            "the copy failed its check (see above); it is left at {} and {} was not written",
            partial.display(),
            to.display()
        );
    }
    // SQLite removes its write-ahead log when the last connection closes; should one remain,
    // it belongs to the file and moves with it.
    for side in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{side}", partial.display()));
        if from.exists() {
            std::fs::rename(&from, format!("{}{side}", to.display()))?;
        }
    }
    std::fs::rename(&partial, to)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    if settings.documents.store == rfa_tracker::config::DocumentStoreKind::Files {
        eprintln!(
            "rfa-tracker: the documents' bytes are not in the database with the files store: \
             back up {} too",
            if settings.documents.directory.as_os_str().is_empty() {
                settings.data_dir.join("documents")
            } else {
                settings.documents.directory.clone()
            }
            .display()
        );
    }
    Ok(())
}

fn demo_data(settings: Settings) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let svc = rfa_tracker::startup::prepare(settings).await?;
        let summary = rfa_tracker::demo::generate(&svc)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "Demo data: {} fictitious jurisdictions and {} requests for assistance, 2018 to today.",
            summary.jurisdictions, summary.rfas
        );
        println!("Demo users (passwords shown once; each chooses their own at first sign-in):");
        for (email, password, role) in summary.users {
            println!("  {role:<16} {email}  {password}");
        }
        Ok(())
    })
}
