//! The service layer: the only thing the front ends (`api`, and the screens to come) call.
//! Typed commands in, views out; each entry point takes the caller and checks it against
//! the access policy (`domain::policy`) itself, then does its work in one transaction. No
//! HTTP here: no `actix_web`, no raw headers or query strings, no JSON values in.

pub mod access;
pub mod accounts;
pub mod backup;
pub mod calendar;
pub mod chain;
pub mod checkpoint;
pub mod context;
pub mod day;
pub mod eligibility;
pub mod health;
pub mod outbox;
pub mod paging;
pub mod record;
pub mod registry;
pub mod reports;
pub mod rfas;
pub mod sign_in_limits;
pub mod trail;
pub mod validate;

pub use context::{Rules, Services};
