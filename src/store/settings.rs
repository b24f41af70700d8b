//! Settings repository: a small key/value table read into [`Settings`].

use super::StoreResult;
use crate::domain::settings::{Settings, Theme};
use rusqlite::{Connection, Transaction, params};
use std::collections::HashMap;

/// Loads settings; keys never saved keep their defaults.
pub fn load(conn: &Connection) -> StoreResult<Settings> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM settings")?;
    let values: HashMap<String, String> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let defaults = Settings::default();
    let flag = |key: &str, default: bool| values.get(key).map_or(default, |v| v == "1");
    Ok(Settings {
        theme: values
            .get("theme")
            .map(|v| Theme::from_label(v))
            .unwrap_or(defaults.theme),
        air_gapped: flag("air_gapped", defaults.air_gapped),
        key_idle_lock_minutes: values
            .get("key_idle_lock_minutes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(defaults.key_idle_lock_minutes),
        operator: values.get("operator").cloned().unwrap_or(defaults.operator),
        daily_backups: flag("daily_backups", defaults.daily_backups),
        backups_kept: values
            .get("backups_kept")
            .and_then(|v| v.parse().ok())
            .filter(|n| (1..=365).contains(n))
            .unwrap_or(defaults.backups_kept),
        sync_enabled: flag("sync_enabled", defaults.sync_enabled),
        portal_url: values
            .get("portal_url")
            .filter(|v| crate::domain::settings::check_portal_url(v).is_ok())
            .cloned()
            .unwrap_or(defaults.portal_url),
        sync_interval_minutes: values
            .get("sync_interval_minutes")
            .and_then(|v| v.parse().ok())
            .filter(|n| (1..=1440).contains(n))
            .unwrap_or(defaults.sync_interval_minutes),
        portal_ca_pem: values
            .get("portal_ca_pem")
            .filter(|v| crate::domain::settings::check_ca_pem(v).is_ok())
            .cloned()
            .unwrap_or(defaults.portal_ca_pem),
    })
}

/// Saves every setting (already validated).
pub fn save(tx: &Transaction<'_>, settings: &Settings) -> StoreResult<()> {
    let flag = |on: bool| if on { "1" } else { "0" }.to_string();
    let pairs = [
        ("theme", settings.theme.label().to_string()),
        ("air_gapped", flag(settings.air_gapped)),
        (
            "key_idle_lock_minutes",
            settings.key_idle_lock_minutes.to_string(),
        ),
        ("operator", settings.operator.clone()),
        ("daily_backups", flag(settings.daily_backups)),
        ("backups_kept", settings.backups_kept.to_string()),
        ("sync_enabled", flag(settings.sync_enabled)),
        ("portal_url", settings.portal().to_string()),
        (
            "sync_interval_minutes",
            settings.sync_interval_minutes.to_string(),
        ),
        ("portal_ca_pem", settings.portal_ca_pem.clone()),
    ];
    let mut stmt = tx.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in pairs {
        stmt.execute(params![key, value])?;
    }
    Ok(())
}
