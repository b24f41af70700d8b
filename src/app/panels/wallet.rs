//! The account's wallet: the money balance and the entitlements (Pro licenses, TB, support:
//! bought, in use, available), all sums of the append-only ledger shown below them; top-ups
//! and refunds (a refund reverses one top-up or payment exactly).

use crate::app::AppCtx;
use crate::app::paged::{Paged, RowSource};
use crate::app::widgets::{self, Confirm};
use crate::commerce::catalog::Product;
use crate::commerce::wallet::{WalletChange, WalletEntry};
use crate::domain::ids::{AccountId, IdempotencyKey, WalletEntryId};
use crate::domain::money::{Currency, Money};
use crate::jobs::{Command, Event};
use crate::services::commerce::CommerceCommand;
use crate::store::{self, StoreResult};
use egui_extras::{Column, TableBuilder};
use rusqlite::Connection;

struct Entries(AccountId);

impl RowSource for Entries {
    type Row = (i64, WalletEntry);
    fn fetch(
        &self,
        db: &Connection,
        after: Option<&Self::Row>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<Self::Row>> {
        store::wallet::page(db, self.0, after.map(|(seq, _)| *seq), offset, limit)
    }
    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        store::wallet::count(db, self.0)
    }
}

/// What an entry says, in words, and its amount.
pub fn describe(change: &WalletChange) -> (String, String) {
    match change {
        WalletChange::TopUp { amount, reference } => {
            (format!("Top-up from {reference}"), format!("+{amount}"))
        }
        WalletChange::Payment { amount, reference } => {
            (format!("Payment of {reference}"), format!("-{amount}"))
        }
        WalletChange::Credit { amount, reason } => {
            let why = match reason {
                crate::commerce::wallet::CreditReason::SeatDecrease => {
                    "Credit: fewer seats".to_string()
                }
                crate::commerce::wallet::CreditReason::CreditNote { number } => {
                    format!("Credit note {number}")
                }
                crate::commerce::wallet::CreditReason::Goodwill { note } => {
                    format!("Goodwill: {note}")
                }
                crate::commerce::wallet::CreditReason::Referral { friend, .. } => {
                    format!("Referral reward: {friend} became a customer")
                }
            };
            (why, format!("+{amount}"))
        }
        WalletChange::Refund {
            reverses, amount, ..
        } => match reverses {
            crate::commerce::wallet::Reversed::TopUp => {
                ("Refund of a top-up".into(), format!("-{amount}"))
            }
            crate::commerce::wallet::Reversed::Payment => {
                ("Refund of a payment".into(), format!("+{amount}"))
            }
        },
        WalletChange::Entitlement {
            product,
            movement,
            quantity,
            reference,
        } => {
            let moved = match movement {
                crate::commerce::wallet::Movement::Bought => "bought",
                crate::commerce::wallet::Movement::Assigned => "assigned",
                crate::commerce::wallet::Movement::Released => "released",
            };
            (
                format!("{} {moved} ({reference})", product.label()),
                format!("{quantity} {}", product.unit()),
            )
        }
    }
}

/// The Wallet tab of Purchase.
#[derive(Default)]
pub struct WalletView {
    list: Option<Paged<Entries>>,
    balances: Option<(AccountId, store::wallet::Balances)>,
    amount: String,
    key: Option<IdempotencyKey>,
    confirm_refund: Option<(WalletEntryId, String)>,
}

