//! The portal against the real server on 127.0.0.1 (a random port), each case over SQLite and
//! over PostgreSQL; the crash and scale-out tests run the real `license-portal` binary.

// Test helpers are plain functions (the `both!` cases), outside clippy's test exemption.
#![allow(clippy::unwrap_used)]

mod common;

mod api;
mod crash;
mod scale_out;
