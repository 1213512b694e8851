//! JSON over HTTP: routes, extractors, wire types and the error mapping. Handlers read the
//! request into typed values, call one service function with the caller (the service checks
//! the access policy) and map its result. Nothing here reaches the database.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod extract;
pub mod fields;
pub mod health;
pub mod json;
pub mod jurisdictions;
pub mod problem;
pub mod reports;
pub mod rfas;
pub mod users;
pub mod versioned;

use std::collections::BTreeMap;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::{AppExt, UtoipaApp};

use problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "rfa-tracker",
        description = "Requests for assistance (RFAs) from competent jurisdictions, from intake to closure: eligibility, lifecycle, audit trail and annual figures.",
    ),
    components(schemas(Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "meta", description = "This document"),
        (name = "auth", description = "Sign-in, tokens and your own account"),
        (name = "users", description = "User management (administrators)"),
        (name = "people", description = "Colleagues by name, for those who work on requests"),
        (name = "registry", description = "Jurisdictions, their eligibility facts, and requesting authorities"),
        (name = "rfas", description = "Requests for assistance: intake, queue, lifecycle, history"),
        (name = "documents", description = "A request's documents: upload, list, download, withdraw"),
        (name = "audit", description = "The tamper-evident event log"),
        (name = "reports", description = "Annual figures, exports, charts and snapshots"),
        (name = "admin", description = "Outgoing mail"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Answers that come from the extractors every handler shares rather than from the handler
/// itself, added to each operation they apply to (found by fuzzing the document): a JSON
/// body can be malformed (400), too large (413) or of another media type (415); query
/// parameters can be malformed or unknown (400) or out of range (422); and any request can
/// have a URL (414) or header section (431) over the limits on a request's head.
struct SharedErrors;

impl utoipa::Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        problem::PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let mut add = vec![
                    ("414", "The URL is longer than `server.max_uri_bytes`"),
                    (
                        "431",
                        "The header fields exceed `server.max_header_bytes` or `server.max_headers`",
                    ),
                ];
                if op.request_body.is_some() {
                    add.push(("400", "Malformed JSON"));
                    add.push(("413", "The body is larger than the server accepts"));
                    add.push(("415", "The body is not application/json"));
                }
                let has_query = op.parameters.iter().flatten().any(
                    |p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)),
                );
                if has_query {
                    add.push(("400", "A malformed or unknown query parameter"));
                    add.push(("422", "A query parameter out of range"));
                }
                for (status, description) in add {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem(description));
                }
            }
        }
    }
}

