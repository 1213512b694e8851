//! Browser sessions and forged forms.
//!
//! The session cookie holds a random token; the server keeps only its hash, tied to a row of
//! `sessions`, so sign-out, deactivation and a password change end it at once. The cookie is
//! `HttpOnly`, `SameSite=Lax`, and `Secure` when `web.public_url` is https.
//!
//! Every POST must come from our own pages: the browser says so (`Sec-Fetch-Site:
//! same-origin`, or an `Origin` that is `web.public_url`'s), and the form carries the
//! session's CSRF token (before sign-in, the token of a short-lived form cookie).

use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage as _;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use subtle::ConstantTimeEq;

use super::page::PageError;
use crate::service::Services;
use crate::service::accounts::{self, BrowserCaller, Caller};

pub const SESSION_COOKIE: &str = "rfa_session";
/// Before sign-in: the token the sign-in form sends back.
pub const FORM_COOKIE: &str = "rfa_form";

/// The signed-in browser: its caller, checked against the database for this request.
pub struct Signed(pub BrowserCaller);

impl Signed {
    pub fn caller(&self) -> Caller {
        Caller::Checked(self.0.who.clone())
    }

    /// Whether the user's roles permit `action` on a request of this jurisdiction (the
    /// policy's own answer; the service asks it again when the action is taken).
    pub fn may(&self, action: crate::domain::policy::Action, jurisdiction_id: &str) -> bool {
        use crate::domain::policy::{Decision, Resource, authorize};
        authorize(
            self.0.who.principal(),
            action,
            Resource::Rfa { jurisdiction_id },
        ) == Decision::Allow
    }
}

impl FromRequest for Signed {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let svc = req.app_data::<Data<Services>>().cloned();
        let own_account = [super::account::PATH, "/sign-out"].contains(&req.path());
        let back_to = match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        };
        let request = req.clone();
        Box::pin(async move {
            let svc = svc.ok_or_else(|| {
                PageError::Service(crate::error::AppError::internal("services missing"))
            })?;
            let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 128) else {
                return Err(PageError::SignIn { back_to });
            };
            match accounts::browser_session(&svc, token).await {
                Ok(caller) if caller.who.password_change_due() && !own_account => {
                    Err(PageError::PasswordChangeDue)
                }
                Ok(caller) => {
                    // For the access log.
                    request
                        .extensions_mut()
                        .insert(crate::transport::access::Who(
                            caller.who.user_id().to_string(),
                        ));
                    Ok(Signed(caller))
                }
                Err(crate::error::AppError::Unauthenticated(_)) => {
                    Err(PageError::SignIn { back_to })
                }
                Err(e) => Err(PageError::Service(e)),
            }
        })
    }
}

/// The session cookie for a new session (or, with an empty token, the one that ends it).
pub fn session_cookie(svc: &Services, token: &str) -> Cookie<'static> {
    let mut c = Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(svc.settings().web.https())
        .finish();
    if token.is_empty() {
        c.make_removal();
    }
    c
}

pub fn form_cookie(svc: &Services, token: &str) -> Cookie<'static> {
    Cookie::build(FORM_COOKIE, token.to_string())
        .path("/sign-in")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(svc.settings().web.https())
        .max_age(actix_web::cookie::time::Duration::hours(1))
        .finish()
}

/// A POST from our own pages: the browser's word that it is same-origin, or an `Origin`
/// equal to the configured public one.
pub fn same_origin(req: &HttpRequest, svc: &Services) -> Result<(), PageError> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str() {
            Ok("same-origin") => Ok(()),
            _ => Err(PageError::ForgedForm(
                "This form was sent from another site.",
            )),
        };
    }
    let public = url::Url::parse(&svc.settings().web.public_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    match headers.get("origin").and_then(|o| o.to_str().ok()) {
        Some(origin) if origin == public => Ok(()),
        _ => Err(PageError::ForgedForm(
            "This form did not say where it came from.",
        )),
    }
}

/// The form's token matches the one expected (compared in constant time).
pub fn token_matches(sent: &str, expected: &str) -> Result<(), PageError> {
    let ok = !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()));
    if ok {
        Ok(())
    } else {
        Err(PageError::ForgedForm(
            "This form is out of date or did not come from this service.",
        ))
    }
}

/// Both checks for a signed-in form: same origin, and the session's token.
pub fn checked_form(
    req: &HttpRequest,
    svc: &Services,
    signed: &Signed,
    sent: &str,
) -> Result<(), PageError> {
    same_origin(req, svc)?;
    token_matches(sent, &signed.0.csrf)
}
