//! The user's own account: changing the password. A user whose password was generated for
//! them is sent here at first sign-in and can reach nothing else until they have chosen
//! their own (the services refuse everything else too, for the API's tokens as well).

use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use serde::Deserialize;

use super::page::{PageError, UserBar, ok, render, see_other};
use super::session::{self, Signed};
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::{self, ChangePassword};

pub const PATH: &str = "/account/password";

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    user: Option<UserBar>,
    csrf: String,
    /// The user must change it before going on (first sign-in with a generated password).
    due: bool,
    done: bool,
    errors: Vec<(&'static str, String)>,
}

impl PasswordPage {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

#[get("/account/password")]
pub async fn form(signed: Signed, q: Query<Done>) -> HttpResponse {
    ok(&PasswordPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        due: signed.0.who.password_change_due(),
        done: q.done.is_some(),
        errors: Vec::new(),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
}

/// The service's words for each field, as the page's field names and sentences.
fn sentences(errors: Vec<crate::error::FieldError>) -> Vec<(&'static str, String)> {
    errors
        .into_iter()
        .map(|e| match e.field.as_str() {
            "current_password" => (
                "current_password",
                format!("The current password {}.", e.message),
            ),
            _ => ("new_password", format!("The new password {}.", e.message)),
        })
        .collect()
}

#[post("/account/password")]
pub async fn change(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    session::checked_form(&req, &svc, &signed, &body.csrf)?;
    let body = body.into_inner();
    let page = |errors| {
        render(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &PasswordPage {
                user: Some(UserBar::of(&signed.0)),
                csrf: signed.0.csrf.clone(),
                due: signed.0.who.password_change_due(),
                done: false,
                errors,
            },
        )
    };
    if body.new_password != body.confirm_password {
        return Ok(page(vec![(
            "confirm_password",
            "The two new passwords are not the same.".into(),
        )]));
    }
    let ip = crate::transport::client_ip(&req, svc.settings().server.trust_forwarded_for);
    let change = ChangePassword {
        current_password: body.current_password,
        new_password: body.new_password,
    };
    match accounts::change_password(&svc, signed.caller(), change, ip).await {
        Ok(()) => Ok(see_other(&format!("{PATH}?done=1"))),
        Err(AppError::Validation(errors)) => Ok(page(sentences(errors))),
        Err(AppError::RateLimited { retry_after_secs }) => Ok(page(vec![(
            "current_password",
            format!(
                "Too many attempts from here. Wait {retry_after_secs} seconds, then try again."
            ),
        )])),
        Err(e) => Err(e.into()),
    }
}
