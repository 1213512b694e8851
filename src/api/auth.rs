//! Sign-in, token refresh, sign-out and the caller's own account.

use actix_web::HttpMessage as _;
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use crate::api::extract::{Auth, client_ip};
use crate::api::json::{Json, OptionalJson};
use crate::api::problem::Problem;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::{
    self, ChangePassword, LoginRequest, LogoutRequest, RefreshRequest, TokenPair, UserView,
};

/// Sign in with email and password.
///
/// Every failure (unknown email, wrong password, locked or inactive account) gets the same
/// 401. Attempts are limited per client address (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    svc: web::Data<Services>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, svc.settings().server.trust_forwarded_for);
    let body = body.into_inner();
    req.extensions_mut()
        .insert(crate::transport::access::SignInEmail(body.email.clone()));
    let pair = accounts::login(&svc, body, ip).await?;
    Ok(no_store(HttpResponse::Ok()).json(pair))
}

/// Trade a refresh token for a new access token and a new refresh token.
///
/// Each refresh token works once; presenting a used one again ends the whole session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    svc: web::Data<Services>,
    req: HttpRequest,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, svc.settings().server.trust_forwarded_for);
    let pair = accounts::refresh(&svc, body.into_inner(), ip).await?;
    Ok(no_store(HttpResponse::Ok()).json(pair))
}

/// Sign out: the session's access and refresh tokens stop working at once.
#[utoipa::path(
    tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "Optional"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    svc: web::Data<Services>,
    auth: Auth,
    _body: OptionalJson<LogoutRequest>,
) -> Result<HttpResponse, AppError> {
    accounts::logout(&svc, auth.into()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn me(svc: web::Data<Services>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::me(&svc, auth.into()).await?))
}

/// Change your password (needs the current one); every other session is signed out.
#[utoipa::path(
    tag = "auth",
    request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    svc: web::Data<Services>,
    req: HttpRequest,
    auth: Auth,
    body: Json<ChangePassword>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, svc.settings().server.trust_forwarded_for);
    accounts::change_password(&svc, auth.into(), body.into_inner(), ip).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Token answers must not be kept by caches or proxies.
fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    builder
}
