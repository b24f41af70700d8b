//! Before the panels: the page shown while the database opens, the page shown when it cannot
//! be opened (naming the file, the problem and the ways forward for that kind of problem), and
//! the lock that keeps a second window off a data folder already open in one.

use super::dialogs::FileDialogs;
use super::widgets::{self, SecretText};
use crate::jobs::{OpenFailure, OpenProblem};
use crate::services::keys::Secret;
use crate::store::OpenStep;
use std::fs::File;
use std::path::{Path, PathBuf};

/// What the person chose on the failure page.
#[derive(Debug, Clone)]
pub enum Choice {
    /// Try to open the same file again (the drive is back, the other program finished).
    Retry,
    /// Open the same file without writing to it.
    ReadOnly,
    /// Open another database file.
    OpenFile(PathBuf),
    /// Use (or start) the database in another folder.
    UseFolder(PathBuf),
    /// Put a backup in place of the damaged file.
    Restore {
        backup: PathBuf,
        passphrase: Option<Secret>,
    },
    Quit,
}

/// The page while the worker opens (and maybe upgrades) the database.
pub fn opening_ui(ui: &mut egui::Ui, step: Option<&OpenStep>, database: &Path) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.heading("Opening the database…");
        ui.label(database.display().to_string());
        match step {
            None => {
                ui.spinner();
            }
            Some(OpenStep::Checking) => {
                ui.label("The last session did not close the database: checking it first.");
                ui.spinner();
            }
            Some(OpenStep::WaitingForLock { attempt, of }) => {
                ui.label(format!(
                    "Another program is writing to the database: waiting for it (try {attempt} of {of})."
                ));
                ui.add(
                    egui::ProgressBar::new(*attempt as f32 / (*of).max(1) as f32)
                        .desired_width(300.0),
                );
            }
            Some(OpenStep::BackingUp { from }) => {
                ui.label(format!(
                    "Copying the database (version {from}) into backups before upgrading it."
                ));
                ui.spinner();
            }
            Some(OpenStep::Restoring) => {
                ui.label("Checking the backup and putting it in place of the damaged file.");
                ui.spinner();
            }
            Some(OpenStep::Migrating { from, applying, to }) => {
                ui.label(format!(
                    "Upgrading from version {from} to {to} (step {} of {})",
                    applying - from,
                    to - from
                ));
                let fraction = (applying - from) as f32 / (to - from).max(1) as f32;
                ui.add(egui::ProgressBar::new(fraction).desired_width(300.0));
            }
        }
    });
}

/// The failure page's own state: a passphrase for an encrypted backup, a typed path.
#[derive(Default)]
pub struct FailurePage {
    passphrase: SecretText,
    typed: String,
}

