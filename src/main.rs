//! The `license-desk` binary: the GUI, or a CLI sub-command.

use anyhow::Context as _;
use clap::Parser;
use license_desk::app::{AppConfig, LicenseDeskApp};
use license_desk::cli::Cli;
use license_desk::paths;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            license_desk::cli::output::note(&format!("error: {}", describe(&err)));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, each said once: library errors often repeat their
/// source in their own message.
fn describe(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let message = cause.to_string();
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
    }
    text
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let data_dir = paths::data_dir(cli.data_dir.as_deref())?;
    let database = paths::database_path(&data_dir);
    match cli.command {
        None => {
            run_gui(database)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(command) => license_desk::cli::run(command, &database),
    }
}

fn run_gui(database: std::path::PathBuf) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("License Desk")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "License Desk",
        options,
        Box::new(move |cc| {
            Ok(Box::new(LicenseDeskApp::new(
                &cc.egui_ctx,
                AppConfig::new(database),
            )))
        }),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .context("the window could not be opened (is a display available?)")
}
