//! Users, their roles and jurisdictions, sign-in sessions and refresh tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::dates::{MaybeTime, Time};
use super::schema::{
    refresh_tokens, sessions, sign_in_failures, user_jurisdictions, user_roles, users, web_sessions,
};
use crate::domain::roles::Role;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(crate::db::QueryBackend))]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub active: bool,
    pub failed_logins: i32,
    #[diesel(deserialize_as = MaybeTime)]
    pub locked_until: Option<NaiveDateTime>,
    #[diesel(deserialize_as = Time)]
    pub password_changed_at: NaiveDateTime,
    #[diesel(deserialize_as = Time)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Time)]
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeTime)]
    pub last_login_at: Option<NaiveDateTime>,
    pub must_change_password: bool,
    /// Counts the changes made through `update` (the ETag of `PATCH /users/{id}`).
    pub version: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub active: bool,
    pub failed_logins: i32,
    pub password_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub must_change_password: bool,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// A user with what they may do.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: UserRow,
    pub roles: Vec<Role>,
    pub jurisdictions: Vec<String>,
}

/// The account the daily eligibility check acts as (`service::calendar`), made by a migration:
/// inactive, without roles, no password matches it. It is no person: the count, the lists and
/// the trail of accounts leave it out; a case's history names it.
pub const SYSTEM_USER_ID: &str = "00000000-0000-0000-0000-000000000001";

/// How many people have accounts (the system account is none of them: the first
/// administrator is made while this is 0).
pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table
        .filter(users::id.ne(SYSTEM_USER_ID))
        .count()
        .get_result(conn)
}

/// A person's account. Never the system account: nobody signs in as it, administers it or is
/// assigned it, so every lookup of a user by id or email passes it by.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .filter(users::id.ne(SYSTEM_USER_ID))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .filter(users::id.ne(SYSTEM_USER_ID))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn email_taken(conn: &mut DbConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::email.eq(email)),
    ))
    .get_result(conn)
}

pub fn roles_of(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<Role>> {
    let names: Vec<String> = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role)
        .load(conn)?;
    let mut roles: Vec<Role> = names.iter().filter_map(|n| Role::parse(n)).collect();
    roles.sort();
    Ok(roles)
}

pub fn jurisdictions_of(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    user_jurisdictions::table
        .filter(user_jurisdictions::user_id.eq(user_id))
        .select(user_jurisdictions::jurisdiction_id)
        .order(user_jurisdictions::jurisdiction_id)
        .load(conn)
}

pub fn record(conn: &mut DbConnection, user: UserRow) -> QueryResult<UserRecord> {
    let roles = roles_of(conn, &user.id)?;
    let jurisdictions = jurisdictions_of(conn, &user.id)?;
    Ok(UserRecord {
        user,
        roles,
        jurisdictions,
    })
}

pub fn insert(
    conn: &mut DbConnection,
    user: &NewUser<'_>,
    roles: &[Role],
    jurisdictions: &[String],
) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)?;
    set_roles(conn, user.id, roles)?;
    set_jurisdictions(conn, user.id, jurisdictions)
}

