//! Settings: where the data lives, theme, air-gapped mode, key lock time, operator name.

use crate::app::AppCtx;
use crate::app::widgets;
use crate::domain::settings::{Settings, Theme};
use crate::jobs::{Command, Event};

/// The settings form, starting from what is saved.
pub struct SettingsPanel {
    draft: Settings,
    idle_minutes: String,
    backups_kept: String,
}

impl SettingsPanel {
    pub fn new(saved: &Settings) -> Self {
        Self {
            draft: saved.clone(),
            idle_minutes: saved.key_idle_lock_minutes.to_string(),
            backups_kept: saved.backups_kept.to_string(),
        }
    }

    pub fn on_event(&mut self, event: &Event) {
        if let Event::SettingsSaved(saved) = event {
            *self = Self::new(saved);
        }
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
        super::about::ui(ui, cx.renderer);
    }
}
