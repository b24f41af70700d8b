//! What staff change about an issued license besides its state: the edit form (registration
//! key, the licensed software's administrator password, "Delete all existing
//! registrations", auto-renewal) and offline deactivation (a signed file from the
//! customer's machine frees its seat). Each is one transaction with its ledger entries.
//!
//! The administrator password is sealed under a key derived from the signing key
//! (`keyvault::seal_secret`): setting or reading it needs that key unlocked. It is never
//! written in clear anywhere (not in the database, the outbox, an event's Debug output or a
//! log), and a panel's read-only connection cannot read even the sealed bytes.

use super::keys::KeyVault;
use super::licensing::{self, LicensingError};
use crate::commerce::terms::Term;
use crate::domain::FieldErrors;
use crate::domain::ids::LicenseId;
use crate::domain::license_status::LicenseStatus;
use crate::files;
use crate::store::ledger::{self, Record};
use crate::store::license_settings::{self, SettingsRow};
use crate::store::renewals::{self, RenewalSettingRecord};
use crate::store::{Store, StoreError, deactivations};
use std::path::Path;
use zeroize::Zeroizing;

/// What the administrator password is sealed for (the HKDF info string).
pub const PASSWORD_PURPOSE: &str = "LicenseDesk/admin-password/v1";
/// Longest administrator password, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Longest registration key, in characters.
pub const MAX_REGISTRATION_KEY_CHARS: usize = 64;

/// A secret on its way to be shown once (an administrator password, a transfer secret):
/// wiped when dropped, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeSecret(Zeroizing<String>);

impl OneTimeSecret {
    /// Wraps a secret text.
    pub fn new(text: &str) -> Self {
        Self(Zeroizing::new(text.to_string()))
    }

    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OneTimeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeSecret(…)")
    }
}

/// What to do with the administrator password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    Keep,
    Set(OneTimeSecret),
    Remove,
}

/// The edit form, as confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseEdit {
    pub license_id: LicenseId,
    pub registration_key: String,
    pub password: PasswordChange,
    /// "Delete all existing registrations": every machine registered to the license is
    /// removed (their seats freed).
    pub delete_registrations: bool,
    /// Auto-renewal on or off, and its period.
    pub auto_renew: Option<(bool, Term)>,
}

/// Checks the edit form as typed; the same rules refuse it in the service.
pub fn validate(registration_key: &str, password: Option<&str>) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let key = registration_key.trim();
    if key.chars().count() > MAX_REGISTRATION_KEY_CHARS {
        errors.push(
            "Registration key",
            format!("at most {MAX_REGISTRATION_KEY_CHARS} characters"),
        );
    } else if key.chars().any(|c| c.is_control()) {
        errors.push("Registration key", "no control characters");
    }
    if let Some(password) = password {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            errors.push(
                "Administrator password",
                format!("at most {MAX_PASSWORD_CHARS} characters"),
            );
        } else if password.chars().any(|c| c.is_control()) {
            errors.push("Administrator password", "no control characters");
        }
    }
    errors
}

/// Saves the edit form: new settings (with an `edit` entry saying what changed), the
/// registrations deleted (an `unregister` entry) and auto-renewal, in one transaction.
/// Returns what changed, in words.
pub fn edit(
    store: &mut Store,
    vault: &mut KeyVault,
    edit: &LicenseEdit,
    operator: &str,
    now: i64,
) -> Result<String, LicensingError> {
    let new_password = match &edit.password {
        PasswordChange::Set(p) => Some(p.expose()),
        _ => None,
    };
    let problems = validate(&edit.registration_key, new_password);
    if !problems.is_empty() {
        return Err(LicensingError::Invalid(problems));
    }
    let registration_key = edit.registration_key.trim().to_string();
    // Sealing needs the active key unlocked; it happens before the transaction.
    let sealed = match &edit.password {
        PasswordChange::Set(password) => {
            let (row, signing) = vault.active_signing_key(store.conn())?;
            let sealed = keyvault::seal_secret(
                signing,
                PASSWORD_PURPOSE,
                edit.license_id.as_bytes(),
                password.expose().as_bytes(),
            )
            .map_err(|e| LicensingError::Refused(format!("sealing the password: {e}")))?;
            Some((sealed, row.key_id))
        }
        _ => None,
    };
    store.write(|tx| {
        let license = super::licensing::issued_license(tx, edit.license_id)?;
        if license.status == LicenseStatus::Deleted {
            return Err(LicensingError::Refused(format!(
                "license {} is deleted: it cannot be edited",
                edit.license_id
            )));
        }
        let current = license_settings::get(tx, edit.license_id)?;
        let mut next = SettingsRow {
            license_id: edit.license_id,
            registration_key: registration_key.clone(),
            password: current.password.clone(),
        };
        let mut said = Vec::new();
        if next.registration_key != current.registration_key {
            said.push(if next.registration_key.is_empty() {
                "registration key removed".to_string()
            } else {
                "registration key changed".to_string()
            });
        }
        match (&edit.password, &sealed) {
            (PasswordChange::Set(_), Some(sealed)) => {
                said.push(if current.password.is_some() {
                    "administrator password changed".into()
                } else {
                    "administrator password set".into()
                });
                next.password = Some(sealed.clone());
            }
            (PasswordChange::Remove, _) if current.password.is_some() => {
                said.push("administrator password removed".into());
                next.password = None;
            }
            _ => {}
        }
        if let Some((on, term)) = edit.auto_renew {
            let before = renewals::setting(tx, edit.license_id)?;
            let changed = before
                .as_ref()
                .is_none_or(|s| s.auto_renew != on || s.term != term);
            if changed {
                renewals::save_setting(
                    tx,
                    &RenewalSettingRecord {
                        license_id: edit.license_id,
                        auto_renew: on,
                        term,
                    },
                    now,
                )?;
                said.push(if on {
                    format!("auto-renewal on ({})", term.label())
                } else {
                    "auto-renewal off".into()
                });
            }
        }
        if !said.is_empty() {
            license_settings::save(tx, &next, now)?;
            ledger::append(
                tx,
                ledger::head(tx)?,
                edit.license_id,
                Record::Edit {
                    settings: next.state_hash(),
                    note: &said.join("; "),
                },
                operator,
                now,
            )?;
        }
        if edit.delete_registrations {
            let removed = license_settings::unregister_all(tx, edit.license_id, now)?;
            let reason = format!("deleted all existing registrations ({removed})");
            ledger::append(
                tx,
                ledger::head(tx)?,
                edit.license_id,
                Record::Unregister { reason: &reason },
                operator,
                now,
            )?;
            said.push(reason);
        }
        if said.is_empty() {
            return Err(LicensingError::Refused(
                "nothing changed: the license already has these settings".into(),
            ));
        }
        Ok(said.join("; "))
    })
}

