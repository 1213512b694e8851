//! Whether the service can do its work: the database answers (and, on SQLite, is still the
//! file that was opened).

use crate::db::Backend;
use crate::service::Services;

/// `Ok` with the backend's name, or why the database cannot be used.
pub async fn ready(svc: &Services) -> Result<&'static str, String> {
    let name = match svc.db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    svc.db.ping().await.map(|()| name)
}
