//! Panels not built yet say plainly what they will hold.

use crate::app::Page;

/// What each panel will hold once it is built.
fn purpose(page: Page) -> &'static str {
    match page {
        Page::Purchase => {
            "Buy Pro licenses, terabytes of capacity and support on a monthly, quarterly, annual or triennial term, with tax shown before the order is placed."
        }
        Page::QuotesOrders => {
            "Quotes with their validity, converted into orders; every order with its number, status and payment."
        }
        Page::Invoices => {
            "Invoices in an unbroken number sequence, paid, unpaid or void, exported to PDF and CSV."
        }
        Page::Arrays => {
            "Customer clusters known by their UUID, each with its Eval (30 days), Dev (free) or Pro license and the capacity assigned to it."
        }
        Page::Seats => {
            "Named seats on a term: change the number of users with the price prorated by the day."
        }
        Page::Referrals => {
            "Friends referred by a customer, and the reward credited once when one becomes a customer."
        }
        Page::Dashboard
        | Page::Accounts
        | Page::Licenses
        | Page::SigningKeys
        | Page::Ledger
        | Page::Sync
        | Page::Settings => "",
    }
}

/// Draws the "not built yet" page for `page`.
pub fn ui(ui: &mut egui::Ui, page: Page) {
    ui.heading(page.name());
    ui.add_space(8.0);
    ui.label(purpose(page));
    ui.add_space(4.0);
    ui.label(egui::RichText::new("This panel is not built yet.").italics());
}