impl WalletView {
    pub fn on_event(&mut self, event: &Event) {
        if let Event::Commerce(_) = event {
            self.balances = None;
            if let Some(list) = &mut self.list {
                list.invalidate();
            }
            if matches!(
                event,
                Event::Commerce(crate::services::commerce::CommerceEvent::WalletChanged { .. })
            ) {
                self.key = None;
                self.amount.clear();
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(account) = cx.current_account.clone() else {
            ui.label("Choose an account in the top bar to see its wallet.");
            return;
        };
        ui.label(
            egui::RichText::new(format!(
                "Wallet of {} — {}",
                account.name,
                account.wallet_label()
            ))
            .strong(),
        );
        if self
            .balances
            .as_ref()
            .is_none_or(|(id, _)| *id != account.id)
        {
            let read = store::wallet::balances(cx.db, account.id);
            let balances = cx.or_toast(read, Default::default());
            self.balances = Some((account.id, balances));
            self.list = Some(Paged::new(Entries(account.id)));
        }
        let Some((_, balances)) = &self.balances else {
            return;
        };
        let currency = balances
            .money
            .map(|m| m.currency())
            .unwrap_or(Currency::EUR);
        ui.label(format!(
            "Balance: {}",
            balances.money.unwrap_or(Money::zero(currency))
        ));
        egui::Grid::new("entitlements")
            .striped(true)
            .num_columns(4)
            .show(ui, |ui| {
                for head in ["Entitlement", "Bought", "In use", "Available"] {
                    ui.label(egui::RichText::new(head).strong());
                }
                ui.end_row();
                for product in [Product::ProLicense, Product::CapacityTb, Product::Support] {
                    let count = balances
                        .entitlements
                        .get(&product)
                        .copied()
                        .unwrap_or_default();
                    ui.label(match product {
                        Product::CapacityTb => "Capacity (TB)",
                        Product::ProLicense => "Pro licenses",
                        _ => "Support",
                    });
                    ui.label(count.bought.to_string());
                    ui.label(count.in_use().to_string());
                    ui.label(format!("{} available", count.available()));
                    ui.end_row();
                }
            });
        ui.add_space(6.0);
        let parsed = Money::parse_non_negative("Top-up amount", &self.amount, currency);
        let mut problems = crate::domain::FieldErrors::default();
        match &parsed {
            Err(e) if !self.amount.trim().is_empty() => e.push_into(&mut problems),
            Ok(m) if m.is_zero() => problems.push("Top-up amount", "must be more than zero"),
            Err(_) => problems.push("Top-up amount", "is required"),
            Ok(_) => {}
        }
        let shown = problems
            .get("Top-up amount")
            .filter(|_| !self.amount.trim().is_empty());
        widgets::text_field(ui, "Top-up amount", &mut self.amount, shown);
        if widgets::submit_button(ui, "Top up wallet", &problems)
            && let Ok(amount) = parsed
        {
            let key = *self.key.get_or_insert_with(IdempotencyKey::new);
            cx.send(Command::Commerce(CommerceCommand::TopUp {
                account_id: account.id,
                amount,
                key,
            }));
        }
        ui.separator();
        let Some(list) = &mut self.list else { return };
        let total = list.total(cx.db);
        if total == 0 {
            ui.label("No wallet entries yet — top up, or pay an order, to start the ledger.");
            return;
        }
        ui.label(format!("{total} entries, newest first"));
        let row_height = ui.spacing().interact_size.y;
        let mut refund = None;
        TableBuilder::new(ui)
            .id_salt("wallet_entries")
            .striped(true)
            .column(Column::exact(140.0))
            .column(Column::remainder().at_least(220.0).clip(true))
            .column(Column::exact(120.0))
            .column(Column::exact(90.0))
            .min_scrolled_height(160.0)
            .max_scroll_height(320.0)
            .header(row_height, |mut h| {
                for title in ["Date", "Entry", "Amount", "Action"] {
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let Some((_, entry)) = list.get(cx.db, row.index() as u64).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    let (what, amount) = describe(&entry.change);
                    row.col(|ui| {
                        ui.label(crate::domain::time::date_time(entry.at));
                    });
                    row.col(|ui| {
                        ui.label(&what);
                    });
                    row.col(|ui| {
                        ui.label(&amount);
                    });
                    row.col(|ui| {
                        if matches!(
                            entry.change,
                            WalletChange::TopUp { .. } | WalletChange::Payment { .. }
                        ) && ui.button(format!("Refund {}", &amount[1..])).clicked()
                        {
                            refund = Some((WalletEntryId(entry.id), format!("{what} ({amount})")));
                        }
                    });
                });
            });
        if let Some(r) = refund {
            self.confirm_refund = Some(r);
        }
        if let Some((id, what)) = self.confirm_refund.clone() {
            let body = format!(
                "Reverse '{what}' in the wallet of {}? The refund is a new entry; nothing is erased.",
                account.name
            );
            match widgets::confirm_dialog(
                ui,
                "confirm_refund",
                "Refund wallet entry",
                &body,
                "Refund",
            ) {
                Confirm::Yes => {
                    cx.send(Command::Commerce(CommerceCommand::Refund {
                        account_id: account.id,
                        entry: id,
                    }));
                    self.confirm_refund = None;
                }
                Confirm::No => self.confirm_refund = None,
                Confirm::Pending => {}
            }
        }
    }
}
