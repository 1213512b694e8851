//! Administrators' screens for the people who use the service: the list with roles,
//! jurisdictions and state; adding someone (a one-time password, shown once); changing
//! names, roles, jurisdictions and whether the account is active; resetting a forgotten
//! password; ending a sign-in lock. Every change is the accounts service's own.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, get, post};
use askama::Template;
use serde::Deserialize;

use super::actions::{Choice, Field};
use super::intake::{Values, values_of};
use super::page::{PageError, UserBar, ok, render, see_other, urlencode};
use super::session::{self, Signed};
use crate::domain::ids::UserId;
use crate::domain::roles::Role;
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::accounts::{self, CreateUser, UpdateUser, UserView};
use crate::service::registry;
use crate::service::validate::Expected;

pub fn role_words(r: Role) -> &'static str {
    match r {
        Role::Admin => "Administrator",
        Role::Supervisor => "Supervisor",
        Role::LiaisonOfficer => "Liaison officer",
        Role::Reporting => "Reporting staff",
    }
}

/// What a user's account allows now, in words, with its tag colour.
fn state_words(u: &UserView) -> (String, &'static str) {
    if !u.active {
        ("Deactivated".into(), "grey")
    } else if let Some(t) = u.locked_until {
        (format!("Locked until {}", t.format("%H:%M UTC")), "red")
    } else if u.must_change_password {
        ("Must choose a password".into(), "yellow")
    } else {
        ("Active".into(), "green")
    }
}

pub struct UserLine {
    href: String,
    name: String,
    email: String,
    roles: String,
    jurisdictions: String,
    state: (String, &'static str),
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    user: Option<UserBar>,
    banner: Option<String>,
    items: Vec<UserLine>,
    next_href: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    cursor: Option<String>,
    done: Option<String>,
}

async fn jurisdiction_names(
    svc: &Services,
    signed: &Signed,
) -> Result<Vec<(String, String)>, PageError> {
    Ok(
        registry::list_jurisdictions(svc, signed.caller(), None, 200)
            .await?
            .items
            .into_iter()
            .map(|j| (j.id, j.name))
            .collect(),
    )
}

#[get("/admin/users")]
pub async fn list(
    svc: Data<Services>,
    signed: Signed,
    params: Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let page = accounts::list_users(
        &svc,
        signed.caller(),
        params.cursor.clone().filter(|c| c.len() <= 200),
        100,
    )
    .await?;
    let places = jurisdiction_names(&svc, &signed).await?;
    let name_of = |id: &String| {
        places
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| id.clone())
    };
    let items = page
        .items
        .iter()
        .map(|u| UserLine {
            href: format!("/admin/users/{}", u.id),
            name: u.display_name.clone(),
            email: u.email.clone(),
            roles: u
                .roles
                .iter()
                .map(|r| role_words(*r))
                .collect::<Vec<_>>()
                .join(", "),
            jurisdictions: u
                .jurisdiction_ids
                .iter()
                .map(name_of)
                .collect::<Vec<_>>()
                .join(", "),
            state: state_words(u),
        })
        .collect();
    let banner = match params.done.as_deref() {
        Some("updated") => Some("The changes are saved.".to_string()),
        Some("unlocked") => Some("The account may sign in again.".to_string()),
        _ => None,
    };
    Ok(ok(&UsersPage {
        user: Some(UserBar::of(&signed.0)),
        banner,
        items,
        next_href: page
            .next_cursor
            .map(|c| format!("/admin/users?cursor={}", urlencode(&c))),
    }))
}

#[derive(Template)]
#[template(path = "user_form.html")]
struct UserFormPage {
    user: Option<UserBar>,
    csrf: String,
    title: String,
    post_to: String,
    button: &'static str,
    fields: Vec<Field>,
    errors: Vec<(String, String)>,
    /// Editing: the account's facts and what else can be done to it.
    account: Option<Account>,
    /// Editing: the version the form is based on (If-Match's counterpart).
    version: Option<i64>,
}

