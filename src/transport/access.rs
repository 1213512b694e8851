//! Recording who looked at what, for both front ends alike: a middleware that, once an answer
//! is ready, says what the request was (a case read, a search, a report, a sign-in…) by the
//! route it matched, and hands it to the access log (`service::access`). Who asked is left in
//! the request by whatever checked the caller (`Who`); a sign-in leaves the email it tried
//! (`SignInEmail`).

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Data;

use crate::service::Services;
use crate::service::access::{Access, AccessKind};

/// The user a request was made by, put in the request's extensions once checked.
#[derive(Debug, Clone)]
pub struct Who(pub String);

/// The email a sign-in tried.
#[derive(Debug, Clone)]
pub struct SignInEmail(pub String);

/// Query parameters that carry free text: recorded only by their length.
const TEXT_PARAMETERS: [&str; 3] = ["q", "text", "search"];

/// What a request to this route is, if it is one the log records.
fn kind_of(method: &Method, pattern: &str, status: u16) -> Option<AccessKind> {
    use AccessKind::*;
    let get = method == Method::GET;
    let post = method == Method::POST;
    Some(match pattern {
        "/api/v1/rfas/{id}" | "/cases/{id}" if get => ReadCase,
        "/api/v1/rfas/{id}/events" if get => ReadHistory,
        "/api/v1/rfas/{id}/documents" if get => ReadDocuments,
        "/api/v1/rfas/{id}/documents/{doc_id}" if get => ReadDocument,
        "/api/v1/rfas/{id}/documents/{doc_id}/content" | "/cases/{id}/documents/{doc}" if get => {
            DownloadDocument
        }
        "/api/v1/rfas" | "/overview" if get => Search,
        // The case list is the screens' home page (others are sent on from it).
        "/" if get && status == 200 => Search,
        "/cases/list.csv" if get => Export,
        "/api/v1/audit/access" | "/admin/access" if get => ReadAccessLog,
        "/api/v1/auth/login" if post => {
            if status == 200 {
                SignIn
            } else {
                SignInFailed
            }
        }
        "/sign-in" if post => {
            if status == 303 {
                SignIn
            } else {
                SignInFailed
            }
        }
        "/api/v1/auth/logout" | "/sign-out" if post => SignOut,
        // Reports and their files (the format asked is in the recorded query).
        p if get && (p.starts_with("/api/v1/reports") || p.starts_with("/reports")) => {
            if p.contains("download") {
                Export
            } else {
                Report
            }
        }
        _ => return None,
    })
}

/// A path and query with the values of free-text parameters replaced by their length, for
/// the request log: `/api/v1/rfas?q=<11 characters>&state=open`.
pub fn redacted_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let parts: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            if TEXT_PARAMETERS.contains(&k.as_ref()) {
                format!("{k}=<{} characters>", v.chars().count())
            } else {
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                s.append_pair(&k, &v);
                s.finish()
            }
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

/// How much of a target over `server.max_uri_bytes` (refused with 414) the request log keeps.
const LOGGED_PREFIX: usize = 200;

/// The target as the request log shows it: redacted, and one over the URL limit (refused)
/// only by its start and length, so that a client cannot write 64 KiB into every log line.
fn logged_target(request: &ServiceRequest) -> String {
    let max = request
        .app_data::<Data<Services>>()
        .map_or(8192, |s| s.settings().server.max_uri_bytes);
    shortened_target(request.path(), request.query_string(), max)
}

fn shortened_target(path: &str, query: &str, max: usize) -> String {
    let len = path.len() + query.len() + usize::from(!query.is_empty());
    if len <= max {
        return redacted_target(path, query);
    }
    let mut end = LOGGED_PREFIX.min(path.len());
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…<{len} bytes>", &path[..end])
}

/// The request log's span: the default's fields, with the target's free text redacted
/// (search words are case content) and the user agent escaped by the log's formatter.
pub struct RedactedSpan;

