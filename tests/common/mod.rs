//! Shared helpers for integration tests: a temporary data directory, a fixed clock and an
//! egui_kittest harness around the real app.
#![allow(dead_code)]

pub mod desk;
pub mod portal;
pub mod shop;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use license_desk::app::dialogs::ScriptedDialogs;
use license_desk::app::{AppConfig, LicenseDeskApp};
use license_desk::clock::FixedClock;
use std::path::PathBuf;
use std::sync::Arc;

/// 2026-11-23 12:00:00 UTC: the fixed "now" of UI tests.
pub const TEST_NOW: i64 = 1_795_435_200;

/// A temporary data directory and its database path.
pub struct TempDesk {
    pub dir: tempfile::TempDir,
}

impl TempDesk {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("test setup"),
        }
    }

    pub fn database(&self) -> PathBuf {
        license_desk::paths::database_path(self.dir.path())
    }

    pub fn config(&self, dialogs: Arc<ScriptedDialogs>) -> AppConfig {
        AppConfig {
            database: self.database(),
            clock: Arc::new(FixedClock::at_unix(TEST_NOW)),
            test_mode: true,
            // The weakest a desk accepts on import, so exported keys can be imported back.
            kdf: keyvault::KdfParams::IMPORT_FLOOR,
            dialogs,
            renderer: "test harness".to_string(),
        }
    }
}

/// The real app in a headless harness built from `config`.
pub fn harness_from(config: AppConfig) -> Harness<'static, LicenseDeskApp> {
    let mut harness = Harness::builder()
        .with_size([1400.0, 1000.0])
        .build_eframe(move |cc| LicenseDeskApp::new(&cc.egui_ctx, config));
    settle(&mut harness);
    assert!(!harness.state().is_opening(), "the database did not open");
    harness
}

/// The real app in a headless harness (file dialogs answer "cancelled").
pub fn harness(desk: &TempDesk) -> Harness<'static, LicenseDeskApp> {
    harness_with(desk, Arc::new(ScriptedDialogs::default()))
}

/// The real app in a headless harness whose file dialogs answer from `dialogs`.
pub fn harness_with(
    desk: &TempDesk,
    dialogs: Arc<ScriptedDialogs>,
) -> Harness<'static, LicenseDeskApp> {
    harness_from(desk.config(dialogs))
}

/// Opens the database file the app uses, as someone with write access to it would (tests that
/// play an attacker, or read what was stored).
#[allow(clippy::disallowed_methods)]
pub fn raw_connection(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("test setup")
}

/// Issues every spec in one bulk run by operator "ada", unlinked, at `now`; returns how many.
pub fn issue_all(
    store: &mut license_desk::store::Store,
    key: &licensekey::SigningKey,
    specs: &[license_desk::domain::issue::IssueSpec],
    now: i64,
) -> u64 {
    license_desk::services::licensing::issue_many(
        store,
        key,
        specs,
        None,
        "ada",
        now,
        &mut license_desk::services::NoProgress,
        |_| Ok(()),
    )
    .expect("bulk issue")
}

/// Lets the worker finish what was sent and draws the result.
pub fn settle(harness: &mut Harness<'_, LicenseDeskApp>) {
    for _ in 0..3 {
        harness.run_ok();
        assert!(
            harness.state().wait_for_worker(),
            "worker did not finish in time"
        );
        harness.run_ok();
    }
}

/// Clicks a navigation entry.
pub fn open_page(harness: &mut Harness<'_, LicenseDeskApp>, name: &str) {
    harness
        .get_by(|n| {
            use egui::accesskit::Role;
            n.label() == Some(name.into())
                && !matches!(
                    n.role(),
                    Role::Label | Role::TextInput | Role::MultilineTextInput | Role::PasswordInput
                )
        })
        .click();
    harness.run_ok();
}

/// The text or password field with this label.
pub fn field<'h>(
    harness: &'h Harness<'_, LicenseDeskApp>,
    label: &'h str,
) -> egui_kittest::Node<'h> {
    use egui::accesskit::Role;
    harness.get_by(move |n| {
        matches!(
            n.role(),
            Role::TextInput | Role::MultilineTextInput | Role::PasswordInput
        ) && n.label().as_deref() == Some(label)
    })
}

/// Focuses a labelled text (or password) field and types into it.
pub fn type_into(harness: &mut Harness<'_, LicenseDeskApp>, label: &str, text: &str) {
    field(harness, label).focus();
    harness.run_ok();
    field(harness, label).type_text(text);
    harness.run_ok();
}

/// Clicks the button with this label.
pub fn click(harness: &mut Harness<'_, LicenseDeskApp>, label: &str) {
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, label)
        .click();
    harness.run_ok();
}

/// True when some node's label contains `text`.
pub fn shows(harness: &Harness<'_, LicenseDeskApp>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// Unlocks the signing key `name` on the Signing keys page with `passphrase`.
pub fn unlock_key(harness: &mut Harness<'_, LicenseDeskApp>, name: &str, passphrase: &str) {
    open_page(harness, "Signing keys");
    click(harness, &format!("Unlock {name}"));
    type_into(harness, "Passphrase to unlock", passphrase);
    click(harness, "Unlock");
    settle(harness);
}

/// Replaces the whole text of a labelled field with `text`.
pub fn replace_text(harness: &mut Harness<'_, LicenseDeskApp>, label: &str, text: &str) {
    field(harness, label).focus();
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    field(harness, label).type_text(text);
    harness.run_ok();
}

/// The status bar's sync words ("Sync: off", "Sync: last round …").
pub fn sync_status(harness: &Harness<'_, LicenseDeskApp>) -> String {
    harness
        .query_all_by_label_contains("Sync")
        // A label keeps its text in the node's value.
        .filter_map(|n| n.accesskit_node().value())
        .find(|l| l.starts_with("Sync: ") || l.starts_with("Sync failed"))
        .unwrap_or_default()
}
