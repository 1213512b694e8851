//! What every page shares: rendering a template into an answer, the signed-in user's bar,
//! and the error pages (the screens' own mapping of the service's error kinds).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::domain::policy::{Action, reach};
use crate::error::AppError;
use crate::service::accounts::BrowserCaller;

/// The signed-in user as the masthead shows them, with the token its sign-out form sends
/// and the parts of the service their roles open.
pub struct UserBar {
    pub name: String,
    pub csrf: String,
    pub links: Vec<(&'static str, &'static str)>,
}

/// The masthead's links: (label, path, the action that opens it).
const SECTIONS: [(&str, &str, Action); 7] = [
    ("Cases", "/", Action::ReadRfa),
    ("Overview", "/overview", Action::ReadOverview),
    ("Figures", "/reports", Action::ReadReports),
    ("Users", "/admin/users", Action::ManageUsers),
    ("Registry", "/registry", Action::ReadRegistry),
    ("Audit", "/admin/audit", Action::VerifyAudit),
    ("Mail", "/admin/outbox", Action::ManageOutbox),
];

impl UserBar {
    pub fn of(caller: &BrowserCaller) -> Self {
        let roles = &caller.who.principal().roles;
        Self {
            name: caller.display_name.clone(),
            csrf: caller.csrf.clone(),
            links: SECTIONS
                .iter()
                .filter(|(_, _, a)| reach(roles, *a).is_some())
                .map(|(label, path, _)| (*label, *path))
                .collect(),
        }
    }

    /// Where this user starts: the first part of the service their roles open.
    pub fn home(caller: &BrowserCaller) -> &'static str {
        let roles = &caller.who.principal().roles;
        SECTIONS
            .iter()
            .find(|(_, _, a)| reach(roles, *a).is_some())
            .map(|(_, path, _)| *path)
            .unwrap_or("/account/password")
    }
}

/// A page answer with the status given.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Something went wrong on our side; it has been logged.")
        }
    }
}

pub fn ok(page: &impl Template) -> HttpResponse {
    render(StatusCode::OK, page)
}

/// After a form: go to the page that shows the result (POST-redirect-GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    user: Option<UserBar>,
    title: String,
    message: String,
    /// Where to go from here: the page the person came from when it is known.
    back_href: String,
    back_label: &'static str,
}

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No session, or one that has ended: to the sign-in page, then back.
    #[error("sign in first")]
    SignIn { back_to: String },
    /// The user must choose their own password first: to the page for it.
    #[error("the password must be changed first")]
    PasswordChangeDue,
    /// A form that did not come from our own pages (CSRF).
    #[error("refused form: {0}")]
    ForgedForm(&'static str),
    /// An action the case does not allow now, with the reason: back to the case.
    #[error("not possible now: {detail}")]
    NotNow { detail: String, case_href: String },
    #[error(transparent)]
    Service(#[from] AppError),
}

impl PageError {
    fn words(&self) -> (StatusCode, &'static str, String) {
        match self {
            PageError::SignIn { .. } | PageError::PasswordChangeDue => {
                (StatusCode::SEE_OTHER, "", String::new())
            }
            PageError::NotNow { detail, .. } => (
                StatusCode::CONFLICT,
                "This cannot be done now",
                detail.clone(),
            ),
            PageError::ForgedForm(why) => (
                StatusCode::FORBIDDEN,
                "This form cannot be accepted",
                format!("{why} Nothing was changed. Go back to the page, reload it and try again."),
            ),
            PageError::Service(e) => match e {
                AppError::NotFound(_) => (
                    StatusCode::NOT_FOUND,
                    "Page not found",
                    "There is no such page, or it is not yours to see.".into(),
                ),
                AppError::Forbidden(_) => (
                    StatusCode::FORBIDDEN,
                    "You cannot do this",
                    "Your roles do not permit this page.".into(),
                ),
                AppError::PasswordChangeRequired => (
                    StatusCode::FORBIDDEN,
                    "Choose your own password first",
                    "Your password was set for you. Change it before you go on.".into(),
                ),
                AppError::UnsupportedType(m) => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "This file cannot be added",
                    m.clone(),
                ),
                AppError::TooLarge(m) => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "This file is too large",
                    m.clone(),
                ),
                AppError::Integrity(m) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "This document cannot be shown",
                    m.clone(),
                ),
                AppError::Unauthenticated(_) => (
                    StatusCode::UNAUTHORIZED,
                    "Sign in again",
                    "Your session has ended.".into(),
                ),
                AppError::Busy { retry_after_secs } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is busy",
                    format!(
                        "Too many sign-ins are waiting. Try again in {retry_after_secs} seconds."
                    ),
                ),
                AppError::Unavailable => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is busy",
                    "The database cannot take this request now. Try again in a moment.".into(),
                ),
                AppError::Malformed(m) | AppError::Conflict(m) => {
                    (StatusCode::BAD_REQUEST, "This cannot be done", m.clone())
                }
                AppError::Validation(errors) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Check what you entered",
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                AppError::NotAllowedNow { detail, .. } => (
                    StatusCode::CONFLICT,
                    "This cannot be done now",
                    detail.clone(),
                ),
                AppError::VersionMismatch | AppError::VersionRequired => (
                    StatusCode::CONFLICT,
                    "This case changed since you opened it",
                    "Someone changed it meanwhile. Open it again to see its current state.".into(),
                ),
                AppError::RateLimited { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    format!("Wait {retry_after_secs} seconds, then try again."),
                ),
                AppError::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side; it has been logged.".into(),
                ),
            },
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            // The answer is a redirect to the sign-in page (`error_response`); what happened
            // is a 401, and saying so keeps the request log at its level for client errors.
            PageError::SignIn { .. } => StatusCode::UNAUTHORIZED,
            PageError::PasswordChangeDue => StatusCode::FORBIDDEN,
            _ => self.words().0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::SignIn { back_to } => {
                let target = format!("/sign-in?next={}", urlencode(back_to));
                return see_other(&target);
            }
            PageError::PasswordChangeDue => return see_other(super::account::PATH),
            PageError::Service(AppError::Internal(m)) => {
                tracing::error!(error = %m, "internal error");
            }
            PageError::Service(AppError::Unavailable) => tracing::warn!("database unavailable"),
            _ => {}
        }
        let (status, title, message) = self.words();
        let (back_href, back_label) = match self {
            PageError::NotNow { case_href, .. } => (case_href.clone(), "Back to the case"),
            // The start page is each role's own (`/` sends reporting staff and
            // administrators on to theirs).
            _ => ("/".to_string(), "Go to your start page"),
        };
        render(
            status,
            &ErrorPage {
                user: None,
                title: title.into(),
                message,
                back_href,
                back_label,
            },
        )
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A path the screens do not have.
pub async fn not_found(_: HttpRequest) -> HttpResponse {
    PageError::Service(AppError::NotFound("no such page".into())).error_response()
}