/// Registers every route: `/health` at the top, everything else in the `/api/v1` scope with
/// the API's own transport settings (the JSON body limit, the query and path error answers,
/// the bearer-token check before any extractor). Going through `UtoipaApp::service` means a
/// handler without an `#[utoipa::path]` description does not compile, so the document
/// cannot fall behind.
pub fn register<T>(app: UtoipaApp<T>, settings: &crate::config::Settings) -> UtoipaApp<T>
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    let api = utoipa_actix_web::scope::scope("/api/v1")
        .app_data(web::PayloadConfig::new(settings.server.max_body_bytes))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            crate::error::AppError::Malformed(format!("Bad query parameter: {err}")).into()
        }))
        .app_data(web::PathConfig::default().error_handler(|_, _| {
            crate::error::AppError::NotFound("No such resource.".into()).into()
        }))
        .wrap(actix_web::middleware::from_fn(extract::authenticate_first))
        .service(openapi_json)
        // Routes are tried in this order, a pattern with parameters by a regular expression
        // (twice: the log's route label matches once more before routing). The busiest, the
        // requests for assistance, go before the other resources with parameters.
        .service(rfas::bulk)
        .service(rfas::create)
        .service(rfas::list)
        .service(rfas::get)
        .service(rfas::update)
        .service(rfas::act)
        .service(rfas::events)
        .service(rfas::verify)
        .service(audit::list)
        .service(audit::sign)
        .service(audit::accesses)
        .service(rfas::documents::verify)
        .service(rfas::documents::upload)
        .service(rfas::documents::list)
        .service(rfas::documents::content)
        .service(rfas::documents::withdraw)
        .service(rfas::documents::get)
        .service(auth::login)
        .service(auth::refresh)
        .service(auth::logout)
        .service(auth::me)
        .service(auth::change_password)
        .service(users::people)
        .service(users::create)
        .service(users::list)
        .service(users::get)
        .service(users::update)
        .service(users::reset_password)
        .service(users::unlock)
        .service(jurisdictions::create)
        .service(jurisdictions::list)
        .service(jurisdictions::get)
        .service(jurisdictions::update)
        .service(jurisdictions::add_assessment)
        .service(jurisdictions::add_assurance)
        .service(jurisdictions::add_framework)
        .service(jurisdictions::history)
        .service(jurisdictions::create_authority)
        .service(jurisdictions::list_authorities)
        .service(jurisdictions::update_authority)
        .service(reports::annual)
        .service(reports::range)
        .service(reports::cumulative)
        .service(reports::chart)
        .service(reports::chart_png)
        .service(reports::figure)
        .service(reports::jurisdictions_chart)
        .service(reports::jurisdictions_chart_png)
        .service(reports::create_snapshot)
        .service(reports::list_snapshots)
        .service(reports::get_snapshot)
        .service(reports::diff_snapshot)
        .service(admin::list)
        .service(admin::retry);
    let app = app
        .openapi(ApiDoc::openapi())
        .service(health::live)
        .service(health::ready)
        .service(api);
    // The actions' operations and the shared answers can only be made once every handler's
    // path is in the document.
    let (app, mut doc) = app.split_for_parts();
    utoipa::Modify::modify(&rfas::ActionOperations, &mut doc);
    utoipa::Modify::modify(&SharedErrors, &mut doc);
    app.into_utoipa_app().openapi(doc)
}

/// The OpenAPI document, serialized once per worker.
pub struct OpenApiJson(pub String);

/// This document (OpenAPI 3.1).
#[utoipa::path(tag = "meta", responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}

/// Paths and methods the service answers, taken from the OpenAPI document (plus the
/// metrics endpoint, which the metrics middleware serves): a known path asked with an
/// unknown method gets 405 with `Allow`, anything else 404.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<String>)>,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Param,
}

impl RouteTable {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
        const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];
        let value = serde_json::to_value(&doc.paths).unwrap_or_default();
        let paths = value
            .get("paths")
            .or(Some(&value))
            .and_then(|v| v.as_object());
        for (path, item) in paths.into_iter().flatten() {
            let methods = item
                .as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|k| METHODS.contains(&k.as_str()))
                .map(|k| k.to_ascii_uppercase());
            table.entry(path.clone()).or_default().extend(methods);
        }
        table
            .entry("/metrics".into())
            .or_default()
            .push("GET".into());
        let routes = table
            .into_iter()
            .map(|(path, mut methods)| {
                methods.sort();
                methods.dedup();
                let segments = path
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_string())
                        }
                    })
                    .collect();
                (segments, methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods allowed on a path, if the service knows the path at all.
    pub fn allowed(&self, path: &str) -> Option<&[String]> {
        let parts: Vec<&str> = path.split('/').collect();
        self.routes.iter().find_map(|(segments, methods)| {
            let matches = segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(s, p)| match s {
                    Segment::Literal(l) => l == p,
                    Segment::Param => !p.is_empty(),
                });
            matches.then_some(methods.as_slice())
        })
    }
}

/// Everything no route took: 405 for a known path, 404 otherwise.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    match routes.allowed(req.path()) {
        Some(methods) if !methods.iter().any(|m| m == req.method().as_str()) => {
            let mut allow = methods.to_vec();
            if allow.iter().any(|m| m == "GET") && !allow.iter().any(|m| m == "HEAD") {
                allow.push(Method::HEAD.to_string());
            }
            let mut res = Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{} is not allowed here; use {}.",
                    req.method(),
                    allow.join(", ")
                ),
            )
            .response();
            if let Ok(v) = header::HeaderValue::from_str(&allow.join(", ")) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            res
        }
        _ => Problem::new(StatusCode::NOT_FOUND, "No such resource.").response(),
    }
}
