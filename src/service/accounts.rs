//! Accounts: sign-in, sessions, the user's own profile and the administrators' user
//! management. Front ends call these; each function is one unit of work and checks the
//! caller against the access policy itself.

use chrono::{Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::password::check_new_password;
use crate::auth::tokens::{Claims, Keys, random_token, token_hash};
use crate::db::users::{self as store, NewUser, UserChanges, UserRecord};
use crate::db::{AdvisoryLock, DbConnection};
use crate::domain::email::Email;
use crate::domain::ids::UserId;
use crate::domain::policy::{Action, Decision, Principal, Resource, authorize};
use crate::domain::roles::Role;
use crate::error::{AppError, FieldError};
use crate::service::Services;
use crate::service::paging::{decode_cursor, encode_cursor, page};
use crate::service::trail::{Subject, Trail};
use crate::service::validate::Expected;

/// One answer for every failed sign-in, whatever the cause, so that it reveals nothing
/// about which accounts exist or are locked.
pub const SIGN_IN_FAILED: &str =
    "The email or password is wrong, or the account is locked after repeated failures.";
const SESSION_ENDED: &str = "The session has ended; sign in again.";

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque token for `POST /api/v1/auth/refresh`; each one works once.
    pub refresh_token: String,
}

/// A user as the API shows them; never the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub jurisdiction_ids: Vec<String>,
    pub active: bool,
    /// Set while sign-in is locked after repeated failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<chrono::DateTime<Utc>>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
    pub last_login_at: Option<chrono::DateTime<Utc>>,
    /// The password was generated (shown once to whoever created the account): until the
    /// user chooses their own with `POST /api/v1/me/password`, their sessions may read only
    /// `/api/v1/me`, change the password and sign out.
    pub must_change_password: bool,
    /// Counts the changes made with PATCH; a PATCH names it in `If-Match` (also the `ETag`
    /// header).
    pub version: i64,
    /// Only in the answer that created the user without a password: shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_password: Option<String>,
}

fn utc(t: NaiveDateTime) -> chrono::DateTime<Utc> {
    t.and_utc()
}

impl From<UserRecord> for UserView {
    fn from(r: UserRecord) -> Self {
        let now = now();
        UserView {
            id: r.user.id,
            email: r.user.email,
            display_name: r.user.display_name,
            roles: r.roles,
            jurisdiction_ids: r.jurisdictions,
            active: r.user.active,
            locked_until: r.user.locked_until.filter(|t| *t > now).map(utc),
            created_at: utc(r.user.created_at),
            updated_at: utc(r.user.updated_at),
            last_login_at: r.user.last_login_at.map(utc),
            must_change_password: r.user.must_change_password,
            version: r.user.version,
            initial_password: None,
        }
    }
}

/// The caller of an authenticated request: made only here, from a session checked against
/// the database (or, for the command line and the demo data, by `operator`).
#[derive(Debug, Clone)]
pub struct Authenticated {
    principal: Principal,
    session_id: String,
    /// The user's password was generated and must be changed before anything else.
    password_change_due: bool,
}

impl Authenticated {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn user_id(&self) -> &str {
        &self.principal.user_id
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The user must choose their own password before they may do anything but read their
    /// account, change the password and sign out.
    pub fn password_change_due(&self) -> bool {
        self.password_change_due
    }

    /// Refuses with 403 unless the caller's roles permit the service-wide action.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        match authorize(&self.principal, action, Resource::Service) {
            Decision::Allow => Ok(()),
            Decision::Forbidden | Decision::Hidden => {
                Err(AppError::Forbidden("Your roles do not permit this.".into()))
            }
        }
    }

    /// A caller that no session stands behind: the demo data's users, whose work is
    /// written by the binary itself.
    pub(crate) fn trusted(principal: Principal) -> Self {
        Self {
            principal,
            session_id: String::new(),
            password_change_due: false,
        }
    }
}

/// The caller as a handler receives it: already checked against the database, or only a
/// valid access token whose session and user the handler checks inside its own database
/// work (`Caller::check`). The second form lets the busiest reads make one trip to the
/// blocking pool instead of two; see `api::extract::authenticate_first`.
#[derive(Debug)]
pub enum Caller {
    Checked(Authenticated),
    Token(Claims),
}

impl Caller {
    /// The caller, or 401 when the token's session or user is no longer good, or 403 while
    /// the user must still change a generated password.
    pub fn check(self, c: &mut DbConnection) -> Result<Authenticated, AppError> {
        let who = self.check_own(c)?;
        if who.password_change_due {
            return Err(AppError::PasswordChangeRequired);
        }
        Ok(who)
    }

    /// The caller for work on their own account only (reading it, changing the password,
    /// signing out): allowed while a password change is due.
    pub fn check_own(self, c: &mut DbConnection) -> Result<Authenticated, AppError> {
        match self {
            Caller::Checked(who) => Ok(who),
            Caller::Token(claims) => session_holder(c, &claims)?.ok_or_else(unauthorized),
        }
    }

    /// The caller, checked, and permitted the service-wide action (403 otherwise).
    pub fn permitted(
        self,
        c: &mut DbConnection,
        action: Action,
    ) -> Result<Authenticated, AppError> {
        let who = self.check(c)?;
        who.require(action)?;
        Ok(who)
    }

    /// The caller checked (and permitted `action`, when given) for work that is not one
    /// database call: a caller already checked costs no trip to the database.
    pub async fn resolve(
        self,
        svc: &Services,
        action: Option<Action>,
    ) -> Result<Authenticated, AppError> {
        let who = match self {
            Caller::Checked(who) if who.password_change_due => {
                return Err(AppError::PasswordChangeRequired);
            }
            Caller::Checked(who) => who,
            token => svc.db.run(move |c| token.check(c)).await?,
        };
        if let Some(action) = action {
            who.require(action)?;
        }
        Ok(who)
    }

