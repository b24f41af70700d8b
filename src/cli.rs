//! Command-line interface (clap). With no sub-command the GUI opens.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// License Desk: customers, billing and offline-signed licenses.
#[derive(Debug, Parser)]
#[command(name = "license-desk", version, about)]
pub struct Cli {
    /// Folder holding the database (default: the platform's data directory).
    #[arg(long, global = true, env = crate::paths::DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

/// Sub-commands that run without a window.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Print where the database is.
    Where,
}
