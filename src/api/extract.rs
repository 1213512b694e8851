//! Who is calling: the bearer-token extractor and the permission check in front of a
//! handler (so that an unauthorized caller is refused before its body is even parsed).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::auth::tokens::Claims;
use crate::domain::policy::Action;
use crate::error::AppError;
use crate::service::Services;
use crate::service::accounts::{self, Authenticated, Caller};

/// An authenticated caller: a valid access token whose user and session are still good.
pub struct Auth(pub Authenticated);

impl Auth {
    /// Refuses with 403 unless the caller's roles permit the action: only so that a 403
    /// comes before a complaint about the body. The service decides, and checks again.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        self.0.require(action)
    }
}

impl From<Auth> for Caller {
    fn from(auth: Auth) -> Self {
        Caller::Checked(auth.0)
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn no_token() -> AppError {
    AppError::Unauthenticated("Sign in and send the access token as a Bearer token.".into())
}

/// What `authenticate_first` learned from a request's bearer token.
enum AuthOutcome {
    /// The token, its session and its user were checked against the database.
    Checked(Result<Authenticated, AppError>),
    /// The token is genuine and unexpired; its handler checks the session itself.
    Token(Claims),
}

/// Middleware: checks the bearer token before any handler extractor runs. Extractors run
/// concurrently, so without this a malformed body (422) could be reported before a missing
/// permission (403); with it, "who are you" and "may you" always come first.
///
/// The busiest reads (`checks_session_itself`) get only the token's signature and expiry
/// checked here; their handlers take a `Caller` and check the session in the same trip to
/// the database as the read, before anything else they do.
pub async fn authenticate_first(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let (Some(token), Some(state)) = (
        bearer(req.request()),
        req.app_data::<web::Data<Services>>().cloned(),
    ) {
        let outcome = if checks_session_itself(req.method(), req.path()) {
            match state.verify_token(&token) {
                Some(claims) => AuthOutcome::Token(claims),
                None => AuthOutcome::Checked(Err(accounts::unauthorized())),
            }
        } else {
            AuthOutcome::Checked(accounts::authenticate(&state, &token).await)
        };
        // For the access log: whom the token names (a request refused later for an ended
        // session is still recorded as theirs, with its status).
        let who = match &outcome {
            AuthOutcome::Token(claims) => Some(claims.sub.clone()),
            AuthOutcome::Checked(Ok(a)) => Some(a.user_id().to_string()),
            AuthOutcome::Checked(Err(_)) => None,
        };
        if let Some(who) = who {
            req.extensions_mut()
                .insert(crate::transport::access::Who(who));
        }
        req.extensions_mut().insert(outcome);
    }
    next.call(req).await
}

/// The routes whose handlers take a `Caller` and have no other extractor that can fail:
/// `GET /api/v1/rfas` and `GET /api/v1/rfas/{id}`. Another handler would still refuse a bad
/// session if this said yes for it (`Auth` then checks the session itself), but its other
/// extractors could then answer before the 401 or 403: add a route here only with a `Caller`.
fn checks_session_itself(method: &Method, path: &str) -> bool {
    *method == Method::GET
        && path.strip_prefix("/api/v1/rfas").is_some_and(|rest| {
            rest.is_empty()
                || rest
                    .strip_prefix('/')
                    .is_some_and(|id| !id.is_empty() && !id.contains('/'))
        })
}

impl FromRequest for Auth {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = req.extensions_mut().remove::<AuthOutcome>();
        if let Some(AuthOutcome::Checked(outcome)) = outcome {
            return Box::pin(std::future::ready(outcome.map(Auth).map_err(Into::into)));
        }
        let state = req.app_data::<web::Data<Services>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = token.ok_or_else(no_token)?;
            Ok(Auth(accounts::authenticate(&state, &token).await?))
        })
    }
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = match req.extensions_mut().remove::<AuthOutcome>() {
            Some(AuthOutcome::Checked(outcome)) => outcome.map(Caller::Checked),
            Some(AuthOutcome::Token(claims)) => Ok(Caller::Token(claims)),
            None => match (bearer(req), req.app_data::<web::Data<Services>>()) {
                (Some(token), Some(state)) => state
                    .verify_token(&token)
                    .map(Caller::Token)
                    .ok_or_else(accounts::unauthorized),
                _ => Err(no_token()),
            },
        };
        std::future::ready(caller.map_err(Into::into))
    }
}

/// A service-wide permission, named by a marker type so that handlers state it in their
/// signature: `_: Permit<ManageUsers>`.
pub trait Permission {
    const ACTION: Action;
}

macro_rules! permissions {
    ($($name:ident),* $(,)?) => {
        $(
            pub struct $name;
            impl Permission for $name {
                const ACTION: Action = Action::$name;
            }
        )*
    };
}

permissions!(
    ManageUsers,
    ReadRegistry,
    WriteRegistry,
    ReadReports,
    VerifyAudit,
    BulkTriage,
    ManageOutbox,
);

/// The caller, checked for the permission `P` before the body is read, so that a 403
/// comes before a complaint about the body. The service function the handler calls checks
/// the permission again: this is the order of answers, not the rule.
pub struct Permit<P: Permission>(pub Authenticated, PhantomData<P>);

impl<P: Permission> From<Permit<P>> for Caller {
    fn from(permit: Permit<P>) -> Self {
        Caller::Checked(permit.0)
    }
}

impl<P: Permission + 'static> FromRequest for Permit<P> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let auth = Auth::from_request(req, payload);
        Box::pin(async move {
            let auth = auth.await?;
            auth.require(P::ACTION)?;
            Ok(Permit(auth.0, PhantomData))
        })
    }
}

pub use crate::transport::client_ip;
