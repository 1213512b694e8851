//! User management for administrators.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::extract::{Auth, ManageUsers, Permit};
use crate::api::json::Json;
use crate::api::problem::Problem;
use crate::api::versioned::{if_match, with_etag};
use crate::domain::ids::UserId;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::{
    self, CreateUser, PasswordReset, People, UpdateUser, UserPage, UserView,
};

/// Pagination of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, AppError> {
        crate::service::paging::limit(self.limit)
    }
}

fn user_id(raw: &str) -> Result<UserId, AppError> {
    UserId::parse(raw).ok_or_else(|| AppError::NotFound("No such user.".into()))
}

/// The people who work on requests, by name. Supervisors see every active liaison officer
/// and supervisor with email, roles and jurisdictions; a liaison officer sees the
/// supervisors and the liaison officers who share a jurisdiction with them, names only.
#[utoipa::path(
    tag = "people",
    security(("bearer" = [])),
    responses(
        (status = 200, body = People),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/people")]
pub async fn people(svc: web::Data<Services>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::people(&svc, auth.into()).await?))
}

/// Create a user. Without `password`, one is generated and returned once as `initial_password`.
#[utoipa::path(
    tag = "users",
    request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UserView, headers(("ETag" = String), ("Location" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub async fn create(
    svc: web::Data<Services>,
    permit: Permit<ManageUsers>,
    body: Json<CreateUser>,
) -> Result<HttpResponse, AppError> {
    let user = accounts::create_user(&svc, permit.into(), body.into_inner()).await?;
    let mut created = HttpResponse::Created();
    created.insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)));
    Ok(with_etag(created, user.version, &user))
}

/// List users, oldest first.
#[utoipa::path(
    tag = "users",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list(
    svc: web::Data<Services>,
    permit: Permit<ManageUsers>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let limit = query.limit()?;
    let page = accounts::list_users(&svc, permit.into(), query.cursor, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One user.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
pub async fn get(
    svc: web::Data<Services>,
    permit: Permit<ManageUsers>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = user_id(&id)?;
    let user = accounts::get_user(&svc, permit.into(), id).await?;
    Ok(with_etag(HttpResponse::Ok(), user.version, &user))
}

/// Change a user's name, roles, jurisdictions or active flag. Needs `If-Match` (the
/// user's `version`). Deactivating signs the user out everywhere at once. The last active
/// administrator cannot be removed; no administrator can give themselves a role that reads
/// case content (403), and every such grant is mailed to the other administrators.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "User id"), ("If-Match" = String, Header)),
    request_body = UpdateUser,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub async fn update(
    svc: web::Data<Services>,
    req: HttpRequest,
    permit: Permit<ManageUsers>,
    id: web::Path<String>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, AppError> {
    let id = user_id(&id)?;
    let user =
        accounts::update_user(&svc, permit.into(), id, body.into_inner(), if_match(&req)).await?;
    Ok(with_etag(HttpResponse::Ok(), user.version, &user))
}

/// Give a user a new one-time password (answered once, never stored in clear); they must
/// choose their own at next sign-in. Every session of theirs ends, and any sign-in lock.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PasswordReset),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own account: change your password instead", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/password-reset")]
pub async fn reset_password(
    svc: web::Data<Services>,
    permit: Permit<ManageUsers>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = user_id(&id)?;
    let reset = accounts::reset_password(&svc, permit.into(), id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(reset))
}

/// End a lock from repeated failed sign-ins.
#[utoipa::path(
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/unlock")]
pub async fn unlock(
    svc: web::Data<Services>,
    permit: Permit<ManageUsers>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = user_id(&id)?;
    Ok(HttpResponse::Ok().json(accounts::unlock_user(&svc, permit.into(), id).await?))
}
