//! Signing in and out of the screens. The same service, limits, lockout and answers as the
//! API's sign-in; a browser session instead of tokens.

use actix_web::HttpMessage as _;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use serde::Deserialize;

use super::page::{PageError, UserBar, render, see_other};
use super::session::{self, FORM_COOKIE, Signed};
use crate::auth::tokens::random_token;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::{self, LoginRequest};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    user: Option<UserBar>,
    email: String,
    next: String,
    form_token: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path of ours is a place to go back to after signing in.
fn local(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into())
}

fn form(svc: &Services, email: String, next: String, error: Option<String>) -> HttpResponse {
    let token = random_token();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = render(
        status,
        &SignInPage {
            user: None,
            email,
            next,
            form_token: token.clone(),
            error,
        },
    );
    let _ = res.add_cookie(&session::form_cookie(svc, &token));
    res
}

#[get("/sign-in")]
pub async fn sign_in_form(svc: Data<Services>, q: Query<Next>) -> HttpResponse {
    form(&svc, String::new(), local(q.into_inner().next), None)
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
    form_token: String,
}

#[post("/sign-in")]
pub async fn sign_in(
    svc: Data<Services>,
    req: HttpRequest,
    body: Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    session::same_origin(&req, &svc)?;
    let body = body.into_inner();
    let expected = req
        .cookie(FORM_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    session::token_matches(&body.form_token, &expected)?;
    let next = local(body.next);
    let ip = crate::transport::client_ip(&req, svc.settings().server.trust_forwarded_for);
    req.extensions_mut()
        .insert(crate::transport::access::SignInEmail(body.email.clone()));
    let attempt = LoginRequest {
        email: body.email.clone(),
        password: body.password,
    };
    match accounts::sign_in_browser(&svc, attempt, ip).await {
        Ok(started) => {
            let mut res = see_other(&next);
            let _ = res.add_cookie(&session::session_cookie(&svc, &started.token));
            Ok(res)
        }
        Err(AppError::Unauthenticated(m)) => Ok(form(&svc, body.email, next, Some(m))),
        Err(AppError::RateLimited { retry_after_secs }) => Ok(form(
            &svc,
            body.email,
            next,
            Some(format!(
                "Too many sign-in attempts from here. Wait {retry_after_secs} seconds, then try again."
            )),
        )),
        Err(AppError::Validation(errors)) => Ok(form(
            &svc,
            body.email,
            next,
            errors
                .first()
                .map(|e| format!("The {} {}.", e.field, e.message)),
        )),
        Err(e) => Err(PageError::Service(e)),
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    csrf: String,
}

#[post("/sign-out")]
pub async fn sign_out(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Form<SignOutForm>,
) -> Result<HttpResponse, PageError> {
    session::checked_form(&req, &svc, &signed, &body.csrf)?;
    accounts::logout(&svc, signed.caller()).await?;
    let mut res = see_other("/sign-in");
    let _ = res.add_cookie(&session::session_cookie(&svc, ""));
    Ok(res)
}
