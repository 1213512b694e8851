//! Units of work that handlers and the command line call: validation, authorization
//! already done by the caller, one transaction each.

pub mod accounts;
pub mod chain;
pub mod day;
pub mod fields;
pub mod paging;
pub mod registry;
pub mod reports;
pub mod rfas;
pub mod validate;
