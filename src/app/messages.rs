//! What the app says when a command succeeds: the toast text for each event, in one place.

use crate::jobs::Event;
use crate::services::accounts::AccountsEvent;
use crate::services::arrays::ArraysEvent;
use crate::services::backup::{self, BackupEvent};
use crate::services::commerce::CommerceEvent;
use crate::services::keys::KeysEvent;
use crate::services::licensing::LicensingEvent;
use crate::services::referrals::ReferralsEvent;
use crate::services::sync::SyncEvent;

/// The confirmation to show for `event`, if it deserves one.
pub fn toast_for(event: &Event) -> Option<String> {
    Some(match event {
        Event::Sync(e) => match e {
            SyncEvent::TokenSaved { key_name } => {
                format!("Device token sealed under the signing key '{key_name}'")
            }
            SyncEvent::TokenForgotten => "Device token forgotten".into(),
            SyncEvent::Requeued { change_id } => {
                format!("Change {change_id} goes to the portal again with the next round")
            }
            SyncEvent::Synced(r) => format!(
                "Synced: {} changes pushed, {} pulled ({} applied){}",
                r.push.acknowledged,
                r.pull.received,
                r.pull.applied,
                if r.needs_review() {
                    "; some wait for staff in the Sync panel"
                } else {
                    ""
                }
            ),
        },
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
            LicensingEvent::Edited {
                license_id,
                changes,
            } => {
                format!("License {license_id} saved: {changes}")
            }
            // The edit form shows the password in place (masked until asked).
            LicensingEvent::PasswordRevealed { .. } => return None,
            LicensingEvent::Deactivated(d) => format!(
                "Deactivation applied: license {} left the customer's machine{}; its seat is free",
                d.license_id,
                if d.machine.is_empty() {
                    String::new()
                } else {
                    format!(" '{}'", d.machine)
                }
            ),
            // The transfer dialog shows the secret once, in place.
            LicensingEvent::TransferStarted { transfer, .. } => format!(
                "Transfer of license {} to wallet {} waits for the partner's approval",
                transfer.license_id, transfer.to_wallet
            ),
            LicensingEvent::TransferAccepted(t) => format!(
                "License {} imported into wallet {} ({})",
                t.license_id, t.to_wallet, t.to_name
            ),
            LicensingEvent::TransferSecretRefused { tries_left, .. } => {
                if *tries_left == 0 {
                    "Wrong secret: the transfer is now locked; the sender must cancel it".into()
                } else {
                    format!("Wrong secret: refused ({tries_left} tries left)")
                }
            }
            LicensingEvent::TransferCancelled(t) => {
                format!("Transfer of license {} cancelled", t.license_id)
            }
            LicensingEvent::ListIndexed { listed } if *listed > 0 => {
                format!("{listed} licenses added to the list")
            }
            LicensingEvent::ListIndexed { .. } | LicensingEvent::ListMapped { .. } => {
                return None;
            }
        },
        Event::Commerce(e) => commerce_toast(e)?,
        Event::Backup(e) => backup_toast(e)?,
        Event::Arrays(e) => arrays_toast(e)?,
        Event::Referrals(e) => referrals_toast(e),
        // The dashboard shows its numbers; reading them is no news.
        Event::Dashboard(_) => return None,
        Event::SettingsSaved(_) => "Settings saved".into(),
        Event::ConflictResolved { keep, .. } => match keep {
            crate::sync::resolve::Keep::Mine => {
                "Conflict settled: this desk's version kept; it syncs to the other desks".into()
            }
            crate::sync::resolve::Keep::Theirs => {
                "Conflict settled: the other desk's version kept".into()
            }
            crate::sync::resolve::Keep::Merged { from_theirs } => format!(
                "Conflict settled: this desk's version kept with {} from the other desk's; it syncs to the other desks",
                from_theirs.join(", ")
            ),
        },
        Event::TextSaved { what, path } => {
            format!("{} saved to {}", what.label(), path.display())
        }
    })
}

fn backup_toast(event: &BackupEvent) -> Option<String> {
    Some(match event {
        BackupEvent::BackedUp(w) => format!(
            "Backup written to {} ({}, {} licenses{})",
            w.path.display(),
            backup::size_text(w.bytes),
            w.contents.licenses,
            if w.encrypted { ", encrypted" } else { "" }
        ),
        // The Backups list shows it; a routine copy needs no toast.
        BackupEvent::Daily(_) | BackupEvent::Previewed(_) => return None,
        BackupEvent::Restored(r) => format!(
            "Backup restored. The database it replaced is kept at {}",
            r.set_aside.display()
        ),
        BackupEvent::Exported { path, totals } => format!(
            "Exported {} rows of {} tables to {}",
            totals.rows,
            totals.tables,
            path.display()
        ),
        BackupEvent::Imported { totals, set_aside } => format!(
            "Imported {} rows of {} tables (the database it replaced is kept at {})",
            totals.rows,
            totals.tables,
            set_aside.display()
        ),
    })
}