    /// The command line's caller, with the roles of the work it does: whoever can run the
    /// binary against the database already holds the data. Its changes are recorded as
    /// `acting_as`'s (a user who exists); with none, it may only read. Never built from a
    /// request (the architecture test keeps it out of `api` and `web`).
    pub fn operator(acting_as: Option<UserId>, roles: Vec<Role>) -> Self {
        let user_id = acting_as.map_or_else(|| uuid::Uuid::nil().to_string(), UserId::into_string);
        Caller::Checked(Authenticated::trusted(Principal {
            user_id,
            roles,
            jurisdictions: Vec::new(),
        }))
    }
}

impl From<Authenticated> for Caller {
    fn from(who: Authenticated) -> Self {
        Caller::Checked(who)
    }
}

/// The answer to a missing, forged, expired or revoked access token.
pub fn unauthorized() -> AppError {
    AppError::Unauthenticated("The access token is missing, invalid or expired.".into())
}

// ---------------------------------------------------------------------------------------
// Sign-in and sessions

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

enum LoginOutcome {
    Success(Issued),
    Failed,
}

/// What a sign-in hands out: API tokens, or a browser session.
enum Issue {
    Tokens,
    Browser,
}

enum Issued {
    Tokens(TokenPair),
    Browser(BrowserSession),
}

/// A browser's session: the token for its cookie (shown once, kept only as a hash) and the
/// CSRF token its forms send back.
#[derive(Debug)]
pub struct BrowserSession {
    pub token: String,
    pub csrf: String,
}

/// Signs in for the API: an access token and a refresh token.
pub async fn login(
    svc: &Services,
    req: LoginRequest,
    client: std::net::IpAddr,
) -> Result<TokenPair, AppError> {
    match sign_in(svc, req, client, Issue::Tokens).await? {
        Issued::Tokens(pair) => Ok(pair),
        Issued::Browser(_) => Err(AppError::internal("sign-in issued the wrong kind")),
    }
}

/// Signs in for the screens: a browser session, under the same limits, lockout and answers
/// as the API's sign-in.
pub async fn sign_in_browser(
    svc: &Services,
    req: LoginRequest,
    client: std::net::IpAddr,
) -> Result<BrowserSession, AppError> {
    match sign_in(svc, req, client, Issue::Browser).await? {
        Issued::Browser(session) => Ok(session),
        Issued::Tokens(_) => Err(AppError::internal("sign-in issued the wrong kind")),
    }
}

async fn sign_in(
    svc: &Services,
    req: LoginRequest,
    client: std::net::IpAddr,
    issue: Issue,
) -> Result<Issued, AppError> {
    let started = tokio::time::Instant::now();
    let result = attempt_login(svc, req, client, issue).await;
    if matches!(result, Err(AppError::Unauthenticated(_))) {
        // Counted against the service's failure budget (see `service::sign_in_limits`). A
        // failure to count it is logged, never turned into another answer.
        let limits = svc.limits.clone();
        let source = crate::auth::limiter::source_of(client).to_string();
        if let Err(e) = svc
            .db
            .run(move |c| c.write(|c| limits.shared.failed(c, &source, now())))
            .await
        {
            tracing::warn!(error = %e, "could not count a failed sign-in against the budget");
        }
        // Every refusal takes at least the same time, whether the account exists (and had
        // its failure counted, a write) or not.
        let floor = std::time::Duration::from_millis(svc.settings.auth.failed_login_floor_ms);
        tokio::time::sleep_until(started + floor).await;
    }
    result
}

/// A sign-in attempt from `client` under the limits: this instance's pace in memory first,
/// then the pace and failure budget every instance shares (`service::sign_in_limits`).
async fn admit_sign_in(svc: &Services, client: std::net::IpAddr) -> Result<(), AppError> {
    let rate_limited = |retry_after_secs| AppError::RateLimited { retry_after_secs };
    svc.limits.login.check(client).map_err(rate_limited)?;
    let limits = svc.limits.clone();
    let source = crate::auth::limiter::source_of(client).to_string();
    let admitted = svc
        .db
        .run(move |c| c.write(|c| limits.shared.admit(c, &source, now())))
        .await?
        .map_err(rate_limited);
    if admitted.is_ok() && svc.limits.shared.forget_due(now()) {
        let limits = svc.limits.clone();
        if let Err(e) = svc
            .db
            .run(move |c| c.write(|c| limits.shared.forget_idle(c, now())))
            .await
        {
            tracing::warn!(error = %e, "could not remove idle sign-in sources; trying again later");
        }
    }
    admitted
}

