//! Quotes & Orders: the account's quotes (number, date, validity, total, status; open, revise,
//! duplicate, convert to order, cancel), its orders (invoice an open order, cancel), and the
//! confirmations waiting in the mail outbox.

use super::doc_view;
use crate::app::AppCtx;
use crate::app::paged::{Paged, RowSource};
use crate::app::widgets::{self, Confirm, Tone};
use crate::commerce::documents::OrderStatus;
use crate::commerce::pricing::LineSpec;
use crate::commerce::quote::QuoteStatus;
use crate::domain::ids::{AccountId, IdempotencyKey, QuoteId};
use crate::jobs::{Command, Event};
use crate::services::commerce::CommerceCommand;
use crate::store::mail_outbox::MailRow;
use crate::store::orders::OrderRecord;
use crate::store::quotes::QuoteRecord;
use crate::store::{self, StoreResult};
use egui_extras::{Column, TableBuilder};
use rusqlite::Connection;

struct Quotes(AccountId);
impl RowSource for Quotes {
    type Row = QuoteRecord;
    fn fetch(
        &self,
        db: &Connection,
        after: Option<&QuoteRecord>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<QuoteRecord>> {
        store::quotes::page(db, self.0, after, offset, limit)
    }
    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        store::quotes::count(db, self.0)
    }
}

struct Orders(AccountId);
impl RowSource for Orders {
    type Row = OrderRecord;
    fn fetch(
        &self,
        db: &Connection,
        after: Option<&OrderRecord>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<OrderRecord>> {
        store::orders::page(db, self.0, after, offset, limit)
    }
    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        store::orders::count(db, self.0)
    }
}

