//! Purchase: "Buy more" (Pro licenses, TB of capacity and support on a term, with the total and
//! tax shown before anything is placed, a review page, Terms and Conditions, and "Place order"
//! or "Save as quote"), the account's Wallet, and Renewals. Buy more works for the account
//! chosen in the top bar.

use super::doc_view;
use super::pay_by::PayByState;
use super::renewals::RenewalsView;
use super::wallet::WalletView;
use crate::app::widgets;
use crate::app::{AppCtx, Page};
use crate::commerce::catalog::{PriceList, Product, list_in_force};
use crate::commerce::pricing::{LineSpec, PricedDocument};
use crate::commerce::terms::Term;
use crate::domain::FieldErrors;
use crate::domain::ids::{IdempotencyKey, QuoteId};
use crate::jobs::{Command, Event, RequestId};
use crate::services::commerce::{self, CommerceCommand, CommerceError, CommerceEvent, Placement};
use crate::store;
use chrono::Datelike;

/// Most units of one product in one order.
const MAX_UNITS: u32 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Tab {
    #[default]
    BuyMore,
    Wallet,
    Renewals,
}

/// A priced cart: the list, the lines and their document.
type Priced = (PriceList, Vec<LineSpec>, PricedDocument);

/// The review page: what is confirmed, and the key that makes placing it happen once.
struct Review {
    key: IdempotencyKey,
    lines: Vec<LineSpec>,
    list: PriceList,
    document: PricedDocument,
    terms_accepted: bool,
    pay_by: PayByState,
}

/// The Purchase panel.
pub struct PurchasePanel {
    tab: Tab,
    pro: String,
    tb: String,
    support: bool,
    term: Term,
    start: jiff::civil::Date,
    start_set: bool,
    lists: Option<Vec<PriceList>>,
    preview: Option<Result<Priced, String>>,
    review: Option<Review>,
    /// A quote draft being revised: "Save as quote" saves into it.
    revising: Option<(QuoteId, String)>,
    placing: Vec<RequestId>,
    notice: Option<String>,
    wallet: WalletView,
    renewals: RenewalsView,
}

impl Default for PurchasePanel {
    fn default() -> Self {
        Self {
            tab: Tab::BuyMore,
            pro: "0".into(),
            tb: "0".into(),
            support: false,
            term: Term::Annual,
            start: jiff::civil::date(2026, 1, 1),
            start_set: false,
            lists: None,
            preview: None,
            review: None,
            revising: None,
            placing: Vec::new(),
            notice: None,
            wallet: WalletView::default(),
            renewals: RenewalsView::default(),
        }
    }
}

fn units(errors: &mut FieldErrors, field: &'static str, text: &str) -> u32 {
    match text.trim().parse::<i64>() {
        Ok(n) if (0..=i64::from(MAX_UNITS)).contains(&n) => n as u32,
        Ok(_) => {
            errors.push(field, format!("must be from 0 to {MAX_UNITS}"));
            0
        }
        Err(_) => {
            errors.push(field, format!("'{}' is not a whole number", text.trim()));
            0
        }
    }
}

impl PurchasePanel {
    /// Opens the Renewals tab on the renewal form of `license_id` (from the license list).
    pub fn renew(&mut self, license_id: crate::domain::ids::LicenseId) {
        self.tab = Tab::Renewals;
        self.renewals.open(license_id);
    }

    /// Loads a quote's lines into the cart to revise it (from Quotes & Orders).
    pub fn revise(&mut self, id: QuoteId, number: String, lines: &[LineSpec]) {
        self.tab = Tab::BuyMore;
        self.review = None;
        self.preview = None;
        for line in lines {
            if let LineSpec::Catalogue {
                product,
                quantity,
                term,
                ..
            } = line
            {
                self.term = *term;
                match product {
                    Product::ProLicense => self.pro = quantity.to_string(),
                    Product::CapacityTb => self.tb = quantity.to_string(),
                    Product::Support => self.support = true,
                    Product::NamedSeat => {}
                }
            }
        }
        self.revising = Some((id, number));
    }

