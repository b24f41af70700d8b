//! License Desk: a desktop license manager for a software vendor's staff.
//!
//! The binary glues these modules together: `domain` holds plain types and rules (no I/O),
//! `store` turns them into SQLite rows, `jobs` is the background worker that owns every
//! write, and `app` is the egui shell that reads pages and sends commands.

pub mod app;
pub mod cli;
pub mod clock;
pub mod domain;
pub mod error;
pub mod issuance;
pub mod jobs;
pub mod paths;
pub mod platform;
pub mod store;
pub mod vault;
