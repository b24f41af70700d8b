//! The edit form of a license: the registration key, the licensed software's administrator
//! password (encrypted under the signing key, shown masked, changed only with the key
//! unlocked), "Delete all existing registrations" and auto-renewal. It validates as one
//! types; Enter saves, Esc cancels.

use crate::app::AppCtx;
use crate::app::widgets;
use crate::commerce::terms::Term;
use crate::domain::ids::LicenseId;
use crate::jobs::{Command, RequestId};
use crate::services::license_admin::{self, LicenseEdit, OneTimeSecret, PasswordChange};
use crate::services::licensing::LicensingCommand;
use crate::store::license_list::ListRow;
use crate::store::{self, StoreResult};
use zeroize::Zeroizing;

/// The edit form's state.
pub(super) struct EditForm {
    license_id: LicenseId,
    title: String,
    registration_key: String,
    /// What the password field holds (typed, or revealed); wiped on drop.
    password: Zeroizing<String>,
    /// True once staff typed in the password field (a change to save).
    password_typed: bool,
    show_password: bool,
    password_set: bool,
    remove_password: bool,
    delete_registrations: bool,
    registrations: usize,
    auto_renew: bool,
    term: Term,
    auto_before: Option<(bool, Term)>,
    /// A request just sent, for the list to show the license "In progress".
    sent: Option<(RequestId, LicenseId)>,
    saving: Option<RequestId>,
    revealing: bool,
    message: Option<String>,
}

impl EditForm {
    /// The form for `row`, filled from what is stored.
    pub fn open(cx: &mut AppCtx<'_>, row: &ListRow) -> Self {
        let read = (|| -> StoreResult<_> {
            Ok((
                store::license_settings::view(cx.db, row.license_id)?,
                store::license_settings::registrations(cx.db, row.license_id)?.len(),
                store::renewals::setting(cx.db, row.license_id)?,
            ))
        })();
        let (settings, registrations, renewal) = cx.or_toast(read, (Default::default(), 0, None));
        Self {
            license_id: row.license_id,
            title: format!(
                "Edit license {} ({} {} for {})",
                row.license_id, row.kind, row.product, row.customer
            ),
            registration_key: settings.registration_key,
            password: Zeroizing::new(String::new()),
            password_typed: false,
            show_password: false,
            password_set: settings.password_key_id.is_some(),
            remove_password: false,
            delete_registrations: false,
            registrations,
            auto_renew: renewal.as_ref().is_some_and(|r| r.auto_renew),
            term: renewal.as_ref().map_or(Term::Annual, |r| r.term),
            auto_before: renewal.map(|r| (r.auto_renew, r.term)),
            sent: None,
            saving: None,
            revealing: false,
            message: None,
        }
    }

    /// The license being edited.
    pub fn license_id(&self) -> LicenseId {
        self.license_id
    }

    /// The request just sent (taken once).
    pub fn take_sent(&mut self) -> Option<(RequestId, LicenseId)> {
        self.sent.take()
    }

    /// The worker decrypted the password: it fills the (masked) field.
    pub fn revealed(&mut self, password: Option<OneTimeSecret>) {
        self.revealing = false;
        match password {
            Some(p) => {
                self.password = Zeroizing::new(p.expose().to_string());
                self.password_typed = false;
            }
            None => self.message = Some("No administrator password is set.".into()),
        }
    }

    pub fn on_failed(&mut self, request: RequestId, message: &str) {
        if self.saving == Some(request) {
            self.saving = None;
            self.message = Some(format!("Not saved: {message}"));
        }
        if self.revealing {
            self.revealing = false;
            self.message = Some(message.to_string());
        }
    }