async fn attempt_login(
    svc: &Services,
    req: LoginRequest,
    client: std::net::IpAddr,
    issue: Issue,
) -> Result<Issued, AppError> {
    admit_sign_in(svc, client).await?;
    if req.password.chars().count() > crate::auth::password::MAX_PASSWORD_LEN {
        return Err(AppError::field("password", "is too long"));
    }
    // A malformed address cannot exist; it is still hashed against, to cost the same time.
    let email = Email::parse(&req.email).ok();
    let user = match email {
        Some(e) => {
            svc.db
                .run(move |c| Ok(store::find_by_email(c, e.as_str())?))
                .await?
        }
        None => None,
    };
    let matches = svc
        .hasher
        .verify(req.password, user.as_ref().map(|u| u.password_hash.clone()))
        .await?;
    let Some(user) = user else {
        return Err(AppError::Unauthenticated(SIGN_IN_FAILED.into()));
    };
    let auth = svc.settings.auth.clone();
    let source = crate::auth::limiter::source_of(client).to_string();
    let browser_hours = i64::from(svc.settings.web.session_hours);
    let keys = svc.keys.clone();
    let issued = svc
        .db
        .run(move |c| {
            c.write(|c| {
                let now = now();
                let Some(current) = store::find(c, &user.id)? else {
                    return Ok(LoginOutcome::Failed);
                };
                // Locks are per account and source: a guesser elsewhere cannot lock the
                // account's owner out.
                let locked = store::source_locked_until(c, &current.id, &source, now)?.is_some();
                if !current.active || locked {
                    return Ok(LoginOutcome::Failed);
                }
                if !matches {
                    let rule = store::LockRule {
                        max_failures: i32::try_from(auth.max_failed_logins).unwrap_or(i32::MAX),
                        first_secs: i64::try_from(auth.lockout_secs).unwrap_or(i64::MAX),
                        longest_secs: i64::try_from(auth.longest_lockout_secs).unwrap_or(i64::MAX),
                    };
                    if let Some(until) =
                        store::record_failed_login(c, &current.id, &source, now, rule)?
                    {
                        tracing::warn!(
                            user = %current.id,
                            until = %until,
                            "sign-in to an account locked for one source after repeated failures"
                        );
                    }
                    return Ok(LoginOutcome::Failed);
                }
                store::clear_source(c, &current.id, &source)?;
                store::record_login(c, &current.id, now)?;
                let session_id = new_id();
                if let Issue::Browser = issue {
                    let expires = now + Duration::hours(browser_hours);
                    store::create_session(c, &session_id, &current.id, now, expires)?;
                    let session = BrowserSession {
                        token: random_token(),
                        csrf: random_token(),
                    };
                    let hash = token_hash(&session.token);
                    store::insert_web_session(c, &hash, &session_id, &session.csrf)?;
                    return Ok(LoginOutcome::Success(Issued::Browser(session)));
                }
                let expires = now + Duration::days(i64::from(auth.refresh_token_ttl_days));
                store::create_session(c, &session_id, &current.id, now, expires)?;
                let refresh = random_token();
                store::insert_refresh_token(c, &token_hash(&refresh), &session_id, now)?;
                let roles = store::roles_of(c, &current.id)?;
                let pair = pair(&keys, &current.id, &session_id, &roles, refresh)?;
                Ok::<_, AppError>(LoginOutcome::Success(Issued::Tokens(pair)))
            })
        })
        .await?;
    match issued {
        LoginOutcome::Success(issued) => Ok(issued),
        LoginOutcome::Failed => {
            tracing::info!("sign-in refused");
            Err(AppError::Unauthenticated(SIGN_IN_FAILED.into()))
        }
    }
}