pub fn set_roles(conn: &mut DbConnection, user_id: &str, roles: &[Role]) -> QueryResult<()> {
    diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user_id))).execute(conn)?;
    for role in roles {
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::user_id.eq(user_id),
                user_roles::role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_jurisdictions(
    conn: &mut DbConnection,
    user_id: &str,
    jurisdictions: &[String],
) -> QueryResult<()> {
    diesel::delete(user_jurisdictions::table.filter(user_jurisdictions::user_id.eq(user_id)))
        .execute(conn)?;
    for j in jurisdictions {
        diesel::insert_into(user_jurisdictions::table)
            .values((
                user_jurisdictions::user_id.eq(user_id),
                user_jurisdictions::jurisdiction_id.eq(j),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn update(conn: &mut DbConnection, user_id: &str, changes: &UserChanges) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set((changes, users::version.eq(users::version + 1)))
        .execute(conn)
}

/// Users in id order (UUIDv7, so creation order) after the cursor; never the system account.
pub fn list(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<UserRow>> {
    let mut q = users::table
        .filter(users::id.ne(SYSTEM_USER_ID))
        .select(UserRow::as_select())
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(users::id.gt(after.to_string()));
    }
    q.load(conn)
}

/// Active admins other than `except`: the service never lets the last one go.
pub fn other_active_admins(conn: &mut DbConnection, except: &str) -> QueryResult<i64> {
    users::table
        .inner_join(user_roles::table)
        .filter(user_roles::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .filter(users::id.ne(except))
        .count()
        .get_result(conn)
}

pub fn set_password(
    conn: &mut DbConnection,
    user_id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
            users::must_change_password.eq(false),
        ))
        .execute(conn)
}

/// A password set by an administrator: the user must choose their own at next sign-in,
/// and any lock from failed sign-ins ends.
pub fn reset_password(
    conn: &mut DbConnection,
    user_id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    clear_sources(conn, user_id)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
            users::must_change_password.eq(true),
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

/// Ends every lock from failed sign-ins, from every source.
pub fn unlock(conn: &mut DbConnection, user_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    clear_sources(conn, user_id)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Until when sign-in to an account from a source is locked, if it is.
pub fn source_locked_until(
    conn: &mut DbConnection,
    user_id: &str,
    source: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    Ok(sign_in_failures::table
        .find((user_id, source))
        .select(sign_in_failures::locked_until)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten()
        .filter(|t| *t > now))
}

/// How a failed sign-in from a source is counted: the limit of failures before a lock, the
/// first lock's length and the longest.
#[derive(Debug, Clone, Copy)]
pub struct LockRule {
    pub max_failures: i32,
    pub first_secs: i64,
    pub longest_secs: i64,
}

impl LockRule {
    /// The `n`th lock in a row (from 1) lasts twice the one before, up to the longest.
    pub fn lock_secs(&self, n: i32) -> i64 {
        let doublings = u32::try_from(n.saturating_sub(1)).unwrap_or(0).min(30);
        self.first_secs
            .saturating_mul(1_i64 << doublings)
            .min(self.longest_secs)
    }
}

/// Counts a failed sign-in to an account from a source (and on the account, for its
/// administrators); at the limit, sign-in from that source is locked. Returns the lock's
/// end when this failure made one.
pub fn record_failed_login(
    conn: &mut DbConnection,
    user_id: &str,
    source: &str,
    now: NaiveDateTime,
    rule: LockRule,
) -> QueryResult<Option<NaiveDateTime>> {
    // A source quiet for a day starts again from nothing.
    let forgotten = now - chrono::Duration::days(1);
    diesel::delete(
        sign_in_failures::table
            .filter(sign_in_failures::user_id.eq(user_id))
            .filter(sign_in_failures::last_failed_at.lt(forgotten)),
    )
    .execute(conn)?;
    diesel::update(users::table.find(user_id))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .execute(conn)?;
    // Counted in the database row by row, so that two instances never lose a failure.
    let counted = diesel::update(sign_in_failures::table.find((user_id, source)))
        .set((
            sign_in_failures::failures.eq(sign_in_failures::failures + 1),
            sign_in_failures::last_failed_at.eq(now),
        ))
        .execute(conn)?;
    if counted == 0 {
        diesel::insert_into(sign_in_failures::table)
            .values((
                sign_in_failures::user_id.eq(user_id),
                sign_in_failures::source.eq(source),
                sign_in_failures::failures.eq(1),
                sign_in_failures::locks.eq(0),
                sign_in_failures::locked_until.eq(None::<NaiveDateTime>),
                sign_in_failures::last_failed_at.eq(now),
            ))
            .execute(conn)?;
    }
    let (failures, locks): (i32, i32) = sign_in_failures::table
        .find((user_id, source))
        .select((sign_in_failures::failures, sign_in_failures::locks))
        .first(conn)?;
    if failures < rule.max_failures {
        return Ok(None);
    }
    let until = now + chrono::Duration::seconds(rule.lock_secs(locks + 1));
    diesel::update(sign_in_failures::table.find((user_id, source)))
        .set((
            sign_in_failures::failures.eq(0),
            sign_in_failures::locks.eq(locks + 1),
            sign_in_failures::locked_until.eq(until),
        ))
        .execute(conn)?;
    // What administrators see: the latest end of a lock from any source.
    diesel::update(
        users::table.find(user_id).filter(
            users::locked_until
                .is_null()
                .or(users::locked_until.lt(until)),
        ),
    )
    .set(users::locked_until.eq(until))
    .execute(conn)?;
    Ok(Some(until))
}

/// A successful sign-in from a source: its failures are forgotten (locks from other
/// sources stay).
pub fn clear_source(conn: &mut DbConnection, user_id: &str, source: &str) -> QueryResult<usize> {
    diesel::delete(sign_in_failures::table.find((user_id, source))).execute(conn)
}

/// Every source's failures and locks on an account forgotten (an unlock, a password reset).
pub fn clear_sources(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::user_id.eq(user_id)))
        .execute(conn)
}

/// A successful sign-in. A lock from another source stays in force (and on show).
pub fn record_login(conn: &mut DbConnection, user_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::failed_logins.eq(0), users::last_login_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
#[diesel(check_for_backend(crate::db::QueryBackend))]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    #[diesel(deserialize_as = Time)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Time)]
    pub last_used_at: NaiveDateTime,
    #[diesel(deserialize_as = Time)]
    pub expires_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeTime)]
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

pub fn create_session(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::last_used_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_session(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

/// The caller behind an access token in one query: the session, its user, and the user's
/// roles and jurisdictions (one row per role and jurisdiction pair: a handful). Runs on every
/// authenticated request.
pub fn caller(
    conn: &mut DbConnection,
    session_id: &str,
) -> QueryResult<Option<(SessionRow, UserRecord)>> {
    let rows: Vec<(SessionRow, UserRow, Option<String>, Option<String>)> = sessions::table
        .inner_join(
            users::table
                .left_join(user_roles::table)
                .left_join(user_jurisdictions::table),
        )
        .filter(sessions::id.eq(session_id))
        .select((
            SessionRow::as_select(),
            UserRow::as_select(),
            user_roles::role.nullable(),
            user_jurisdictions::jurisdiction_id.nullable(),
        ))
        .load(conn)?;
    let (mut roles, mut jurisdictions) = (Vec::new(), Vec::new());
    let mut first = None;
    for (session, user, role, jurisdiction) in rows {
        roles.extend(role.as_deref().and_then(Role::parse));
        jurisdictions.extend(jurisdiction);
        first.get_or_insert((session, user));
    }
    roles.sort();
    roles.dedup();
    jurisdictions.sort();
    jurisdictions.dedup();
    Ok(first.map(|(session, user)| {
        (
            session,
            UserRecord {
                user,
                roles,
                jurisdictions,
            },
        )
    }))
}

pub fn touch_session(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn revoke_session(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
}

/// Ends every open session of a user, except one (the caller's own, on a password change).
pub fn revoke_user_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    except: Option<&str>,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let target = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::id.ne(except.unwrap_or("")));
    diesel::update(target)
        .set((
            sessions::revoked_at.eq(now),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)
}

pub fn insert_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    session_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session a refresh token belongs to and whether the token was already used.
pub fn find_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<(String, Option<NaiveDateTime>)>> {
    refresh_tokens::table
        .find(token_hash)
        .select((refresh_tokens::session_id, refresh_tokens::used_at))
        .first(conn)
        .optional()
}

/// Marks a token used if nobody has yet; exactly one of two racing refreshes gets 1.
pub fn use_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)
}

/// Active administrators as (id, email, display name): who hears of every grant of a role
/// that reads case content.
pub fn active_admins(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, String)>> {
    users::table
        .inner_join(user_roles::table)
        .filter(user_roles::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .select((users::id, users::email, users::display_name))
        .load(conn)
}

/// Active supervisors as (id, email, display name): the daily digest's recipients.
pub fn active_supervisors(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, String)>> {
    users::table
        .inner_join(user_roles::table)
        .filter(user_roles::role.eq(Role::Supervisor.as_str()))
        .filter(users::active.eq(true))
        .select((users::id, users::email, users::display_name))
        .load(conn)
}

/// (id, email, display name, role, jurisdiction) of a caseworker.
pub type CaseworkerRow = (String, String, String, String, Option<String>);

/// The active users who work on requests (liaison officers and supervisors), one row per
/// role and jurisdiction: (id, email, display name, role, jurisdiction), by name.
pub fn caseworkers(conn: &mut DbConnection) -> QueryResult<Vec<CaseworkerRow>> {
    users::table
        .inner_join(user_roles::table)
        .left_join(user_jurisdictions::table)
        .filter(users::active.eq(true))
        .filter(user_roles::role.eq_any([Role::LiaisonOfficer.as_str(), Role::Supervisor.as_str()]))
        .select((
            users::id,
            users::email,
            users::display_name,
            user_roles::role,
            user_jurisdictions::jurisdiction_id.nullable(),
        ))
        .order((users::display_name, users::id))
        .load(conn)
}

/// Display names of the given users, as (id, name): the people a list page names.
pub fn display_names(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = users::table.select((users::id, users::display_name));
    match conn.backend() {
        super::Backend::Sqlite => q.filter(super::any_of(users::id, ids)).load(conn),
        super::Backend::Postgres => q.filter(users::id.eq_any(ids)).load(conn),
    }
}

/// Gives a session a browser token (stored as its hash) and the CSRF token of its forms.
pub fn insert_web_session(
    conn: &mut DbConnection,
    token_hash: &str,
    session_id: &str,
    csrf_token: &str,
) -> QueryResult<()> {
    diesel::insert_into(web_sessions::table)
        .values((
            web_sessions::token_hash.eq(token_hash),
            web_sessions::session_id.eq(session_id),
            web_sessions::csrf_token.eq(csrf_token),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session and CSRF token behind a browser token's hash.
pub fn find_web_session(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<(String, String)>> {
    web_sessions::table
        .find(token_hash)
        .select((web_sessions::session_id, web_sessions::csrf_token))
        .first(conn)
        .optional()
}

/// Active liaison officers of a jurisdiction, as (id, display name).
pub fn active_liaison_officers_of(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
) -> QueryResult<Vec<(String, String)>> {
    users::table
        .inner_join(user_roles::table)
        .inner_join(user_jurisdictions::table)
        .filter(user_roles::role.eq(Role::LiaisonOfficer.as_str()))
        .filter(user_jurisdictions::jurisdiction_id.eq(jurisdiction_id))
        .filter(users::active.eq(true))
        .select((users::id, users::display_name))
        .load(conn)
}
