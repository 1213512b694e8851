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
    },
}

fn main() -> ExitCode {
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
        Command::User(UserCommand::Create { email, roles, name }) => {
            create_user(&settings, &email, &roles, name.as_deref())
        }
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

fn create_user(
    settings: &Settings,
    email: &str,
    roles: &[String],
    name: Option<&str>,
) -> anyhow::Result<()> {
    use rfa_tracker::domain::roles::Role;
    use rfa_tracker::error::AppError;
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
        &password,
    )
    .map_err(|e| match e {
        AppError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        AppError::Conflict(m) => anyhow::anyhow!("{m}"),
        other => anyhow::anyhow!("{other}"),
    })?;
    println!("created user {id} ({email})");
    Ok(())
}
