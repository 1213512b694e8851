//! Access tokens (JWT, HS256 pinned) and opaque refresh tokens.
//!
//! Each token names its key with `kid` (a digest of the secret, never the secret), so a
//! new signing key can be introduced while tokens signed by the previous one still verify.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{AuthSettings, Environment, MIN_SECRET_LEN, Settings};

/// The one algorithm accepted; a token naming any other (or `none`) is refused.
const ALGORITHM: Algorithm = Algorithm::HS256;
const DEV_SECRET_FILE: &str = "jwt-secret";

/// 256 random bits, URL-safe base64 without padding.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a refresh token is stored: its SHA-256, so a copy of the database yields no token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// The sign-in session; signing out or a password change ends it at once.
    pub sid: String,
    /// Roles at issue time, for clients. The server authorizes with the stored roles.
    pub roles: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the development signing key {path}: {reason}")]
    DevKey { path: String, reason: String },
    #[error("configuration key `auth.jwt_secret`: the key cannot be used: {0}")]
    Unusable(String),
}

struct Key {
    kid: String,
    encoding: EncodingKey,
}

pub struct Keys {
    current: Key,
    decoding: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
    ttl_secs: u64,
}

fn kid_of(secret: &str) -> String {
    hex::encode(&Sha256::digest(format!("rfa-tracker kid:{secret}").as_bytes())[..8])
}

impl Keys {
    /// The key from configuration; in development without one, a random key generated once
    /// and kept in the data directory, so a restart does not sign everyone out.
    pub fn from_settings(settings: &Settings) -> Result<Self, KeyError> {
        let configured = settings.auth.jwt_secret.trim();
        let secret = if !configured.is_empty() {
            configured.to_string()
        } else {
            debug_assert_eq!(settings.environment, Environment::Development);
            dev_secret(&settings.data_dir)?
        };
        Self::new(&secret, &settings.auth)
    }

    pub fn new(secret: &str, auth: &AuthSettings) -> Result<Self, KeyError> {
        let bad = |e: jsonwebtoken::errors::Error| KeyError::Unusable(e.to_string());
        let mut decoding = HashMap::new();
        for old in &auth.jwt_previous_secrets {
            let old = old.trim();
            decoding.insert(
                kid_of(old),
                DecodingKey::from_secret(old.as_bytes()).map_err(bad)?,
            );
        }
        let kid = kid_of(secret);
        decoding.insert(
            kid.clone(),
            DecodingKey::from_secret(secret.as_bytes()).map_err(bad)?,
        );
        Ok(Self {
            current: Key {
                kid,
                encoding: EncodingKey::from_secret(secret.as_bytes()).map_err(bad)?,
            },
            decoding,
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            ttl_secs: auth.access_token_ttl_secs,
        })
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        roles: Vec<String>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl_secs as i64,
            sid: session_id.to_string(),
            roles,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.current.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.current.encoding)
    }

    /// Verifies signature, algorithm, `exp`, `iss` and `aud`. Any failure is just "invalid":
    /// the caller learns nothing about which check failed.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != ALGORITHM {
            return None;
        }
        let key = self.decoding.get(header.kid.as_deref()?)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

fn dev_secret(data_dir: &Path) -> Result<String, KeyError> {
    let path = data_dir.join(DEV_SECRET_FILE);
    let fail = |e: std::io::Error| KeyError::DevKey {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= MIN_SECRET_LEN => return Ok(s.trim().to_string()),
        Ok(_) => {
            return Err(KeyError::DevKey {
                path: path.display().to_string(),
                reason: "the file holds no usable key; delete it to have a new one made".into(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(fail)?;
    let secret = random_token();
    write_private(&path, &secret).map_err(fail)?;
    tracing::info!(path = %path.display(), "generated a development signing key");
    Ok(secret)
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_TOML;
    use figment::Figment;
    use figment::providers::{Format, Toml};

    fn auth() -> AuthSettings {
        Settings::from_figment(Figment::from(Toml::string(DEFAULT_TOML)))
            .unwrap_or_else(|e| panic!("{e}"))
            .auth
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn issued_tokens_verify_and_carry_claims() {
        let keys = Keys::new(SECRET, &auth()).unwrap_or_else(|e| panic!("{e}"));
        let t = keys
            .issue("u1", "s1", vec!["admin".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        let c = keys
            .verify(&t)
            .unwrap_or_else(|| panic!("valid token refused"));
        assert_eq!((c.sub.as_str(), c.sid.as_str()), ("u1", "s1"));
        assert_eq!(c.exp - c.iat, 900);
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_and_other_keys_fail() {
        let old = Keys::new(SECRET, &auth()).unwrap_or_else(|e| panic!("{e}"));
        let token = old
            .issue("u1", "s1", vec![])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut settings = auth();
        settings.jwt_previous_secrets = vec![SECRET.into()];
        let rotated = Keys::new("another secret of thirty-two chars!!", &settings)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(rotated.verify(&token).is_some());
        let stranger = Keys::new("another secret of thirty-two chars!!", &auth())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(stranger.verify(&token).is_none());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).map(|v| v.len()).ok(), Some(32));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
