//! Whether the service can do its work: it is not stopping, and the database answers (and,
//! on SQLite, is still the file that was opened).

use crate::db::Backend;
use crate::service::Services;

/// Why the instance should get no new requests.
#[derive(Debug)]
pub enum NotReady {
    /// It received SIGTERM and is draining: the balancer should send elsewhere.
    Stopping,
    /// The database cannot be used, and why.
    Database(String),
}

/// `Ok` with the backend's name, or why the instance should get no new requests.
pub async fn ready(svc: &Services) -> Result<&'static str, NotReady> {
    if svc.is_draining() {
        return Err(NotReady::Stopping);
    }
    let name = match svc.db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    svc.db
        .ping()
        .await
        .map(|()| name)
        .map_err(NotReady::Database)
}
