//! The `license-desk` binary: the GUI, or a CLI sub-command.

use anyhow::Context as _;
use clap::Parser;
use license_desk::app::{AppConfig, LicenseDeskApp};
use license_desk::cli::Cli;
use license_desk::paths;
use license_desk::platform::renderer::{self, RendererChoice};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn main() -> ExitCode {
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
    if paths::is_default(cli.data_dir.as_deref()) {
        paths::prepare_default(&data_dir)?;
    }
    let database = paths::database_path(&data_dir);
    match cli.command {
        None => {
            run_gui(database, cli.renderer)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(command) => license_desk::cli::run(command, &database),
    }
}

/// The app icon, also embedded in the Windows .exe and used by the installers.
const ICON_PNG: &[u8] = include_bytes!("../assets/icons/hicolor/256x256/apps/license-desk.png");

/// Opens the window with the first renderer that starts: wgpu, then glow (OpenGL) when wgpu
/// fails (eframe reuses its event loop, so a second attempt in the same process works).
fn run_gui(database: PathBuf, choice: RendererChoice) -> anyhow::Result<()> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("License Desk")
        .with_app_id("license-desk")
        .with_inner_size([1280.0, 820.0])
        .with_min_inner_size([900.0, 600.0])
        .with_drag_and_drop(true);
    match eframe::icon_data::from_png_bytes(ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(err) => eprintln!("warning: the window icon could not be read: {err}"),
    }
    let attempts = choice.attempts();
    let mut failures = Vec::new();
    for (index, renderer) in attempts.iter().enumerate() {
        let options = eframe::NativeOptions {
            viewport: viewport.clone(),
            renderer: *renderer,
            ..Default::default()
        };
        let database = database.clone();
        // Support wants to know why the first choice was not used.
        let note = failures
            .last()
            .map(|failure| format!(" — after {failure}"))
            .unwrap_or_default();
        let result = eframe::run_native(
            "License Desk",
            options,
            Box::new(move |cc| {
                let mut config = AppConfig::new(database);
                config.renderer = format!("{}{note}", renderer::describe(cc));
                eprintln!("License Desk: drawing with {}", config.renderer);
                Ok(Box::new(LicenseDeskApp::new(&cc.egui_ctx, config)))
            }),
        );
        match result {
            Ok(()) => return Ok(()),
            Err(err) => {
                let name = format!("{renderer:?}").to_lowercase();
                if index + 1 < attempts.len() {
                    eprintln!("The {name} renderer could not start ({err}); trying the next one.");
                }
                failures.push(format!("{name} failed: {err}"));
            }
        }
    }
    Err(anyhow::anyhow!("{}", failures.join("; ")))
        .context("the window could not be opened (is a display available? try --renderer glow)")
}
