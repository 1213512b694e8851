//! argon2id password hashing, off the async workers and with a cap on how many hashes run
//! at once: each takes about 19 MiB and 20 ms of a core, so an unbounded burst of sign-ins
//! would stall every other request and could exhaust memory.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// OWASP's recommendation for argon2id: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 256;

fn argon2() -> Result<Argon2<'static>, AppError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| AppError::internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string. Blocking: call from a blocking context.
pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a PHC string. Blocking. A malformed stored hash never matches.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::error!("a stored password hash is not a valid PHC string");
        return false;
    };
    match argon2() {
        Ok(a) => a.verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Rules for a new password: long enough to resist guessing, short enough to hash cheaply.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if chars > MAX_PASSWORD_LEN {
        return Err(format!("must be at most {MAX_PASSWORD_LEN} characters"));
    }
    if password.trim().is_empty() {
        return Err("must not be blank".into());
    }
    Ok(())
}

/// The hashing service shared by all requests.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// How long a hash may wait for its turn before the request is answered 503: a flood of
    /// sign-ins cannot make a legitimate one wait without end, and waiting requests are bounded
    /// by what arrives within this time.
    wait: Duration,
    /// A hash of a random password, verified against when the email is unknown so that an
    /// unknown email costs the same time as a wrong password.
    dummy: Arc<String>,
}

impl Hasher {
    pub fn new(max_concurrent: usize, wait: Duration) -> Result<Self, AppError> {
        let dummy = hash_blocking(&crate::auth::tokens::random_token())?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            wait,
            dummy: Arc::new(dummy),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        // Waiting for a permit is async: queued sign-ins hold no thread. The permit moves into
        // the blocking task, so a client that disconnects does not free it while its hash
        // still runs.
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                tracing::warn!("a password hash waited too long for its turn; answered 503");
                AppError::Busy {
                    retry_after_secs: self.wait.as_secs().max(1),
                }
            })?
            .map_err(|_| AppError::internal("hasher closed"))?;
        tokio::task::spawn_blocking(move || {
            let result = f();
            drop(permit);
            result
        })
        .await
        .map_err(|e| AppError::internal(format!("hashing task failed: {e}")))
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// Verifies against the stored hash, or against the dummy when there is none; the
    /// latter always answers false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let dummy = self.dummy.clone();
        self.run(move || match stored {
            Some(phc) => verify_blocking(&password, &phc),
            None => {
                verify_blocking(&password, &dummy);
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let h = hash_blocking("correct horse battery").unwrap_or_else(|e| panic!("{e}"));
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("correct horse battery", &h));
        assert!(!verify_blocking("correct horse batterz", &h));
        assert!(!verify_blocking("x", "not a phc string"));
    }

    #[test]
    fn new_passwords_have_bounds() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password(&"a".repeat(300)).is_err());
        assert!(check_new_password("            ").is_err());
        assert!(check_new_password("a long enough passphrase").is_ok());
    }
}
