//! What belongs to a customer beside its documents, from other desks: arrays, seat contracts
//! with their changes and users, and referrals with their rewards.

use super::{Gone, Outcome, Verdict, account_here, checked, fact, verdict, with};
use crate::domain::ids::ArrayId;
use crate::store::arrays::{ArrayRecord, ArrayRow};
use crate::store::referrals::{ReferralRecord, ReferralRewardRecord};
use crate::store::seats::{SeatAssignmentRecord, SeatChangeRecord, SeatContractRecord};
use crate::store::{StoreError, arrays, licenses, referrals, seats};
use rusqlite::Transaction;

/// An array's whole state. One that holds a license this desk does not have yet waits for it
/// (taken again when the license applies), rather than being applied without it.
pub(super) fn array(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Outcome, StoreError> {
    let mut waits = None;
    let verdict = with(
        entity_id,
        body,
        |r: &ArrayRecord| r.id,
        |r| {
            let name = crate::domain::array::normalize_name(&r.name);
            if let Err(why) = checked(crate::domain::array::validate_name(&name)) {
                return Ok(Err(why));
            }
            let kind = match r.kind.as_deref().map(crate::domain::issue::parse_kind) {
                None => None,
                Some(Some(kind)) => Some(kind),
                Some(None) => return Ok(Err("the array's license kind does not read".into())),
            };
            if r.capacity_tb > crate::domain::array::MAX_CAPACITY_TB {
                return Ok(Err(format!(
                    "{} TB is more than one array holds",
                    r.capacity_tb
                )));
            }
            if let Err(why) = account_here(tx, r.account_id)? {
                return Ok(Err(why));
            }
            if let Some(license) = r.license_id
                && licenses::get(tx, license)?.is_none()
            {
                waits = Some(format!(
                    "waits for its license {license}, not on this desk yet"
                ));
                return Ok(Ok(()));
            }
            let here = arrays::get(tx, r.id)?;
            let row = ArrayRow {
                seq: here.as_ref().map_or(0, |h| h.seq),
                id: r.id,
                account_id: r.account_id,
                name,
                product: r.product,
                cluster: r.cluster,
                request: r.request,
                kind,
                pro_days: r.pro_days,
                capacity_tb: r.capacity_tb,
                license_id: r.license_id,
                created_at: r.created_at,
                updated_at: r.updated_at,
            };
            match here {
                None => verdict(arrays::insert(tx, &row, now).map(|_| ())),
                Some(h) if h.account_id != r.account_id => Ok(Err(format!(
                    "array {} belongs to another account here",
                    r.id
                ))),
                Some(_) => verdict(arrays::update(tx, &row, now)),
            }
        },
    )?;
    Ok(match (verdict, waits) {
        (Ok(()), Some(why)) => Outcome::Waiting(why),
        (Ok(()), None) => Outcome::Applied,
        (Err(why), _) => Outcome::Refused(why),
    })
}

/// An array deleted on another desk.
pub(super) fn array_deleted(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |g: &Gone<ArrayId>| g.id,
        |g| {
            if arrays::get(tx, g.id)?.is_none() {
                return Ok(Ok(()));
            }
            verdict(arrays::delete(tx, g.id, now))
        },
    )
}

/// A seat contract: its terms never change after it is made; its seat count does.
pub(super) fn seat_contract(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &SeatContractRecord| r.id,
        |r| {
            if let Err(why) = account_here(tx, r.account_id)? {
                return Ok(Err(why));
            }
            match seats::get_contract(tx, r.id)? {
                None => verdict(seats::insert_contract(tx, &r, now)),
                Some(here)
                    if SeatContractRecord {
                        seats: r.seats,
                        ..here.clone()
                    } == r =>
                {
                    if here.seats == r.seats {
                        Ok(Ok(()))
                    } else {
                        verdict(seats::set_seats(tx, r.id, r.seats, now).map(|_| ()))
                    }
                }
                Some(_) => Ok(Err(format!(
                    "seat contract {} has other terms here, and terms never change",
                    r.id
                ))),
            }
        },
    )
}

