//! Fills a data directory with arrays, referrals and a year of sales (for screenshots and
//! trying the Arrays, Referrals and Dashboard panels): a seller, the starter price list, three
//! accounts whose wallets bought Pro licenses and capacity over the last months, their arrays
//! (Pro with serials, one "Ordered", an Eval, a Dev), a license issued to a customer name only,
//! an unpaid invoice, and referrals (one friend became a customer, so one reward).
//!
//! The signing key "Demo" has the passphrase `demo passphrase`.
//!
//! `cargo run --release --example demo_arrays -- /tmp/desk-arrays`, then
//! `license-desk --data-dir /tmp/desk-arrays`.

use chrono::NaiveDate;
use license_desk::clock::{Clock, SystemClock};
use license_desk::commerce::catalog::{Product, starter};
use license_desk::commerce::pricing::LineSpec;
use license_desk::commerce::seller::SellerDetails;
use license_desk::commerce::terms::Term;
use license_desk::domain::array::ArrayEdit;
use license_desk::domain::billing::BillingDetails;
use license_desk::domain::ids::{AccountId, IdempotencyKey};
use license_desk::domain::issue::IssueDraft;
use license_desk::domain::money::{Currency, Money};
use license_desk::domain::payment::{CardBrand, PaymentDetails};
use license_desk::domain::referral::{FriendDraft, ReferralStatus};
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::services::arrays::{self, ArraysCommand, ArraysEvent};
use license_desk::services::commerce::{self, CommerceCommand, PayBy, Placement};
use license_desk::services::keys::{self, KeyVault, KeysCommand, Secret};
use license_desk::services::licensing;
use license_desk::services::referrals::{self, ReferralsCommand, ReferralsEvent};
use license_desk::store::Store;
use licensekey::{LicenseKind, Uuid};
use std::sync::Arc;

