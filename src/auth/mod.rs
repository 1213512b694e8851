//! Credentials: password hashing and tokens. No HTTP and no SQL here.

pub mod limiter;
pub mod password;
pub mod tokens;
