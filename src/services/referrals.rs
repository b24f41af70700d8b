//! Referrals: an account refers friends (a name and an email each, queued as invitations in the
//! mail outbox); each friend moves from invited to signed up to customer, and when one becomes
//! a customer the referring account's wallet is credited one free month — exactly once.
//!
//! "Exactly once" rests on two keys derived from the referral, both checked by the database: the
//! reward row's primary key is the referral id, and the wallet credit's id is derived from the
//! referral id ([`reward_entry_id`]). Setting the status twice, clicking twice, or receiving the
//! same "became customer" change again by sync (from this desk's own push or from another desk
//! that credited it first, whose wallet entry carries the same id) books nothing more.

use crate::commerce::catalog::{CatalogError, PriceList, Product, list_in_force};
use crate::commerce::terms::Term;
use crate::commerce::wallet::{CreditReason, WalletChange, WalletEntry, WalletError};
use crate::domain::FieldErrors;
use crate::domain::ids::{AccountId, MailId, ReferralId, WalletEntryId};
use crate::domain::money::{Money, MoneyError};
use crate::domain::referral::{self, FriendDraft, ReferralStatus};
use crate::services::commerce::{self, CommerceError};
use crate::store::mail_outbox::{self, MailRow};
use crate::store::referrals::{ReferralRecord, ReferralRewardRecord};
use crate::store::{self, Store, StoreError};
use chrono::NaiveDate;
use rusqlite::{Connection, Transaction};
use sha2::{Digest, Sha256};

/// What staff can do with referrals.
#[derive(Debug, Clone)]
pub enum ReferralsCommand {
    /// Refers each friend (all or none), queuing an invitation mail to each.
    Refer {
        account_id: AccountId,
        friends: Vec<FriendDraft>,
    },
    /// Moves a friend to a later status; "customer" credits the reward once.
    SetStatus {
        id: ReferralId,
        status: ReferralStatus,
    },
}

impl ReferralsCommand {
    /// What the command does, in words, for messages.
    pub fn action(&self) -> &'static str {
        match self {
            ReferralsCommand::Refer { .. } => "Refer friends",
            ReferralsCommand::SetStatus { .. } => "Change referral status",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferralsEvent {
    Referred {
        account_id: AccountId,
        referrals: Vec<ReferralRecord>,
    },
    StatusSet {
        referral: ReferralRecord,
        /// The reward credited by this change (none when it was credited before, or the
        /// status is not "customer").
        rewarded: Option<ReferralRewardRecord>,
        /// False when the friend already had that status (nothing was written).
        changed: bool,
    },
}

/// Why a referrals command was refused; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum ReferralsError {
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error("Friend {row}: {errors}")]
    Friend { row: usize, errors: FieldErrors },
    #[error("refer at least one friend")]
    NoFriends,
    #[error("at most {0} friends at once")]
    TooMany(usize),
    #[error("'{0}' was already referred by this account")]
    AlreadyReferred(String),
    #[error("the account was not found (it may have been deleted)")]
    AccountNotFound,
    #[error("the referral was not found")]
    ReferralNotFound,
    #[error("{0}")]
    Status(String),
    #[error(
        "no price list yet: add one under Settings, Prices (the referral reward is one month of the Pro license)"
    )]
    NoPriceList,
    #[error("the reward: {0}")]
    Catalog(#[from] CatalogError),
    #[error("the reward: {0}")]
    Money(#[from] MoneyError),
    #[error("Wallet: {0}")]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Commerce(#[from] CommerceError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ReferralsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate {
                what: "referred friend",
                value,
            } => ReferralsError::AlreadyReferred(value),
            StoreError::NotFound {
                what: "referral", ..
            } => ReferralsError::ReferralNotFound,
            e => ReferralsError::Store(e),
        }
    }
}

impl From<rusqlite::Error> for ReferralsError {
    fn from(e: rusqlite::Error) -> Self {
        ReferralsError::Store(e.into())
    }
}

/// Runs one command in one transaction.
pub fn run(
    store: &mut Store,
    now: i64,
    command: ReferralsCommand,
) -> Result<ReferralsEvent, ReferralsError> {
    match command {
        ReferralsCommand::Refer {
            account_id,
            friends,
        } => refer(store, account_id, &friends, now),
        ReferralsCommand::SetStatus { id, status } => set_status(store, id, status, now),
    }
}