const DAY: i64 = 86_400;
const PASSPHRASE: &str = "demo passphrase";

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: demo_arrays DATA_DIR"))?;
    let path = license_desk::paths::database_path(std::path::Path::new(&dir));
    let mut store = Store::open(&path)?;
    let clock = Arc::new(SystemClock);
    let now = clock.now().timestamp();
    let mut vault = KeyVault::new(keyvault::KdfParams::INTERACTIVE, 10, clock);
    commerce::run(
        &mut store,
        &mut vault,
        now,
        CommerceCommand::SaveSeller(SellerDetails {
            company: "Desk Vendor GmbH".into(),
            address: "Friedrichstr. 10\n10117 Berlin".into(),
            country: "DE".into(),
            vat_id: "DE136695976".into(),
            email: "billing@vendor.example".into(),
        }),
    )?;
    let list = starter(
        Uuid::now_v7(),
        NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default(),
    );
    commerce::run(
        &mut store,
        &mut vault,
        now,
        CommerceCommand::SavePriceList(list.clone()),
    )?;
    let key = keys::generate(
        &mut store,
        "Demo",
        PASSPHRASE,
        keyvault::KdfParams::INTERACTIVE,
        true,
        now,
    )?;
    vault.run(
        &mut store,
        now,
        KeysCommand::Unlock {
            key_id: key.key_id,
            passphrase: Secret::new(PASSPHRASE),
        },
    )?;

    // (account, contact, purchases: (days ago, Pro, TB, term, paid)).
    type Purchase = (i64, u32, u32, Term, bool);
    let customers: [(&str, &str, &[Purchase]); 3] = [
        (
            "Acme Storage",
            "ada@acme.example",
            &[
                (300, 2, 40, Term::Annual, true),
                (120, 1, 20, Term::Annual, true),
                (10, 1, 0, Term::Annual, false),
            ],
        ),
        (
            "Globex",
            "hank@globex.example",
            &[
                (200, 1, 30, Term::Triennial, true),
                (60, 1, 10, Term::Annual, true),
            ],
        ),
        (
            "Initech",
            "peter@initech.example",
            &[(30, 1, 8, Term::Quarterly, true)],
        ),
    ];
    let mut ids = Vec::new();
    for (name, email, purchases) in customers {
        let account = accounts::create(&mut store, name, now - 330 * DAY)?.id;
        ids.push(account);
        billing(&mut store, account, name, email, now)?;
        commerce::run(
            &mut store,
            &mut vault,
            now - 330 * DAY,
            CommerceCommand::TopUp {
                account_id: account,
                amount: Money::from_minor(2_000_000, Currency::EUR),
                key: IdempotencyKey::new(),
            },
        )?;
        for (days_ago, pro, tb, term, paid) in purchases {
            let at = now - days_ago * DAY;
            let today = license_desk::domain::time::utc_date(at).unwrap_or_default();
            let mut lines = Vec::new();
            for (product, quantity) in [(Product::ProLicense, *pro), (Product::CapacityTb, *tb)] {
                if quantity > 0 {
                    lines.push(LineSpec::Catalogue {
                        product,
                        term: *term,
                        quantity,
                        terms: 1,
                    });
                }
            }
            let confirmed =
                commerce::price_cart(store.conn(), account, list.reference(), &lines, today)?;
            commerce::run(
                &mut store,
                &mut vault,
                at,
                CommerceCommand::PlaceOrder(Box::new(Placement {
                    account_id: account,
                    price_list: list.reference(),
                    lines,
                    pay_by: if *paid {
                        PayBy::Wallet
                    } else {
                        PayBy::NewInvoice { pay_now: false }
                    },
                    terms_accepted: true,
                    confirmed,
                    key: IdempotencyKey::new(),
                })),
            )?;
        }
    }

    // Arrays: (account, name, kind, TB, serial generated).
    let arrays_of: [(usize, &str, Option<LicenseKind>, u32, bool); 7] = [
        (0, "Rack A — Frankfurt", Some(LicenseKind::Pro), 40, true),
        (0, "Rack B — Frankfurt", Some(LicenseKind::Pro), 20, true),
        (0, "Edge Hamburg", Some(LicenseKind::Pro), 0, false),
        (0, "Lab", Some(LicenseKind::Eval), 0, true),
        (1, "Primary", Some(LicenseKind::Pro), 30, true),
        (1, "Backup", Some(LicenseKind::Dev), 0, true),
        (2, "Main cluster", None, 0, false),
    ];
    for (i, (account, name, kind, tb, generate)) in arrays_of.into_iter().enumerate() {
        let ArraysEvent::Created(array) = arrays::run(
            &mut store,
            &mut vault,
            now,
            ArraysCommand::Create {
                account_id: ids[account],
                name: name.into(),
            },
        )?
        else {
            anyhow::bail!("the array was not created");
        };
        if kind.is_none() {
            continue;
        }
        let cluster = Uuid::from_u128(0x0192_f5a0_7c1e_7d3a_9b4f_0000_0000_0000 + i as u128);
        arrays::run(
            &mut store,
            &mut vault,
            now,
            ArraysCommand::Save {
                id: array.id,
                edit: Box::new(ArrayEdit {
                    name: name.into(),
                    cluster: cluster.to_string(),
                    kind,
                    capacity_tb: tb,
                    ..ArrayEdit::default()
                }),
            },
        )?;
        if generate {
            arrays::run(
                &mut store,
                &mut vault,
                now,
                ArraysCommand::Generate { id: array.id },
            )?;
        }
    }

    // A license issued from the CLI without --account: a customer name only ("unlinked").
    let (_, signing) = vault.active_signing_key(store.conn())?;
    let signing = signing.clone();
    let spec = IssueDraft {
        product: "Storage OS".into(),
        customer: "Walk-in customer".into(),
        days: "20".into(),
        ..IssueDraft::default()
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    licensing::issue(&mut store, &signing, &spec, None, "demo", now)?;

    // Referrals of Acme Storage: one friend became a customer (one reward).
    let ReferralsEvent::Referred { referrals, .. } = referrals::run(
        &mut store,
        now,
        ReferralsCommand::Refer {
            account_id: ids[0],
            friends: [
                ("Grace Hopper", "grace@navy.example"),
                ("Alan Turing", "alan@bletchley.example"),
                ("Katherine Johnson", "katherine@nasa.example"),
            ]
            .into_iter()
            .map(|(name, email)| FriendDraft {
                name: name.into(),
                email: email.into(),
            })
            .collect(),
        },
    )?
    else {
        anyhow::bail!("no referrals");
    };
    for (referral, status) in referrals.iter().zip([
        Some(ReferralStatus::Customer),
        Some(ReferralStatus::SignedUp),
        None,
    ]) {
        if let Some(status) = status {
            referrals::run(
                &mut store,
                now,
                ReferralsCommand::SetStatus {
                    id: referral.id,
                    status,
                },
            )?;
        }
    }
    println!("demo data written to {}", path.display());
    Ok(())
}

fn billing(
    store: &mut Store,
    account: AccountId,
    name: &str,
    email: &str,
    now: i64,
) -> anyhow::Result<()> {
    accounts::run(
        store,
        now,
        AccountsCommand::SaveBilling {
            account_id: account,
            details: BillingDetails {
                company: format!("{name} GmbH"),
                contact_name: "Ada Lovelace".into(),
                email: email.into(),
                address_line1: "Hauptstr. 1".into(),
                city: "Berlin".into(),
                postal_code: "10115".into(),
                country: "DE".into(),
                ..BillingDetails::default()
            },
        },
    )?;
    accounts::run(
        store,
        now,
        AccountsCommand::AddPaymentMethod {
            account_id: account,
            details: PaymentDetails::Card {
                holder: "Ada Lovelace".into(),
                brand: CardBrand::Visa,
                last4: "4242".into(),
                exp_month: 8,
                exp_year: 2030,
            },
            make_default: true,
        },
    )?;
    Ok(())
}
