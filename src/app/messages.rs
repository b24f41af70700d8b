//! What the app says when a command succeeds: the toast text for each event, in one place.

use crate::jobs::Event;
use crate::services::accounts::AccountsEvent;
use crate::services::keys::KeysEvent;
use crate::services::licensing::LicensingEvent;

/// The confirmation to show for `event`, if it deserves one.
pub fn toast_for(event: &Event) -> Option<String> {
    Some(match event {
        Event::Accounts(e) => match e {
            AccountsEvent::Created(a) => {
                format!("Account '{}' created ({})", a.name, a.wallet_label())
            }
            AccountsEvent::Renamed(a) => format!("Account renamed to '{}'", a.name),
            AccountsEvent::Deleted(a) => format!("Account '{}' deleted", a.name),
            AccountsEvent::BillingSaved { .. } => "Billing details saved".into(),
            // The Accounts panel says more (whether a full card number was discarded).
            AccountsEvent::PaymentMethodAdded(_) => return None,
            AccountsEvent::DefaultPaymentMethodSet(m) => {
                format!("{} is now the default payment method", m.details.summary())
            }
            AccountsEvent::PaymentMethodRemoved(m) => {
                format!("Payment method {} removed", m.details.summary())
            }
        },
        Event::Keys(e) => match e {
            KeysEvent::Generated(k) => {
                let role = if k.active {
                    "active signing key"
                } else {
                    "kept for later"
                };
                format!("Key '{}' ({}) generated, {role}", k.name, k.key_id)
            }
            KeysEvent::Imported(k) => format!("Key '{}' ({}) imported", k.name, k.key_id),
            KeysEvent::Activated(k) => format!("Key '{}' now signs new licenses", k.name),
            KeysEvent::Exported { key, path } => format!(
                "Encrypted key file of '{}' saved to {}",
                key.name,
                path.display()
            ),
            KeysEvent::Unlocked(k) => format!("Key '{}' unlocked", k.name),
            KeysEvent::Locked { key_ids } if key_ids.is_empty() => return None,
            KeysEvent::Locked { key_ids } => format!("{} signing key(s) locked", key_ids.len()),
        },
        Event::Licensing(e) => match e {
            LicensingEvent::RequestLoaded { source, .. } => {
                format!("License request opened from {}", source.display())
            }
            LicensingEvent::Issued(view) => format!("License {} issued", view.license_id),
            LicensingEvent::Revoked {
                license_id,
                sequence,
            } => format!("License {license_id} revoked (revocation list {sequence})"),
            LicensingEvent::StatusChanged { license_id, status } => {
                format!("License {license_id} is now {}", status.label())
            }
            // The Ledger panel shows the verdict in place.
            LicensingEvent::LedgerVerified(_) => return None,
            LicensingEvent::CheckpointSaved { entries, path } => format!(
                "Signed checkpoint of {entries} ledger entries saved to {}",
                path.display()
            ),
            LicensingEvent::LedgerExported { entries, path } => {
                format!("Ledger ({entries} entries) saved to {}", path.display())
            }
            LicensingEvent::Cancelled { action } => format!("{action} cancelled"),
        },
        Event::SettingsSaved(_) => "Settings saved".into(),
        Event::TextSaved { what, path } => {
            format!("{} saved to {}", what.label(), path.display())
        }
    })
}