/// The id of the wallet credit that rewards `referral`: the same on every desk, so the reward
/// is one entry wherever it is booked first. SHA-256 of a fixed context and the referral id,
/// cut to 16 bytes and marked as a UUID of version 8 (custom).
pub fn reward_entry_id(referral: ReferralId) -> WalletEntryId {
    let mut hash = Sha256::new();
    hash.update(b"LicenseDesk/referral-reward/v1\0");
    hash.update(referral.as_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    WalletEntryId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// The reward for a friend who became a customer: one month of the Pro license from `list` —
/// its monthly price, or when it has none, its price for the shortest term it lists divided by
/// the months in that term (one rounding, half up).
pub fn reward_amount(list: &PriceList) -> Result<Money, ReferralsError> {
    if let Ok(monthly) = list.unit_price(Product::ProLicense, Term::Monthly) {
        return Ok(monthly);
    }
    for term in Term::ALL {
        if let Ok(price) = list.unit_price(Product::ProLicense, term) {
            return Ok(price.mul_ratio(1.into(), term.months().into())?);
        }
    }
    Err(CatalogError::NoPrice {
        version: list.version,
        product: Product::ProLicense,
        term: Term::Monthly,
    }
    .into())
}

/// The price list in force on `today` (the first list, by name: the one the desk sells from).
fn list_in_force_on(conn: &Connection, today: NaiveDate) -> Result<PriceList, ReferralsError> {
    let lists = store::price_lists::all(conn)?;
    let id = lists
        .first()
        .map(|l| l.id)
        .ok_or(ReferralsError::NoPriceList)?;
    list_in_force(&lists, id, today)
        .cloned()
        .ok_or(ReferralsError::NoPriceList)
}

/// Credits the reward for `referral` unless it was credited before (here, or on another desk
/// whose entry arrived by sync). Returns the reward it credited now.
fn reward_once(
    tx: &Transaction<'_>,
    referral: &ReferralRecord,
    now: i64,
) -> Result<Option<ReferralRewardRecord>, ReferralsError> {
    let entry_id = reward_entry_id(referral.id);
    if store::referrals::reward(tx, referral.id)?.is_some() {
        return Ok(None);
    }
    // The same reward booked on another desk arrives as a wallet entry with this very id.
    let known: Option<(String, i64)> = rusqlite::OptionalExtension::optional(tx.query_row(
        "SELECT currency, amount_minor FROM wallet_entries WHERE id = ?1",
        [entry_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))?;
    let amount = match &known {
        Some((code, minor)) => store::commerce::money(*minor, code)?,
        None => {
            let today = crate::domain::time::utc_date(now).unwrap_or_default();
            reward_amount(&list_in_force_on(tx, today)?)?
        }
    };
    let reward = ReferralRewardRecord {
        referral_id: referral.id,
        account_id: referral.account_id,
        wallet_entry_id: entry_id,
        amount,
        at: now,
    };
    if known.is_none() {
        let mut wallet = commerce::wallet_of(tx, referral.account_id, amount.currency())?;
        let entry = WalletEntry {
            id: entry_id.0,
            at: now,
            change: WalletChange::Credit {
                amount,
                reason: CreditReason::Referral {
                    referral: referral.id.0,
                    friend: referral.name.clone(),
                },
            },
        };
        wallet.append(entry.clone())?;
        store::wallet::append(tx, referral.account_id, &entry, now)?;
    }
    store::referrals::insert_reward(tx, &reward, now)?;
    Ok(Some(reward))
}

/// Refers each friend of the form for `account_id`, all or none, with an invitation in the
/// mail outbox for each (written as `.eml` files once committed).
pub fn refer(
    store: &mut Store,
    account_id: AccountId,
    friends: &[FriendDraft],
    now: i64,
) -> Result<ReferralsEvent, ReferralsError> {
    if friends.is_empty() {
        return Err(ReferralsError::NoFriends);
    }
    if friends.len() > referral::MAX_FRIENDS_AT_ONCE {
        return Err(ReferralsError::TooMany(referral::MAX_FRIENDS_AT_ONCE));
    }
    for (i, friend) in friends.iter().enumerate() {
        let errors = referral::validate_friend(friend);
        if !errors.is_empty() {
            return Err(ReferralsError::Friend { row: i + 1, errors });
        }
    }
    if let Some(friend) = referral::duplicate_rows(friends)
        .first()
        .and_then(|row| friends.get(*row))
    {
        return Err(ReferralsError::AlreadyReferred(
            friend.email.trim().to_string(),
        ));
    }
    let (event, mails) = store.write(|tx| {
        let account =
            store::accounts::get(tx, account_id)?.ok_or(ReferralsError::AccountNotFound)?;
        let seller = store::price_lists::seller(tx)?;
        let mut referrals = Vec::with_capacity(friends.len());
        let mut mails = Vec::with_capacity(friends.len());
        for friend in friends.iter().map(referral::normalize) {
            let record = ReferralRecord {
                id: ReferralId::new(),
                account_id,
                name: friend.name,
                email: friend.email,
                status: ReferralStatus::Invited,
                created_at: now,
                updated_at: now,
            };
            store::referrals::insert(tx, &record, now)?;
            mails.push(invitation(tx, &account.name, &seller, &record, now)?);
            referrals.push(record);
        }
        Ok::<_, ReferralsError>((
            ReferralsEvent::Referred {
                account_id,
                referrals,
            },
            mails,
        ))
    })?;
    commerce::write_mail_files(store, &mails);
    Ok(event)
}

fn invitation(
    tx: &Transaction<'_>,
    referrer: &str,
    seller: &crate::commerce::seller::SellerDetails,
    friend: &ReferralRecord,
    now: i64,
) -> Result<MailRow, ReferralsError> {
    let id = MailId::new();
    let from = if seller.email.is_empty() {
        "billing@license-desk.invalid".to_string()
    } else {
        seller.email.clone()
    };
    let vendor = if seller.company.is_empty() {
        "us".to_string()
    } else {
        seller.company.clone()
    };
    let subject = format!("{referrer} invites you to try {vendor}");
    let body = format!(
        "Dear {},\n\n{referrer} thought you would like to know about {vendor}'s storage software and referred you.\n\
         Start with a free 30-day evaluation license for your array; just reply to this message.\n\n\
         Kind regards,\n{vendor}\n",
        friend.name
    );
    let mut row = MailRow {
        seq: 0,
        id,
        account_id: Some(friend.account_id),
        message: crate::services::commerce::mail_message(
            &from,
            &friend.email,
            &subject,
            id,
            now,
            &body,
        ),
        to: friend.email.clone(),
        subject,
        file_name: format!(
            "{}-{}.eml",
            crate::domain::time::rfc3339(now).replace(':', ""),
            id.0.simple()
        ),
        created_at: now,
    };
    row.seq = mail_outbox::insert(tx, &row)?;
    Ok(row)
}

/// Moves a friend to `status`. The same status again changes nothing and books nothing; an
/// earlier status is refused; "customer" credits the referring account's reward once.
pub fn set_status(
    store: &mut Store,
    id: ReferralId,
    status: ReferralStatus,
    now: i64,
) -> Result<ReferralsEvent, ReferralsError> {
    store.write(|tx| {
        let row = store::referrals::get(tx, id)?.ok_or(ReferralsError::ReferralNotFound)?;
        let changed = row
            .referral
            .status
            .advance_to(status)
            .map_err(ReferralsError::Status)?;
        let mut referral = row.referral;
        if changed {
            referral.status = status;
            referral.updated_at = now;
            store::referrals::set_status(tx, &referral, now)?;
        }
        let rewarded = if referral.status == ReferralStatus::Customer {
            reward_once(tx, &referral, now)?
        } else {
            None
        };
        Ok(ReferralsEvent::StatusSet {
            referral,
            rewarded,
            changed,
        })
    })
}

/// Applies a referral another desk changed, as the sync client does with what it pulls: the
/// friend is stored (or moved to the later status), and a friend who became a customer earns
/// the reward once — nothing more when the reward was already credited here or its wallet
/// entry already arrived. Returns the reward credited by this call.
pub fn apply_synced(
    store: &mut Store,
    received: &ReferralRecord,
    now: i64,
) -> Result<Option<ReferralRewardRecord>, ReferralsError> {
    store.write(|tx| {
        store::accounts::get(tx, received.account_id)?.ok_or(ReferralsError::AccountNotFound)?;
        let stored = store::referrals::apply_received(tx, received)?;
        if stored.status == ReferralStatus::Customer {
            reward_once(tx, &stored, now)
        } else {
            Ok(None)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commerce::catalog::starter;
    use crate::domain::money::Currency;

    #[test]
    fn the_reward_is_one_month_of_the_pro_license() {
        let d = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        let mut list = starter(uuid::Uuid::from_u128(1), d);
        assert_eq!(
            reward_amount(&list).ok(),
            Some(Money::from_minor(1200, Currency::EUR))
        );
        // Only an annual price: a twelfth of it, rounded half up once.
        list.prices
            .retain(|p| p.product != Product::ProLicense || p.term == Term::Annual);
        for p in &mut list.prices {
            if p.product == Product::ProLicense {
                p.price = Money::from_minor(14_406, Currency::EUR);
            }
        }
        // 144.06 / 12 = 12.005 → 12.01
        assert_eq!(
            reward_amount(&list).ok(),
            Some(Money::from_minor(1201, Currency::EUR))
        );
        list.prices.retain(|p| p.product != Product::ProLicense);
        assert!(reward_amount(&list).is_err());
    }

    #[test]
    fn the_reward_entry_id_is_the_same_for_the_same_referral() {
        let a = ReferralId(uuid::Uuid::from_u128(7));
        let b = ReferralId(uuid::Uuid::from_u128(8));
        assert_eq!(reward_entry_id(a), reward_entry_id(a));
        assert_ne!(reward_entry_id(a), reward_entry_id(b));
        assert_eq!(reward_entry_id(a).0.get_version_num(), 8);
    }
}
