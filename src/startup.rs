//! Builds the application: the service context (database, keys, rules), then the HTTP
//! server. Transport settings shared by every answer sit on the whole app (logging, request
//! ids, metrics, the headers no answer may lack, the limits on a request's head); the API's
//! own (problem documents, its closed CSP, the JSON body limit, the token check) sit on its
//! scope in `api::register`, so a scope for the screens can bring its own without touching
//! the API's.

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpMessage, HttpServer, web};
use actix_web_prom::PrometheusMetricsBuilder;
use anyhow::Context;
use futures_util::FutureExt;
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_actix_web::AppExt;

use crate::api::problem::ensure_problem;
use crate::api::{self, OpenApiJson, RouteTable};
use crate::auth::password::Hasher;
use crate::auth::tokens::Keys;
use crate::config::Settings;
use crate::db::Database;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::{self, Bootstrapped};

pub struct Application {
    addr: std::net::SocketAddr,
    server: Server,
    services: web::Data<Services>,
}

impl Application {
    /// Binds the listener, then opens (and migrates) the database and prepares keys. The
    /// server runs once `run_until_stopped` is awaited.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // The address first: a start that cannot listen (the port taken, an address this
        // machine does not have) stops before it creates a database file, migrates, makes the
        // first administrator or a signing key.
        let addr = settings.bind_addr()?;
        let listener = TcpListener::bind(addr).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::AddrInUse => "another process already listens there",
                std::io::ErrorKind::AddrNotAvailable => "this machine has no such address",
                std::io::ErrorKind::PermissionDenied => "a port below 1024 needs privileges",
                _ => "the system refused it",
            };
            anyhow::anyhow!(
                "cannot listen on {addr}: {why} ({e}). Change `server.bind` (in the \
                 configuration file, or RFA__SERVER__BIND=127.0.0.1:8081), or stop the \
                 other process. Nothing was created or changed."
            )
        })?;
        let addr = listener.local_addr()?;
        let services = prepare(settings).await?;
        let settings = services.settings.clone();
        let server = http_server(listener, services.clone())?;
        warn_about_mail(&settings);
        let check = Arc::new(crate::service::calendar::DailyCheck::new(
            services.db.clone(),
            services.rules,
        ));
        crate::mail::worker::spawn(crate::mail::worker::Worker {
            db: services.db.clone(),
            settings: settings.clone(),
            before_digest: Some(Arc::new(move || {
                let check = check.clone();
                Box::pin(async move { check.run_if_due().await })
            })),
        })
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        crate::service::checkpoint::spawn_schedule(services.clone().into_inner());
        Ok(Self {
            addr,
            server,
            services,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn services(&self) -> web::Data<Services> {
        self.services.clone()
    }

    /// Serves until SIGTERM/SIGINT (or `handle().stop()`), then lets requests in flight finish.
    ///
    /// On SIGTERM the instance first drains for `server.drain_secs`: it keeps serving, but
    /// `/health/ready` answers 503, so that a load balancer checking it stops sending new
    /// requests before the listener closes. Then it stops accepting and gives the requests in
    /// flight up to `server.shutdown_timeout_secs`. SIGINT (Ctrl-C), or a second signal
    /// during the drain, skips the rest of the drain.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let services = self.services.clone();
        let drain = Duration::from_secs(services.settings.server.drain_secs);
        let signals = tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!(
                    "cannot listen for SIGTERM and SIGINT: stop the process with SIGKILL"
                );
                return;
            };
            let terminated = tokio::select! {
                _ = term.recv() => true,
                _ = int.recv() => false,
            };
            if terminated && !drain.is_zero() {
                services.start_draining();
                tracing::info!(
                    seconds = drain.as_secs(),
                    "SIGTERM: draining (readiness answers 503) before stopping"
                );
                tokio::select! {
                    _ = tokio::time::sleep(drain) => {}
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            tracing::info!("stopping: no new connections, requests in flight may finish");
            handle.stop(true).await;
        });
        let served = self.server.await;
        signals.abort();
        // What the access log still holds is written before the process ends, unless the
        // database stays away: then the process ends anyway, after a bounded wait, and says
        // what was lost.
        let wait = Duration::from_secs(crate::service::access::FLUSH_AT_STOP_SECS);
        if tokio::time::timeout(wait, self.services.access.flush())
            .await
            .is_err()
        {
            tracing::error!(
                "the access log could not be written within {} s of stopping: the accesses still queued are lost",
                wait.as_secs()
            );
        }
        served
    }
}