/// The administrator password in clear, to show it (the key that sealed it must be
/// unlocked); `None` when none is set.
pub fn reveal_password(
    store: &Store,
    vault: &mut KeyVault,
    license_id: LicenseId,
) -> Result<Option<OneTimeSecret>, LicensingError> {
    let settings = license_settings::get(store.conn(), license_id)?;
    let Some((sealed, key_id)) = settings.password else {
        return Ok(None);
    };
    let (_, signing) = vault.signing_key_by_id(store.conn(), key_id)?;
    let clear = keyvault::open_secret(signing, PASSWORD_PURPOSE, license_id.as_bytes(), &sealed)
        .map_err(|e| LicensingError::Refused(format!("opening the password: {e}")))?;
    let text = String::from_utf8(clear.to_vec())
        .map_err(|_| LicensingError::Refused("the stored password is not text".into()))?;
    Ok(Some(OneTimeSecret::new(&text)))
}

/// What applying a deactivation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deactivated {
    pub license_id: LicenseId,
    /// The machine's label, from its request.
    pub machine: String,
    /// Machines still registered to the license after this one left.
    pub still_registered: usize,
}

/// Reads a deactivation file (size-capped, regular files only) and applies it.
pub fn apply_deactivation_file(
    store: &mut Store,
    path: &Path,
    operator: &str,
    now: i64,
) -> Result<Deactivated, LicensingError> {
    let text = files::read_text(path, files::DEACTIVATION)?;
    apply_deactivation(store, &text, operator, now)
}

/// Applies a deactivation file: it must parse, carry a valid signature by the machine key it
/// names, name a license issued here (exactly its bytes), come from the machine registered to
/// that license, and never have been applied before. Then that machine's registration is
/// removed (its seat is free) with a `deactivate` ledger entry, and the file is kept.
pub fn apply_deactivation(
    store: &mut Store,
    text: &str,
    operator: &str,
    now: i64,
) -> Result<Deactivated, LicensingError> {
    let refuse = |why: String| LicensingError::Refused(why);
    let signed = licensekey::SignedDeactivation::parse(text)
        .map_err(|e| refuse(format!("not a deactivation file: {e}")))?;
    let d = signed
        .verify()
        .map_err(|_| {
            refuse(
                "forged: the file's signature does not verify with the machine key it names".into(),
            )
        })?
        .clone();
    let license_id = LicenseId(d.license_id);
    store.write(|tx| {
        let license = super::licensing::issued_license(tx, license_id)?;
        let issued = license.signed().ok_or_else(|| {
            StoreError::Corrupt(format!("the stored license {license_id} does not parse"))
        })?;
        d.check_license(&issued)?;
        if deactivations::is_applied(tx, d.id)? {
            return Err(refuse(format!(
                "replayed: this deactivation file ({}) was already applied; its seat is free",
                d.id
            )));
        }
        let registered = license_settings::registrations(tx, license_id)?;
        let key = d.machine_key.to_bytes();
        let Some(machine) = registered.iter().find(|r| r.machine_key == key) else {
            let known = crate::store::ledger::issue_entry(tx, license_id)?
                .is_some_and(|e| e.note.starts_with(ledger::REGISTERED_MACHINE));
            return Err(refuse(if known {
                format!(
                    "forged: it is signed by a machine that is not registered to license {license_id} (a machine that left already, or another one)"
                )
            } else {
                format!(
                    "license {license_id} was issued without a machine key (from a request made before version 3, or without a request): it cannot be deactivated offline; free its seat with \"Delete all existing registrations\""
                )
            }));
        };
        let label = machine.label.clone();
        license_settings::unregister(tx, license_id, &key, now)?;
        let note = format!(
            "deactivated on the customer's machine{} at {}",
            if label.is_empty() {
                String::new()
            } else {
                format!(" '{label}'")
            },
            crate::domain::time::rfc3339(d.deactivated_at)
        );
        let head = ledger::append(
            tx,
            ledger::head(tx)?,
            license_id,
            Record::Deactivate {
                file: &signed.to_bytes(),
                note: &note,
            },
            operator,
            now,
        )?;
        deactivations::insert(tx, &signed, head.seq, now)?;
        Ok(Deactivated {
            license_id,
            machine: label,
            still_registered: registered.len() - 1,
        })
    })
}

/// Operator shortcut for callers that have a store.
pub fn operator(store: &Store) -> Result<String, LicensingError> {
    Ok(licensing::operator(store)?)
}
