//! Settings: where the data lives, theme, air-gapped mode, key lock time, operator name,
//! backups, and sync (portal, sealed device token, background rounds, "Sync now").

use super::sync::SyncNow;
use crate::app::AppCtx;
use crate::app::widgets;
use crate::domain::settings::{Settings, Theme};
use crate::jobs::{Command, Event, RequestId};
use crate::services::sync::SyncCommand;

/// The settings form, starting from what is saved.
pub struct SettingsPanel {
    draft: Settings,
    idle_minutes: String,
    backups_kept: String,
    sync_interval: String,
    /// A device token being typed (hidden, wiped once sealed).
    token: widgets::SecretText,
    /// The request sealing it, while it runs.
    sealing: Option<RequestId>,
    sync_now: SyncNow,
}

impl SettingsPanel {
    pub fn new(saved: &Settings) -> Self {
        Self {
            draft: saved.clone(),
            idle_minutes: saved.key_idle_lock_minutes.to_string(),
            backups_kept: saved.backups_kept.to_string(),
            sync_interval: saved.sync_interval_minutes.to_string(),
            token: widgets::SecretText::default(),
            sealing: None,
            sync_now: SyncNow::default(),
        }
    }

    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        self.sync_now.on_ended(request);
        if self.sealing.take_if(|r| *r == request).is_some() {
            self.token = widgets::SecretText::default();
        }
        if let Event::SettingsSaved(saved) = event {
            self.draft = saved.clone();
            self.idle_minutes = saved.key_idle_lock_minutes.to_string();
            self.backups_kept = saved.backups_kept.to_string();
            self.sync_interval = saved.sync_interval_minutes.to_string();
        }
    }

    /// A request failed: what was typed stays, to be corrected.
    pub fn on_failed(&mut self, request: RequestId) {
        self.sync_now.on_ended(request);
        self.sealing.take_if(|r| *r == request);
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Settings");
        ui.add_space(8.0);
        ui.label(egui::RichText::new("Data").strong());
        let dir = cx
            .database_path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        ui.label(format!("Data directory: {dir}"));
        ui.label(format!("Database file: {}", cx.database_path.display()));
        ui.label("Start with --data-dir DIR or set LICENSE_DESK_DATA to use another folder.");
        ui.separator();

        ui.label(egui::RichText::new("Appearance").strong());
        ui.horizontal(|ui| {
            for theme in Theme::ALL {
                ui.radio_value(&mut self.draft.theme, theme, theme.label());
            }
        });
        ui.separator();

        ui.label(egui::RichText::new("Security").strong());
        ui.checkbox(
            &mut self.draft.air_gapped,
            "Air-gapped mode (no network code runs)",
        );
        let parsed = self.idle_minutes.trim().parse::<u32>();
        if let Ok(minutes) = parsed {
            self.draft.key_idle_lock_minutes = minutes;
        }
        let kept = self.backups_kept.trim().parse::<u32>();
        if let Ok(kept) = kept {
            self.draft.backups_kept = kept;
        }
        let mut problems = self.draft.validate();
        if parsed.is_err() {
            problems.push(
                "Lock keys after (minutes)",
                "must be a whole number of minutes",
            );
        }
        if kept.is_err() {
            problems.push("Daily backups kept", "must be a whole number");
        }
        let interval = self.sync_interval.trim().parse::<u32>();
        if let Ok(minutes) = interval {
            self.draft.sync_interval_minutes = minutes;
        }
        if interval.is_err() {
            problems.push("Sync every (minutes)", "must be a whole number of minutes");
        }
        widgets::text_field(
            ui,
            "Lock keys after (minutes)",
            &mut self.idle_minutes,
            problems.get("Lock keys after (minutes)"),
        );
        widgets::text_field(
            ui,
            "Operator name",
            &mut self.draft.operator,
            problems.get("Operator name"),
        );
        ui.separator();
        ui.label(egui::RichText::new("Automatic backups").strong());
        ui.checkbox(
            &mut self.draft.daily_backups,
            "Take a daily backup into the data folder's backups/",
        );
        widgets::text_field(
            ui,
            "Daily backups kept",
            &mut self.backups_kept,
            problems.get("Daily backups kept"),
        );
        ui.separator();
        self.sync_ui(ui, cx, &problems);
        ui.add_space(8.0);
        let unchanged = &self.draft == cx.settings;
        ui.horizontal(|ui| {
            if widgets::submit_button(ui, "Save settings", &problems) && !unchanged {
                cx.send(Command::SaveSettings(self.draft.clone()));
            }
            if unchanged {
                ui.label("No unsaved changes.");
            }
        });
        ui.separator();
        self.token_ui(ui, cx);
        ui.separator();
        super::about::ui(ui, cx.renderer);
    }

    /// The portal and background rounds (saved with the other settings).
    fn sync_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut AppCtx<'_>,
        problems: &crate::domain::FieldErrors,
    ) {
        ui.label(egui::RichText::new("Sync").strong());
        ui.label("Sync is optional: a desk works fully on its own. With a portal, desks share accounts and their changes.");
        widgets::text_field(
            ui,
            "Portal URL",
            &mut self.draft.portal_url,
            problems.get("Portal URL"),
        );
        self.ca_ui(ui, cx, problems);
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(&mut self.draft.sync_enabled, "Sync in the background")
        });
        if let Some(problem) = problems.get("Sync in the background") {
            widgets::error_text(ui, &format!("Sync in the background: {problem}"));
        }
        widgets::text_field(
            ui,
            "Sync every (minutes)",
            &mut self.sync_interval,
            problems.get("Sync every (minutes)"),
        );
    }

    /// The CA certificate trusted for the portal besides the system's (a private CA or a
    /// self-signed certificate), read from a file and saved with the settings.
    fn ca_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut AppCtx<'_>,
        problems: &crate::domain::FieldErrors,
    ) {
        ui.horizontal_wrapped(|ui| {
            let saved = self.draft.portal_ca().is_some();
            let pem = &mut self.draft.portal_ca_pem;
            ui.label(match crate::domain::settings::ca_fingerprint(pem) {
                Some(short) => {
                    format!("Portal CA certificate: trusted besides the system's (SHA-256 {short})")
                }
                None => "Portal CA certificate: none (the system's trusted CAs)".to_string(),
            });
            if ui.button("Choose CA certificate...").clicked()
                && let Some(path) = cx.dialogs.open_file(
                    "Portal CA certificate",
                    "PEM certificate",
                    &["pem", "crt", "cer"],
                )
            {
                match crate::files::read_text(&path, crate::files::CA_CERTIFICATE) {
                    Ok(text) => *pem = text,
                    Err(e) => cx.toasts.error(format!("Portal CA certificate: {e}")),
                }
            }
            if saved && ui.button("Remove CA certificate").clicked() {
                pem.clear();
            }
        });
        if let Some(problem) = problems.get("Portal CA certificate") {
            widgets::error_text(ui, &format!("Portal CA certificate: {problem}"));
        }
    }

    /// The device token, sealed under the active signing key, and "Sync now" (both act at
    /// once, apart from "Save settings").
    fn token_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label(egui::RichText::new("Device token").strong());
        match crate::store::sync::token_info(cx.db) {
            Ok(Some(info)) => {
                let key = cx.unlocked_keys.get(&info.key_id).map_or_else(
                    || format!("{} (locked)", info.key_id),
                    |name| format!("'{name}'"),
                );
                ui.label(format!(
                    "A device token is saved, sealed under the signing key {key} on {}.",
                    crate::domain::time::date_time(info.set_at)
                ));
            }
            Ok(None) => {
                ui.label("No device token saved. Ask the portal's operator for one (license-portal token create).");
            }
            Err(e) => widgets::error_text(ui, &format!("Could not read the device token: {e}")),
        }
        ui.label(
            egui::RichText::new(
                "It is sealed under the active signing key, which must be unlocked to save it and once a session to sync.",
            )
            .weak(),
        );
        let problem = match crate::services::sync::check_token(self.token.as_str()) {
            Err(e) if !self.token.is_empty() => Some(e.to_string()),
            _ => None,
        };
        widgets::password_field(
            ui,
            "New device token",
            &mut self.token,
            problem
                .as_deref()
                .and_then(|p| p.strip_prefix("Device token: ")),
        );
        ui.horizontal(|ui| {
            let ready = problem.is_none() && !self.token.is_empty() && self.sealing.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Seal device token"))
                .clicked()
            {
                let token = crate::services::keys::Secret::new(self.token.as_str());
                self.sealing = Some(cx.send(Command::Sync(SyncCommand::SaveToken { token })));
                self.token.clear(ui.ctx());
            }
            if ui.button("Forget device token").clicked() {
                cx.send(Command::Sync(SyncCommand::ForgetToken));
            }
        });
        self.sync_now.ui(ui, cx);
    }
}
