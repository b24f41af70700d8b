//! Settings → Backups: back up now (optionally encrypted), the daily copies and their list,
//! restore from the list or a file (checked and compared first), export and import.

use crate::app::AppCtx;
use crate::app::widgets::{self, SecretText};
use crate::domain::FieldErrors;
use crate::jobs::{Command, Event, RequestId};
use crate::services::backup::{BackupCommand, BackupEvent, Preview, size_text};
use crate::services::keys::Secret;
use crate::store::backup::{self as copies, Listed, Verdict};
use std::path::PathBuf;

/// The Backups tab's state.
#[derive(Default)]
pub struct BackupsPanel {
    /// The backups folder, read when the tab opens and after each backup event.
    listed: Option<Vec<Listed>>,
    encrypt: bool,
    passphrase: SecretText,
    repeat: SecretText,
    dest: String,
    restore_file: String,
    restore_passphrase: SecretText,
    preview: Option<Preview>,
    /// The preview or restore request waiting for an answer.
    waiting: Option<RequestId>,
    /// Why the last preview or restore failed.
    restore_error: Option<String>,
    /// The person pressed "Restore this backup" and is asked to confirm.
    confirming: bool,
}

impl BackupsPanel {
    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        let Event::Backup(event) = event else {
            return;
        };
        self.listed = None;
        if self.waiting == Some(request) {
            self.waiting = None;
        }
        match event {
            BackupEvent::Previewed(preview) => {
                self.preview = Some((**preview).clone());
                self.restore_error = None;
                self.confirming = false;
            }
            BackupEvent::Restored(_) | BackupEvent::Imported { .. } => {
                self.preview = None;
                self.confirming = false;
            }
            _ => {}
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if self.waiting == Some(request) {
            self.waiting = None;
            self.restore_error = Some(message.to_string());
            self.confirming = false;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Backups");
        ui.label(
            "A backup is a checked copy of the whole database, taken while License Desk keeps working.",
        );
        ui.add_space(6.0);
        self.back_up_ui(ui, cx);
        ui.separator();
        self.list_ui(ui, cx);
        ui.separator();
        self.restore_ui(ui, cx);
        ui.separator();
        self.export_ui(ui, cx);
    }

    /// The passphrase for a new encrypted backup or export, when the form is valid.
    fn new_passphrase(&self) -> (Option<Secret>, FieldErrors) {
        let mut problems = FieldErrors::default();
        if !self.encrypt {
            return (None, problems);
        }
        if self.passphrase.as_str().chars().count() < 8 {
            problems.push("Backup passphrase", "must be at least 8 characters");
        } else if self.passphrase.as_str() != self.repeat.as_str() {
            problems.push("Repeat passphrase", "the two passphrases differ");
        }
        (Some(Secret::new(self.passphrase.as_str())), problems)
    }

    fn back_up_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label(egui::RichText::new("Back up now").strong());
        ui.checkbox(
            &mut self.encrypt,
            "Encrypt with a passphrase (age format: the backup reveals nothing without it)",
        );
        let (passphrase, problems) = self.new_passphrase();
        if self.encrypt {
            widgets::password_field(
                ui,
                "Backup passphrase",
                &mut self.passphrase,
                problems.get("Backup passphrase"),
            );
            widgets::password_field(
                ui,
                "Repeat passphrase",
                &mut self.repeat,
                problems.get("Repeat passphrase"),
            );
        }
        widgets::text_field(ui, "Backup file", &mut self.dest, None);
        let ext = if self.encrypt {
            "sqlite3.age"
        } else {
            "sqlite3"
        };
        let default_name = format!("license-desk-{}.{ext}", cx.today().format("%Y-%m-%d"));
        ui.horizontal(|ui| {
            if widgets::submit_button(ui, "Back up now…", &problems)
                && let Some(dest) = cx.dialogs.save_file("Back up the database", &default_name)
            {
                // The save dialog already asked before replacing a file.
                self.send_backup(cx, dest, passphrase.clone(), true);
            }
            let typed = self.dest.trim().to_string();
            if !typed.is_empty() && widgets::submit_button(ui, "Back up to this file", &problems) {
                self.send_backup(cx, PathBuf::from(typed), passphrase, false);
            }
        });
    }

