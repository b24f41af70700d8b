//! Signing keys: generate (and rotate), unlock for this session, lock, export the public key
//! in three forms, and move a key between machines as an encrypted key file.

use crate::app::AppCtx;
use crate::app::widgets::{self, Tone};
use crate::domain::FieldErrors;
use crate::jobs::{Command, Event, Secret};
use crate::store::keys::KeyRow;
use crate::vault::{self, PublicKeyFormat};
use keyvault::MIN_PASSPHRASE_CHARS;

/// The "Generate key" form.
#[derive(Default)]
struct NewKeyForm {
    name: String,
    passphrase: String,
    repeat: String,
    make_active: bool,
}

impl NewKeyForm {
    fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        crate::domain::validation::required_text(&mut errors, "Key name", &self.name, 100);
        if self.passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            errors.push(
                "Passphrase",
                format!("needs at least {MIN_PASSPHRASE_CHARS} characters"),
            );
        }
        if self.repeat != self.passphrase {
            errors.push("Repeat passphrase", "does not match the passphrase");
        }
        errors
    }
}

/// View state of the Signing keys panel.
#[derive(Default)]
pub struct SigningKeysPanel {
    keys: Option<Vec<KeyRow>>,
    new_key: Option<NewKeyForm>,
    unlocking: Option<(String, String)>,
    exported: Option<(String, PublicKeyFormat)>,
    import_path: String,
}