/// A booked seat change: a fact, added once.
pub(super) fn seat_change(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &SeatChangeRecord| r.id,
        |r| {
            let what = format!("seat change {}", r.id);
            fact(
                seats::change(tx, r.id)?,
                &r,
                what,
                || match contract_here(tx, r.contract_id)? {
                    Ok(()) => verdict(seats::insert_change(tx, &r, now)),
                    Err(why) => Ok(Err(why)),
                },
            )
        },
    )
}

/// Refuses a change that names a seat contract this desk does not have.
fn contract_here(
    tx: &Transaction<'_>,
    id: crate::domain::ids::SeatContractId,
) -> Result<Verdict, StoreError> {
    Ok(match seats::get_contract(tx, id)? {
        Some(_) => Ok(()),
        None => Err(format!("seat contract {id} is not on this desk")),
    })
}

/// A seat given to a user, or freed. A seat freed here is not held again.
pub(super) fn seat_assignment(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &SeatAssignmentRecord| r.id,
        |r| match seats::assignment(tx, r.id)? {
            None => match contract_here(tx, r.contract_id)? {
                Ok(()) => verdict(seats::assign(tx, &r, now)),
                Err(why) => Ok(Err(why)),
            },
            Some(here)
                if SeatAssignmentRecord {
                    released_at: r.released_at,
                    ..here.clone()
                } != r =>
            {
                Ok(Err(format!("seat {} is another user's here", r.id)))
            }
            Some(here) => match (here.released_at, r.released_at) {
                (None, Some(at)) => verdict(seats::released_elsewhere(tx, r.id, at)),
                (Some(_), None) => Ok(Err(format!(
                    "seat {} was freed here and is not held again",
                    r.id
                ))),
                _ => Ok(Ok(())),
            },
        },
    )
}

/// A referred friend: stored, or moved on to a later status (a status never goes back). The
/// reward arrives as facts of its own (the reward and its wallet entry), so none is booked
/// here.
pub(super) fn referral(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &ReferralRecord| r.id,
        |r| {
            let friend = crate::domain::referral::FriendDraft {
                name: r.name.clone(),
                email: r.email.clone(),
            };
            if let Err(why) = checked(crate::domain::referral::validate_friend(&friend)) {
                return Ok(Err(why));
            }
            if let Err(why) = account_here(tx, r.account_id)? {
                return Ok(Err(why));
            }
            if let Some(here) = referrals::get(tx, r.id)?
                && (here.referral.account_id != r.account_id
                    || !here.referral.email.eq_ignore_ascii_case(&r.email))
            {
                return Ok(Err(format!("referral {} is another friend's here", r.id)));
            }
            verdict(referrals::apply_received(tx, &r).map(|_| ()))
        },
    )
}

/// The one reward a referral earned: a fact, added once, with the wallet entry id derived
/// from the referral (so the credit arriving as a wallet entry is the same one).
pub(super) fn referral_reward(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |r: &ReferralRewardRecord| r.referral_id,
        |r| {
            if r.wallet_entry_id != crate::services::referrals::reward_entry_id(r.referral_id) {
                return Ok(Err(format!(
                    "the reward of referral {} names another wallet entry",
                    r.referral_id
                )));
            }
            if !r.amount.is_positive() {
                return Ok(Err("a reward is more than nothing".into()));
            }
            match referrals::reward(tx, r.referral_id)? {
                Some(here) if here.amount == r.amount && here.account_id == r.account_id => {
                    Ok(Ok(()))
                }
                Some(_) => Ok(Err(format!(
                    "a different reward for referral {} is here already",
                    r.referral_id
                ))),
                None => match referrals::get(tx, r.referral_id)? {
                    Some(here) if here.referral.account_id == r.account_id => {
                        verdict(referrals::insert_reward(tx, &r, now))
                    }
                    Some(_) => Ok(Err(format!(
                        "referral {} belongs to another account here",
                        r.referral_id
                    ))),
                    None => Ok(Err(format!(
                        "referral {} is not on this desk",
                        r.referral_id
                    ))),
                },
            }
        },
    )
}
