//! Invoices: the account's invoices (number, dates, total, status), each finalised, paid,
//! voided or, while a draft, deleted; credit notes against a finalised invoice; and the
//! invoice saved as PDF or CSV (native save dialog, or a typed path where no dialog exists).

use super::doc_view;
use crate::app::AppCtx;
use crate::app::paged::{Paged, RowSource};
use crate::app::widgets::{self, Confirm, Tone};
use crate::commerce::documents::{InvoiceStatus, LineCredit};
use crate::domain::FieldErrors;
use crate::domain::ids::{AccountId, IdempotencyKey, InvoiceId};
use crate::domain::money::Money;
use crate::jobs::{Command, Event};
use crate::services::commerce::{CommerceCommand, PayWith};
use crate::store::invoices::InvoiceRecord;
use crate::store::{self, StoreResult};
use egui_extras::{Column, TableBuilder};
use rusqlite::Connection;
use std::path::PathBuf;

struct Invoices(AccountId);
impl RowSource for Invoices {
    type Row = (i64, InvoiceRecord);
    fn fetch(
        &self,
        db: &Connection,
        after: Option<&Self::Row>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<Self::Row>> {
        store::invoices::page(db, self.0, after.map(|(c, r)| (*c, r.id)), offset, limit)
    }
    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        store::invoices::count(db, self.0)
    }
}

fn number(i: &InvoiceRecord) -> String {
    i.invoice
        .number()
        .map(|n| n.to_string())
        .unwrap_or_else(|| "Draft".into())
}

/// The chip of an invoice status.
pub fn invoice_chip(ui: &mut egui::Ui, status: InvoiceStatus) {
    let (word, tone) = match status {
        InvoiceStatus::Draft => ("Draft", Tone::Neutral),
        InvoiceStatus::Unpaid => ("Unpaid", Tone::Warning),
        InvoiceStatus::Paid => ("Paid", Tone::Good),
        InvoiceStatus::Void => ("Void", Tone::Bad),
    };
    widgets::chip(ui, word, tone);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    Delete,
    Void,
}

/// The Invoices panel.
#[derive(Default)]
pub struct InvoicesPanel {
    account: Option<AccountId>,
    list: Option<Paged<Invoices>>,
    selected: Option<InvoiceRecord>,
    pay_key: Option<(InvoiceId, IdempotencyKey)>,
    ask: Option<Ask>,
    credit_line: String,
    credit_amount: String,
    credit_reason: String,
    credit_to_wallet: bool,
    path: String,
}

