//! What every request handler shares.

use std::sync::Arc;

use crate::auth::limiter::LoginLimiter;
use crate::auth::password::Hasher;
use crate::auth::tokens::Keys;
use crate::config::Settings;
use crate::db::Database;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub keys: Arc<Keys>,
    pub hasher: Hasher,
    pub login_limiter: LoginLimiter,
    /// Refreshes have their own budget, so routine refreshes never crowd out sign-ins.
    pub refresh_limiter: LoginLimiter,
}