fn pair(
    keys: &Keys,
    user_id: &str,
    session_id: &str,
    roles: &[Role],
    refresh_token: String,
) -> Result<TokenPair, AppError> {
    let roles = roles.iter().map(|r| r.as_str().to_string()).collect();
    let access_token = keys
        .issue(user_id, session_id, roles)
        .map_err(|e| AppError::internal(format!("signing failed: {e}")))?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: keys.ttl_secs(),
        refresh_token,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

enum RefreshOutcome {
    Rotated(TokenPair),
    Refused,
}

/// Trades a refresh token for a new pair. A token that was already used means it leaked:
/// the whole session is revoked, and both holders must sign in again.
pub async fn refresh(
    svc: &Services,
    req: RefreshRequest,
    client: std::net::IpAddr,
) -> Result<TokenPair, AppError> {
    svc.limits
        .refresh
        .check(client)
        .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })?;
    if req.refresh_token.len() > 128 {
        return Err(AppError::Unauthenticated(SESSION_ENDED.into()));
    }
    let hash = token_hash(&req.refresh_token);
    let keys = svc.keys.clone();
    let outcome = svc
        .db
        .run(move |c| {
            c.write(|c| {
                let now = now();
                let Some((session_id, used_at)) = store::find_refresh_token(c, &hash)? else {
                    return Ok(RefreshOutcome::Refused);
                };
                let reuse = used_at.is_some() || store::use_refresh_token(c, &hash, now)? == 0;
                if reuse {
                    let n = store::revoke_session(c, &session_id, "refresh token reused", now)?;
                    if n > 0 {
                        tracing::warn!(session = %session_id, "refresh token reused; session revoked");
                    }
                    return Ok(RefreshOutcome::Refused);
                }
                let Some(session) = store::find_session(c, &session_id)? else {
                    return Ok(RefreshOutcome::Refused);
                };
                if session.revoked_at.is_some() || session.expires_at <= now {
                    return Ok(RefreshOutcome::Refused);
                }
                let user = store::find(c, &session.user_id)?;
                if !user.as_ref().is_some_and(|u| u.active) {
                    return Ok(RefreshOutcome::Refused);
                }
                let refresh = random_token();
                store::insert_refresh_token(c, &token_hash(&refresh), &session_id, now)?;
                store::touch_session(c, &session_id, now)?;
                let roles = store::roles_of(c, &session.user_id)?;
                Ok::<_, AppError>(RefreshOutcome::Rotated(pair(
                    &keys,
                    &session.user_id,
                    &session_id,
                    &roles,
                    refresh,
                )?))
            })
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(pair) => Ok(pair),
        RefreshOutcome::Refused => Err(AppError::Unauthenticated(SESSION_ENDED.into())),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Optional: the session is the one the access token belongs to either way.
    pub refresh_token: Option<String>,
}

/// Ends the caller's session: its refresh tokens and its access tokens stop working.
pub async fn logout(svc: &Services, caller: Caller) -> Result<(), AppError> {
    svc.db
        .run(move |c| {
            let who = caller.check_own(c)?;
            c.write(|c| store::revoke_session(c, &who.session_id, "signed out", now()))?;
            Ok(())
        })
        .await
}

/// A browser's caller: the session behind its cookie's token, with the CSRF token its forms
/// must carry.
#[derive(Debug, Clone)]
pub struct BrowserCaller {
    pub who: Authenticated,
    /// The name the screens greet the user by.
    pub display_name: String,
    pub csrf: String,
}

/// The caller behind a browser's session token, if the session is still good: not signed
/// out, not past its lifetime or idle timeout, its user active and unchanged in password.
/// Marks the session used (at most once a minute, so reading pages writes little).
pub async fn browser_session(svc: &Services, token: String) -> Result<BrowserCaller, AppError> {
    let idle = Duration::minutes(i64::from(svc.settings.web.session_idle_minutes));
    svc.db
        .run(move |c| {
            let hash = token_hash(&token);
            let Some((session_id, csrf)) = store::find_web_session(c, &hash)? else {
                return Err(AppError::Unauthenticated(SESSION_ENDED.into()));
            };
            let Some((session, record)) = store::caller(c, &session_id)? else {
                return Err(AppError::Unauthenticated(SESSION_ENDED.into()));
            };
            let now = now();
            if session.revoked_at.is_some()
                || session.expires_at <= now
                || session.last_used_at + idle <= now
                || !record.user.active
            {
                return Err(AppError::Unauthenticated(SESSION_ENDED.into()));
            }
            if session.last_used_at + Duration::minutes(1) <= now {
                c.write(|c| store::touch_session(c, &session.id, now))?;
            }
            Ok(BrowserCaller {
                display_name: record.user.display_name,
                who: Authenticated {
                    principal: Principal {
                        user_id: record.user.id,
                        roles: record.roles,
                        jurisdictions: record.jurisdictions,
                    },
                    session_id: session.id,
                    password_change_due: record.user.must_change_password,
                },
                csrf,
            })
        })
        .await
}

/// Checks an access token and that its user and session are still good. Deactivation, a
/// password change elsewhere and sign-out take effect at once, not at token expiry.
pub async fn authenticate(svc: &Services, bearer: &str) -> Result<Authenticated, AppError> {
    let claims = svc.keys.verify(bearer).ok_or_else(unauthorized)?;
    // Who it is, even while a password change is due: each service refuses then itself.
    svc.db
        .run(move |c| Caller::Token(claims).check_own(c))
        .await
}

/// The user and session behind verified token claims, if both are still good.
fn session_holder(
    c: &mut DbConnection,
    claims: &Claims,
) -> Result<Option<Authenticated>, AppError> {
    let Some((session, record)) = store::caller(c, &claims.sid)? else {
        return Ok(None);
    };
    if session.user_id != claims.sub
        || session.revoked_at.is_some()
        || session.expires_at <= now()
        || !record.user.active
    {
        return Ok(None);
    }
    Ok(Some(Authenticated {
        principal: Principal {
            user_id: record.user.id,
            roles: record.roles,
            jurisdictions: record.jurisdictions,
        },
        session_id: session.id,
        password_change_due: record.user.must_change_password,
    }))
}

// ---------------------------------------------------------------------------------------
// The user's own account

pub async fn me(svc: &Services, caller: Caller) -> Result<UserView, AppError> {
    svc.db
        .run(move |c| {
            let who = caller.check_own(c)?;
            user_view(c, who.user_id())
        })
        .await
}

fn user_view(c: &mut DbConnection, id: &str) -> Result<UserView, AppError> {
    let user = store::find(c, id)?.ok_or_else(|| AppError::NotFound("No such user.".into()))?;
    Ok(store::record(c, user)?.into())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password and signs out every other session.
pub async fn change_password(
    svc: &Services,
    caller: Caller,
    req: ChangePassword,
    client: std::net::IpAddr,
) -> Result<(), AppError> {
    let who = match caller {
        Caller::Checked(who) => who,
        token => svc.db.run(move |c| token.check_own(c)).await?,
    };
    // Guessing the current password with a stolen token meets the same limits as sign-in.
    admit_sign_in(svc, client).await?;
    if let Err(m) = check_new_password(&req.new_password) {
        return Err(AppError::field("new_password", m));
    }
    if req.new_password == req.current_password {
        return Err(AppError::field(
            "new_password",
            "must differ from the current password",
        ));
    }
    let user_id = who.principal.user_id.clone();
    let stored = {
        let id = user_id.clone();
        svc.db.run(move |c| Ok(store::find(c, &id)?)).await?
    }
    .ok_or_else(|| AppError::Unauthenticated(SESSION_ENDED.into()))?;
    let ok = svc
        .hasher
        .verify(req.current_password, Some(stored.password_hash))
        .await?;
    if !ok {
        return Err(AppError::field(
            "current_password",
            "is not the current password",
        ));
    }
    let hash = svc.hasher.hash(req.new_password).await?;
    let keep = who.session_id.clone();
    svc.db
        .run(move |c| {
            c.write(|c| {
                let now = now();
                let trail = Trail::before(c, Subject::User(user_id.clone()))?;
                store::set_password(c, &user_id, &hash, now)?;
                store::revoke_user_sessions(c, &user_id, Some(&keep), "password changed", now)?;
                trail.append(c, &user_id, now, "password_changed", None)?;
                Ok(())
            })
        })
        .await
}

/// The display names of colleagues (for a case's history), for those who read requests:
/// names only, never emails or roles.
pub async fn display_names(
    svc: &Services,
    caller: Caller,
    ids: Vec<UserId>,
) -> Result<std::collections::HashMap<String, String>, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ReadRfa)?;
            let ids: Vec<String> = ids.into_iter().map(UserId::into_string).collect();
            Ok(store::display_names(c, &ids)?.into_iter().collect())
        })
        .await
}

