//! The "Pay by" choice shared by the review page and renewals: the wallet balance, an open
//! order, or a new invoice (optionally paid now with the default payment method). What blocks
//! a choice is said beside it: an empty wallet, no open order, an expired or missing card.

use crate::app::AppCtx;
use crate::domain::FieldErrors;
use crate::domain::ids::{AccountId, OrderId};
use crate::domain::money::Money;
use crate::services::commerce::PayBy;
use crate::store;

/// What was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    Wallet,
    OpenOrder,
    #[default]
    NewInvoice,
}

/// The choice and what it needs, read once per account.
#[derive(Default)]
pub struct PayByState {
    pub choice: Choice,
    pub pay_now: bool,
    pub order: Option<OrderId>,
    facts: Option<Facts>,
}

struct Facts {
    account_id: AccountId,
    balance: Option<Money>,
    open_orders: Vec<(OrderId, String)>,
    card: Result<String, String>,
}

impl PayByState {
    /// Forgets what was read (after a payment or a change of account).
    pub fn refresh(&mut self) {
        self.facts = None;
    }

    /// What to send, once valid.
    pub fn pay_by(&self) -> PayBy {
        match (self.choice, self.order) {
            (Choice::Wallet, _) => PayBy::Wallet,
            (Choice::OpenOrder, Some(order)) => PayBy::OpenOrder(order),
            _ => PayBy::NewInvoice {
                pay_now: self.pay_now,
            },
        }
    }

    /// Draws the choice; returns what blocks paying `total` this way.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut AppCtx<'_>,
        account_id: AccountId,
        total: Money,
    ) -> FieldErrors {
        if self
            .facts
            .as_ref()
            .is_none_or(|f| f.account_id != account_id)
        {
            let today = cx.today();
            let balance = store::wallet::balances(cx.db, account_id)
                .map(|b| b.money)
                .unwrap_or(None);
            let open_orders = store::orders::open_orders(cx.db, account_id)
                .unwrap_or_default()
                .into_iter()
                .map(|o| (o.id, format!("{} ({})", o.order.number(), o.order.total())))
                .collect::<Vec<_>>();
            let card = store::payments::list(cx.db, account_id)
                .map_err(|e| e.to_string())
                .and_then(|methods| match methods.into_iter().find(|m| m.is_default) {
                    None => Err("the account has no payment method: add one under Accounts".into()),
                    Some(m) if m.details.is_expired(today) => Err(format!(
                        "{} has expired: add a current one under Accounts",
                        m.details.summary()
                    )),
                    Some(m) => Ok(m.details.summary()),
                });
            if self.order.is_none() {
                self.order = open_orders.first().map(|(id, _)| *id);
            }
            self.facts = Some(Facts {
                account_id,
                balance,
                open_orders,
                card,
            });
        }
        let mut problems = FieldErrors::default();
        let Some(facts) = &self.facts else {
            return problems;
        };
        let zero = Money::zero(total.currency());
        let balance = facts.balance.unwrap_or(zero);
        ui.label(egui::RichText::new("Pay by").strong());
        ui.radio_value(
            &mut self.choice,
            Choice::Wallet,
            format!("Wallet balance ({balance} available)"),
        );
        ui.radio_value(&mut self.choice, Choice::OpenOrder, "Add to an open order");
        if self.choice == Choice::OpenOrder {
            if facts.open_orders.is_empty() {
                problems.push("Pay by", "there is no open order for this account");
            } else {
                let selected = facts
                    .open_orders
                    .iter()
                    .find(|(id, _)| Some(*id) == self.order)
                    .map(|(_, name)| name.clone())
                    .unwrap_or_default();
                ui.indent("open_orders", |ui| {
                    let label = ui.label("Open order");
                    egui::ComboBox::from_id_salt("open_order")
                        .selected_text(selected)
                        .show_ui(ui, |ui| {
                            for (id, name) in &facts.open_orders {
                                ui.selectable_value(&mut self.order, Some(*id), name);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                });
            }
        }
        ui.radio_value(&mut self.choice, Choice::NewInvoice, "New invoice");
        if self.choice == Choice::NewInvoice {
            ui.indent("pay_now", |ui| {
                let text = match &facts.card {
                    Ok(card) => format!("Pay now with {card}"),
                    Err(_) => "Pay now".to_string(),
                };
                ui.checkbox(&mut self.pay_now, text);
            });
        }
        match self.choice {
            Choice::Wallet => {
                if balance.currency() != total.currency() && facts.balance.is_some() {
                    problems.push(
                        "Wallet",
                        format!(
                            "the wallet holds {}, not {}",
                            balance.currency(),
                            total.currency()
                        ),
                    );
                } else if balance.minor() < total.minor() {
                    problems.push(
                        "Wallet",
                        format!("the wallet holds {balance}; {total} is needed"),
                    );
                }
            }
            Choice::OpenOrder | Choice::NewInvoice => {
                if let Err(reason) = &facts.card {
                    problems.push("Payment method", reason.clone());
                }
            }
        }
        for problem in problems.iter() {
            crate::app::widgets::error_text(ui, &format!("{}: {}", problem.field, problem.message));
        }
        problems
    }
}
