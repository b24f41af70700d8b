//! One file per panel. [`Panels`] owns them all and routes drawing and worker events.

mod about;
mod accounts;
mod billing_form;
mod dashboard;
mod ledger;
mod licenses;
mod payment_form;
mod placeholder;
mod settings;
mod signing_keys;

use super::toasts::Toasts;
use super::{AppCtx, Page};
use crate::domain::settings::Settings;
use crate::jobs::Event;

/// Every panel's view state.
pub struct Panels {
    dashboard: dashboard::DashboardPanel,
    accounts: accounts::AccountsPanel,
    settings: settings::SettingsPanel,
    signing_keys: signing_keys::SigningKeysPanel,
    ledger: ledger::LedgerPanel,
    licenses: licenses::LicensesPanel,
}

impl Panels {
    /// Fresh view state; the settings form starts from the saved settings.
    pub fn new(saved: &Settings) -> Self {
        Self {
            dashboard: dashboard::DashboardPanel,
            accounts: accounts::AccountsPanel::default(),
            settings: settings::SettingsPanel::new(saved),
            signing_keys: signing_keys::SigningKeysPanel::default(),
            ledger: ledger::LedgerPanel::default(),
            licenses: licenses::LicensesPanel::default(),
        }
    }

    /// Draws the panel for `page`.
    pub fn ui(&mut self, page: Page, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        match page {
            Page::Dashboard => self.dashboard.ui(ui, cx),
            Page::Accounts => self.accounts.ui(ui, cx),
            Page::Settings => self.settings.ui(ui, cx),
            Page::SigningKeys => self.signing_keys.ui(ui, cx),
            Page::Ledger => self.ledger.ui(ui, cx),
            Page::Licenses => self.licenses.ui(ui, cx),
            other => placeholder::ui(ui, other),
        }
    }

    /// Lets each panel react to what the worker reported.
    pub fn on_event(&mut self, event: &Event, toasts: &mut Toasts) {
        self.accounts.on_event(event, toasts);
        self.settings.on_event(event);
        self.signing_keys.on_event(event);
        self.ledger.on_event(event);
        self.licenses.on_event(event);
    }
}