impl FailurePage {
    /// Draws the page; returns what the person chose.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        failure: &OpenFailure,
        dialogs: &dyn FileDialogs,
    ) -> Option<Choice> {
        let mut choice = None;
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading(heading(failure.problem));
            ui.add_space(4.0);
            ui.label(format!("Database file: {}", failure.database.display()));
            widgets::error_text(ui, &failure.message);
            ui.add_space(4.0);
            ui.label(advice(failure.problem));
            ui.add_space(8.0);
            let offers = offers(failure.problem);
            ui.horizontal_wrapped(|ui| {
                if offers.retry && ui.button("Try again").clicked() {
                    choice = Some(Choice::Retry);
                }
                if offers.read_only && ui.button("Open read-only").clicked() {
                    choice = Some(Choice::ReadOnly);
                }
                if ui.button("Open another database…").clicked()
                    && let Some(file) =
                        dialogs.open_file("Open a database", "Database", &["sqlite3", "db"])
                {
                    choice = Some(Choice::OpenFile(file));
                }
                if ui.button("Use another folder…").clicked()
                    && let Some(folder) = dialogs.pick_folder("Folder for License Desk's data")
                {
                    choice = Some(Choice::UseFolder(folder));
                }
                if ui.button("Quit").clicked() {
                    choice = Some(Choice::Quit);
                }
            });
            if offers.restore {
                ui.add_space(12.0);
                ui.label(egui::RichText::new("Restore a backup in its place").strong());
                ui.label(
                    "The damaged file is moved into the folder's damaged/ subfolder, never deleted.",
                );
                widgets::text_field(ui, "Backup file", &mut self.typed, None);
                widgets::password_field(
                    ui,
                    "Backup passphrase",
                    &mut self.passphrase,
                    None,
                );
                ui.horizontal(|ui| {
                    if ui.button("Choose backup…").clicked()
                        && let Some(file) = dialogs.open_file(
                            "Choose a backup",
                            "License Desk backup",
                            &["sqlite3", "age"],
                        )
                    {
                        self.typed = file.display().to_string();
                    }
                });
                let typed = self.typed.trim();
                if ui
                    .add_enabled(!typed.is_empty(), egui::Button::new("Restore this backup"))
                    .clicked()
                {
                    let passphrase =
                        (!self.passphrase.is_empty()).then(|| Secret::new(self.passphrase.as_str()));
                    self.passphrase.clear(ui.ctx());
                    choice = Some(Choice::Restore {
                        backup: PathBuf::from(typed),
                        passphrase,
                    });
                }
            }
            if failure.problem != OpenProblem::Damaged
                && let Some(folder) = failure.database.parent()
                && crate::store::backup::folder(&failure.database).is_dir()
            {
                ui.add_space(8.0);
                ui.label(format!(
                    "Backups of this desk are in {}.",
                    folder.join(crate::store::backup::FOLDER).display()
                ));
            }
        });
        choice
    }
}

fn heading(problem: OpenProblem) -> &'static str {
    match problem {
        OpenProblem::Damaged => "The database file is damaged",
        OpenProblem::TooNew => "The database is from a newer License Desk",
        OpenProblem::Locked => "Another program is holding the database",
        OpenProblem::ReadOnly => "The database cannot be written",
        OpenProblem::Unavailable => "The data folder is not there",
        OpenProblem::InUse => "License Desk is already open on this data folder",
        OpenProblem::Other => "License Desk cannot open its database",
    }
}

fn advice(problem: OpenProblem) -> &'static str {
    match problem {
        OpenProblem::Damaged => {
            "Nothing was written to it. Restore a backup in its place, or open another database."
        }
        OpenProblem::TooNew => {
            "This version will not write to it or convert it back: open it with the newer License Desk."
        }
        OpenProblem::Locked => {
            "Another program kept its write lock. Try again when it has finished, or open the database read-only meanwhile."
        }
        OpenProblem::ReadOnly => {
            "The file, its folder or the drive is read-only. Open it read-only to look, or use a folder you can write."
        }
        OpenProblem::Unavailable => {
            "Is the drive that held it connected? Try again once it is, or use another folder."
        }
        OpenProblem::InUse => {
            "Switch to the window that has it open, or open it here read-only. Command-line tools keep working beside it."
        }
        OpenProblem::Other => "Try again, or open another database.",
    }
}

/// Which ways forward fit a problem (opening another database and quitting always do).
struct Offers {
    retry: bool,
    read_only: bool,
    restore: bool,
}

fn offers(problem: OpenProblem) -> Offers {
    use OpenProblem::*;
    Offers {
        retry: matches!(problem, Locked | Unavailable | InUse | Other | ReadOnly),
        read_only: matches!(problem, Locked | ReadOnly | InUse),
        restore: problem == Damaged,
    }
}

/// Held while a window has a data folder open; a second window finds it taken.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Claims the window's lock beside `database` (`NAME.lock`, an OS advisory lock that dies with
/// the process). `Ok(None)` when no lock file can be made there (a read-only or missing folder:
/// opening will say what is wrong); `Err` when another window holds it. The CLI never takes
/// it, so command-line writers keep working beside the window.
pub fn claim(database: &Path) -> Result<Option<InstanceLock>, OpenFailure> {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
    else {
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(InstanceLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenFailure {
            database: database.to_path_buf(),
            problem: OpenProblem::InUse,
            message: "another License Desk window has this database open".into(),
        }),
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}
