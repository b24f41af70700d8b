//! One file per panel. [`Panels`] owns them all and routes drawing and worker events.

mod about;
mod accounts;
mod arrays;
mod backups;
mod billing_form;
mod dashboard;
mod doc_view;
mod invoices;
mod ledger;
mod license_edit;
mod license_table;
mod license_transfer;
mod licenses;
mod pay_by;
mod payment_form;
mod placeholder;
mod prices;
mod purchase;
mod quotes_orders;
mod referrals;
mod renewals;
mod seats;
mod settings;
mod signing_keys;
mod sync;
mod wallet;

use super::toasts::Toasts;
use super::{AppCtx, Page};
use crate::domain::settings::Settings;
use crate::jobs::{Event, RequestId};

/// Every panel's view state.
pub struct Panels {
    dashboard: dashboard::DashboardPanel,
    accounts: accounts::AccountsPanel,
    backups: backups::BackupsPanel,
    arrays: arrays::ArraysPanel,
    referrals: referrals::ReferralsPanel,
    settings: settings::SettingsPanel,
    signing_keys: signing_keys::SigningKeysPanel,
    ledger: ledger::LedgerPanel,
    licenses: licenses::LicensesPanel,
    prices: prices::PricesPanel,
    purchase: purchase::PurchasePanel,
    quotes_orders: quotes_orders::QuotesOrdersPanel,
    invoices: invoices::InvoicesPanel,
    seats: seats::SeatsPanel,
    sync: sync::SyncPanel,
}

impl Panels {
    /// Fresh view state; the settings form starts from the saved settings.
    pub fn new(saved: &Settings) -> Self {
        Self {
            dashboard: dashboard::DashboardPanel::default(),
            accounts: accounts::AccountsPanel::default(),
            backups: backups::BackupsPanel::default(),
            arrays: arrays::ArraysPanel::default(),
            referrals: referrals::ReferralsPanel::default(),
            settings: settings::SettingsPanel::new(saved),
            signing_keys: signing_keys::SigningKeysPanel::default(),
            ledger: ledger::LedgerPanel::default(),
            licenses: licenses::LicensesPanel::default(),
            prices: prices::PricesPanel::default(),
            purchase: purchase::PurchasePanel::default(),
            quotes_orders: quotes_orders::QuotesOrdersPanel::default(),
            invoices: invoices::InvoicesPanel::default(),
            seats: seats::SeatsPanel::default(),
            sync: sync::SyncPanel::default(),
        }
    }

    /// Draws the panel for `page`. Panels with a long table scroll it themselves; the others
    /// scroll as a whole.
    pub fn ui(&mut self, page: Page, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        match page {
            Page::Accounts => self.accounts.ui(ui, cx),
            Page::Arrays => self.arrays.ui(ui, cx),
            Page::Referrals => self.referrals.ui(ui, cx),
            Page::Ledger => self.ledger.ui(ui, cx),
            Page::Licenses => {
                self.licenses.ui(ui, cx);
                // "Renew" on a license opens the commerce renewal form for it.
                if let Some(license_id) = self.licenses.take_renew() {
                    self.purchase.renew(license_id);
                    *cx.navigate = Some(Page::Purchase);
                }
            }
            other => {
                egui::ScrollArea::vertical()
                    .id_salt(other.name())
                    .show(ui, |ui| match other {
                        Page::Dashboard => self.dashboard.ui(ui, cx),
                        Page::Settings => {
                            self.prices.tabs(ui);
                            match self.prices.tab {
                                prices::SettingsTab::General => self.settings.ui(ui, cx),
                                prices::SettingsTab::Prices => self.prices.prices_ui(ui, cx),
                                prices::SettingsTab::Seller => self.prices.seller_ui(ui, cx),
                                prices::SettingsTab::Backups => self.backups.ui(ui, cx),
                            }
                        }
                        Page::Purchase => self.purchase.ui(ui, cx),
                        Page::QuotesOrders => {
                            self.quotes_orders.ui(ui, cx);
                            if let Some((id, number, lines)) = self.quotes_orders.revise.take() {
                                self.purchase.revise(id, number, &lines);
                                *cx.navigate = Some(Page::Purchase);
                            }
                        }
                        Page::Invoices => self.invoices.ui(ui, cx),
                        Page::Seats => self.seats.ui(ui, cx),
                        Page::SigningKeys => self.signing_keys.ui(ui, cx),
                        Page::Sync => self.sync.ui(ui, cx),
                        _ => placeholder::ui(ui, other),
                    });
            }
        }
    }

    /// Shows the Licenses panel narrowed to `filter` (the panel applies it to its list).
    pub fn open_licenses(&mut self, filter: crate::domain::license_filter::LicenseFilter) {
        self.licenses.open_with(filter);
    }

    /// Lets each panel react to what the worker did.
    pub fn on_event(&mut self, request: RequestId, event: &Event, toasts: &mut Toasts) {
        self.dashboard.on_event(request, event);
        self.accounts.on_event(request, event, toasts);
        self.backups.on_event(request, event);
        self.arrays.on_event(request, event);
        self.referrals.on_event(request, event);
        self.settings.on_event(request, event);
        self.signing_keys.on_event(event);
        self.ledger.on_event(event);
        self.licenses.on_event(request, event);
        self.prices.on_event(event);
        self.purchase.on_event(request, event);
        self.quotes_orders.on_event(event);
        self.invoices.on_event(event);
        self.seats.on_event(request, event);
        self.sync.on_event(request, event);
    }

    /// Lets panels that wait for a request see that it failed.
    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        self.signing_keys.on_failed(request, message);
        self.licenses.on_failed(request, message);
        self.backups.on_failed(request, message);
        self.dashboard.on_failed(request, message);
        self.arrays.on_failed(request, message);
        self.referrals.on_failed(request, message);
        self.ledger.on_failed(request);
        self.purchase.on_failed(request, message);
        self.seats.on_failed(request, message);
        self.sync.on_failed(request);
        self.settings.on_failed(request);
    }
}
