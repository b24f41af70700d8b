//! Referrals through the service: friends referred with an invitation each, statuses that only
//! move forward, and the reward (one free month) credited exactly once — when the status is
//! set twice, and when the same "became customer" change is applied twice as sync would, or
//! after the reward's wallet entry already arrived from another desk.

// Test helpers panic on setup failures like the tests themselves.
#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use license_desk::commerce::catalog::starter;
use license_desk::commerce::seller::SellerDetails;
use license_desk::commerce::wallet::{CreditReason, WalletChange, WalletEntry};
use license_desk::domain::ids::{AccountId, ReferralId};
use license_desk::domain::money::{Currency, Money};
use license_desk::domain::referral::{FriendDraft, ReferralStatus};
use license_desk::services::accounts;
use license_desk::services::commerce::{self, CommerceCommand};
use license_desk::services::keys::KeyVault;
use license_desk::services::referrals::{
    self, ReferralsCommand, ReferralsError, ReferralsEvent, reward_entry_id,
};
use license_desk::store::referrals::ReferralRecord;
use license_desk::store::{self, Store};
use std::sync::Arc;

/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

struct Desk {
    dir: tempfile::TempDir,
    store: Store,
    account: AccountId,
}

impl Desk {
    fn new(with_price_list: bool) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
        let account = accounts::create(&mut store, "Acme Storage", NOW)
            .unwrap()
            .id;
        let mut vault = KeyVault::new(
            keyvault::KdfParams::TEST_ONLY,
            10,
            Arc::new(license_desk::clock::FixedClock::at_unix(NOW)),
        );
        commerce::run(
            &mut store,
            &mut vault,
            NOW,
            CommerceCommand::SaveSeller(SellerDetails {
                company: "Desk Vendor GmbH".into(),
                address: "Friedrichstr. 10\n10117 Berlin".into(),
                country: "DE".into(),
                vat_id: "DE136695976".into(),
                email: "billing@vendor.example".into(),
            }),
        )
        .unwrap();
        if with_price_list {
            commerce::run(
                &mut store,
                &mut vault,
                NOW,
                CommerceCommand::SavePriceList(starter(
                    uuid::Uuid::now_v7(),
                    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
                )),
            )
            .unwrap();
        }
        Desk {
            dir,
            store,
            account,
        }
    }

    fn run(&mut self, command: ReferralsCommand) -> Result<ReferralsEvent, ReferralsError> {
        referrals::run(&mut self.store, NOW, command)
    }

    fn refer(&mut self, friends: &[(&str, &str)]) -> Vec<ReferralRecord> {
        let account_id = self.account;
        let friends = friends
            .iter()
            .map(|(name, email)| FriendDraft {
                name: name.to_string(),
                email: email.to_string(),
            })
            .collect();
        match self.run(ReferralsCommand::Refer {
            account_id,
            friends,
        }) {
            Ok(ReferralsEvent::Referred { referrals, .. }) => referrals,
            other => panic!("{other:?}"),
        }
    }

    fn set(
        &mut self,
        id: ReferralId,
        status: ReferralStatus,
    ) -> Result<ReferralsEvent, ReferralsError> {
        self.run(ReferralsCommand::SetStatus { id, status })
    }

    fn money(&self) -> Option<Money> {
        store::wallet::balances(self.store.conn(), self.account)
            .unwrap()
            .money
    }

    fn count(&self, table: &str) -> i64 {
        self.store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

#[test]
fn friends_are_invited_and_the_same_friend_only_once() {
    let mut desk = Desk::new(true);
    let referred = desk.refer(&[
        ("Grace Hopper", "grace@navy.example"),
        (" Alan  Turing ", " alan@bletchley.example "),
    ]);
    assert_eq!(referred.len(), 2);
    assert_eq!(referred[1].name, "Alan Turing");
    assert_eq!(referred[1].email, "alan@bletchley.example");
    assert!(referred.iter().all(|r| r.status == ReferralStatus::Invited));
    // Each got an invitation in the mail outbox, written as an .eml file.
    let mails = store::mail_outbox::page(desk.store.conn(), None, 0, 10).unwrap();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].to, "grace@navy.example");
    assert_eq!(
        mails[1].subject,
        "Acme Storage invites you to try Desk Vendor GmbH"
    );
    assert!(
        desk.dir
            .path()
            .join("outbox")
            .join(&mails[1].file_name)
            .is_file()
    );
    // Referred again (any case), or twice in one form: refused, nothing stored.
    let account_id = desk.account;
    let err = desk
        .run(ReferralsCommand::Refer {
            account_id,
            friends: vec![
                FriendDraft {
                    name: "Ada".into(),
                    email: "ada@example.org".into(),
                },
                FriendDraft {
                    name: "Grace".into(),
                    email: "GRACE@navy.example".into(),
                },
            ],
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "'GRACE@navy.example' was already referred by this account"
    );
    assert_eq!(desk.count("referrals"), 2);
    let err = desk
        .run(ReferralsCommand::Refer {
            account_id,
            friends: vec![FriendDraft {
                name: "Ada".into(),
                email: "ada@".into(),
            }],
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Friend 1: Email: 'ada@' is not a valid email address"
    );
    let outbox: Vec<String> = store::outbox::pending(desk.store.conn(), 0, 100)
        .unwrap()
        .into_iter()
        .map(|r| format!("{}:{}", r.entity, r.op))
        .collect();
    assert_eq!(outbox.iter().filter(|e| *e == "referral:upsert").count(), 2);
}

#[test]
fn becoming_a_customer_credits_one_free_month_once_even_when_set_twice() {
    let mut desk = Desk::new(true);
    let grace = desk.refer(&[("Grace Hopper", "grace@navy.example")])[0].clone();
    let ReferralsEvent::StatusSet { rewarded, .. } =
        desk.set(grace.id, ReferralStatus::SignedUp).unwrap()
    else {
        panic!()
    };
    assert_eq!(rewarded, None, "signing up earns nothing yet");
    assert_eq!(desk.money(), None);

    let ReferralsEvent::StatusSet {
        rewarded, changed, ..
    } = desk.set(grace.id, ReferralStatus::Customer).unwrap()
    else {
        panic!()
    };
    assert!(changed);
    let reward = rewarded.unwrap();
    // One month of the Pro license on the starter list: €12.00.
    assert_eq!(reward.amount, eur(1200));
    assert_eq!(reward.wallet_entry_id, reward_entry_id(grace.id));
    assert_eq!(desk.money(), Some(eur(1200)));

    // Set again: nothing changes, nothing is credited.
    let ReferralsEvent::StatusSet {
        rewarded, changed, ..
    } = desk.set(grace.id, ReferralStatus::Customer).unwrap()
    else {
        panic!()
    };
    assert_eq!((rewarded, changed), (None, false));
    assert_eq!(desk.money(), Some(eur(1200)));
    assert_eq!(desk.count("referral_rewards"), 1);
    // Going back is refused.
    let err = desk.set(grace.id, ReferralStatus::Invited).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a friend who is 'Became customer' cannot go back to 'Invited'"
    );
    // The wallet entry says why.
    let entries = store::wallet::entries(desk.store.conn(), desk.account).unwrap();
    assert_eq!(entries.len(), 1);
    assert!(matches!(
        &entries[0].change,
        WalletChange::Credit {
            reason: CreditReason::Referral { friend, .. },
            ..
        } if friend == "Grace Hopper"
    ));
    // The database itself refuses a second reward row for the referral.
    let again = desk
        .store
        .write(|tx| store::referrals::insert_reward(tx, &reward, NOW));
    assert!(again.is_err());
}

