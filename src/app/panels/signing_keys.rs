//! Signing keys: generate (and rotate), unlock for this session, lock, export the public key
//! in three forms, and move a key between machines as an encrypted key file. Passphrases are
//! typed into [`SecretText`] fields, wiped as soon as they are sent or the form closes.

use crate::app::AppCtx;
use crate::app::widgets::{self, SecretText, Tone};
use crate::domain::time;
use crate::jobs::{Command, Event, RequestId};
use crate::services::files::Saved;
use crate::services::keys::{self, KeysCommand, KeysEvent, PublicKeyFormat, Secret};
use crate::store::keys::KeyRow;
use licensekey::KeyId;
use std::path::PathBuf;

/// The "Generate key" form.
#[derive(Default)]
struct NewKeyForm {
    name: String,
    passphrase: SecretText,
    repeat: SecretText,
    make_active: bool,
}

/// The "Unlock" form of one key.
struct UnlockForm {
    key_id: KeyId,
    passphrase: SecretText,
    sent: Option<RequestId>,
    error: Option<String>,
}

/// The "Import encrypted key file" form.
#[derive(Default)]
struct ImportForm {
    path: String,
    passphrase: SecretText,
    make_active: bool,
    sent: Option<RequestId>,
    error: Option<String>,
}

/// View state of the Signing keys panel.
#[derive(Default)]
pub struct SigningKeysPanel {
    keys: Option<Vec<KeyRow>>,
    new_key: Option<NewKeyForm>,
    unlocking: Option<UnlockForm>,
    exported: Option<(KeyId, PublicKeyFormat)>,
    import: ImportForm,
}

impl SigningKeysPanel {
    pub fn on_event(&mut self, event: &Event) {
        let Event::Keys(event) = event else { return };
        match event {
            KeysEvent::Generated(_) | KeysEvent::Activated(_) => {
                self.keys = None;
                self.new_key = None;
            }
            KeysEvent::Imported(_) => {
                self.keys = None;
                self.import = ImportForm::default();
            }
            KeysEvent::Unlocked(_) => self.unlocking = None,
            KeysEvent::Exported { .. } | KeysEvent::Locked { .. } => {}
        }
    }

