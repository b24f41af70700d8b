//! License Desk: a desktop license manager for a software vendor's staff.
//!
//! The binary glues these modules together: `domain` holds plain types and rules (no I/O),
//! `store` turns them into SQLite rows, `services` hold one module per area (the commands, the
//! events and the errors of accounts, keys, licensing, ...), `jobs` is the background worker
//! that runs every GUI command through them, `cli` calls them directly, and `app` is the egui
//! shell that reads pages and sends commands. `files` guards everything read from or written
//! to outside files.

pub mod app;
pub mod cli;
pub mod clock;
pub mod commerce;
pub mod domain;
pub mod files;
pub mod jobs;
pub mod paths;
pub mod platform;
pub mod services;
pub mod store;
pub mod sync;