/// A colleague in the people directory. Liaison officers see names only; supervisors,
/// who assign the work, also see how to reach each person and what they do.
#[derive(Debug, Serialize, ToSchema)]
pub struct Colleague {
    pub id: String,
    pub display_name: String,
    /// Supervisors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Supervisors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    /// Supervisors only: the jurisdictions a liaison officer covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jurisdiction_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct People {
    /// By name.
    pub items: Vec<Colleague>,
}

/// The people who work on requests, as far as the caller's reach goes: a supervisor sees
/// every active liaison officer and supervisor; a liaison officer sees the supervisors and
/// the liaison officers who share a jurisdiction with them, by name only.
pub async fn people(svc: &Services, caller: Caller) -> Result<People, AppError> {
    use crate::domain::policy::{Reach, reach};
    svc.db
        .run(move |c| {
            let who = caller.permitted(c, Action::ReadPeople)?;
            let everyone = reach(&who.principal.roles, Action::ReadPeople) == Some(Reach::All);
            let mut items: Vec<(Colleague, Vec<Role>, Vec<String>)> = Vec::new();
            // One row per role and jurisdiction, a person's rows together.
            for (id, email, display_name, role, place) in store::caseworkers(c)? {
                let role = Role::parse(&role);
                match items.last_mut() {
                    Some((person, roles, places)) if person.id == id => {
                        roles.extend(role.filter(|r| !roles.contains(r)));
                        places.extend(place.filter(|p| !places.contains(p)));
                    }
                    _ => {
                        let person = Colleague {
                            id,
                            display_name,
                            email: Some(email),
                            roles: None,
                            jurisdiction_ids: None,
                        };
                        items.push((
                            person,
                            role.into_iter().collect(),
                            place.into_iter().collect(),
                        ));
                    }
                }
            }
            let mine = &who.principal.jurisdictions;
            let items = items
                .into_iter()
                .filter(|(_, roles, places)| {
                    everyone
                        || roles.contains(&Role::Supervisor)
                        || places.iter().any(|p| mine.contains(p))
                })
                .map(|(mut person, mut roles, mut places)| {
                    if everyone {
                        roles.sort();
                        places.sort();
                        person.roles = Some(roles);
                        person.jurisdiction_ids = Some(places);
                    } else {
                        person.email = None;
                    }
                    person
                })
                .collect();
            Ok(People { items })
        })
        .await
}

// ---------------------------------------------------------------------------------------
// User management (administrators)

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub jurisdiction_ids: Vec<String>,
    /// Without one, a password is generated and returned once as `initial_password`.
    pub password: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub jurisdiction_ids: Option<Vec<String>>,
    pub active: Option<bool>,
}

const MAX_NAME_LEN: usize = 200;
const MAX_JURISDICTIONS: usize = 500;

fn check_display_name(name: &str, errors: &mut Vec<FieldError>) -> String {
    let name = name.trim().to_string();
    if name.is_empty() {
        errors.push(FieldError::new("display_name", "must not be empty"));
    } else if name.chars().count() > MAX_NAME_LEN {
        errors.push(FieldError::new(
            "display_name",
            "must be at most 200 characters",
        ));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "display_name",
            "must not contain control characters",
        ));
    }
    name
}

fn check_roles(roles: &[Role], errors: &mut Vec<FieldError>) -> Vec<Role> {
    let mut sorted = roles.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != roles.len() {
        errors.push(FieldError::new("roles", "must not repeat a role"));
    }
    sorted
}

/// A liaison officer works on the requests of their jurisdictions: without one they would
/// see nothing, which is never what was meant.
const LIAISON_NEEDS_A_PLACE: &str = "must include at least one for a liaison officer";

/// The roles and jurisdictions of an account, together: at least one role (an account
/// without one can sign in and do nothing, which is never what was meant; `active` is how
/// an account is stopped), a jurisdiction for a liaison officer, and jurisdictions only for
/// a liaison officer (no other role is limited by them, so they would promise a limit that
/// does not hold).
fn check_roles_and_places(roles: &[Role], jurisdictions: &[String], errors: &mut Vec<FieldError>) {
    if roles.is_empty() {
        errors.push(FieldError::new(
            "roles",
            "must include at least one: an account without a role can do nothing",
        ));
    }
    let liaison = roles.contains(&Role::LiaisonOfficer);
    if liaison && jurisdictions.is_empty() {
        errors.push(FieldError::new("jurisdiction_ids", LIAISON_NEEDS_A_PLACE));
    }
    if !liaison && !roles.is_empty() && !jurisdictions.is_empty() {
        errors.push(FieldError::new(
            "jurisdiction_ids",
            "can be chosen only for a liaison officer: the other roles are not limited by jurisdiction",
        ));
    }
}