    /// Shows a refused unlock or import under its form.
    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if let Some(form) = &mut self.unlocking
            && form.sent == Some(request)
        {
            form.sent = None;
            form.error = Some(message.to_string());
        }
        if self.import.sent == Some(request) {
            self.import.sent = None;
            self.import.error = Some(message.to_string());
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Signing keys");
        ui.label("Licenses are signed with the active key. Keys are stored encrypted under a passphrase and unlocked only for this session; retired keys keep verifying the licenses they signed.");
        ui.add_space(6.0);
        if self.keys.is_none() {
            let read = crate::store::keys::list(cx.db);
            self.keys = Some(cx.or_toast(read, Vec::new()));
        }
        let keys = self.keys.clone().unwrap_or_default();
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
                cx.send(Command::Keys(KeysCommand::Lock));
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
        let problems = keys::validate_new(
            &form.name,
            form.passphrase.as_str(),
            Some(form.repeat.as_str()),
        );
        let show =
            |field: &str, typed: bool| problems.get(field).filter(|_| typed).map(str::to_owned);
        let err = show("Key name", !form.name.is_empty());
        widgets::text_field(ui, "Key name", &mut form.name, err.as_deref());
        let err = show("Passphrase", !form.passphrase.is_empty());
        widgets::password_field(ui, "Passphrase", &mut form.passphrase, err.as_deref());
        let err = show("Repeat passphrase", !form.repeat.is_empty());
        widgets::password_field(ui, "Repeat passphrase", &mut form.repeat, err.as_deref());
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(
                &mut form.make_active,
                "Sign new licenses with this key (older keys keep verifying)",
            )
        });
        ui.label("Keep the passphrase safe: without it the key cannot be used, and it cannot be recovered.");
        let mut close = false;
        ui.horizontal(|ui| {
            if widgets::submit_button(ui, "Create key", &problems) {
                cx.send(Command::Keys(KeysCommand::Generate {
                    name: form.name.clone(),
                    passphrase: Secret::new(form.passphrase.as_str()),
                    make_active: form.make_active,
                }));
                form.passphrase.clear(ui.ctx());
                form.repeat.clear(ui.ctx());
            }
            close = ui.button("Cancel").clicked() || widgets::escape_pressed(ui);
        });
        if close {
            form.passphrase.clear(ui.ctx());
            form.repeat.clear(ui.ctx());
            self.new_key = None;
        }
    }

    fn key_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, key: &KeyRow) {
        let unlocked = cx.unlocked_keys.contains_key(&key.key_id);
        ui.horizontal(|ui| {
            ui.strong(&key.name);
            ui.monospace(key.key_id.to_string());
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
            ui.label(format!("created {}", time::date(key.created_at)));
        });
        ui.horizontal_wrapped(|ui| {
            if !unlocked && ui.button(format!("Unlock {}", key.name)).clicked() {
                self.unlocking = Some(UnlockForm {
                    key_id: key.key_id,
                    passphrase: SecretText::default(),
                    sent: None,
                    error: None,
                });
            }
            if !key.active && ui.button(format!("Make {} active", key.name)).clicked() {
                cx.send(Command::Keys(KeysCommand::Activate { key_id: key.key_id }));
            }
            for format in PublicKeyFormat::ALL {
                if ui
                    .button(format!("Public key ({})", format.name()))
                    .clicked()
                {
                    self.exported = Some((key.key_id, format));
                }
            }
            if ui
                .button(format!("Export encrypted key file of {}", key.name))
                .clicked()
                && let Some(path) = cx
                    .dialogs
                    .save_file("Export encrypted key file", &format!("{}.ldkey", key.name))
            {
                cx.send(Command::Keys(KeysCommand::ExportEncrypted {
                    key_id: key.key_id,
                    path,
                }));
            }
        });
        self.unlock_ui(ui, cx, key);
        self.public_key_ui(ui, cx, key);
    }

    fn unlock_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, key: &KeyRow) {
        let Some(form) = self.unlocking.as_mut().filter(|f| f.key_id == key.key_id) else {
            return;
        };
        let field = widgets::password_field(
            ui,
            "Passphrase to unlock",
            &mut form.passphrase,
            form.error.as_deref(),
        );
        if field.changed() {
            form.error = None;
        }
        let mut submit = field.lost_focus() && widgets::enter_pressed(ui);
        let typed = !form.passphrase.is_empty();
        let mut cancel = false;
        ui.horizontal(|ui| {
            submit |= ui
                .add_enabled(typed && form.sent.is_none(), egui::Button::new("Unlock"))
                .clicked();
            cancel = ui.button("Cancel unlock").clicked() || widgets::escape_pressed(ui);
            if form.sent.is_some() {
                ui.spinner();
                ui.label("Unlocking…");
            }
        });
        if submit && typed && form.sent.is_none() {
            form.sent = Some(cx.send(Command::Keys(KeysCommand::Unlock {
                key_id: form.key_id,
                passphrase: Secret::new(form.passphrase.as_str()),
            })));
            form.passphrase.clear(ui.ctx());
        }
        if cancel {
            form.passphrase.clear(ui.ctx());
            self.unlocking = None;
        }
    }

    fn public_key_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, key: &KeyRow) {
        let Some((id, format)) = self.exported else {
            return;
        };
        if id != key.key_id {
            return;
        }
        match keys::export_public(key, format) {
            Ok(text) => {
                let mut shown = text.clone();
                widgets::field_with(ui, &format!("Public key ({})", format.name()), None, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut shown)
                            .code_editor()
                            .desired_rows(3)
                            .desired_width(f32::INFINITY),
                    )
                });
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
                            cx.send(Command::SaveText {
                                path,
                                contents: text.clone(),
                                what: Saved::PublicKey,
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

    fn import_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label(egui::RichText::new("Move a key to this machine").strong());
        ui.label("Import an encrypted key file exported from another desk; its passphrase proves the file opens.");
        let form = &mut self.import;
        ui.horizontal(|ui| {
            if ui.button("Choose encrypted key file…").clicked()
                && let Some(path) = cx.dialogs.open_file(
                    "Import encrypted key file",
                    "License Desk key",
                    &["ldkey", "txt"],
                )
            {
                form.path = path.display().to_string();
            }
        });
        widgets::text_field(ui, "Key file path", &mut form.path, None);
        let field = widgets::password_field(
            ui,
            "Passphrase of the key file",
            &mut form.passphrase,
            form.error.as_deref(),
        );
        if field.changed() {
            form.error = None;
        }
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(&mut form.make_active, "Sign new licenses with it")
        });
        let ready = !form.path.trim().is_empty() && !form.passphrase.is_empty();
        let mut submit = field.lost_focus() && widgets::enter_pressed(ui);
        ui.horizontal(|ui| {
            submit |= ui
                .add_enabled(
                    ready && form.sent.is_none(),
                    egui::Button::new("Import key"),
                )
                .clicked();
            if form.sent.is_some() {
                ui.spinner();
                ui.label("Checking the passphrase…");
            }
        });
        if submit && ready && form.sent.is_none() {
            form.sent = Some(cx.send(Command::Keys(KeysCommand::Import {
                path: PathBuf::from(form.path.trim()),
                passphrase: Secret::new(form.passphrase.as_str()),
                make_active: form.make_active,
            })));
            form.passphrase.clear(ui.ctx());
        }
    }
}