    fn send_backup(
        &mut self,
        cx: &mut AppCtx<'_>,
        dest: PathBuf,
        passphrase: Option<Secret>,
        force: bool,
    ) {
        cx.send(Command::Backup(BackupCommand::BackUp {
            dest,
            passphrase,
            force,
        }));
    }

    fn list_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label(egui::RichText::new("Daily backups").strong());
        let folder = copies::folder(cx.database_path);
        ui.label(format!(
            "{} — daily copies {}, the newest {} kept (change under General). A copy is also taken before every upgrade.",
            folder.display(),
            if cx.settings.daily_backups { "on" } else { "off" },
            cx.settings.backups_kept
        ));
        if ui.button("Take a daily backup now").clicked() {
            cx.send(Command::Backup(BackupCommand::Daily {
                even_if_recent: true,
            }));
        }
        let listed = match &self.listed {
            Some(listed) => listed.clone(),
            None => {
                let read = copies::list(cx.database_path);
                let listed = cx.or_toast(read, Vec::new());
                self.listed = Some(listed.clone());
                listed
            }
        };
        if listed.is_empty() {
            ui.label("No backups in the folder yet.");
            return;
        }
        let mut chosen = None;
        egui::Grid::new("backups_list")
            .striped(true)
            .num_columns(7)
            .show(ui, |ui| {
                for title in [
                    "Taken (UTC)",
                    "Kind",
                    "Size",
                    "Licenses",
                    "Last ledger entry",
                    "Check",
                    "",
                ] {
                    ui.label(egui::RichText::new(title).strong());
                }
                ui.end_row();
                for item in &listed {
                    match &item.description {
                        Some(d) => {
                            ui.label(crate::domain::time::rfc3339(d.taken_at));
                            ui.label(d.kind.label());
                            ui.label(size_text(d.bytes));
                            ui.label(d.contents.licenses.to_string());
                            ui.label(d.contents.ledger_entries.to_string());
                            match &d.verdict {
                                Verdict::Failed(_) => {
                                    widgets::chip(ui, &d.verdict.label(), widgets::Tone::Bad)
                                }
                                other => widgets::chip(ui, &other.label(), widgets::Tone::Good),
                            };
                        }
                        None => {
                            let name = item
                                .path
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            ui.label(name);
                            for _ in 0..4 {
                                ui.label("—");
                            }
                            ui.label("Not described");
                        }
                    }
                    if ui
                        .button("Restore…")
                        .on_hover_text(item.path.display().to_string())
                        .clicked()
                    {
                        chosen = Some(item.path.clone());
                    }
                    ui.end_row();
                }
            });
        if let Some(path) = chosen {
            self.restore_file = path.display().to_string();
            self.check(cx);
        }
    }

    /// Asks the worker to check the chosen backup and compare it with the database.
    fn check(&mut self, cx: &mut AppCtx<'_>) {
        self.preview = None;
        self.restore_error = None;
        self.confirming = false;
        self.waiting = Some(cx.send(Command::Backup(BackupCommand::Preview {
            file: PathBuf::from(self.restore_file.trim()),
            passphrase: self.restore_secret(),
        })));
    }

    fn restore_secret(&self) -> Option<Secret> {
        (!self.restore_passphrase.is_empty()).then(|| Secret::new(self.restore_passphrase.as_str()))
    }

    fn restore_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label(egui::RichText::new("Restore").strong());
        ui.label("The backup is checked and compared with the current database first; the current database is then kept in the backups folder (restoring it undoes the restore).");
        widgets::text_field(ui, "Backup to restore", &mut self.restore_file, None);
        widgets::password_field(
            ui,
            "Passphrase of an encrypted backup",
            &mut self.restore_passphrase,
            None,
        );
        ui.horizontal(|ui| {
            if ui.button("Choose backup file…").clicked()
                && let Some(file) = cx.dialogs.open_file(
                    "Choose a backup",
                    "License Desk backup",
                    &["sqlite3", "age"],
                )
            {
                self.restore_file = file.display().to_string();
                self.check(cx);
            }
            let ready = !self.restore_file.trim().is_empty() && self.waiting.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Check backup"))
                .clicked()
            {
                self.check(cx);
            }
        });
        if self.waiting.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Checking the backup…");
            });
        }
        if let Some(error) = &self.restore_error {
            widgets::error_text(ui, error);
        }
        let Some(preview) = self.preview.clone() else {
            return;
        };
        preview_ui(ui, &preview);
        if let Some(why) = preview.refusal() {
            widgets::error_text(ui, &format!("This backup cannot be restored: {why}"));
            return;
        }
        if !self.confirming {
            if ui.button("Restore this backup").clicked() {
                self.confirming = true;
            }
            return;
        }
        ui.label("Restore this backup over the current database? The current database is kept in the backups folder first.");
        ui.horizontal(|ui| {
            if ui.button("Yes, restore").clicked() {
                self.confirming = false;
                self.waiting = Some(cx.send(Command::Backup(BackupCommand::Restore {
                    file: preview.file.clone(),
                    passphrase: self.restore_secret(),
                })));
                self.restore_passphrase.clear(ui.ctx());
            }
            if ui.button("Cancel restore").clicked() {
                self.confirming = false;
            }
        });
    }

    fn export_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label(egui::RichText::new("Export and import").strong());
        ui.label("Export writes every table as a documented JSON Lines file (docs/export-format.md): the way to another machine or another tool. It holds billing details and the signing keys, still sealed by their passphrases; tick encryption above to protect it. Import loads an export into a new, empty desk.");
        let (passphrase, problems) = self.new_passphrase();
        ui.horizontal(|ui| {
            let name = format!(
                "license-desk-export-{}.jsonl",
                cx.today().format("%Y-%m-%d")
            );
            if widgets::submit_button(ui, "Export everything…", &problems)
                && let Some(dest) = cx.dialogs.save_file("Export everything", &name)
            {
                cx.send(Command::Backup(BackupCommand::Export {
                    dest,
                    passphrase,
                    force: true,
                }));
            }
            if ui.button("Import an export…").clicked()
                && let Some(file) = cx.dialogs.open_file(
                    "Import an export",
                    "License Desk export",
                    &["jsonl", "age"],
                )
            {
                self.waiting = Some(cx.send(Command::Backup(BackupCommand::Import {
                    file,
                    passphrase: self.restore_secret(),
                })));
            }
        });
    }
}