impl SigningKeysPanel {
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::KeysChanged { .. } => {
                self.keys = None;
                self.new_key = None;
            }
            Event::KeyUnlocked { .. } => self.unlocking = None,
            _ => {}
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Signing keys");
        ui.label("Licenses are signed with the active Ed25519 key. Private keys are stored encrypted under a passphrase and unlocked only for this session; retired keys keep verifying the licenses they signed.");
        ui.add_space(6.0);
        let keys = match &self.keys {
            Some(keys) => keys.clone(),
            None => {
                let read = crate::store::keys::list(cx.db);
                let keys = cx.or_toast(read, Vec::new());
                self.keys = Some(keys.clone());
                keys
            }
        };
        ui.horizontal(|ui| {
            if self.new_key.is_none() {
                let label = if keys.is_empty() {
                    "Generate key"
                } else {
                    "Rotate: generate a new key"
                };
                if ui.button(label).clicked() {
                    self.new_key = Some(NewKeyForm {
                        make_active: true,
                        ..Default::default()
                    });
                }
            }
            if !cx.unlocked_keys.is_empty() && ui.button("Lock all keys").clicked() {
                cx.send(Command::LockKeys);
            }
        });
        self.new_key_ui(ui, cx);
        ui.separator();
        if keys.is_empty() {
            ui.label("No signing keys yet — generate one to start issuing licenses.");
        }
        for key in &keys {
            self.key_ui(ui, cx, key);
            ui.separator();
        }
        self.import_ui(ui, cx);
    }

    fn new_key_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(form) = &mut self.new_key else {
            return;
        };
        let problems = form.validate();
        let show = |field: &str, value: &str| {
            problems
                .get(field)
                .filter(|_| !value.is_empty())
                .map(str::to_owned)
        };
        let err = show("Key name", &form.name);
        widgets::text_field(ui, "Key name", &mut form.name, err.as_deref());
        let err = show("Passphrase", &form.passphrase);
        widgets::password_field(ui, "Passphrase", &mut form.passphrase, err.as_deref());
        let err = show("Repeat passphrase", &form.repeat);
        widgets::password_field(ui, "Repeat passphrase", &mut form.repeat, err.as_deref());
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(
                &mut form.make_active,
                "Sign new licenses with this key (older keys keep verifying)",
            )
        });
        ui.label("Keep the passphrase safe: without it the key cannot be used, and it cannot be recovered.");
        let mut cancel = false;
        ui.horizontal(|ui| {
            if widgets::submit_button(ui, "Create key", &problems) {
                cx.send(Command::GenerateKey {
                    name: form.name.clone(),
                    passphrase: Secret::new(&form.passphrase),
                    make_active: form.make_active,
                });
                form.passphrase.clear();
                form.repeat.clear();
            }
            cancel = ui.button("Cancel").clicked() || widgets::escape_pressed(ui);
        });
        if cancel {
            self.new_key = None;
        }
    }

    fn key_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, key: &KeyRow) {
        let unlocked = cx.unlocked_keys.contains_key(&key.key_id);
        ui.horizontal(|ui| {
            ui.strong(&key.name);
            ui.monospace(&key.key_id);
            if key.active {
                widgets::chip(ui, "Active", Tone::Good);
            } else {
                widgets::chip(ui, "Retired", Tone::Neutral);
            }
            if unlocked {
                widgets::chip(ui, "Unlocked", Tone::Warning);
            } else {
                widgets::chip(ui, "Locked", Tone::Neutral);
            }
            let created = chrono::DateTime::from_timestamp(key.created_at, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            ui.label(format!("created {created}"));
        });
        ui.horizontal_wrapped(|ui| {
            if !unlocked && ui.button(format!("Unlock {}", key.name)).clicked() {
                self.unlocking = Some((key.key_id.clone(), String::new()));
            }
            if !key.active && ui.button(format!("Make {} active", key.name)).clicked() {
                cx.send(Command::ActivateKey {
                    key_id: key.key_id.clone(),
                });
            }
            for format in PublicKeyFormat::ALL {
                if ui
                    .button(format!("Public key ({})", format.name()))
                    .clicked()
                {
                    self.exported = Some((key.key_id.clone(), format));
                }
            }
            if ui
                .button(format!("Export encrypted key file of {}", key.name))
                .clicked()
                && let Some(path) = cx
                    .dialogs
                    .save_file("Export encrypted key file", &format!("{}.ldkey", key.name))
            {
                cx.send(Command::ExportEncryptedKey {
                    key_id: key.key_id.clone(),
                    path,
                });
            }
        });
        if self
            .unlocking
            .as_ref()
            .is_some_and(|(id, _)| *id == key.key_id)
        {
            let (mut submit, mut cancel) = (false, false);
            if let Some((_, passphrase)) = &mut self.unlocking {
                let field = widgets::password_field(ui, "Passphrase to unlock", passphrase, None);
                submit = field.lost_focus() && widgets::enter_pressed(ui);
                let typed = !passphrase.is_empty();
                ui.horizontal(|ui| {
                    submit |= ui.add_enabled(typed, egui::Button::new("Unlock")).clicked();
                    cancel = ui.button("Cancel unlock").clicked();
                });
            }
            if let (true, Some((id, passphrase))) = (submit, &mut self.unlocking) {
                cx.send(Command::UnlockKey {
                    key_id: id.clone(),
                    passphrase: Secret::new(passphrase),
                });
                passphrase.clear();
            }
            if cancel {
                self.unlocking = None;
            }
        }
        if let Some((id, format)) = self.exported.clone()
            && id == key.key_id
        {
            match vault::export_public(key, format) {
                Ok(text) => {
                    let mut shown = text.clone();
                    widgets::field_with(
                        ui,
                        &format!("Public key ({})", format.name()),
                        None,
                        |ui| {
                            ui.add(
                                egui::TextEdit::multiline(&mut shown)
                                    .code_editor()
                                    .desired_rows(3)
                                    .desired_width(f32::INFINITY),
                            )
                        },
                    );
                    ui.horizontal(|ui| {
                        if ui.button("Copy public key").clicked() {
                            ui.ctx().copy_text(text.clone());
                            cx.toasts.success("Public key copied");
                        }
                        if ui.button("Save public key…").clicked() {
                            let name = match format {
                                PublicKeyFormat::Base64 => format!("{}.pub.b64", key.name),
                                PublicKeyFormat::Pem => format!("{}.pub.pem", key.name),
                                PublicKeyFormat::Rust => "license_key.rs".to_string(),
                            };
                            if let Some(path) = cx.dialogs.save_file("Save public key", &name) {
                                cx.send(Command::SaveFile {
                                    path,
                                    contents: text.clone(),
                                    what: "Public key".into(),
                                });
                            }
                        }
                        if ui.button("Close").clicked() {
                            self.exported = None;
                        }
                    });
                }
                Err(err) => widgets::error_text(ui, &err.to_string()),
            }
        }
    }

    fn import_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label(egui::RichText::new("Move a key to this machine").strong());
        ui.horizontal(|ui| {
            if ui.button("Import encrypted key file…").clicked()
                && let Some(path) = cx.dialogs.open_file(
                    "Import encrypted key file",
                    "License Desk key",
                    &["ldkey", "txt"],
                )
            {
                cx.send(Command::ImportKey { path });
            }
        });
        widgets::text_field(ui, "Key file path", &mut self.import_path, None);
        if ui
            .add_enabled(
                !self.import_path.trim().is_empty(),
                egui::Button::new("Import from path"),
            )
            .clicked()
        {
            cx.send(Command::ImportKey {
                path: self.import_path.trim().into(),
            });
            self.import_path.clear();
        }
    }
}
