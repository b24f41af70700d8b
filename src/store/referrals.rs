//! Referrals repository: friends referred by an account, and the one reward row per referral
//! that became a customer (its primary key is the referral: a second reward cannot be stored).

use super::outbox::{self, Change};
use super::{StoreError, StoreResult, is_unique_violation};
use crate::domain::ids::{AccountId, ReferralId, WalletEntryId};
use crate::domain::money::Money;
use crate::domain::referral::ReferralStatus;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

/// A referred friend as stored and as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralRecord {
    pub id: ReferralId,
    /// The account that referred the friend (and gets the reward).
    pub account_id: AccountId,
    pub name: String,
    pub email: String,
    pub status: ReferralStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The reward a referral earned, as stored and as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralRewardRecord {
    pub referral_id: ReferralId,
    pub account_id: AccountId,
    /// The wallet credit (its id is derived from the referral id).
    pub wallet_entry_id: WalletEntryId,
    pub amount: Money,
    pub at: i64,
}

/// A referral with its reward, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRow {
    pub seq: i64,
    pub referral: ReferralRecord,
    pub reward: Option<ReferralRewardRecord>,
}

const COLUMNS: &str = "r.seq, r.id, r.account_id, r.name, r.email, r.status, r.created_at, \
     r.updated_at, w.wallet_entry_id, w.currency, w.amount_minor, w.at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ReferralRow> {
    let word: String = row.get(5)?;
    let status = ReferralStatus::parse(&word).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            5,
            rusqlite::types::Type::Text,
            format!("unknown referral status '{word}'").into(),
        )
    })?;
    let referral = ReferralRecord {
        id: row.get(1)?,
        account_id: row.get(2)?,
        name: row.get(3)?,
        email: row.get(4)?,
        status,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
    };
    let entry: Option<WalletEntryId> = row.get(8)?;
    let reward = match entry {
        None => None,
        Some(wallet_entry_id) => {
            let code: String = row.get(9)?;
            let amount = super::commerce::money(row.get(10)?, &code).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    9,
                    rusqlite::types::Type::Text,
                    e.to_string().into(),
                )
            })?;
            Some(ReferralRewardRecord {
                referral_id: referral.id,
                account_id: referral.account_id,
                wallet_entry_id,
                amount,
                at: row.get(11)?,
            })
        }
    };
    Ok(ReferralRow {
        seq: row.get(0)?,
        referral,
        reward,
    })
}

const FROM: &str = "FROM referrals r LEFT JOIN referral_rewards w ON w.referral_id = r.id";

/// Stores a new referral (and its outbox row). The same friend (email, without regard to
/// case) referred twice by one account is refused.
pub fn insert(tx: &Transaction<'_>, referral: &ReferralRecord, now: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO referrals (id, account_id, name, email, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            referral.id,
            referral.account_id,
            referral.name,
            referral.email,
            referral.status.as_str(),
            referral.created_at,
            referral.updated_at
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "referred friend",
                value: referral.email.clone(),
            }
        } else {
            e.into()
        }
    })?;
    outbox::record(tx, &Change::Referral(referral.clone()), now)?;
    Ok(())
}

/// Saves a referral's status (and its outbox row).
pub fn set_status(tx: &Transaction<'_>, referral: &ReferralRecord, now: i64) -> StoreResult<()> {
    let changed = tx.execute(
        "UPDATE referrals SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![referral.id, referral.status.as_str(), referral.updated_at],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "referral",
            id: referral.id.to_string(),
        });
    }
    outbox::record(tx, &Change::Referral(referral.clone()), now)?;
    Ok(())
}

/// One referral with its reward.
pub fn get(conn: &Connection, id: ReferralId) -> StoreResult<Option<ReferralRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} {FROM} WHERE r.id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// An account's referrals, newest first: `limit` before `before_seq` (keyset), or from `offset`.
pub fn page(
    conn: &Connection,
    account_id: AccountId,
    before_seq: Option<i64>,
    offset: u64,
    limit: usize,
) -> StoreResult<Vec<ReferralRow>> {
    let offset = if before_seq.is_some() { 0 } else { offset };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} {FROM} WHERE r.account_id = ?1 AND r.seq < ?2
         ORDER BY r.seq DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            account_id,
            before_seq.unwrap_or(i64::MAX),
            super::limit(limit),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ],
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many friends an account referred.
pub fn count(conn: &Connection, account_id: AccountId) -> StoreResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM referrals WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )?)
}

/// Rewards an account earned: how many, and their sum per currency.
pub fn rewards_of(conn: &Connection, account_id: AccountId) -> StoreResult<Vec<Money>> {
    let mut stmt = conn.prepare_cached(
        "SELECT currency, sum(amount_minor) FROM referral_rewards WHERE account_id = ?1
         GROUP BY currency ORDER BY currency",
    )?;
    let rows = stmt.query_map([account_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    rows.map(|r| {
        let (code, minor) = r?;
        super::commerce::money(minor, &code)
    })
    .collect()
}

/// The reward stored for `referral_id`, if any.
pub fn reward(
    conn: &Connection,
    referral_id: ReferralId,
) -> StoreResult<Option<ReferralRewardRecord>> {
    Ok(get(conn, referral_id)?.and_then(|r| r.reward))
}

/// Stores a referral's reward (and its outbox row). A second reward for the same referral is
/// refused by the primary key.
pub fn insert_reward(
    tx: &Transaction<'_>,
    reward: &ReferralRewardRecord,
    now: i64,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO referral_rewards (referral_id, account_id, wallet_entry_id, currency,
             amount_minor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            reward.referral_id,
            reward.account_id,
            reward.wallet_entry_id,
            reward.amount.currency().code(),
            reward.amount.minor(),
            reward.at
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "referral reward",
                value: reward.referral_id.to_string(),
            }
        } else {
            e.into()
        }
    })?;
    outbox::record(tx, &Change::ReferralReward(reward.clone()), now)?;
    Ok(())
}

/// Inserts or updates a referral as another desk sent it (sync): a new one is stored, a known
/// one takes the received status when it is later than the stored one. Returns the referral
/// as stored afterwards. No outbox row: the change came from the portal.
pub fn apply_received(
    tx: &Transaction<'_>,
    received: &ReferralRecord,
) -> StoreResult<ReferralRecord> {
    tx.execute(
        "INSERT INTO referrals (id, account_id, name, email, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO NOTHING",
        params![
            received.id,
            received.account_id,
            received.name,
            received.email,
            received.status.as_str(),
            received.created_at,
            received.updated_at
        ],
    )?;
    let stored = get(tx, received.id)?
        .ok_or_else(|| StoreError::NotFound {
            what: "referral",
            id: received.id.to_string(),
        })?
        .referral;
    if received.status > stored.status {
        tx.execute(
            "UPDATE referrals SET status = ?2, updated_at = ?3 WHERE id = ?1",
            params![received.id, received.status.as_str(), received.updated_at],
        )?;
        return Ok(ReferralRecord {
            status: received.status,
            updated_at: received.updated_at,
            ..stored
        });
    }
    Ok(stored)
}