/// What a checked backup holds, against the current database, and what restoring it loses.
fn preview_ui(ui: &mut egui::Ui, preview: &Preview) {
    ui.add_space(4.0);
    ui.label(format!(
        "Backup {}{}",
        preview.file.display(),
        if preview.encrypted {
            " (encrypted)"
        } else {
            ""
        }
    ));
    egui::Grid::new("restore_preview")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            ui.label("");
            ui.label(egui::RichText::new("Backup").strong());
            ui.label(egui::RichText::new("Current").strong());
            ui.end_row();
            let current = preview.current.clone().unwrap_or_default();
            let rows: [(&str, String, String); 5] = [
                (
                    "Schema version",
                    preview.contents.schema.to_string(),
                    crate::store::SCHEMA_VERSION.to_string(),
                ),
                (
                    "Accounts",
                    preview.contents.accounts.to_string(),
                    current.accounts.to_string(),
                ),
                (
                    "Licenses",
                    preview.contents.licenses.to_string(),
                    current.licenses.to_string(),
                ),
                (
                    "Invoices",
                    preview.contents.invoices.to_string(),
                    current.invoices.to_string(),
                ),
                (
                    "Ledger entries",
                    preview.contents.ledger_entries.to_string(),
                    current.ledger_entries.to_string(),
                ),
            ];
            for (name, backup, now) in rows {
                ui.label(name);
                ui.label(backup);
                ui.label(now);
                ui.end_row();
            }
        });
    ui.label(format!("Check: {}", preview.verdict.label()));
    for warning in preview.warnings() {
        widgets::chip(ui, &warning, widgets::Tone::Warning);
    }
}
