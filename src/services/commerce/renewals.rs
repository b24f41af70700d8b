//! Renewing a license: a successor license with the same product, customer, kind, binding,
//! seats, capacity and features, whose expiry is the old one extended by the chosen period (or
//! today extended, if the old one has already expired). It is signed with the active key,
//! recorded with its ledger entry, and supersedes the old license, in the transaction that
//! also charges it — so a renewal is never paid without its license, nor issued unpaid.

use super::sales::{self, Parties, once};
use super::{CommerceError, CommerceEvent, Outcome, PayBy, PayWith, mail};
use crate::commerce::catalog::{PriceList, PriceListRef, Product, list_in_force};
use crate::commerce::documents::Invoice;
use crate::commerce::pricing::{PricedDocument, PricingError};
use crate::commerce::renewal::{RenewalItem, RenewalRequest, renewal_cost};
use crate::commerce::terms::Term;
use crate::domain::ids::{AccountId, IdempotencyKey, InvoiceId, LicenseId, RenewalId};
use crate::domain::license_status::{LicenseStatus, StatusChange};
use crate::domain::money::Money;
use crate::services::keys::{self, KeyVault};
use crate::services::licensing;
use crate::store::invoices::InvoiceRecord;
use crate::store::licenses::LicenseRow;
use crate::store::renewals::{RenewalRecord, RenewalSettingRecord};
use crate::store::{self, Store};
use chrono::NaiveDate;
use licensekey::{SECONDS_PER_DAY, SignedLicense, Uuid};
use rusqlite::Connection;

/// What a renewal will cost and give, before it is confirmed (the same function books it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalPreview {
    pub license_id: LicenseId,
    pub account_id: AccountId,
    pub price_list: PriceListRef,
    /// The new license's expiry, unix seconds.
    pub new_expires_at: i64,
    pub document: PricedDocument,
}

/// What a renewal charges for: the license itself, its capacity, and support if it has any.
pub fn renewal_items(license: &LicenseRow, has_support: bool) -> Vec<RenewalItem> {
    let mut items = vec![RenewalItem {
        product: Product::ProLicense,
        quantity: 1,
    }];
    if let Ok(tb) = u32::try_from(license.capacity_tb)
        && tb > 0
    {
        items.push(RenewalItem {
            product: Product::CapacityTb,
            quantity: tb,
        });
    }
    if has_support {
        items.push(RenewalItem {
            product: Product::Support,
            quantity: 1,
        });
    }
    items
}

/// The price list in force today (the first list, by name).
pub(super) fn current_list(
    conn: &Connection,
    today: NaiveDate,
) -> Result<PriceList, CommerceError> {
    let lists = store::price_lists::all(conn)?;
    let id = lists
        .first()
        .map(|l| l.id)
        .ok_or(CommerceError::NoPriceList)?;
    list_in_force(&lists, id, today)
        .cloned()
        .ok_or(CommerceError::NoPriceList)
}

fn renewable(
    conn: &Connection,
    license_id: LicenseId,
) -> Result<(LicenseRow, SignedLicense, AccountId, i64), CommerceError> {
    if let Some(why) = store::licenses::issued_elsewhere(conn, license_id)? {
        return Err(CommerceError::Refused(why));
    }
    let license =
        store::licenses::get(conn, license_id)?.ok_or(CommerceError::NotFound("license"))?;
    if license.status != LicenseStatus::Active {
        return Err(CommerceError::Refused(format!(
            "license {license_id} is {}; only an active license is renewed",
            license.status.label()
        )));
    }
    if license.kind != "Pro" {
        return Err(CommerceError::Refused(format!(
            "a {} license is not renewed: issue a Pro license instead",
            license.kind
        )));
    }
    let expires_at = license
        .expires_at
        .ok_or_else(|| CommerceError::Refused("a perpetual license never needs renewing".into()))?;
    let account_id = license.account_id.ok_or_else(|| {
        CommerceError::Refused("the license belongs to no account: link it to one first".into())
    })?;
    let signed = license.signed().ok_or_else(|| {
        CommerceError::Refused(format!("the stored license {license_id} is damaged"))
    })?;
    Ok((license, signed, account_id, expires_at))
}

/// Prices renewing `license_id` for `terms` terms of `term`, as of `now`.
pub fn preview_renewal(
    conn: &Connection,
    license_id: LicenseId,
    term: Term,
    terms: u32,
    now: i64,
) -> Result<RenewalPreview, CommerceError> {
    let today = crate::domain::time::utc_date(now).unwrap_or_default();
    let (license, signed, account_id, expires_at) = renewable(conn, license_id)?;
    let parties = sales::parties(conn, account_id)?;
    let list = current_list(conn, today)?;
    // From the old expiry, or from now when it has passed; the time of day is kept.
    let from = expires_at.max(now);
    let start = crate::domain::time::utc_date(from).unwrap_or(today);
    let end = term.end_after(start, terms)?;
    let days = (end - start).num_days();
    let quote = renewal_cost(
        &list,
        &RenewalRequest {
            seller: parties.seller,
            customer: parties.customer,
            items: renewal_items(&license, signed.payload().support_until.is_some()),
            term,
            terms,
            current_end: start,
            tax_point: today,
        },
    )?;
    Ok(RenewalPreview {
        license_id,
        account_id,
        price_list: list.reference(),
        new_expires_at: from + days * SECONDS_PER_DAY,
        document: quote.document,
    })
}

