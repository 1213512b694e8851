//! The screens, tested as a person uses them: the real server on both backends, Debian's
//! Chromium driven over WebDriver (its chromedriver), axe-core run in every page (zero
//! violations), and a screenshot of each screen under `target/screenshots/` to look at.
//! Checks that need no browser (sessions, forged forms, escaping, headers) talk HTTP directly.
//!
//! Without Chromium, its driver or axe-core (`.ci/run` installs them) the browser parts print
//! SKIPPED; under CI they fail instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod admin;
mod browser;
mod reporting;
mod screens;
mod sessions;