impl tracing_actix_web::RootSpanBuilder for RedactedSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        let user_agent = request
            .headers()
            .get("user-agent")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %logged_target(request),
            // Quoted and escaped (`?`): the address may come from a forwarding header, and
            // what a client sends must not read as fields of the log line.
            http.client_ip = ?request.connection_info().realip_remote_addr().unwrap_or(""),
            http.user_agent = ?user_agent,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The query string as recorded: every parameter, free text only by its length.
fn recorded_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            if TEXT_PARAMETERS.contains(&k.as_ref()) {
                (format!("{k}_length"), v.chars().count().to_string())
            } else {
                (k.into_owned(), v.into_owned())
            }
        })
        .collect()
}

/// The middleware: the answer first, then its entry.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let request = res.request();
    let status = res.status().as_u16();
    let Some(pattern) = request.match_pattern() else {
        return Ok(res);
    };
    let Some(kind) = kind_of(request.method(), &pattern, status) else {
        return Ok(res);
    };
    let Some(svc) = request.app_data::<Data<Services>>().cloned() else {
        return Ok(res);
    };
    let who = request.extensions().get::<Who>().map(|w| w.0.clone());
    let email = request
        .extensions()
        .get::<SignInEmail>()
        .map(|e| e.0.clone());
    let rfa_id = (pattern.starts_with("/api/v1/rfas/{id}") || pattern.starts_with("/cases/{id}"))
        .then(|| request.match_info().get("id").map(str::to_string))
        .flatten();
    let mut what = vec![
        ("path".to_string(), request.path().to_string()),
        ("status".to_string(), status.to_string()),
    ];
    what.extend(recorded_query(request.query_string()));
    let address = super::client_ip(request, svc.settings().server.trust_forwarded_for).to_string();
    svc.access_log()
        .note(Access {
            at: crate::clock::now(),
            user_id: who,
            email,
            kind,
            rfa_id,
            what,
            address,
        })
        .await;
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_kept_only_by_its_length() {
        let q = recorded_query("q=%D8%B3%D9%88%D8%B1%D9%8A%D8%A7&state=open&limit=50");
        assert_eq!(
            q,
            vec![
                ("q_length".to_string(), "5".to_string()),
                ("state".to_string(), "open".to_string()),
                ("limit".to_string(), "50".to_string()),
            ]
        );
    }

    #[test]
    fn the_request_log_keeps_no_search_words() {
        assert_eq!(
            redacted_target("/api/v1/rfas", "q=Folter%20Sednaya&state=open"),
            "/api/v1/rfas?q=<14 characters>&state=open"
        );
        assert_eq!(redacted_target("/health/live", ""), "/health/live");
    }

    #[test]
    fn targets_over_the_limit_are_logged_by_their_start_and_length() {
        let query = format!("q=secret&pad={}", "x".repeat(9000));
        let logged = shortened_target("/api/v1/rfas", &query, 8192);
        assert_eq!(logged, format!("/api/v1/rfas…<{} bytes>", 13 + query.len()));
        let path = format!("/cases/{}", "é".repeat(5000));
        let logged = shortened_target(&path, "", 8192);
        assert!(
            logged.len() < 300 && logged.ends_with("…<10007 bytes>"),
            "{logged}"
        );
        assert_eq!(
            shortened_target("/api/v1/rfas", "q=secret", 8192),
            "/api/v1/rfas?q=<6 characters>"
        );
    }

    #[test]
    fn the_routes_that_read_cases_are_recorded_and_others_not() {
        assert_eq!(
            kind_of(&Method::GET, "/api/v1/rfas/{id}", 200),
            Some(AccessKind::ReadCase)
        );
        assert_eq!(
            kind_of(&Method::POST, "/api/v1/auth/login", 401),
            Some(AccessKind::SignInFailed)
        );
        assert_eq!(kind_of(&Method::GET, "/health/live", 200), None);
        assert_eq!(kind_of(&Method::PATCH, "/api/v1/rfas/{id}", 200), None);
    }
}
