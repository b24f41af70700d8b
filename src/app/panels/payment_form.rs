//! The "Add payment method" screen. A typed full card number is reduced to brand and last
//! four digits before it leaves this form, and the form says so.

use crate::app::AppCtx;
use crate::app::widgets;
use crate::domain::account::Account;
use crate::domain::payment::{CardBrand, DraftKind, PaymentDetails, PaymentMethodDraft};
use crate::jobs::{Command, RequestId};
use crate::services::accounts::AccountsCommand;

/// Form state.
#[derive(Default)]
pub struct PaymentForm {
    draft: PaymentMethodDraft,
    make_default: bool,
    /// The request just sent, and whether a full card number was typed (and discarded).
    sent: Option<(RequestId, bool)>,
}

impl PaymentForm {
    /// The add request sent by the last Save, and whether it came from a full card number (the
    /// panel then tells staff the number was not stored).
    pub fn take_sent(&mut self) -> Option<(RequestId, bool)> {
        self.sent.take()
    }

    /// Draws the form; returns true when staff leave without saving.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, account: &Account) -> bool {
        ui.heading(format!("Add payment method — {}", account.name));
        ui.add_space(8.0);
        let d = &mut self.draft;
        widgets::field_with(ui, "Method", None, |ui| {
            ui.horizontal(|ui| {
                ui.radio_value(&mut d.kind, DraftKind::Card, "Card");
                ui.radio_value(&mut d.kind, DraftKind::BankTransfer, "Bank transfer");
            })
            .response
        });
        let result = d.validate(cx.today());
        let problems = result.as_ref().err().cloned().unwrap_or_default();
        let touched = |v: &str| !v.trim().is_empty();
        match d.kind {
            DraftKind::Card => {
                let err = problems
                    .get("Card holder")
                    .filter(|_| touched(&d.holder))
                    .map(str::to_owned);
                widgets::text_field(ui, "Card holder", &mut d.holder, err.as_deref());
                let err = problems
                    .get("Card number")
                    .filter(|_| touched(&d.card_number))
                    .map(str::to_owned);
                widgets::text_field(ui, "Card number", &mut d.card_number, err.as_deref());
                let digits = d.card_number.chars().filter(char::is_ascii_digit).count();
                if digits == 4 || digits == 0 {
                    widgets::field_with(ui, "Brand", None, |ui| {
                        egui::ComboBox::from_id_salt("card_brand")
                            .selected_text(d.brand.label())
                            .show_ui(ui, |ui| {
                                for brand in CardBrand::ALL {
                                    ui.selectable_value(&mut d.brand, brand, brand.label());
                                }
                            })
                            .response
                    });
                }
                if let Some(valid) = result.as_ref().ok().filter(|v| v.full_number_discarded) {
                    ui.label(format!(
                        "Only {} will be kept: the full card number is never stored.",
                        valid.details.summary()
                    ));
                }
                let err = problems
                    .get("Expiry month")
                    .filter(|_| touched(&d.exp_month))
                    .map(str::to_owned);
                widgets::text_field(ui, "Expiry month", &mut d.exp_month, err.as_deref());
                let err = problems
                    .get("Expiry year")
                    .filter(|_| touched(&d.exp_year))
                    .map(str::to_owned);
                widgets::text_field(ui, "Expiry year", &mut d.exp_year, err.as_deref());
            }
            DraftKind::BankTransfer => {
                let err = problems
                    .get("Account holder")
                    .filter(|_| touched(&d.holder))
                    .map(str::to_owned);
                widgets::text_field(ui, "Account holder", &mut d.holder, err.as_deref());
                let err = problems
                    .get("Bank name")
                    .filter(|_| touched(&d.bank_name))
                    .map(str::to_owned);
                widgets::text_field(ui, "Bank name", &mut d.bank_name, err.as_deref());
            }
        }
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(&mut self.make_default, "Make this the default method")
        });
        ui.add_space(8.0);
        let mut leave = false;
        let mut save = false;
        ui.horizontal(|ui| {
            save = widgets::submit_button(ui, "Save payment method", &problems);
            if ui.button("Cancel").clicked() || widgets::escape_pressed(ui) {
                leave = true;
            }
        });
        save |= widgets::enter_pressed(ui);
        if let (true, Ok(valid)) = (save, result) {
            let details: PaymentDetails = valid.details;
            let request = cx.send(Command::Accounts(AccountsCommand::AddPaymentMethod {
                account_id: account.id,
                details,
                make_default: self.make_default,
            }));
            self.sent = Some((request, valid.full_number_discarded));
            // The typed number is not kept in memory once it has been reduced.
            self.draft.card_number.clear();
        }
        leave
    }
}
