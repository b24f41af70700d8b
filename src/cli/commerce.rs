//! `license-desk order` and `license-desk seats change`: the two commerce writes a script needs,
//! with the same pricing, checks and idempotency as the window. Run again with the same
//! `--key`, a command that already committed says so instead of charging twice.

use super::passphrase::{self, Purpose};
use super::{OrderArgs, PayByArg, SeatsChangeArgs, open_store};
use crate::commerce::catalog::Product;
use crate::commerce::pricing::LineSpec;
use crate::commerce::terms::Term;
use crate::domain::ids::{IdempotencyKey, SeatContractId};
use crate::outln;
use crate::services::commerce::{self, CommerceCommand, CommerceEvent, PayBy, Placement};
use crate::services::keys::{KeyVault, Secret};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

fn now() -> i64 {
    use crate::clock::Clock as _;
    crate::clock::SystemClock.now().timestamp()
}

fn vault() -> KeyVault {
    KeyVault::new(
        keyvault::KdfParams::INTERACTIVE,
        10,
        Arc::new(crate::clock::SystemClock),
    )
}

fn key(given: Option<&str>) -> anyhow::Result<IdempotencyKey> {
    match given {
        None => Ok(IdempotencyKey::new()),
        Some(text) => text
            .parse()
            .map_err(|e| anyhow::anyhow!("--key: {e} (a UUID, as printed by an earlier run)")),
    }
}

/// `order`: prices the cart with the current price list and places it.
pub fn place(args: &OrderArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let key = key(args.key.as_deref())?;
    let mut store = open_store(database)?;
    let account = crate::services::accounts::by_wallet_id(&store, &args.account)
        .map_err(|e| anyhow::anyhow!("--account: {e}"))?;
    let lists = crate::store::price_lists::all(store.conn())?;
    let list = match &args.price_list {
        None => lists.first(),
        Some(name) => lists.iter().find(|l| l.name == *name),
    }
    .ok_or_else(|| match &args.price_list {
        None => anyhow::anyhow!("no price list yet: make one in Settings → Prices"),
        Some(name) => anyhow::anyhow!("--price-list: no price list named '{name}'"),
    })?;
    let lines = vec![LineSpec::Catalogue {
        product: args.product.into(),
        term: args.term.into(),
        quantity: args.quantity,
        terms: args.terms,
    }];
    let today = crate::domain::time::utc_date(now())
        .ok_or_else(|| anyhow::anyhow!("the clock does not read a date"))?;
    let confirmed =
        commerce::price_cart(store.conn(), account.id, list.reference(), &lines, today)?;
    outln!("Key: {key} (run again with --key {key} to place this order at most once)");
    outln!("Total: {}", confirmed.totals.total);
    let event = commerce::run(
        &mut store,
        &mut vault(),
        now(),
        CommerceCommand::PlaceOrder(Box::new(Placement {
            account_id: account.id,
            price_list: list.reference(),
            lines,
            pay_by: match args.pay_by {
                PayByArg::Wallet => PayBy::Wallet,
                PayByArg::Invoice => PayBy::NewInvoice { pay_now: false },
                PayByArg::Card => PayBy::NewInvoice { pay_now: true },
            },
            terms_accepted: true,
            confirmed,
            key,
        })),
    )?;
    if let CommerceEvent::OrderPlaced { order, invoice, .. } = event {
        outln!("Order: {}", order.order.number());
        if let Some(invoice) = invoice {
            outln!(
                "Invoice: {} ({})",
                invoice
                    .invoice
                    .number()
                    .map_or_else(|| "draft".to_string(), |n| n.to_string()),
                invoice.invoice.status().label()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `seats change`: prices the change, then books it, confirmed with the operator's passphrase.
pub fn change(args: &SeatsChangeArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let key = key(args.key.as_deref())?;
    let contract: SeatContractId = args
        .contract
        .parse()
        .map_err(|e| anyhow::anyhow!("CONTRACT: {e}"))?;
    let mut store = open_store(database)?;
    if let Some(done) = crate::store::seats::change_by_key(store.conn(), key)? {
        outln!(
            "Seats: {} (this change, key {key}, was already made)",
            done.to_seats
        );
        return Ok(ExitCode::SUCCESS);
    }
    let today = crate::domain::time::utc_date(now())
        .ok_or_else(|| anyhow::anyhow!("the clock does not read a date"))?;
    let effective = args.effective.unwrap_or(today);
    let confirmed =
        commerce::preview_seat_change(store.conn(), contract, args.seats, effective, today)?;
    let passphrase = Secret::from(passphrase::read(
        &args.passphrase,
        Purpose::Unlock,
        "the active signing key (to confirm the charge)",
    )?);
    outln!("Key: {key} (run again with --key {key} to make this change at most once)");
    let event = commerce::run(
        &mut store,
        &mut vault(),
        now(),
        CommerceCommand::ChangeSeats {
            contract_id: contract,
            new_seats: args.seats,
            effective,
            confirmed,
            passphrase,
            key,
        },
    )?;
    if let CommerceEvent::SeatsChanged {
        contract, invoice, ..
    } = event
    {
        outln!("Seats: {}", contract.seats);
        if let Some(invoice) = invoice {
            outln!(
                "Invoice: {}",
                invoice
                    .invoice
                    .number()
                    .map_or_else(|| "draft".to_string(), |n| n.to_string())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl From<super::ProductArg> for Product {
    fn from(p: super::ProductArg) -> Self {
        match p {
            super::ProductArg::Pro => Product::ProLicense,
            super::ProductArg::Capacity => Product::CapacityTb,
            super::ProductArg::Support => Product::Support,
            super::ProductArg::Seat => Product::NamedSeat,
        }
    }
}

impl From<super::TermArg> for Term {
    fn from(t: super::TermArg) -> Self {
        match t {
            super::TermArg::Monthly => Term::Monthly,
            super::TermArg::Quarterly => Term::Quarterly,
            super::TermArg::Annual => Term::Annual,
            super::TermArg::Triennial => Term::Triennial,
        }
    }
}