struct Mail;
impl RowSource for Mail {
    type Row = MailRow;
    fn fetch(
        &self,
        db: &Connection,
        after: Option<&MailRow>,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<MailRow>> {
        store::mail_outbox::page(db, after.map(|m| m.seq), offset, limit)
    }
    fn count(&self, db: &Connection, _cap: u64) -> StoreResult<u64> {
        store::mail_outbox::count(db)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Tab {
    #[default]
    Quotes,
    Orders,
    Confirmations,
}

/// The chip of a quote status.
fn quote_chip(ui: &mut egui::Ui, status: QuoteStatus) {
    let tone = match status {
        QuoteStatus::Open => Tone::Good,
        QuoteStatus::Accepted => Tone::Good,
        QuoteStatus::Draft => Tone::Neutral,
        QuoteStatus::Expired => Tone::Warning,
        QuoteStatus::Cancelled => Tone::Bad,
    };
    widgets::chip(ui, status.label(), tone);
}

fn order_chip(ui: &mut egui::Ui, status: OrderStatus) {
    let (word, tone) = match status {
        OrderStatus::Placed => ("Ordered", Tone::Warning),
        OrderStatus::Paid => ("Paid", Tone::Good),
        OrderStatus::Fulfilled => ("Fulfilled", Tone::Good),
        OrderStatus::Cancelled => ("Cancelled", Tone::Bad),
    };
    widgets::chip(ui, word, tone);
}

/// The Quotes & Orders panel.
#[derive(Default)]
pub struct QuotesOrdersPanel {
    tab: Tab,
    account: Option<AccountId>,
    quotes: Option<Paged<Quotes>>,
    orders: Option<Paged<Orders>>,
    mail: Option<Paged<Mail>>,
    selected_quote: Option<QuoteRecord>,
    selected_order: Option<OrderRecord>,
    /// Whether the selected order has an invoice (read once, when it is selected).
    selected_invoiced: bool,
    selected_mail: Option<MailRow>,
    convert_key: Option<(QuoteId, IdempotencyKey)>,
    confirm_cancel: Option<QuoteRecord>,
    expired_checked: bool,
    /// A quote to revise in Purchase (taken by the panels' router).
    pub revise: Option<(QuoteId, String, Vec<LineSpec>)>,
}

impl QuotesOrdersPanel {
    pub fn on_event(&mut self, event: &Event) {
        if let Event::Commerce(_) = event {
            for list in [
                self.quotes.as_mut().map(|l| l as &mut dyn Invalidate),
                self.orders.as_mut().map(|l| l as &mut dyn Invalidate),
                self.mail.as_mut().map(|l| l as &mut dyn Invalidate),
            ]
            .into_iter()
            .flatten()
            {
                list.invalidate();
            }
            self.selected_quote = None;
            self.selected_order = None;
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Quotes & Orders");
        if !self.expired_checked {
            self.expired_checked = true;
            cx.send(Command::Commerce(CommerceCommand::ExpireQuotes));
        }
        ui.horizontal(|ui| {
            for (tab, name) in [
                (Tab::Quotes, "Quotes"),
                (Tab::Orders, "Orders"),
                (Tab::Confirmations, "Confirmations"),
            ] {
                if ui.selectable_label(self.tab == tab, name).clicked() {
                    self.tab = tab;
                }
            }
        });
        ui.separator();
        if self.tab == Tab::Confirmations {
            self.mail_ui(ui, cx);
            return;
        }
        let Some(account) = cx.current_account.clone() else {
            ui.label("Choose an account in the top bar to see its quotes and orders.");
            return;
        };
        if self.account != Some(account.id) {
            self.account = Some(account.id);
            self.quotes = Some(Paged::new(Quotes(account.id)));
            self.orders = Some(Paged::new(Orders(account.id)));
            self.selected_quote = None;
            self.selected_order = None;
        }
        match self.tab {
            Tab::Quotes => self.quotes_ui(ui, cx),
            Tab::Orders => self.orders_ui(ui, cx),
            Tab::Confirmations => {}
        }
    }

    fn quotes_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(list) = &mut self.quotes else { return };
        let total = list.total(cx.db);
        if total == 0 {
            ui.label("No quotes yet — build a cart under Purchase and choose Save as quote.");
            return;
        }
        let today = cx.today();
        let row_height = ui.spacing().interact_size.y;
        let mut chosen = None;
        let selected = self.selected_quote.as_ref().map(|q| q.id);
        TableBuilder::new(ui)
            .id_salt("quotes_table")
            .striped(true)
            .column(Column::exact(170.0))
            .column(Column::exact(100.0))
            .column(Column::exact(100.0))
            .column(Column::exact(120.0))
            .column(Column::remainder().at_least(90.0))
            .min_scrolled_height(160.0)
            .max_scroll_height(300.0)
            .header(row_height, |mut h| {
                for title in ["Number", "Date", "Valid until", "Total", "Status"] {
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let Some(q) = list.get(cx.db, row.index() as u64).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    row.col(|ui| {
                        let name = format!("{} v{}", q.quote.number(), q.quote.version());
                        if ui.selectable_label(selected == Some(q.id), name).clicked() {
                            chosen = Some(q.clone());
                        }
                    });
                    row.col(|ui| {
                        ui.label(
                            q.quote
                                .opened_on()
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "-".into()),
                        );
                    });
                    row.col(|ui| {
                        ui.label(
                            q.quote
                                .valid_until()
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "-".into()),
                        );
                    });
                    row.col(|ui| {
                        ui.label(
                            q.quote
                                .snapshot()
                                .map(|s| s.totals.total.to_string())
                                .unwrap_or_else(|| "-".into()),
                        );
                    });
                    row.col(|ui| quote_chip(ui, q.quote.status_on(today)));
                });
            });
        if let Some(q) = chosen {
            self.selected_quote = Some(q);
        }
        let Some(q) = self.selected_quote.clone() else {
            return;
        };
        ui.separator();
        let status = q.quote.status_on(today);
        ui.horizontal(|ui| {
            ui.heading(format!(
                "Quote {} version {}",
                q.quote.number(),
                q.quote.version()
            ));
            quote_chip(ui, status);
        });
        match q.quote.snapshot() {
            Some(doc) => doc_view::document(ui, "quote_doc", doc),
            None => {
                ui.label("A draft: open it to price and freeze it.");
            }
        }
        ui.horizontal_wrapped(|ui| {
            let send = |cx: &mut AppCtx<'_>, c| {
                cx.send(Command::Commerce(c));
            };
            match status {
                QuoteStatus::Draft => {
                    if ui.button("Open quote").clicked() {
                        send(cx, CommerceCommand::OpenQuote { id: q.id });
                    }
                    if ui.button("Edit in Purchase").clicked() {
                        self.revise = Some((
                            q.id,
                            q.quote.number().to_string(),
                            q.quote.request().lines.clone(),
                        ));
                    }
                }
                QuoteStatus::Open => {
                    if ui.button("Convert to order").clicked() {
                        let key = match self.convert_key {
                            Some((id, key)) if id == q.id => key,
                            _ => IdempotencyKey::new(),
                        };
                        self.convert_key = Some((q.id, key));
                        send(cx, CommerceCommand::ConvertQuote { id: q.id, key });
                    }
                    if ui.button("Revise quote").clicked() {
                        send(cx, CommerceCommand::ReviseQuote { id: q.id });
                    }
                }
                QuoteStatus::Expired => {
                    if ui.button("Revise quote").clicked() {
                        send(cx, CommerceCommand::ReviseQuote { id: q.id });
                    }
                }
                QuoteStatus::Accepted | QuoteStatus::Cancelled => {}
            }
            if ui.button("Duplicate quote").clicked() {
                send(cx, CommerceCommand::DuplicateQuote { id: q.id });
            }
            if matches!(status, QuoteStatus::Draft | QuoteStatus::Open)
                && ui.button("Cancel quote").clicked()
            {
                self.confirm_cancel = Some(q.clone());
            }
        });
        if let Some(c) = self.confirm_cancel.clone() {
            let body = format!(
                "Cancel quote {} version {}? It cannot be accepted afterwards.",
                c.quote.number(),
                c.quote.version()
            );
            match widgets::confirm_dialog(
                ui,
                "confirm_cancel_quote",
                "Cancel quote",
                &body,
                "Cancel the quote",
            ) {
                Confirm::Yes => {
                    cx.send(Command::Commerce(CommerceCommand::CancelQuote { id: c.id }));
                    self.confirm_cancel = None;
                }
                Confirm::No => self.confirm_cancel = None,
                Confirm::Pending => {}
            }
        }
    }

    fn orders_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(list) = &mut self.orders else { return };
        let total = list.total(cx.db);
        if total == 0 {
            ui.label("No orders yet — place one under Purchase, or convert a quote.");
            return;
        }
        let row_height = ui.spacing().interact_size.y;
        let mut chosen = None;
        let selected = self.selected_order.as_ref().map(|o| o.id);
        TableBuilder::new(ui)
            .id_salt("orders_table")
            .striped(true)
            .column(Column::exact(170.0))
            .column(Column::exact(100.0))
            .column(Column::exact(120.0))
            .column(Column::remainder().at_least(90.0))
            .min_scrolled_height(160.0)
            .max_scroll_height(300.0)
            .header(row_height, |mut h| {
                for title in ["Number", "Placed", "Total", "Status"] {
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let Some(o) = list.get(cx.db, row.index() as u64).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    row.col(|ui| {
                        if ui
                            .selectable_label(selected == Some(o.id), o.order.number().to_string())
                            .clicked()
                        {
                            chosen = Some(o.clone());
                        }
                    });
                    row.col(|ui| {
                        ui.label(o.order.placed_on().to_string());
                    });
                    row.col(|ui| {
                        ui.label(o.order.total().to_string());
                    });
                    row.col(|ui| order_chip(ui, o.order.status()));
                });
            });
        if let Some(o) = chosen {
            self.selected_invoiced = store::invoices::for_order(cx.db, o.id)
                .map(|i| !i.is_empty())
                .unwrap_or(true);
            self.selected_order = Some(o);
        }
        let Some(o) = self.selected_order.clone() else {
            return;
        };
        ui.separator();
        ui.horizontal(|ui| {
            ui.heading(format!("Order {}", o.order.number()));
            order_chip(ui, o.order.status());
        });
        doc_view::document(ui, "order_doc", o.order.document());
        if o.order.status() == OrderStatus::Placed {
            let invoiced = self.selected_invoiced;
            ui.horizontal(|ui| {
                if !invoiced && ui.button("Invoice order").clicked() {
                    cx.send(Command::Commerce(CommerceCommand::InvoiceOrder {
                        order_id: o.id,
                    }));
                }
                if ui.button("Cancel order").clicked() {
                    cx.send(Command::Commerce(CommerceCommand::CancelOrder {
                        order_id: o.id,
                    }));
                }
            });
        }
    }

    fn mail_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.label(format!(
            "Confirmations waiting in the outbox folder ({}), newest first. Sending comes later.",
            cx.database_path
                .parent()
                .map(|p| p
                    .join(crate::services::commerce::MAIL_FOLDER)
                    .display()
                    .to_string())
                .unwrap_or_default()
        ));
        let list = self.mail.get_or_insert_with(|| Paged::new(Mail));
        let total = list.total(cx.db);
        if total == 0 {
            ui.label("No confirmations yet.");
            return;
        }
        let row_height = ui.spacing().interact_size.y;
        let mut chosen = None;
        TableBuilder::new(ui)
            .id_salt("mail_table")
            .striped(true)
            .column(Column::exact(140.0))
            .column(Column::exact(200.0))
            .column(Column::remainder().at_least(200.0).clip(true))
            .min_scrolled_height(160.0)
            .max_scroll_height(260.0)
            .header(row_height, |mut h| {
                for title in ["Date", "To", "Subject"] {
                    h.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, total as usize, |mut row| {
                    let Some(m) = list.get(cx.db, row.index() as u64).cloned() else {
                        row.col(|ui| {
                            ui.label("…");
                        });
                        return;
                    };
                    row.col(|ui| {
                        ui.label(crate::domain::time::date_time(m.created_at));
                    });
                    row.col(|ui| {
                        ui.label(&m.to);
                    });
                    row.col(|ui| {
                        if ui.selectable_label(false, &m.subject).clicked() {
                            chosen = Some(m.clone());
                        }
                    });
                });
            });
        if let Some(m) = chosen {
            self.selected_mail = Some(m);
        }
        if let Some(m) = &self.selected_mail {
            ui.separator();
            ui.label(format!("File: {}", m.file_name));
            let mut text = m.message.clone();
            widgets::field_with(ui, "Message", None, |ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut text)
                        .desired_rows(14)
                        .desired_width(640.0)
                        .interactive(true),
                )
            });
        }
    }
}

/// Lists that can forget their rows.
trait Invalidate {
    fn invalidate(&mut self);
}
impl<S: RowSource> Invalidate for Paged<S> {
    fn invalidate(&mut self) {
        Paged::invalidate(self);
    }
}