struct Account {
    email: String,
    state: (String, &'static str),
    reset_href: String,
    unlock: bool,
    unlock_to: String,
}

/// What the form holds: typed values, or the user as stored.
struct Entered {
    display_name: String,
    email: String,
    roles: Vec<String>,
    jurisdictions: Vec<String>,
    active: bool,
}

impl Entered {
    fn from_form(v: &Values) -> Self {
        Self {
            display_name: v.one("display_name"),
            email: v.one("email"),
            roles: v.all("roles"),
            jurisdictions: v.all("jurisdiction_ids"),
            active: v.one("active") == "yes",
        }
    }

    fn from_user(u: &UserView) -> Self {
        Self {
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            roles: u.roles.iter().map(|r| r.as_str().to_string()).collect(),
            jurisdictions: u.jurisdiction_ids.clone(),
            active: u.active,
        }
    }

    fn roles(&self) -> Vec<Role> {
        self.roles.iter().filter_map(|r| Role::parse(r)).collect()
    }
}

/// The form's fields, with the service's field errors beside them (every one of them).
fn fields(
    e: &Entered,
    places: &[(String, String)],
    creating: bool,
    errors: &[FieldError],
) -> Vec<Field> {
    let error_of = |name: &str| {
        errors
            .iter()
            .filter(|f| f.field == name || f.field.starts_with(&format!("{name}[")))
            .map(|f| f.message.clone())
            .next()
    };
    let mut out = vec![Field {
        name: "display_name",
        label: "Name",
        kind: "text",
        hint: Some("As colleagues will see it on cases."),
        value: e.display_name.clone(),
        options: vec![],
        error: error_of("display_name").map(|m| format!("The name {m}.")),
    }];
    if creating {
        out.push(Field {
            name: "email",
            label: "Email address",
            kind: "email",
            hint: Some("They sign in with it, and notifications go to it."),
            value: e.email.clone(),
            options: vec![],
            error: error_of("email").map(|m| format!("The email address {m}.")),
        });
    }
    out.push(Field {
        name: "roles",
        label: "Roles",
        kind: "checkboxes",
        hint: None,
        value: String::new(),
        options: Role::ALL
            .iter()
            .map(|r| Choice {
                value: r.as_str().into(),
                label: role_words(*r).into(),
                selected: e.roles.iter().any(|x| x == r.as_str()),
            })
            .collect(),
        error: error_of("roles").map(|m| format!("The roles {m}.")),
    });
    out.push(Field {
        name: "jurisdiction_ids",
        label: "Jurisdictions (for a liaison officer)",
        kind: "checkboxes",
        hint: None,
        value: String::new(),
        options: places
            .iter()
            .map(|(id, name)| Choice {
                value: id.clone(),
                label: name.clone(),
                selected: e.jurisdictions.contains(id),
            })
            .collect(),
        error: error_of("jurisdiction_ids").map(|m| format!("A jurisdiction {m}.")),
    });
    if !creating {
        out.push(Field {
            name: "active",
            label: "Account",
            kind: "checkboxes",
            hint: None,
            value: String::new(),
            options: vec![Choice {
                value: "yes".into(),
                label: "Active: may sign in".into(),
                selected: e.active,
            }],
            error: error_of("active"),
        });
    }
    out
}

/// The form's fields in the order it shows them, with the words a summary names them by.
const LABELS: [(&str, &str); 5] = [
    ("display_name", "Name"),
    ("email", "Email address"),
    ("roles", "Roles"),
    ("jurisdiction_ids", "Jurisdictions"),
    ("active", "Account"),
];

/// The errors a form shows in its summary, in the order of the form, each linked to its
/// field.
fn summary(errors: &[FieldError], message: Option<&str>) -> Vec<(String, String)> {
    let position = |f: &str| {
        LABELS
            .iter()
            .position(|(k, _)| *k == f)
            .unwrap_or(LABELS.len())
    };
    let mut out: Vec<(usize, String, String)> = errors
        .iter()
        .map(|e| {
            let field = e.field.split('[').next().unwrap_or(&e.field).to_string();
            let label = LABELS
                .iter()
                .find(|(k, _)| *k == field)
                .map(|(_, l)| *l)
                .unwrap_or("This form");
            (
                position(&field),
                field.clone(),
                format!("{label}: {}.", e.message),
            )
        })
        .collect();
    out.sort_by_key(|(p, _, _)| *p);
    let mut out: Vec<(String, String)> = out.into_iter().map(|(_, f, m)| (f, m)).collect();
    if let Some(m) = message {
        out.push((String::new(), m.to_string()));
    }
    out
}

#[get("/admin/users/new")]
pub async fn new_form(svc: Data<Services>, signed: Signed) -> Result<HttpResponse, PageError> {
    signed
        .caller()
        .resolve(&svc, Some(crate::domain::policy::Action::ManageUsers))
        .await?;
    let places = jurisdiction_names(&svc, &signed).await?;
    let empty = Entered {
        display_name: String::new(),
        email: String::new(),
        roles: vec![],
        jurisdictions: vec![],
        active: true,
    };
    Ok(ok(&add_page(&signed, &empty, &places, &[], vec![])))
}

/// The form for adding a user, with what was typed and what was wrong.
fn add_page(
    signed: &Signed,
    entered: &Entered,
    places: &[(String, String)],
    errors: &[FieldError],
    summary: Vec<(String, String)>,
) -> UserFormPage {
    UserFormPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        title: "Add a user".into(),
        post_to: "/admin/users/new".into(),
        button: "Add the user",
        fields: fields(entered, places, true, errors),
        errors: summary,
        account: None,
        version: None,
    }
}