pub(super) struct RenewRequest {
    pub license_id: LicenseId,
    pub term: Term,
    pub terms: u32,
    pub pay_by: PayBy,
    pub confirmed_total: Money,
    pub key: IdempotencyKey,
}

pub(super) fn renew(
    store: &mut Store,
    vault: &mut KeyVault,
    request: RenewRequest,
    today: NaiveDate,
    now: i64,
) -> Result<Outcome, CommerceError> {
    if let Some(done) = store::commerce::idempotent_result(store.conn(), request.key)? {
        return Ok((store::commerce::from_json("renewal", &done)?, Vec::new()));
    }
    let operator = licensing::operator(store)?;
    let (_, signing) = vault.active_signing_key(store.conn())?;
    let signing = signing.clone();
    let signer = keys::ensure_active(store.conn(), &signing)?;
    store.write(|tx| {
        once(tx, request.key, "renew", now, || {
            let preview = preview_renewal(tx, request.license_id, request.term, request.terms, now)?;
            let total = preview.document.totals.total;
            if total != request.confirmed_total {
                return Err(PricingError::Changed {
                    confirmed: request.confirmed_total,
                    now: total,
                }
                .into());
            }
            let (_, old, account_id, _) = renewable(tx, request.license_id)?;
            let parties: Parties = sales::parties(tx, account_id)?;
            if request.pay_by != PayBy::Wallet {
                sales::ensure_payment_method(tx, account_id, today)?;
            }
            let mut payload = old.payload().clone();
            let shift = preview.new_expires_at - payload.expires_at.unwrap_or(now);
            payload.license_id = Uuid::now_v7();
            payload.issued_at = now;
            payload.not_before = now;
            payload.expires_at = Some(preview.new_expires_at);
            payload.support_until = payload.support_until.map(|s| s.max(now) + shift.max(0));
            let renewed = SignedLicense::sign(payload, &signing).map_err(licensing::LicensingError::from)?;
            let head = store::ledger::head(tx)?;
            licensing::record_issued_with(
                tx,
                head,
                &renewed,
                Some(account_id),
                Some(request.term.months()),
                None,
                &operator,
                now,
            )?;
            let new_id = LicenseId(renewed.payload().license_id);
            licensing::change_status_in(
                tx,
                &signing,
                signer.key_id,
                request.license_id,
                StatusChange::Supersede,
                &format!("renewed by {new_id}"),
                &operator,
                now,
            )?;
            let (reference, invoice) = match request.pay_by {
                PayBy::OpenOrder(order_id) => {
                    let order =
                        sales::add_to_open_order(tx, account_id, order_id, preview.document.clone(), now)?;
                    (order.order.number().to_string(), None)
                }
                PayBy::Wallet | PayBy::NewInvoice { .. } => {
                    let id = InvoiceId::new();
                    let mut invoice = InvoiceRecord {
                        id,
                        account_id,
                        order_id: None,
                        invoice: Invoice::draft(id.0, None, preview.document.clone()),
                    };
                    sales::finalise(tx, &mut invoice, today)?;
                    store::invoices::insert(tx, &invoice, now)?;
                    let with = match request.pay_by {
                        PayBy::Wallet => Some(PayWith::Wallet),
                        PayBy::NewInvoice { pay_now: true } => Some(PayWith::Card),
                        _ => None,
                    };
                    if let Some(with) = with {
                        sales::settle(tx, &mut invoice, None, with, today, now)?;
                    }
                    let number = invoice.invoice.number().map(|n| n.to_string()).unwrap_or_default();
                    (number, Some(invoice))
                }
            };
            let renewal = RenewalRecord {
                id: RenewalId::new(),
                account_id: Some(account_id),
                old_license_id: request.license_id,
                new_license_id: new_id,
                term: request.term,
                terms: request.terms,
                total,
                pay_by: match request.pay_by {
                    PayBy::Wallet => "wallet",
                    PayBy::OpenOrder(_) => "order",
                    PayBy::NewInvoice { .. } => "invoice",
                }
                .into(),
                reference: reference.clone(),
                idempotency_key: request.key,
                at: now,
            };
            store::renewals::insert(tx, &renewal, now)?;
            if let Some(setting) = store::renewals::setting(tx, request.license_id)? {
                store::renewals::save_setting(
                    tx,
                    &RenewalSettingRecord {
                        license_id: new_id,
                        ..setting
                    },
                    now,
                )?;
            }
            let text = format!(
                "license {} was renewed until {} as license {new_id} for {total} (charged to {reference}).\n",
                request.license_id,
                crate::domain::time::rfc3339(preview.new_expires_at),
            );
            let mails = vec![mail::notice(tx, &parties, format!("License renewed ({reference})"), &text, now)?];
            Ok((CommerceEvent::Renewed { renewal, invoice }, mails))
        })
    })
}

pub(super) fn save_setting(
    store: &mut Store,
    setting: RenewalSettingRecord,
    now: i64,
) -> Result<CommerceEvent, CommerceError> {
    store.write(|tx| {
        store::licenses::get(tx, setting.license_id)?.ok_or(CommerceError::NotFound("license"))?;
        if let Some(why) = store::licenses::issued_elsewhere(tx, setting.license_id)? {
            return Err(CommerceError::Refused(why));
        }
        store::renewals::save_setting(tx, &setting, now)?;
        Ok(CommerceEvent::RenewalSettingSaved(setting))
    })
}
