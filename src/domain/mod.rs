//! Pure rules: no I/O, no HTTP, no SQL. Everything here is unit-tested on its own.

pub mod eligibility;
pub mod email;
pub mod policy;
pub mod registry;
pub mod roles;