#[derive(Template)]
#[template(path = "user_password.html")]
struct PasswordPage {
    user: Option<UserBar>,
    title: &'static str,
    name: String,
    email: String,
    password: String,
    back_href: String,
}

/// A page that shows a one-time password: never cached, never in a URL.
fn secret_page(page: &PasswordPage, status: StatusCode) -> HttpResponse {
    let mut res = render(status, page);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

#[post("/admin/users/new")]
pub async fn create(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let entered = Entered::from_form(&values);
    let places = jurisdiction_names(&svc, &signed).await?;
    let unknown_role = entered.roles.iter().any(|r| Role::parse(r).is_none());
    let result = match unknown_role {
        true => Err(AppError::field("roles", "must be roles the service knows")),
        false => {
            accounts::create_user(
                &svc,
                signed.caller(),
                CreateUser {
                    email: entered.email.trim().to_string(),
                    display_name: entered.display_name.clone(),
                    roles: entered.roles(),
                    jurisdiction_ids: entered.jurisdictions.clone(),
                    password: None,
                    active: Some(true),
                },
            )
            .await
        }
    };
    match result {
        Ok(created) => Ok(secret_page(
            &PasswordPage {
                user: Some(UserBar::of(&signed.0)),
                title: "The user is added",
                name: created.display_name,
                email: created.email,
                password: created.initial_password.unwrap_or_default(),
                back_href: "/admin/users".into(),
            },
            StatusCode::CREATED,
        )),
        Err(AppError::Validation(errors)) => Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &add_page(&signed, &entered, &places, &errors, summary(&errors, None)),
        )),
        Err(AppError::Conflict(m)) => {
            let errors = vec![FieldError::new("email", "is already someone's")];
            Ok(render(
                StatusCode::CONFLICT,
                &add_page(
                    &signed,
                    &entered,
                    &places,
                    &errors,
                    vec![("email".into(), m)],
                ),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

fn user_id(raw: &str) -> Result<UserId, PageError> {
    UserId::parse(raw).ok_or_else(|| PageError::Service(AppError::NotFound("no such user".into())))
}

fn account(u: &UserView) -> Account {
    Account {
        email: u.email.clone(),
        state: state_words(u),
        reset_href: format!("/admin/users/{}/password-reset", u.id),
        unlock: u.locked_until.is_some(),
        unlock_to: format!("/admin/users/{}/unlock", u.id),
    }
}

#[allow(clippy::too_many_arguments)]
fn edit_page(
    signed: &Signed,
    u: &UserView,
    version: i64,
    entered: &Entered,
    places: &[(String, String)],
    errors: &[FieldError],
    message: Option<&str>,
) -> UserFormPage {
    UserFormPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        title: u.display_name.clone(),
        post_to: format!("/admin/users/{}", u.id),
        button: "Save the changes",
        fields: fields(entered, places, false, errors),
        errors: summary(errors, message),
        account: Some(account(u)),
        version: Some(version),
    }
}

#[get("/admin/users/{id}")]
pub async fn edit_form(
    svc: Data<Services>,
    signed: Signed,
    path: Path<String>,
) -> Result<HttpResponse, PageError> {
    let u = accounts::get_user(&svc, signed.caller(), user_id(&path)?).await?;
    let places = jurisdiction_names(&svc, &signed).await?;
    Ok(ok(&edit_page(
        &signed,
        &u,
        u.version,
        &Entered::from_user(&u),
        &places,
        &[],
        None,
    )))
}

#[post("/admin/users/{id}")]
pub async fn edit(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let id = user_id(&path)?;
    let u = accounts::get_user(&svc, signed.caller(), id.clone()).await?;
    let entered = Entered::from_form(&values);
    let places = jurisdiction_names(&svc, &signed).await?;
    let based_on = values.one("version").trim().parse::<i64>().ok();
    let result = accounts::update_user(
        &svc,
        signed.caller(),
        id,
        UpdateUser {
            display_name: Some(entered.display_name.clone()),
            roles: Some(entered.roles()),
            jurisdiction_ids: Some(entered.jurisdictions.clone()),
            active: Some(entered.active),
        },
        based_on.map_or(Expected::Unreadable, Expected::Version),
    )
    .await;
    // Shown again, the form stays on the version it was based on, unless that version is
    // what was refused: then it moves to the one stored now, and saving again is deliberate.
    let kept = based_on.unwrap_or(u.version);
    match result {
        Ok(_) => Ok(see_other("/admin/users?done=updated")),
        Err(AppError::Validation(errors)) => Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &edit_page(&signed, &u, kept, &entered, &places, &errors, None),
        )),
        Err(AppError::Conflict(m)) => Ok(render(
            StatusCode::CONFLICT,
            &edit_page(&signed, &u, kept, &entered, &places, &[], Some(&m)),
        )),
        Err(AppError::Forbidden(m)) => Ok(render(
            StatusCode::FORBIDDEN,
            &edit_page(&signed, &u, kept, &entered, &places, &[], Some(&m)),
        )),
        Err(AppError::VersionMismatch | AppError::VersionRequired) => Ok(render(
            StatusCode::CONFLICT,
            &edit_page(
                &signed,
                &u,
                u.version,
                &entered,
                &places,
                &[],
                Some(
                    "Someone else changed this account meanwhile. What you chose is kept below: check it against the account as it is now, then save again.",
                ),
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "user_reset.html")]
struct ResetPage {
    user: Option<UserBar>,
    csrf: String,
    name: String,
    email: String,
    post_to: String,
    back_href: String,
}

#[get("/admin/users/{id}/password-reset")]
pub async fn reset_form(
    svc: Data<Services>,
    signed: Signed,
    path: Path<String>,
) -> Result<HttpResponse, PageError> {
    let u = accounts::get_user(&svc, signed.caller(), user_id(&path)?).await?;
    Ok(ok(&ResetPage {
        user: Some(UserBar::of(&signed.0)),
        csrf: signed.0.csrf.clone(),
        post_to: format!("/admin/users/{}/password-reset", u.id),
        back_href: format!("/admin/users/{}", u.id),
        name: u.display_name,
        email: u.email,
    }))
}

#[post("/admin/users/{id}/password-reset")]
pub async fn reset(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    let done = accounts::reset_password(&svc, signed.caller(), user_id(&path)?).await?;
    Ok(secret_page(
        &PasswordPage {
            user: Some(UserBar::of(&signed.0)),
            title: "The password is reset",
            back_href: format!("/admin/users/{}", done.user.id),
            name: done.user.display_name,
            email: done.user.email,
            password: done.one_time_password,
        },
        StatusCode::OK,
    ))
}

#[post("/admin/users/{id}/unlock")]
pub async fn unlock(
    svc: Data<Services>,
    req: HttpRequest,
    signed: Signed,
    path: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, PageError> {
    let values = values_of(&body);
    session::checked_form(&req, &svc, &signed, &values.one("csrf"))?;
    accounts::unlock_user(&svc, signed.caller(), user_id(&path)?).await?;
    Ok(see_other("/admin/users?done=unlocked"))
}