#[test]
fn a_became_customer_change_applied_twice_by_sync_credits_once() {
    let mut desk = Desk::new(true);
    // The referral arrives from another desk, already a customer, twice (a retried pull).
    let received = ReferralRecord {
        id: ReferralId::new(),
        account_id: desk.account,
        name: "Grace Hopper".into(),
        email: "grace@navy.example".into(),
        status: ReferralStatus::Customer,
        created_at: NOW - 86_400,
        updated_at: NOW,
    };
    let first = referrals::apply_synced(&mut desk.store, &received, NOW).unwrap();
    assert_eq!(first.map(|r| r.amount), Some(eur(1200)));
    let second = referrals::apply_synced(&mut desk.store, &received, NOW + 60).unwrap();
    assert_eq!(second, None);
    assert_eq!(desk.money(), Some(eur(1200)));
    assert_eq!(desk.count("referral_rewards"), 1);
    // An older state arriving late does not move it back.
    let stale = ReferralRecord {
        status: ReferralStatus::SignedUp,
        ..received.clone()
    };
    referrals::apply_synced(&mut desk.store, &stale, NOW + 120).unwrap();
    let row = store::referrals::get(desk.store.conn(), received.id)
        .unwrap()
        .unwrap();
    assert_eq!(row.referral.status, ReferralStatus::Customer);
    // Setting it here too books nothing more.
    let ReferralsEvent::StatusSet { rewarded, .. } =
        desk.set(received.id, ReferralStatus::Customer).unwrap()
    else {
        panic!()
    };
    assert_eq!(rewarded, None);
    assert_eq!(desk.money(), Some(eur(1200)));
}

#[test]
fn a_reward_whose_wallet_entry_arrived_first_is_not_credited_again() {
    let mut desk = Desk::new(true);
    let grace = desk.refer(&[("Grace Hopper", "grace@navy.example")])[0].clone();
    // The desk that marked Grace a customer booked the reward; its wallet entry (same derived
    // id) is pulled before the referral's own change.
    let entry = WalletEntry {
        id: reward_entry_id(grace.id).0,
        at: NOW,
        change: WalletChange::Credit {
            amount: eur(1200),
            reason: CreditReason::Referral {
                referral: grace.id.0,
                friend: grace.name.clone(),
            },
        },
    };
    let account = desk.account;
    desk.store
        .write(|tx| store::wallet::append(tx, account, &entry, NOW))
        .unwrap();
    let customer = ReferralRecord {
        status: ReferralStatus::Customer,
        updated_at: NOW,
        ..grace
    };
    referrals::apply_synced(&mut desk.store, &customer, NOW).unwrap();
    referrals::apply_synced(&mut desk.store, &customer, NOW).unwrap();
    assert_eq!(desk.money(), Some(eur(1200)), "one credit");
    assert_eq!(desk.count("wallet_entries"), 1);
    assert_eq!(desk.count("referral_rewards"), 1);
}

#[test]
fn without_a_price_list_the_reward_cannot_be_priced_and_nothing_changes() {
    let mut desk = Desk::new(false);
    let grace = desk.refer(&[("Grace Hopper", "grace@navy.example")])[0].clone();
    let err = desk.set(grace.id, ReferralStatus::Customer).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no price list yet: add one under Settings, Prices (the referral reward is one month of the Pro license)"
    );
    let row = store::referrals::get(desk.store.conn(), grace.id)
        .unwrap()
        .unwrap();
    assert_eq!(row.referral.status, ReferralStatus::Invited, "rolled back");
}