fn commerce_toast(event: &CommerceEvent) -> Option<String> {
    let invoice_number = |i: &crate::store::invoices::InvoiceRecord| {
        i.invoice
            .number()
            .map(|n| n.to_string())
            .unwrap_or_else(|| "Draft invoice".into())
    };
    Some(match event {
        CommerceEvent::SellerSaved(_) => "Seller details saved".into(),
        CommerceEvent::PriceListSaved(l) => {
            format!("Price list '{}' version {} saved", l.name, l.version)
        }
        CommerceEvent::VatValidated { validation, .. } => format!(
            "VAT ID {} checked: {:?}",
            validation.vat_id, validation.outcome
        ),
        CommerceEvent::OrderPlaced {
            order,
            added_to_open_order: true,
            ..
        } => format!(
            "Added to open order {} (now {})",
            order.order.number(),
            order.order.total()
        ),
        CommerceEvent::OrderPlaced { order, invoice, .. } => match invoice {
            Some(i) => format!(
                "Order {} placed: invoice {} is {}",
                order.order.number(),
                invoice_number(i),
                i.invoice.status().label()
            ),
            None => format!("Order {} placed", order.order.number()),
        },
        CommerceEvent::QuoteSaved(q) => format!(
            "Quote {} version {} saved ({})",
            q.quote.number(),
            q.quote.version(),
            q.quote.status().label().to_lowercase()
        ),
        CommerceEvent::QuoteChanged(q) => format!(
            "Quote {} version {} is {}",
            q.quote.number(),
            q.quote.version(),
            q.quote.status().label().to_lowercase()
        ),
        CommerceEvent::QuotesExpired { count: 0 } => return None,
        CommerceEvent::QuotesExpired { count } => format!("{count} quote(s) expired"),
        CommerceEvent::QuoteConverted { quote, order, .. } => format!(
            "Quote {} converted to order {}",
            quote.quote.number(),
            order.order.number()
        ),
        CommerceEvent::OrderChanged(o) => {
            format!("Order {} is {}", o.order.number(), o.order.status().label())
        }
        CommerceEvent::InvoiceChanged(i) => {
            format!("{} is {}", invoice_number(i), i.invoice.status().label())
        }
        CommerceEvent::InvoiceDeleted { .. } => "Draft invoice deleted".into(),
        CommerceEvent::InvoicePaid { invoice, .. } => format!(
            "{} paid ({})",
            invoice_number(invoice),
            invoice.invoice.total()
        ),
        CommerceEvent::CreditNoteIssued(c) => format!(
            "Credit note {} for {} issued ({})",
            c.note.number, c.note.invoice, c.note.totals.total
        ),
        CommerceEvent::WalletChanged { .. } => "Wallet updated".into(),
        CommerceEvent::Renewed { renewal, .. } => format!(
            "License renewed as {} ({}, charged to {})",
            renewal.new_license_id, renewal.total, renewal.reference
        ),
        CommerceEvent::RenewalSettingSaved(s) => {
            if s.auto_renew {
                format!("Auto-renewal on ({})", s.term.label())
            } else {
                "Auto-renewal off".into()
            }
        }
        CommerceEvent::SeatContractCreated { contract, invoice } => format!(
            "Seat contract '{}' created; invoice {}",
            contract.name,
            invoice_number(invoice)
        ),
        CommerceEvent::SeatsChanged { contract, .. } => {
            format!("'{}' now has {} seats", contract.name, contract.seats)
        }
        CommerceEvent::SeatAssigned(a) => format!("Seat given to {}", a.user_name),
        CommerceEvent::SeatReleased(a) => format!("{}'s seat is free again", a.user_name),
        CommerceEvent::Exported { what, path } => {
            format!("{what} saved to {}", path.display())
        }
    })
}

fn arrays_toast(event: &ArraysEvent) -> Option<String> {
    Some(match event {
        ArraysEvent::Created(a) => format!("Array '{}' created", a.name),
        ArraysEvent::Saved {
            array,
            withdrawn: Some(id),
        } => format!(
            "Array '{}' saved; its serial …{} was withdrawn (it is on the revocation list)",
            array.name,
            // The end of the id: ids made in the same minute share their first digits.
            id.0.simple().to_string().get(24..).unwrap_or_default()
        ),
        ArraysEvent::Saved { array, .. } => format!("Array '{}' saved", array.name),
        ArraysEvent::Generated { array, issued, .. } => format!(
            "{} serial for '{}' generated: {}",
            issued.kind,
            array.name,
            issued
                .expires_at
                .map(|t| format!("expires {}", crate::domain::time::date(t)))
                .unwrap_or_else(|| "never expires".into())
        ),
        ArraysEvent::SerialSent { to, .. } => {
            format!("Serial mailed to {to} (in the mail outbox)")
        }
        ArraysEvent::Deleted { array, .. } => format!("Array '{}' deleted", array.name),
        // The Arrays panel shows what the file says in the form.
        ArraysEvent::RequestRead { .. } => return None,
    })
}

fn referrals_toast(event: &ReferralsEvent) -> String {
    match event {
        ReferralsEvent::Referred { referrals, .. } => match referrals.as_slice() {
            [one] => format!("{} invited", one.name),
            many => format!("{} friends invited", many.len()),
        },
        ReferralsEvent::StatusSet {
            referral,
            rewarded: Some(reward),
            ..
        } => format!(
            "{} became a customer: {} (one free month) credited to the wallet",
            referral.name, reward.amount
        ),
        ReferralsEvent::StatusSet {
            referral,
            changed: false,
            ..
        } => format!(
            "{} is already '{}'; nothing changed",
            referral.name,
            referral.status.label()
        ),
        ReferralsEvent::StatusSet { referral, .. } => {
            format!("{} is now '{}'", referral.name, referral.status.label())
        }
    }
}
