//! rfa-tracker: the case-management backend for requests for assistance (RFAs).
//!
//! `main.rs` only parses the command line; everything else lives here so that tests and
//! benchmarks can build and start the same application.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod documents;
pub mod domain;
pub mod error;
pub mod export;
pub mod files;
pub mod mail;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod transport;
pub mod web;
