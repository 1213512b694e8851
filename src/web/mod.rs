//! HTML over HTTP: the screens people work in, served by the same binary at `/`. Each
//! handler reads a form or a query into the service's typed values, calls one service
//! function with the browser's caller and renders the answer; the access policy, lifecycle,
//! eligibility and figures are the services' own. Nothing here reaches the database or the
//! JSON API.
//!
//! The scope's transport settings are its own: HTML error pages, a content security policy
//! that allows our stylesheet (and nothing inline), server-side sessions in a cookie, and a
//! CSRF check on every POST (`session`).

pub mod account;
pub mod actions;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod case;
pub mod cases;
pub mod correction;
pub mod documents;
pub mod intake;
pub mod overview;
pub mod page;
pub mod registry;
pub mod reports;
pub mod session;
pub mod users;
pub mod words;

use actix_web::dev::HttpServiceFactory;
use actix_web::guard;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web as aw;

/// Pages allow what our own files need and nothing else: no inline script or style, no
/// framing, forms only to ourselves.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                       base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The paths the screens answer; everything else is left to the API's answers (problem
/// documents), as before the screens existed.
fn is_page(path: &str) -> bool {
    path == "/"
        || [
            "/sign-in",
            "/sign-out",
            "/account",
            "/cases",
            "/overview",
            "/reports",
            "/admin",
            "/registry",
            "/static",
        ]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// The screens' scope.
pub fn scope() -> impl HttpServiceFactory {
    aw::scope("")
        .guard(guard::fn_guard(|ctx| is_page(ctx.head().uri.path())))
        .wrap(DefaultHeaders::new().add((header::CONTENT_SECURITY_POLICY, CSP)))
        .app_data(aw::FormConfig::default().limit(64 * 1024))
        .service(assets::stylesheet)
        .service(assets::script)
        .service(auth::sign_in_form)
        .service(auth::sign_in)
        .service(auth::sign_out)
        .service(account::form)
        .service(account::change)
        .service(cases::list)
        // Before `/cases/{id}`, which would take `new` or `list.csv` for an id.
        .service(cases::download)
        .service(bulk::preview)
        .service(bulk::confirm)
        .service(intake::form)
        .service(intake::log)
        .service(case::show)
        .service(correction::form)
        .service(correction::correct)
        .service(documents::form)
        .service(documents::add)
        .service(documents::withdraw_form)
        .service(documents::withdraw)
        .service(documents::download)
        .service(overview::show)
        .service(users::list)
        // Before `/admin/users/{id}`, which would take `new` for an id.
        .service(users::new_form)
        .service(users::create)
        .service(users::edit_form)
        .service(users::edit)
        .service(users::reset_form)
        .service(users::reset)
        .service(users::unlock)
        .service(audit::audit)
        .service(audit::sign_checkpoint)
        .service(audit::accesses)
        .service(audit::outbox_list)
        .service(audit::retry)
        .service(registry::list)
        // Before `/registry/{id}`, which would take `new` for an id.
        .service(registry::new_form)
        .service(registry::create)
        .service(registry::show)
        .service(registry::authority_form)
        .service(registry::authority_edit)
        .service(registry::form)
        .service(registry::submit)
        .service(reports::figures)
        .service(reports::download)
        .service(reports::figure)
        .service(reports::chart_svg)
        .service(reports::chart_png)
        .service(reports::freeze)
        .service(reports::snapshots)
        .service(reports::snapshot_download)
        .service(reports::compare)
        .service(reports::snapshot)
        .service(actions::confirm)
        .service(actions::take)
        .default_service(aw::to(page::not_found))
}

#[cfg(test)]
mod tests {
    use super::is_page;

    #[test]
    fn the_screens_take_only_their_own_paths() {
        for p in ["/", "/sign-in", "/cases", "/cases/x", "/static/app.css"] {
            assert!(is_page(p), "{p}");
        }
        for p in [
            "/api/v1/rfas",
            "/health/live",
            "/metrics",
            "/nope",
            "/casesx",
            "/signin",
        ] {
            assert!(!is_page(p), "{p}");
        }
    }
}