impl InvoicesPanel {
    pub fn on_event(&mut self, event: &Event) {
        if let Event::Commerce(_) = event {
            if let Some(list) = &mut self.list {
                list.invalidate();
            }
            self.selected = None;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Invoices");
        let Some(account) = cx.current_account.clone() else {
            ui.label("Choose an account in the top bar to see its invoices.");
            return;
        };
        if self.account != Some(account.id) {
            self.account = Some(account.id);
            self.list = Some(Paged::new(Invoices(account.id)));
            self.selected = None;
        }
        let Some(list) = &mut self.list else { return };
        let total = list.total(cx.db);
        if total == 0 {
            ui.label(
                "No invoices yet — they are made when an order is placed or a quote converted.",
            );
            return;
        }
        let row_height = ui.spacing().interact_size.y;
        let mut chosen = None;
        let selected = self.selected.as_ref().map(|i| i.id);
        TableBuilder::new(ui)
            .id_salt("invoices_table")
            .striped(true)
            .column(Column::exact(150.0))
            .column(Column::exact(100.0))
            .column(Column::exact(100.0))
            .column(Column::exact(120.0))
            .column(Column::remainder().at_least(80.0))
            .min_scrolled_height(160.0)
            .max_scroll_height(280.0)
            .header(row_height, |mut h| {
                for title in ["Number", "Issued", "Due", "Total", "Status"] {
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let Some((_, i)) = list.get(cx.db, row.index() as u64).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    row.col(|ui| {
                        let name = match i.invoice.number() {
                            Some(n) => n.to_string(),
                            None => {
                                format!("Draft {}", crate::app::panels::renewals::tail(&i.id.0))
                            }
                        };
                        if ui.selectable_label(selected == Some(i.id), name).clicked() {
                            chosen = Some(i.clone());
                        }
                    });
                    row.col(|ui| {
                        ui.label(
                            i.invoice
                                .issued_on()
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "-".into()),
                        );
                    });
                    row.col(|ui| {
                        ui.label(
                            i.invoice
                                .due_on()
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "-".into()),
                        );
                    });
                    row.col(|ui| {
                        ui.label(i.invoice.total().to_string());
                    });
                    row.col(|ui| invoice_chip(ui, i.invoice.status()));
                });
            });
        if let Some(i) = chosen {
            self.path = cx
                .database_path
                .parent()
                .map(|p| p.join(format!("{}.pdf", number(&i))).display().to_string())
                .unwrap_or_default();
            self.selected = Some(i);
        }
        self.details(ui, cx);
    }

    fn details(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(i) = self.selected.clone() else {
            return;
        };
        ui.separator();
        ui.horizontal(|ui| {
            ui.heading(format!("Invoice {}", number(&i)));
            invoice_chip(ui, i.invoice.status());
        });
        doc_view::document(ui, "invoice_doc", i.invoice.document());
        let status = i.invoice.status();
        ui.horizontal_wrapped(|ui| {
            match status {
                InvoiceStatus::Draft => {
                    if ui.button("Finalise invoice").clicked() {
                        cx.send(Command::Commerce(CommerceCommand::FinaliseInvoice {
                            id: i.id,
                        }));
                    }
                    if ui.button("Delete draft").clicked() {
                        self.ask = Some(Ask::Delete);
                    }
                }
                InvoiceStatus::Unpaid => {
                    let key = match self.pay_key {
                        Some((id, key)) if id == i.id => key,
                        _ => IdempotencyKey::new(),
                    };
                    for (label, with) in [
                        ("Pay now from wallet", PayWith::Wallet),
                        ("Pay now with card", PayWith::Card),
                    ] {
                        if ui.button(label).clicked() {
                            self.pay_key = Some((i.id, key));
                            cx.send(Command::Commerce(CommerceCommand::PayInvoice {
                                id: i.id,
                                with,
                                key,
                            }));
                        }
                    }
                    if ui.button("Void invoice").clicked() {
                        self.ask = Some(Ask::Void);
                    }
                }
                InvoiceStatus::Paid | InvoiceStatus::Void => {}
            }
            if ui.button("Save PDF…").clicked()
                && let Some(path) = cx
                    .dialogs
                    .save_file("Save invoice as PDF", &format!("{}.pdf", number(&i)))
            {
                cx.send(Command::Commerce(CommerceCommand::ExportInvoicePdf {
                    id: i.id,
                    path,
                }));
            }
            if ui.button("Save CSV…").clicked()
                && let Some(path) = cx
                    .dialogs
                    .save_file("Save invoice as CSV", &format!("{}.csv", number(&i)))
            {
                cx.send(Command::Commerce(CommerceCommand::ExportInvoiceCsv {
                    id: i.id,
                    path,
                }));
            }
        });
        widgets::text_field(ui, "Or save to path", &mut self.path, None);
        ui.horizontal(|ui| {
            let path = PathBuf::from(self.path.trim());
            if ui.button("Save PDF to path").clicked() && !self.path.trim().is_empty() {
                cx.send(Command::Commerce(CommerceCommand::ExportInvoicePdf {
                    id: i.id,
                    path: path.clone(),
                }));
            }
            if ui.button("Save CSV to path").clicked() && !self.path.trim().is_empty() {
                cx.send(Command::Commerce(CommerceCommand::ExportInvoiceCsv {
                    id: i.id,
                    path: path.with_extension("csv"),
                }));
            }
        });
        if matches!(status, InvoiceStatus::Unpaid | InvoiceStatus::Paid) {
            self.credit_note_ui(ui, cx, &i);
        }
        if let Some(ask) = self.ask {
            let (title, body, yes) = match ask {
                Ask::Delete => (
                    "Delete draft invoice",
                    format!(
                        "Delete the draft invoice {} for {}? Drafts have no number, so none is lost.",
                        crate::app::panels::renewals::tail(&i.id.0),
                        i.invoice.total()
                    ),
                    "Delete draft invoice",
                ),
                Ask::Void => (
                    "Void invoice",
                    format!(
                        "Void invoice {} ({})? It keeps its number and can no longer be paid.",
                        number(&i),
                        i.invoice.total()
                    ),
                    "Void the invoice",
                ),
            };
            match widgets::confirm_dialog(ui, "confirm_invoice", title, &body, yes) {
                Confirm::Yes => {
                    let command = match ask {
                        Ask::Delete => CommerceCommand::DeleteDraftInvoice { id: i.id },
                        Ask::Void => CommerceCommand::VoidInvoice { id: i.id },
                    };
                    cx.send(Command::Commerce(command));
                    self.ask = None;
                }
                Confirm::No => self.ask = None,
                Confirm::Pending => {}
            }
        }
    }

    fn credit_note_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>, i: &InvoiceRecord) {
        ui.separator();
        ui.label(egui::RichText::new("Credit note").strong());
        let doc = i.invoice.document();
        let mut problems = FieldErrors::default();
        let line = match self.credit_line.trim().parse::<usize>() {
            Ok(n) if (1..=doc.lines.len()).contains(&n) => Some(n - 1),
            _ => {
                problems.push(
                    "Credit line",
                    format!("must be a line number from 1 to {}", doc.lines.len()),
                );
                None
            }
        };
        let amount = match Money::parse_non_negative(
            "Credit amount (net)",
            &self.credit_amount,
            doc.currency,
        ) {
            Ok(m) if m.is_positive() => Some(m),
            Ok(_) => {
                problems.push("Credit amount (net)", "must be more than zero");
                None
            }
            Err(e) => {
                e.push_into(&mut problems);
                None
            }
        };
        crate::domain::validation::required_text(
            &mut problems,
            "Credit reason",
            &self.credit_reason,
            500,
        );
        let typed = |s: &str| !s.trim().is_empty();
        let shown = |f: &str, s: &str| problems.get(f).filter(|_| typed(s)).map(str::to_owned);
        let m = shown("Credit line", &self.credit_line);
        widgets::text_field(ui, "Credit line", &mut self.credit_line, m.as_deref());
        let m = shown("Credit amount (net)", &self.credit_amount);
        widgets::text_field(
            ui,
            "Credit amount (net)",
            &mut self.credit_amount,
            m.as_deref(),
        );
        let m = shown("Credit reason", &self.credit_reason);
        widgets::text_field(ui, "Credit reason", &mut self.credit_reason, m.as_deref());
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(&mut self.credit_to_wallet, "Pay the credit into the wallet")
        });
        if widgets::submit_button(ui, "Issue credit note", &problems)
            && let (Some(line), Some(net)) = (line, amount)
        {
            cx.send(Command::Commerce(CommerceCommand::IssueCreditNote {
                invoice_id: i.id,
                credits: vec![LineCredit { line, net }],
                reason: self.credit_reason.clone(),
                to_wallet: self.credit_to_wallet,
            }));
            self.credit_amount.clear();
            self.credit_reason.clear();
        }
    }
}
