//! Settings staff choose in the Settings panel.

use serde::{Deserialize, Serialize};

/// Colour theme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    /// Follow the operating system.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// Every theme, in picker order.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The stored and displayed name.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// Parses a stored name; anything unknown falls back to following the system.
    pub fn from_label(label: &str) -> Theme {
        Theme::ALL
            .into_iter()
            .find(|t| t.label() == label)
            .unwrap_or_default()
    }
}

/// All settings, as one value the worker saves in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub theme: Theme,
    /// When on, no network code may run (enforced by sync).
    pub air_gapped: bool,
    /// Unlocked signing keys lock themselves after this many idle minutes.
    pub key_idle_lock_minutes: u32,
    /// Name recorded as the operator in the issuance ledger.
    pub operator: String,
    /// Take a copy of the database into the data folder's `backups/` once a day.
    pub daily_backups: bool,
    /// How many daily copies are kept (the oldest beyond that are deleted).
    pub backups_kept: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            air_gapped: false,
            key_idle_lock_minutes: 10,
            operator: String::new(),
            daily_backups: true,
            backups_kept: 7,
        }
    }
}

impl Settings {
    /// Checks the values a person can type.
    pub fn validate(&self) -> super::FieldErrors {
        let mut errors = super::FieldErrors::default();
        if !(1..=1440).contains(&self.key_idle_lock_minutes) {
            errors.push("Lock keys after (minutes)", "must be from 1 to 1440");
        }
        super::validation::optional_text(&mut errors, "Operator name", &self.operator, 80);
        if !(1..=365).contains(&self.backups_kept) {
            errors.push("Daily backups kept", "must be from 1 to 365");
        }
        errors
    }
}