    /// Draws the form; true when it closes.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) -> bool {
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique(("edit_license", self.license_id))).show(
            ui.ctx(),
            |ui| {
                ui.set_max_width(560.0);
                ui.heading(&self.title);
                close = self.fields_ui(ui, cx);
            },
        );
        close || (modal.should_close() && self.saving.is_none())
    }

    fn fields_ui(&mut self, ui: &mut egui::Ui, cx: &mut AppCtx<'_>) -> bool {
        let typed =
            (self.password_typed && !self.password.is_empty()).then_some(self.password.as_str());
        let mut problems = license_admin::validate(&self.registration_key, typed);
        let key = problems.get("Registration key").map(str::to_owned);
        ui.horizontal(|ui| {
            widgets::text_field(
                ui,
                "Registration key",
                &mut self.registration_key,
                key.as_deref(),
            );
            if ui.button("Generate registration key").clicked() {
                self.registration_key = uuid::Uuid::new_v4().simple().to_string()[..20]
                    .to_ascii_uppercase()
                    .as_bytes()
                    .chunks(5)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join("-");
            }
        });
        let password_error = problems.get("Administrator password").map(str::to_owned);
        let response = widgets::field_with(
            ui,
            "Administrator password",
            password_error.as_deref(),
            |ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut *self.password)
                        .password(!self.show_password)
                        .desired_width(320.0),
                )
            },
        );
        if response.changed() {
            self.password_typed = true;
        }
        widgets::in_field_column(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(if self.password_set {
                    "Set, kept encrypted under the signing key. Type a new one to change it."
                } else {
                    "Not set."
                });
                if self.password_set
                    && ui
                        .add_enabled(!self.revealing, egui::Button::new("Reveal password"))
                        .clicked()
                {
                    self.revealing = true;
                    self.message = None;
                    cx.send(Command::Licensing(LicensingCommand::RevealPassword {
                        license_id: self.license_id,
                    }));
                }
                ui.checkbox(&mut self.show_password, "Show characters");
            });
        });
        if self.password_set {
            widgets::in_field_column(ui, |ui| {
                ui.checkbox(
                    &mut self.remove_password,
                    "Remove the administrator password",
                )
            });
        }
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(
                &mut self.delete_registrations,
                format!(
                    "Delete all existing registrations ({} machine(s); their seats are freed)",
                    self.registrations
                ),
            )
        });
        widgets::in_field_column(ui, |ui| {
            ui.checkbox(&mut self.auto_renew, "Renew automatically")
        });
        widgets::field_with(ui, "Auto-renewal period", None, |ui| {
            ui.horizontal(|ui| {
                for term in Term::ALL {
                    ui.radio_value(&mut self.term, term, term.label());
                }
            })
            .response
        });
        if self.password_typed && !self.password.is_empty() && cx.unlocked_keys.is_empty() {
            problems.push(
                "Signing key",
                "unlock it under Signing keys: the password is encrypted with it",
            );
            widgets::error_text(
                ui,
                "Signing key: unlock it under Signing keys: the password is encrypted with it",
            );
        }
        if let Some(message) = &self.message {
            widgets::error_text(ui, message);
        }
        let mut close = false;
        let submit = widgets::submit_button(ui, "Save license", &problems);
        let enter = widgets::enter_pressed(ui) && problems.is_empty();
        ui.horizontal(|ui| {
            if ui.button("Cancel").clicked() || widgets::escape_pressed(ui) {
                close = true;
            }
        });
        if (submit || enter) && self.saving.is_none() {
            let auto = (self.auto_renew, self.term);
            let auto_renew = (Some(auto) != self.auto_before
                && (self.auto_before.is_some() || self.auto_renew))
                .then_some(auto);
            let password = if self.password_typed && !self.password.is_empty() {
                PasswordChange::Set(OneTimeSecret::new(&self.password))
            } else if self.remove_password {
                PasswordChange::Remove
            } else {
                PasswordChange::Keep
            };
            let request = cx.send(Command::Licensing(LicensingCommand::Edit(Box::new(
                LicenseEdit {
                    license_id: self.license_id,
                    registration_key: self.registration_key.clone(),
                    password,
                    delete_registrations: self.delete_registrations,
                    auto_renew,
                },
            ))));
            self.saving = Some(request);
            self.sent = Some((request, self.license_id));
            self.message = None;
        }
        close
    }
}
