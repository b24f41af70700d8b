//! Dashboard: what is in the desk at a glance, and the first step on an empty one.

use crate::app::{AppCtx, Page};
use crate::jobs::Event;
use crate::store;

/// Counts shown on the dashboard, read once and again after a change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    accounts: u64,
    licenses: u64,
    ledger_entries: u64,
}

/// View state: the cached counts.
#[derive(Default)]
pub struct DashboardPanel {
    counts: Option<Counts>,
}

impl DashboardPanel {
    /// Any change may move a count: read them again next time the dashboard is drawn.
    pub fn on_event(&mut self, _event: &Event) {
        self.counts = None;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Dashboard");
        ui.add_space(8.0);
        if self.counts.is_none() {
            let read = (|| {
                Ok(Counts {
                    accounts: store::accounts::total(cx.db)?,
                    licenses: store::licenses::count(cx.db)?,
                    ledger_entries: store::ledger::count(cx.db)?,
                })
            })();
            self.counts = Some(cx.or_toast(read, Counts::default()));
        }
        let counts = self.counts.unwrap_or_default();
        if counts.accounts == 0 && counts.licenses == 0 {
            ui.label("No accounts yet. License Desk keeps your customers, their billing details and payment methods, and the licenses you issue to them — all in a local database that works without a network.");
            ui.add_space(8.0);
            if ui.button("Add your first account").clicked() {
                *cx.navigate = Some(Page::Accounts);
            }
            return;
        }
        ui.horizontal_wrapped(|ui| {
            card(ui, "Accounts", &counts.accounts.to_string());
            card(ui, "Licenses issued", &counts.licenses.to_string());
            card(ui, "Ledger entries", &counts.ledger_entries.to_string());
            if let Some(account) = cx.current_account.as_ref() {
                card(
                    ui,
                    "Current account",
                    &format!("{} · {}", account.name, account.wallet_label()),
                );
            }
        });
    }
}

fn card(ui: &mut egui::Ui, title: &str, value: &str) {
    egui::Frame::group(ui.style())
        .inner_margin(12)
        .show(ui, |ui| {
            ui.set_min_width(160.0);
            ui.label(egui::RichText::new(title).weak());
            ui.label(egui::RichText::new(value).size(22.0).strong());
        });
}
