//! The account switcher in the top bar: the current customer, chosen by typing part of a name
//! or a wallet ID. It shows a short list of matches from the indexed search, never every
//! account.

use crate::app::toasts::Toasts;
use crate::domain::account::Account;
use crate::jobs::Event;
use crate::services::accounts::AccountsEvent;
use crate::store::accounts::{self, AccountOrder, AccountQuery, PageStart};
use rusqlite::Connection;

/// How many matches the switcher lists.
const SHOWN: usize = 30;

/// The switcher's view state.
#[derive(Default)]
pub struct AccountSwitcher {
    search: String,
    matches: Option<(Vec<Account>, u64)>,
}

impl AccountSwitcher {
    /// Forgets the matches when accounts change.
    pub fn on_event(&mut self, event: &Event) {
        if matches!(
            event,
            Event::Accounts(
                AccountsEvent::Created(_) | AccountsEvent::Renamed(_) | AccountsEvent::Deleted(_)
            )
        ) {
            self.matches = None;
        }
    }

    /// Draws the switcher.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        db: &Connection,
        current: &mut Option<Account>,
        toasts: &mut Toasts,
    ) {
        let shown = current
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_else(|| "No account chosen".to_string());
        egui::ComboBox::from_label("Current account")
            .selected_text(shown)
            .width(260.0)
            .height(400.0)
            .show_ui(ui, |ui| {
                let label = ui.label("Find account");
                let field = ui
                    .add(egui::TextEdit::singleline(&mut self.search).desired_width(240.0))
                    .labelled_by(label.id);
                if field.changed() {
                    self.matches = None;
                }
                let (found, total) = self.matches.get_or_insert_with(|| {
                    let query = AccountQuery::new(self.search.clone(), AccountOrder::Name);
                    let read =
                        accounts::page(db, &query, &PageStart::First, SHOWN).and_then(|rows| {
                            Ok((rows, accounts::count(db, &query, accounts::SEARCH_LIMIT)?))
                        });
                    read.unwrap_or_else(|err| {
                        toasts.error(format!("Could not read accounts: {err}"));
                        (Vec::new(), 0)
                    })
                });
                if found.is_empty() {
                    if self.search.trim().is_empty() {
                        ui.label("No accounts yet — create one under Accounts");
                    } else {
                        ui.label(format!("No account matches '{}'", self.search.trim()));
                    }
                }
                for account in found.iter() {
                    let selected = current.as_ref().is_some_and(|a| a.id == account.id);
                    if ui.selectable_label(selected, &account.name).clicked() {
                        *current = Some(account.clone());
                    }
                }
                if *total > found.len() as u64 {
                    ui.label(format!(
                        "{} more: type part of a name or a wallet ID",
                        *total - found.len() as u64
                    ));
                }
            });
    }
}