/// Everything but the HTTP server: the service context with the database (migrated, with
/// its first administrator), keys, the password hasher and the limits. The command line
/// uses it too.
pub async fn prepare(settings: Settings) -> anyhow::Result<web::Data<Services>> {
    let settings = Arc::new(settings);
    let db_settings = settings.database.clone();
    let db = tokio::task::spawn_blocking(move || Database::connect(&db_settings))
        .await
        .context("database start-up task failed")??;
    tracing::info!(database = %db.target.describe(), "database ready");
    // A database from before the trail of accounts and the registry: what is there now
    // becomes its baseline (once; nothing happens on later starts).
    let baselined = db
        .run(|c| crate::service::trail::baseline(c, crate::clock::now()))
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the trail of accounts and the registry: {e}"))?;
    if baselined > 0 {
        tracing::warn!(
            subjects = baselined,
            "recorded the existing accounts and registry as the trail's baseline"
        );
    }
    bootstrap(&db, &settings).await?;
    // Requests paused before their due date had an index key get it (once).
    let rules = crate::service::Rules::from_settings(&settings);
    let keyed = db
        .run(move |c| crate::service::rfas::fill_pause_keys(c, &rules))
        .await
        .map_err(|e| anyhow::anyhow!("cannot index the due dates of paused requests: {e}"))?;
    if keyed > 0 {
        tracing::info!(requests = keyed, "indexed the due dates of paused requests");
    }

    // Requests written before search existed get their search words (once).
    let indexed = db
        .run(crate::service::rfas::fill_search_words)
        .await
        .map_err(|e| anyhow::anyhow!("cannot index requests for search: {e}"))?;
    if indexed > 0 {
        tracing::info!(requests = indexed, "indexed requests for search");
    }

    let keys = Arc::new(Keys::from_settings(&settings)?);
    let hasher = {
        let n = settings.auth.max_concurrent_hashes;
        let wait = std::time::Duration::from_millis(settings.auth.hash_wait_ms);
        tokio::task::spawn_blocking(move || Hasher::new(n, wait))
            .await
            .context("hasher start-up task failed")?
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let documents = {
        let dir = if settings.documents.directory.as_os_str().is_empty() {
            settings.data_dir.join("documents")
        } else {
            settings.documents.directory.clone()
        };
        let stale = std::time::Duration::from_secs(settings.documents.stale_upload_minutes * 60);
        match settings.documents.store {
            crate::config::DocumentStoreKind::Files => crate::documents::Store::files(dir, stale),
            crate::config::DocumentStoreKind::Database => {
                crate::documents::Store::database(db.clone(), dir, stale)
            }
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let signer = Arc::new(
        crate::service::checkpoint::Signer::from_settings(&settings)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    tracing::info!(key_id = %signer.key_id, "checkpoints are signed with this key");
    let access = crate::service::access::AccessLog::start(db.clone());
    Ok(web::Data::new(Services::new(
        db, settings, keys, hasher, documents, signer, access,
    )))
}

/// In production, mail that goes nowhere is worth a loud warning at every start.
fn warn_about_mail(settings: &Settings) {
    use crate::config::{Environment, MailTransport};
    if settings.environment == Environment::Production
        && settings.mail.transport != MailTransport::Smtp
    {
        let msg = "mail.transport is not smtp in production: requesting authorities, assignees and \
                   supervisors receive no email (messages stay in the outbox as files or skipped)";
        tracing::warn!("{msg}");
        eprintln!("WARNING: {msg}");
    }
}

/// Creates the first administrator when there are no users at all.
async fn bootstrap(db: &Database, settings: &Settings) -> anyhow::Result<()> {
    let email = settings.bootstrap.admin_email.clone();
    let password = settings.bootstrap.admin_password.clone();
    let outcome = db
        .run(move |c| accounts::bootstrap_admin(c, &email, &password))
        .await
        .map_err(|e| match e {
            AppError::Validation(errors) => anyhow::anyhow!(
                "configuration key `{}`: {}",
                errors
                    .first()
                    .map(|e| e.field.as_str())
                    .unwrap_or("bootstrap"),
                errors
                    .first()
                    .map(|e| e.message.as_str())
                    .unwrap_or("is invalid")
            ),
            other => anyhow::anyhow!("cannot create the first administrator: {other}"),
        })?;
    match outcome {
        Bootstrapped::Existing => {}
        Bootstrapped::Configured(email) => {
            tracing::info!(%email, "created the first administrator from configuration");
        }
        Bootstrapped::Generated { email, password } => {
            // Printed once, on standard output rather than into the logs.
            println!(
                "Created the first administrator.\n  email:    {email}\n  password: {password}\n\
                 Sign in at {}/ (or with POST /api/v1/auth/login) and choose your own password:\n\
                 until then this account can do nothing else.\n\
                 This password is not shown again.",
                settings.web.public_url.trim_end_matches('/')
            );
        }
    }
    Ok(())
}

/// What no route takes: the API's answer (a 405 for a known path, else a 404 problem
/// document), but the screens' 404 page for a browser asking for HTML (a mistyped address)
/// at a path outside `/api/` that no route knows.
async fn fallback(
    req: actix_web::HttpRequest,
    routes: web::Data<RouteTable>,
) -> actix_web::HttpResponse {
    let wants_html = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/html")));
    if wants_html && !req.path().starts_with("/api/") && routes.allowed(req.path()).is_none() {
        return crate::web::page::not_found(req).await;
    }
    api::fallback(req, routes).await
}

fn http_server(listener: TcpListener, services: web::Data<Services>) -> anyhow::Result<Server> {
    let settings = services.settings.clone();
    let metrics = PrometheusMetricsBuilder::new("rfa")
        .endpoint("/metrics")
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
    let api_settings = settings.clone();

    let mut server = HttpServer::new(move || {
        let (app, doc) =
            api::register(App::new().into_utoipa_app(), &api_settings).split_for_parts();
        let routes = RouteTable::from_openapi(&doc);
        let doc_json = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
        app.app_data(services.clone())
            .app_data(web::Data::new(OpenApiJson(doc_json)))
            .app_data(web::Data::new(routes))
            // The screens, on the paths they own (web::scope's guard).
            .service(crate::web::scope())
            // What no scope takes: 404, or 405 for a known path (`fallback`).
            .default_service(web::to(fallback))
            .wrap_fn(|req, srv| {
                // A panicking handler becomes a logged 500 problem, not a dropped connection.
                let fut = srv.call(req);
                async move {
                    match AssertUnwindSafe(fut).catch_unwind().await {
                        Ok(res) => res,
                        Err(panic) => {
                            let what = panic
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_default();
                            Err(
                                AppError::Internal(format!("request handler panicked: {what}"))
                                    .into(),
                            )
                        }
                    }
                }
            })
            // Who looked at what, once the answer (and so its status) is known.
            .wrap(actix_web::middleware::from_fn(
                crate::transport::access::record,
            ))
            .wrap(ErrorHandlers::new().default_handler(ensure_problem))
            // An over-long URL (414) or oversized header section (431) is answered before
            // routing, as a problem document; inside the metrics, so it is counted (by route,
            // not URL), and inside the request log and the headers every answer carries.
            .wrap(actix_web::middleware::from_fn(
                crate::transport::head_limits,
            ))
            .wrap(metrics.clone())
            // Before the metrics middleware, which makes a series per method string: a method
            // no route has is refused here and counted nowhere, and /metrics may be kept to
            // those with its token.
            .wrap(actix_web::middleware::from_fn(
                crate::transport::guard_metrics,
            ))
            // Every answer may carry case data: no cache or proxy keeps it, no browser sniffs
            // it into something runnable or frames it. Outside the metrics middleware, which
            // answers /metrics itself. A header already set is kept, so a scope with other
            // needs (the screens' stylesheets) sets its own content security policy.
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; frame-ancestors 'none'",
                    ))
                    .add((header::REFERRER_POLICY, "no-referrer")),
            )
            .wrap_fn(|req, srv| {
                let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    if let Some(v) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                        res.headers_mut()
                            .insert(HeaderName::from_static("x-request-id"), v);
                    }
                    Ok::<_, actix_web::Error>(res.map_body(|_, b| b.boxed()))
                }
            })
            .wrap(TracingLogger::<crate::transport::access::RedactedSpan>::new())
    })
    .listen(listener)?
    .client_request_timeout(Duration::from_millis(
        settings.server.client_request_timeout_ms,
    ))
    .client_disconnect_timeout(Duration::from_secs(2))
    .keep_alive(Duration::from_secs(settings.server.keep_alive_secs))
    .max_connections(settings.server.max_connections_per_worker)
    .shutdown_timeout(settings.server.shutdown_timeout_secs)
    // Signals are handled in `Application::run_until_stopped`, which drains first.
    .disable_signals();
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    Ok(server.run())
}