    pub fn on_event(&mut self, request: RequestId, event: &Event) {
        self.wallet.on_event(event);
        self.renewals.on_event(event);
        let Event::Commerce(event) = event else {
            return;
        };
        match event {
            CommerceEvent::PriceListSaved(_) => self.lists = None,
            CommerceEvent::OrderPlaced { order, invoice, .. }
                if self.placing.contains(&request) =>
            {
                self.placing.clear();
                self.review = None;
                self.preview = None;
                self.pro = "0".into();
                self.tb = "0".into();
                self.support = false;
                let invoice = invoice
                    .as_ref()
                    .map(|i| {
                        format!(
                            "; invoice {} is {}",
                            i.invoice
                                .number()
                                .map(|n| n.to_string())
                                .unwrap_or_else(|| "(draft)".into()),
                            i.invoice.status().label()
                        )
                    })
                    .unwrap_or_default();
                self.notice = Some(format!(
                    "Order {} placed for {}{invoice}.",
                    order.order.number(),
                    order.order.total()
                ));
            }
            CommerceEvent::QuoteSaved(q) if self.placing.contains(&request) => {
                self.placing.clear();
                self.review = None;
                self.preview = None;
                self.revising = None;
                self.notice = Some(format!(
                    "Quote {} saved, valid until {}; find it under Quotes & Orders.",
                    q.quote.number(),
                    q.quote
                        .valid_until()
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                ));
            }
            _ => {}
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if self.placing.contains(&request) {
            self.placing.retain(|r| *r != request);
            self.notice = Some(format!("Not placed: {message}"));
        }
        self.renewals.on_failed(request, message);
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        ui.heading("Purchase");
        ui.horizontal(|ui| {
            for (tab, name) in [
                (Tab::BuyMore, "Buy more"),
                (Tab::Wallet, "Wallet"),
                (Tab::Renewals, "Renewals"),
            ] {
                if ui.selectable_label(self.tab == tab, name).clicked() {
                    self.tab = tab;
                }
            }
        });
        ui.separator();
        match self.tab {
            Tab::BuyMore => self.buy_more(ui, cx),
            Tab::Wallet => self.wallet.ui(ui, cx),
            Tab::Renewals => self.renewals.ui(ui, cx),
        }
    }

    fn price_list(&mut self, cx: &mut AppCtx<'_>) -> Option<PriceList> {
        let lists = self
            .lists
            .get_or_insert_with(|| store::price_lists::all(cx.db).unwrap_or_default());
        let id = lists.first()?.id;
        list_in_force(lists, id, cx.today()).cloned()
    }

    fn buy_more(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) {
        let Some(account) = cx.current_account.clone() else {
            ui.label("Choose an account in the top bar to buy Pro licenses, capacity and support for it.");
            return;
        };
        if let Some(notice) = &self.notice {
            ui.label(egui::RichText::new(notice).strong());
        }
        if self.review.is_some() {
            self.review_ui(ui, cx, account.id);
            return;
        }
        if let Some((_, number)) = &self.revising {
            ui.label(format!(
                "Revising quote {number}: Save as quote saves the new version."
            ));
        }
        ui.label(format!("Buy more for {}", account.name));
        ui.add_space(4.0);
        let mut problems = FieldErrors::default();
        let pro = units(&mut problems, "Pro licenses", &self.pro);
        let tb = units(&mut problems, "Capacity (TB)", &self.tb);
        if self.support && pro == 0 && problems.get("Pro licenses").is_none() {
            problems.push("Support", "covers Pro licenses: add at least one");
        }
        if pro == 0 && tb == 0 && problems.is_empty() {
            // Not a mistake in a field: an empty cart says what it needs beside the button.
            problems.push("Cart (add a Pro license or TB)", "is empty");
        }
        let before = (
            self.pro.clone(),
            self.tb.clone(),
            self.support,
            self.term,
            self.start,
        );
        stepper(
            ui,
            "Pro licenses",
            "Pro",
            &mut self.pro,
            problems.get("Pro licenses"),
        );
        stepper(
            ui,
            "Capacity (TB)",
            "TB",
            &mut self.tb,
            problems.get("Capacity (TB)"),
        );
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(&mut self.support, "Support add-on (per Pro license)")
        });
        if let Some(message) = problems.get("Support") {
            widgets::error_text(ui, &format!("Support: {message}"));
        }
        widgets::field_with(ui, "Term", None, |ui| {
            ui.horizontal(|ui| {
                for term in Term::ALL {
                    ui.radio_value(&mut self.term, term, term.label());
                }
            })
            .response
        });
        if !self.start_set {
            let today = cx.today();
            self.start = jiff::civil::Date::new(
                i16::try_from(today.year()).unwrap_or(2026),
                i8::try_from(today.month()).unwrap_or(1),
                i8::try_from(today.day()).unwrap_or(1),
            )
            .unwrap_or(self.start);
            self.start_set = true;
        }
        widgets::field_with(ui, "Start date", None, |ui| {
            ui.add(
                egui_extras::DatePickerButton::new(&mut self.start)
                    .id_salt("purchase_start")
                    .show_icon(false)
                    .format("%Y-%m-%d"),
            )
        });
        let start = chrono::NaiveDate::from_ymd_opt(
            i32::from(self.start.year()),
            u32::try_from(self.start.month()).unwrap_or(1),
            u32::try_from(self.start.day()).unwrap_or(1),
        );
        if let Some(period) = start.and_then(|s| self.term.period(s).ok()) {
            widgets::in_field_column(ui, |ui| {
                ui.label(format!(
                    "Runs {} to {} ({} days)",
                    period.start,
                    period.end,
                    period.days()
                ))
            });
        }
        if before
            != (
                self.pro.clone(),
                self.tb.clone(),
                self.support,
                self.term,
                self.start,
            )
        {
            self.preview = None;
        }
        ui.add_space(6.0);
        let mut lines = Vec::new();
        for (product, quantity) in [
            (Product::ProLicense, pro),
            (Product::CapacityTb, tb),
            (Product::Support, if self.support { pro } else { 0 }),
        ] {
            if quantity > 0 {
                lines.push(LineSpec::Catalogue {
                    product,
                    term: self.term,
                    quantity,
                    terms: 1,
                });
            }
        }
        let calculate = widgets::submit_button(ui, "Calculate total and tax", &problems)
            || (widgets::enter_pressed(ui) && problems.is_empty());
        if calculate && problems.is_empty() {
            self.preview = Some(match self.price_list(cx) {
                None => Err(CommerceError::NoPriceList.to_string()),
                Some(list) => {
                    commerce::price_cart(cx.db, account.id, list.reference(), &lines, cx.today())
                        .map(|doc| (list, lines.clone(), doc))
                        .map_err(|e| e.to_string())
                }
            });
        }
        match &self.preview {
            None => {}
            Some(Err(message)) => {
                widgets::error_text(ui, message);
                if message.starts_with("Billing details are missing") {
                    ui.horizontal(|ui| {
                        ui.label("Billing details are missing:");
                        if ui.button("Edit billing details").clicked() {
                            *cx.navigate = Some(Page::Accounts);
                        }
                    });
                } else if message.contains("Settings") && ui.button("Open Settings").clicked() {
                    *cx.navigate = Some(Page::Settings);
                }
            }
            Some(Ok((list, lines, doc))) => {
                ui.separator();
                doc_view::document(ui, "cart", doc);
                ui.add_space(6.0);
                let (list, lines, doc) = (list.clone(), lines.clone(), doc.clone());
                ui.horizontal(|ui| {
                    if ui.button("Proceed to review order").clicked() {
                        self.review = Some(Review {
                            key: IdempotencyKey::new(),
                            lines,
                            list,
                            document: doc,
                            terms_accepted: false,
                            pay_by: PayByState::default(),
                        });
                        self.notice = None;
                    }
                });
            }
        }
    }

    fn review_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut AppCtx<'_>,
        account_id: crate::domain::ids::AccountId,
    ) {
        let Some(review) = &mut self.review else {
            return;
        };
        ui.heading("Review order");
        doc_view::document(ui, "review", &review.document);
        if let crate::commerce::tax::TaxTreatment::Charged { reason } = review.document.treatment
            && reason.validation_would_help()
            && ui.button("Validate VAT ID (check digits)").clicked()
        {
            cx.send(Command::Commerce(CommerceCommand::ValidateVatId {
                account_id,
            }));
            self.preview = None;
            self.review = None;
            return;
        }
        ui.separator();
        let mut problems = review
            .pay_by
            .ui(ui, cx, account_id, review.document.totals.total);
        ui.add_space(6.0);
        ui.checkbox(
            &mut review.terms_accepted,
            "I accept the Terms and Conditions",
        );
        if !review.terms_accepted {
            problems.push("Terms and Conditions", "must be accepted");
        }
        ui.add_space(6.0);
        let mut back = false;
        let mut place = false;
        let mut quote = false;
        ui.horizontal(|ui| {
            place = widgets::submit_button(ui, "Place order", &problems);
        });
        ui.horizontal(|ui| {
            quote = ui.button("Save as quote").clicked();
            back = ui.button("Back to cart").clicked() || widgets::escape_pressed(ui);
        });
        if place {
            let placement = Placement {
                account_id,
                price_list: review.list.reference(),
                lines: review.lines.clone(),
                pay_by: review.pay_by.pay_by(),
                terms_accepted: review.terms_accepted,
                confirmed: review.document.clone(),
                key: review.key,
            };
            let request = cx.send(Command::Commerce(CommerceCommand::PlaceOrder(Box::new(
                placement,
            ))));
            self.placing.push(request);
        }
        if quote {
            let request = cx.send(Command::Commerce(CommerceCommand::SaveQuote {
                account_id,
                price_list: review.list.reference(),
                lines: review.lines.clone(),
                revising: self.revising.as_ref().map(|(id, _)| *id),
            }));
            self.placing.push(request);
        }
        if back {
            self.review = None;
        }
    }
}

/// A quantity with − and + buttons and typed entry.
fn stepper(
    ui: &mut egui::Ui,
    label: &'static str,
    short: &str,
    value: &mut String,
    error: Option<&str>,
) {
    widgets::field_with(ui, label, error, |ui| {
        ui.horizontal(|ui| {
            let current = value.trim().parse::<i64>().ok();
            if ui.button(format!("−1 {short}")).clicked() {
                *value = current.map_or(0, |n| (n - 1).max(0)).to_string();
            }
            let field = ui.add(egui::TextEdit::singleline(value).desired_width(80.0));
            if ui.button(format!("+1 {short}")).clicked() {
                *value = current
                    .map_or(1, |n| (n + 1).min(i64::from(MAX_UNITS)))
                    .to_string();
            }
            field
        })
        .inner
    });
}
