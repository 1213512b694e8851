//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use crate::api::problem::Problem;
use crate::service::{Services, health};

#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthStatus {
    /// `ok` when healthy.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// The process is up and serving HTTP.
#[utoipa::path(tag = "health", responses((status = 200, body = HealthStatus)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok",
        database: None,
    })
}

/// The service can do its work: it is not stopping, and the database answers.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, body = HealthStatus),
        (status = 503, description = "The instance is stopping (draining after SIGTERM), or the database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(svc: web::Data<Services>) -> HttpResponse {
    match health::ready(&svc).await {
        Ok(database) => HttpResponse::Ok().json(HealthStatus {
            status: "ok",
            database: Some(database),
        }),
        Err(health::NotReady::Stopping) => Problem::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "This instance is stopping; send requests to another.",
        )
        .response(),
        Err(health::NotReady::Database(reason)) => {
            tracing::warn!(%reason, "readiness check failed");
            Problem::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "The database is not reachable.",
            )
            .response()
        }
    }
}
