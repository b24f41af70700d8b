//! Settings: one value, validated, saved in one transaction.

use crate::domain::FieldErrors;
use crate::domain::settings::Settings;
use crate::store::{self, Store, StoreError};

/// Why settings were not saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates and saves every setting.
pub fn save(store: &mut Store, settings: &Settings) -> Result<Settings, SettingsError> {
    settings.validate().into_result()?;
    let stored = Settings {
        operator: settings.operator.trim().to_string(),
        portal_url: settings.portal().to_string(),
        ..settings.clone()
    };
    store.write(|tx| store::settings::save(tx, &stored))?;
    Ok(stored)
}

/// The saved settings (defaults for what was never saved).
pub fn load(store: &Store) -> Result<Settings, SettingsError> {
    Ok(store::settings::load(store.conn())?)
}
