//! Dashboard: what is in the desk at a glance, and the first step on an empty one.

use crate::app::{AppCtx, Page};
use crate::store;

/// The dashboard has no view state yet: it reads its counts each frame (indexed counts).
pub struct DashboardPanel;

impl DashboardPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Dashboard");
        ui.add_space(8.0);
        let accounts = store::accounts::count(cx.db);
        let accounts = cx.or_toast(accounts, 0);
        if accounts == 0 {
            ui.label("No accounts yet. License Desk keeps your customers, their billing details and payment methods, and the licenses you issue to them — all in a local database that works without a network.");
            ui.add_space(8.0);
            if ui.button("Add your first account").clicked() {
                *cx.navigate = Some(Page::Accounts);
            }
            return;
        }
        ui.horizontal(|ui| {
            card(ui, "Accounts", &accounts.to_string());
            if let Some(account) = cx.current_account.as_ref() {
                card(
                    ui,
                    "Current account",
                    &format!("{} · Wallet ID: {}", account.name, account.wallet_id),
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