fn check_jurisdictions(ids: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if ids.len() > MAX_JURISDICTIONS {
        errors.push(FieldError::new(
            "jurisdiction_ids",
            "lists too many jurisdictions",
        ));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match uuid::Uuid::parse_str(id) {
            Ok(u) => out.push(u.to_string()),
            Err(_) => errors.push(FieldError::new(
                format!("jurisdiction_ids[{i}]"),
                "is not a UUID",
            )),
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Liaison officers can only be linked to jurisdictions in the registry.
fn check_jurisdictions_exist(c: &mut DbConnection, ids: &[String]) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let known = crate::db::registry::existing_jurisdictions(c, ids)?;
    let errors: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !known.contains(id))
        .map(|(i, _)| {
            FieldError::new(
                format!("jurisdiction_ids[{i}]"),
                "is not a jurisdiction in the registry",
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

pub async fn create_user(
    svc: &Services,
    caller: Caller,
    req: CreateUser,
) -> Result<UserView, AppError> {
    let who = caller.resolve(svc, Some(Action::ManageUsers)).await?;
    let actor = who.user_id().to_string();
    let mail = svc.rules.mail;
    let mut errors = Vec::new();
    let email = match Email::parse(&req.email) {
        Ok(e) => Some(e),
        Err(m) => {
            errors.push(FieldError::new("email", m));
            None
        }
    };
    let display_name = check_display_name(&req.display_name, &mut errors);
    let roles = check_roles(&req.roles, &mut errors);
    let jurisdictions = check_jurisdictions(&req.jurisdiction_ids, &mut errors);
    check_roles_and_places(&roles, &req.jurisdiction_ids, &mut errors);
    if let Some(p) = &req.password
        && let Err(m) = check_new_password(p)
    {
        errors.push(FieldError::new("password", m));
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let generated = req.password.is_none().then(random_token);
    let password = req
        .password
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let hash = svc.hasher.hash(password).await?;
    let active = req.active.unwrap_or(true);
    let must_change_password = generated.is_some();
    let record = svc
        .db
        .run(move |c| {
            c.write(|c| {
                if store::email_taken(c, email.as_str())? {
                    return Err(AppError::Conflict(
                        "A user with this email already exists.".into(),
                    ));
                }
                check_jurisdictions_exist(c, &jurisdictions)?;
                let id = new_id();
                insert_user(
                    c,
                    &actor,
                    &NewAccount {
                        id: &id,
                        email: email.as_str(),
                        display_name: &display_name,
                        hash: &hash,
                        active,
                        must_change_password,
                    },
                    &roles,
                    &jurisdictions,
                )?;
                let granted = granted_case_roles(&[], &roles);
                tell_admins_of_grant(c, mail, &actor, &id, &granted, now())?;
                let user =
                    store::find(c, &id)?.ok_or_else(|| AppError::internal("user vanished"))?;
                Ok(store::record(c, user)?)
            })
        })
        .await?;
    tracing::info!(user = %record.user.id, "user created");
    let mut view = UserView::from(record);
    view.initial_password = generated;
    Ok(view)
}

/// The roles that read case content (supervisor, liaison officer) in `after` but not in
/// `before`.
fn granted_case_roles(before: &[Role], after: &[Role]) -> Vec<Role> {
    after
        .iter()
        .copied()
        .filter(|r| matches!(r, Role::Supervisor | Role::LiaisonOfficer) && !before.contains(r))
        .collect()
}

/// Mails every other active administrator that `actor` gave `user` these roles (in the
/// same transaction, through the outbox).
fn tell_admins_of_grant(
    c: &mut DbConnection,
    mail: crate::mail::Kinds,
    actor: &str,
    user: &str,
    granted: &[Role],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if granted.is_empty() || !mail.has(crate::mail::Kind::RoleGranted) {
        return Ok(());
    }
    let names: std::collections::HashMap<String, String> =
        store::display_names(c, &[actor.to_string(), user.to_string()])?
            .into_iter()
            .collect();
    let name = |id: &str, fallback: &str| names.get(id).cloned().unwrap_or_else(|| fallback.into());
    let grantee = store::find(c, user)?.ok_or_else(|| AppError::internal("user vanished"))?;
    let roles = granted
        .iter()
        .map(|r| r.as_str().replace('_', " "))
        .collect::<Vec<_>>()
        .join(" and ");
    for (admin_id, email, admin_name) in store::active_admins(c)? {
        if admin_id == actor || admin_id == user {
            continue;
        }
        let vars = [
            ("admin", admin_name),
            ("actor", name(actor, "An administrator")),
            ("grantee", name(user, &grantee.email)),
            ("grantee_email", grantee.email.clone()),
            ("roles", roles.clone()),
        ];
        crate::mail::enqueue(
            c,
            crate::mail::Outgoing {
                kind: crate::mail::Kind::RoleGranted,
                rfa_id: None,
                recipient: &email,
                subject: format!("rfa-tracker: {} was given the role {roles}", vars[2].1),
                vars: &vars,
                dedupe_key: None,
            },
            now,
        )?;
    }
    Ok(())
}

/// A new account's own fields; its roles and jurisdictions go beside it.
struct NewAccount<'a> {
    id: &'a str,
    email: &'a str,
    display_name: &'a str,
    hash: &'a str,
    active: bool,
    /// The password was generated: the user must choose their own at first sign-in.
    must_change_password: bool,
}

fn insert_user(
    c: &mut DbConnection,
    actor: &str,
    account: &NewAccount<'_>,
    roles: &[Role],
    jurisdictions: &[String],
) -> Result<(), AppError> {
    let now = now();
    let trail = Trail::before(c, Subject::User(account.id.to_string()))?;
    store::insert(
        c,
        &NewUser {
            id: account.id,
            email: account.email,
            display_name: account.display_name,
            password_hash: account.hash,
            active: account.active,
            failed_logins: 0,
            password_changed_at: now,
            created_at: now,
            updated_at: now,
            must_change_password: account.must_change_password,
        },
        roles,
        jurisdictions,
    )?;
    trail.append(c, actor, now, "user_created", None)?;
    Ok(())
}

pub async fn get_user(svc: &Services, caller: Caller, id: UserId) -> Result<UserView, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ManageUsers)?;
            user_view(c, id.as_str())
        })
        .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub async fn list_users(
    svc: &Services,
    caller: Caller,
    cursor: Option<String>,
    limit: i64,
) -> Result<UserPage, AppError> {
    svc.db
        .run(move |c| {
            caller.permitted(c, Action::ManageUsers)?;
            let after = cursor.map(|c| decode_cursor(&c)).transpose()?;
            let rows = store::list(c, after.as_deref(), limit + 1)?;
            let (rows, next_cursor) = page(rows, limit, |u| encode_cursor(&u.id));
            let mut items = Vec::with_capacity(rows.len());
            for row in rows {
                items.push(store::record(c, row)?.into());
            }
            Ok(UserPage { items, next_cursor })
        })
        .await
}

pub async fn update_user(
    svc: &Services,
    caller: Caller,
    id: UserId,
    req: UpdateUser,
    expected: Expected,
) -> Result<UserView, AppError> {
    let who = caller.resolve(svc, Some(Action::ManageUsers)).await?;
    let id = id.into_string();
    let mut errors = Vec::new();
    let display_name = req
        .display_name
        .as_deref()
        .map(|n| check_display_name(n, &mut errors));
    let roles = req.roles.as_deref().map(|r| check_roles(r, &mut errors));
    let jurisdictions = req
        .jurisdiction_ids
        .as_deref()
        .map(|j| check_jurisdictions(j, &mut errors));
    let actor = who.user_id().to_string();
    let mail = svc.rules.mail;
    svc.db
        .run(move |c| {
            c.write(|c| {
                c.exclusive(AdvisoryLock::Accounts)?;
                let user = store::find(c, &id)?
                    .ok_or_else(|| AppError::NotFound("No such user.".into()))?;
                expected.check(user.version)?;
                let trail = Trail::before(c, Subject::User(id.clone()))?;
                let was_admin = store::roles_of(c, &id)?.contains(&Role::Admin) && user.active;
                let stays_admin = req.active.unwrap_or(user.active)
                    && roles
                        .as_ref()
                        .map_or(was_admin, |r| r.contains(&Role::Admin));
                let roles_after = match &roles {
                    Some(r) => r.clone(),
                    None => store::roles_of(c, &id)?,
                };
                // Roles that no longer include a liaison officer, the jurisdictions not
                // mentioned: they go with the role they limited.
                let dropped = roles.is_some()
                    && jurisdictions.is_none()
                    && !roles_after.contains(&Role::LiaisonOfficer);
                let jurisdictions = if dropped {
                    Some(Vec::new())
                } else {
                    jurisdictions
                };
                let places_after = match &jurisdictions {
                    Some(j) => j.clone(),
                    None => store::jurisdictions_of(c, &id)?,
                };
                // Every wrong field at once: the form's own and these rules, which need the
                // account as stored. They are checked when the change touches the roles or
                // jurisdictions, so an account from before them keeps its other edits.
                let mut errors = errors.clone();
                if roles.is_some() || jurisdictions.is_some() {
                    check_roles_and_places(&roles_after, &places_after, &mut errors);
                }
                if !errors.is_empty() {
                    return Err(AppError::Validation(errors));
                }
                let roles_before = store::roles_of(c, &id)?;
                let granted = granted_case_roles(&roles_before, &roles_after);
                if id == actor && !granted.is_empty() {
                    return Err(AppError::Forbidden(
                        "Another administrator must give you a role that reads case content."
                            .into(),
                    ));
                }
                if was_admin && !stays_admin && store::other_active_admins(c, &id)? == 0 {
                    return Err(AppError::Conflict(
                        "This is the last active administrator; appoint another first.".into(),
                    ));
                }
                let now = now();
                store::update(
                    c,
                    &id,
                    &UserChanges {
                        display_name,
                        active: req.active,
                        updated_at: Some(now),
                    },
                )?;
                if let Some(roles) = &roles {
                    store::set_roles(c, &id, roles)?;
                }
                if let Some(j) = &jurisdictions {
                    check_jurisdictions_exist(c, j)?;
                    store::set_jurisdictions(c, &id, j)?;
                }
                if req.active == Some(false) {
                    store::revoke_user_sessions(c, &id, None, "deactivated", now)?;
                }
                trail.append(c, &actor, now, "user_updated", None)?;
                tell_admins_of_grant(c, mail, &actor, &id, &granted, now)?;
                let user =
                    store::find(c, &id)?.ok_or_else(|| AppError::internal("user vanished"))?;
                tracing::info!(user = %id, by = %actor, "user updated");
                Ok(store::record(c, user)?.into())
            })
        })
        .await
}

/// A password reset: the user, and the one-time password to give them (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordReset {
    pub user: UserView,
    /// Works for one sign-in, after which the user must choose their own password. Not
    /// stored anywhere: give it to the user by a channel other than the one their account
    /// email uses, if it could be read by someone else.
    pub one_time_password: String,
}

/// Gives a user a new one-time password that must be changed at next sign-in, ends every
/// session they have and any lock. Administrators reset others' passwords, never their own
/// (they change it on their account page, knowing the current one).
pub async fn reset_password(
    svc: &Services,
    caller: Caller,
    id: UserId,
) -> Result<PasswordReset, AppError> {
    let who = caller.resolve(svc, Some(Action::ManageUsers)).await?;
    if who.user_id() == id.as_str() {
        return Err(AppError::Conflict(
            "Change your own password on your account page.".into(),
        ));
    }
    let password = random_token();
    let hash = svc.hasher.hash(password.clone()).await?;
    let actor = who.user_id().to_string();
    let user = svc
        .db
        .run(move |c| {
            c.write(|c| {
                let id = id.as_str();
                store::find(c, id)?.ok_or_else(|| AppError::NotFound("No such user.".into()))?;
                let now = now();
                let trail = Trail::before(c, Subject::User(id.to_string()))?;
                store::reset_password(c, id, &hash, now)?;
                store::revoke_user_sessions(c, id, None, "password reset", now)?;
                trail.append(c, &actor, now, "password_reset", None)?;
                tracing::info!(user = %id, by = %actor, "password reset");
                user_view(c, id)
            })
        })
        .await?;
    Ok(PasswordReset {
        user,
        one_time_password: password,
    })
}

/// Ends a lock from repeated failed sign-ins before it runs out.
pub async fn unlock_user(svc: &Services, caller: Caller, id: UserId) -> Result<UserView, AppError> {
    let who = caller.resolve(svc, Some(Action::ManageUsers)).await?;
    let actor = who.user_id().to_string();
    svc.db
        .run(move |c| {
            c.write(|c| {
                let id = id.as_str();
                store::find(c, id)?.ok_or_else(|| AppError::NotFound("No such user.".into()))?;
                let trail = Trail::before(c, Subject::User(id.to_string()))?;
                store::unlock(c, id, now())?;
                trail.append(c, &actor, now(), "unlocked", None)?;
                tracing::info!(user = %id, by = %actor, "sign-in unlocked");
                user_view(c, id)
            })
        })
        .await
}

// ---------------------------------------------------------------------------------------
// Start-up and the command line

/// `rfa-tracker user reset-password`: a new one-time password for the user with this email.
pub fn reset_password_blocking(conn: &mut DbConnection, email: &str) -> Result<String, AppError> {
    let email = Email::parse(email).map_err(|m| AppError::field("email", m))?;
    let password = random_token();
    let hash = crate::auth::password::hash_blocking(&password)?;
    conn.write(|c| {
        let user = store::find_by_email(c, email.as_str())?
            .ok_or_else(|| AppError::NotFound("No user has this email.".into()))?;
        let now = now();
        let trail = Trail::before(c, Subject::User(user.id.clone()))?;
        store::reset_password(c, &user.id, &hash, now)?;
        store::revoke_user_sessions(c, &user.id, None, "password reset", now)?;
        trail.append(c, "command line", now, "password_reset", None)?;
        tracing::info!(user = %user.id, by = "command line", "password reset");
        Ok::<_, AppError>(())
    })?;
    Ok(password)
}

/// `rfa-tracker user unlock`.
pub fn unlock_blocking(conn: &mut DbConnection, email: &str) -> Result<(), AppError> {
    let email = Email::parse(email).map_err(|m| AppError::field("email", m))?;
    conn.write(|c| {
        let user = store::find_by_email(c, email.as_str())?
            .ok_or_else(|| AppError::NotFound("No user has this email.".into()))?;
        let trail = Trail::before(c, Subject::User(user.id.clone()))?;
        store::unlock(c, &user.id, now())?;
        trail.append(c, "command line", now(), "unlocked", None)?;
        tracing::info!(user = %user.id, by = "command line", "sign-in unlocked");
        Ok(())
    })
}

pub enum Bootstrapped {
    Existing,
    Configured(String),
    Generated { email: String, password: String },
}

/// On first start with no users, creates the first administrator: the configured one, or
/// one with a generated password that the caller prints once.
pub fn bootstrap_admin(
    conn: &mut DbConnection,
    email: &str,
    password: &str,
) -> Result<Bootstrapped, AppError> {
    if store::count(conn)? > 0 {
        return Ok(Bootstrapped::Existing);
    }
    let (email, password, generated) = if email.is_empty() {
        ("admin@rfa-tracker.local".to_string(), random_token(), true)
    } else {
        let e = Email::parse(email)
            .map_err(|m| AppError::field("bootstrap.admin_email", m))?
            .into_string();
        check_new_password(password).map_err(|m| AppError::field("bootstrap.admin_password", m))?;
        (e, password.to_string(), false)
    };
    let hash = crate::auth::password::hash_blocking(&password)?;
    let created = conn.write(|c| {
        // Another instance may have got there first.
        if store::count(c)? > 0 {
            return Ok(false);
        }
        insert_user(
            c,
            "system",
            &NewAccount {
                id: &new_id(),
                email: &email,
                display_name: "Administrator",
                hash: &hash,
                active: true,
                must_change_password: generated,
            },
            &[Role::Admin],
            &[],
        )?;
        Ok::<_, AppError>(true)
    })?;
    Ok(match (created, generated) {
        (false, _) => Bootstrapped::Existing,
        (true, false) => Bootstrapped::Configured(email),
        (true, true) => Bootstrapped::Generated { email, password },
    })
}

/// `rfa-tracker user create`: the same checks as the API.
pub fn create_user_blocking(
    conn: &mut DbConnection,
    email: &str,
    display_name: &str,
    roles: &[Role],
    jurisdiction_ids: &[String],
    password: &str,
) -> Result<String, AppError> {
    let mut errors = Vec::new();
    let email = Email::parse(email).map_err(|m| {
        errors.push(FieldError::new("email", m));
    });
    let display_name = check_display_name(display_name, &mut errors);
    let roles = check_roles(roles, &mut errors);
    let jurisdictions = check_jurisdictions(jurisdiction_ids, &mut errors);
    check_roles_and_places(&roles, jurisdiction_ids, &mut errors);
    if let Err(m) = check_new_password(password) {
        errors.push(FieldError::new("password", m));
    }
    let email = match email {
        Ok(e) if errors.is_empty() => e,
        _ => return Err(AppError::Validation(errors)),
    };
    let hash = crate::auth::password::hash_blocking(password)?;
    let id = new_id();
    conn.write(|c| {
        if store::email_taken(c, email.as_str())? {
            return Err(AppError::Conflict(
                "A user with this email already exists.".into(),
            ));
        }
        check_jurisdictions_exist(c, &jurisdictions)?;
        insert_user(
            c,
            "command line",
            &NewAccount {
                id: &id,
                email: email.as_str(),
                display_name: &display_name,
                hash: &hash,
                active: true,
                must_change_password: false,
            },
            &roles,
            &jurisdictions,
        )
    })?;
    Ok(id)
}
