//! The "Edit billing details" screen. Saving returns to the account, as the seed portal does;
//! Cancel returns without changing anything.

use crate::app::AppCtx;
use crate::app::widgets;
use crate::domain::account::Account;
use crate::domain::billing::BillingDetails;
use crate::domain::country;
use crate::jobs::Command;
use crate::services::accounts::AccountsCommand;
use std::collections::HashSet;

/// Form state: the draft and which fields were touched (their messages show as one types).
pub struct BillingForm {
    draft: BillingDetails,
    touched: HashSet<&'static str>,
    save_attempted: bool,
}

impl BillingForm {
    /// A form starting from the saved details (or blank ones).
    pub fn new(saved: BillingDetails) -> Self {
        let mut draft = saved;
        if let Some(c) = country::resolve(&draft.country) {
            draft.country = c.name.to_string();
        }
        Self {
            draft,
            touched: HashSet::new(),
            save_attempted: false,
        }
    }

    /// Draws the form; returns true when staff leave it without saving.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, account: &Account) -> bool {
        ui.heading(format!("Billing details — {}", account.name));
        ui.label(account.wallet_label());
        ui.add_space(8.0);
        let problems = self.draft.validate();
        let show = |field: &'static str, touched: &HashSet<&'static str>, attempted: bool| {
            (attempted || touched.contains(field))
                .then(|| problems.get(field))
                .flatten()
        };
        let d = &mut self.draft;
        let t = &mut self.touched;
        let a = self.save_attempted;
        let mut field = |ui: &mut egui::Ui, name: &'static str, value: &mut String| {
            let shown = show(name, t, a).map(str::to_owned);
            if widgets::text_field(ui, name, value, shown.as_deref()).changed() {
                t.insert(name);
            }
        };
        field(ui, "Company", &mut d.company);
        field(ui, "Contact name", &mut d.contact_name);
        field(ui, "Email", &mut d.email);
        field(ui, "Phone", &mut d.phone);
        field(ui, "Address line 1", &mut d.address_line1);
        field(ui, "Address line 2", &mut d.address_line2);
        field(ui, "City", &mut d.city);
        field(ui, "Postal code", &mut d.postal_code);
        field(ui, "Country", &mut d.country);
        if country::resolve(&d.country).is_none() {
            let suggestions = country::suggestions(&d.country, 5);
            if !suggestions.is_empty() {
                ui.horizontal_wrapped(|ui| {
                    ui.label("Did you mean:");
                    for s in suggestions {
                        if ui.button(format!("{} ({})", s.name, s.code)).clicked() {
                            d.country = s.name.to_string();
                        }
                    }
                });
            }
        }
        field(ui, "Tax ID", &mut d.tax_id);
        ui.add_space(8.0);
        let mut leave = false;
        let mut save = false;
        ui.horizontal(|ui| {
            save = widgets::submit_button(ui, "Save billing details", &problems);
            if ui.button("Cancel").clicked() || widgets::escape_pressed(ui) {
                leave = true;
            }
        });
        if widgets::enter_pressed(ui) {
            if problems.is_empty() {
                save = true;
            } else {
                self.save_attempted = true;
            }
        }
        if save && problems.is_empty() {
            cx.send(Command::Accounts(AccountsCommand::SaveBilling {
                account_id: account.id,
                details: self.draft.clone(),
            }));
        }
        leave
    }
}
