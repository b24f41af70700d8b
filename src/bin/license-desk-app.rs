//! The window without a console: what the Start menu and a double-click start on Windows.
//!
//! `license-desk.exe` is a console program so that the CLI prints in cmd and PowerShell; started
//! from the Start menu, Windows would open an empty console window beside the app. This
//! binary is the same program (`main.rs`) built for the Windows GUI subsystem; the installer
//! puts it beside the CLI as `License Desk.exe`. On Linux and macOS it is identical to
//! `license-desk` and is not packaged.
#![cfg_attr(windows, windows_subsystem = "windows")]

#[path = "../main.rs"]
mod license_desk_main;

fn main() -> std::process::ExitCode {
    license_desk_main::main()
}
