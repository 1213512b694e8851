//! Black-box tests of the HTTP API, each on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod accounts;
mod backup;
mod bad_input;
mod balancer;
mod bench_smoke;
mod calendar;
mod cli;
mod contract;
mod crash;
mod deployment;
mod documents;
mod foundation;
mod limits;
mod mail;
mod matrix;
mod registry;
mod reports;
mod rfas;
mod search;
mod sequences;
mod service_access;
mod smtp;
mod tamper;
