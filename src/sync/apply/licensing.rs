//! Licensing from other desks: their public keys, their ledger entries and the licenses they
//! issued. Each desk's ledger stays its own chain: another desk's entries are checked link by
//! link as they arrive (each must hash to itself and follow the one before), and its licenses
//! are stored beside this desk's, marked with their origin, once a key this desk knows is
//! found to have signed them. Only the issuing desk changes a license; a change of one of this
//! desk's licenses made elsewhere is refused.

use super::{Verdict, account_here, verdict, with};
use crate::domain::ids::{DeskId, LicenseId};
use crate::domain::ledger_chain::{Action, ChainEntry, GENESIS_HASH};
use crate::domain::license_status::LicenseStatus;
use crate::store::outbox::{LedgerRecord, LicenseRecord, PublicKeyRecord, RevocationListRecord};
use crate::store::peers::{self, PeerKey, PeerRevocationList};
use crate::store::{StoreError, keys, licenses};
use licensekey::{KeyId, KeyRing, SignedLicense};
use rusqlite::Transaction;

/// Another desk's public key: kept to check the licenses it signs.
pub(super) fn public_key(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    from: DeskId,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |k: &PublicKeyRecord| k.key_id.clone(),
        |k| {
            let Ok(public) = licensekey::parse_public_key(&k.public_key) else {
                return Ok(Err("the public key does not read".into()));
            };
            let key_id = KeyId::of(&public);
            if key_id.to_string() != k.key_id {
                return Ok(Err(format!(
                    "the public key's id is {key_id}, not {}",
                    k.key_id
                )));
            }
            if let Some(here) = keys::get(tx, key_id)? {
                // A key this desk holds too (imported on both): nothing to keep twice.
                return Ok(if here.public_key == k.public_key {
                    Ok(())
                } else {
                    Err(format!("key {key_id} is another key here"))
                });
            }
            if let Some(known) = peers::key(tx, key_id)?
                && known.desk_id != from
            {
                return Ok(Err(format!("key {key_id} belongs to another desk here")));
            }
            verdict(peers::put_key(
                tx,
                &PeerKey {
                    key_id,
                    desk_id: from,
                    name: k.name,
                    public_key: k.public_key,
                    active: k.active,
                    created_at: k.created_at,
                },
            ))
        },
    )
}

/// An entry of another desk's ledger: a fact, kept when it hashes to itself and follows the
/// entry before it in that desk's chain.
pub(super) fn ledger_entry(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    from: DeskId,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |e: &LedgerRecord| format!("{from}:{}", e.seq),
        |e| {
            let (Ok(entry_hash), Ok(prev_hash), Ok(payload_hash)) = (
                hash32(&e.entry_hash),
                hash32(&e.prev_hash),
                hash32(&e.payload_hash),
            ) else {
                return Ok(Err("a hash of the entry does not read".into()));
            };
            if let Some(here) = peers::entry_hash(tx, from, e.seq)? {
                return Ok(if here == entry_hash {
                    Ok(())
                } else {
                    Err(format!(
                        "a different entry {} of that desk's ledger is here",
                        e.seq
                    ))
                });
            }
            let before = match e.seq {
                1 => Some(GENESIS_HASH),
                seq => peers::entry_hash(tx, from, seq - 1)?,
            };
            match before {
                None => {
                    return Ok(Err(format!(
                        "entry {} of that desk's ledger is not here yet",
                        e.seq - 1
                    )));
                }
                Some(before) if before != prev_hash => {
                    return Ok(Err(format!(
                        "entry {} does not follow entry {} of that desk's ledger",
                        e.seq,
                        e.seq - 1
                    )));
                }
                Some(_) => {}
            }
            let Some(action) = Action::parse(&e.action) else {
                return Ok(Err(format!("'{}' is not a ledger action", e.action)));
            };
            let status = match e.status.as_deref().map(LicenseStatus::parse) {
                None => None,
                Some(Some(status)) => Some(status),
                Some(None) => return Ok(Err("the entry's license state does not read".into())),
            };
            let hashed = ChainEntry {
                format: e.format,
                seq: e.seq,
                action,
                license_id: e.license_id,
                payload_hash,
                prev_hash,
                operator: &e.operator,
                recorded_at: e.recorded_at,
                account: e.account_id,
                status,
                note: &e.note,
            }
            .hash();
            if hashed != Ok(entry_hash) {
                return Ok(Err(format!(
                    "entry {} of that desk's ledger does not hash to its entry hash",
                    e.seq
                )));
            }
            verdict(peers::add_entry(
                tx,
                from,
                e.seq,
                &e.action,
                e.license_id,
                entry_hash,
            ))
        },
    )
}

fn hash32(hex_text: &str) -> Result<[u8; 32], ()> {
    hex::decode(hex_text)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or(())
}

/// A revocation list another desk published: a fact, kept once one of that desk's keys is
/// found to have signed it (the signature alone: the list may be past its next update now).
pub(super) fn revocation_list(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    from: DeskId,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |l: &RevocationListRecord| format!("{from}:{}", l.sequence),
        |l| {
            let Ok(parsed) = licensekey::SignedRevocationList::parse(&l.file) else {
                return Ok(Err("the revocation list does not read".into()));
            };
            let list = parsed.list();
            if list.sequence != l.sequence || list.key_id.to_string() != l.key_id {
                return Ok(Err(format!(
                    "the file is list {} of key {}, not list {} of key {}",
                    list.sequence, list.key_id, l.sequence, l.key_id
                )));
            }
            let ring = match peers::key(tx, list.key_id)? {
                Some(key) if key.desk_id == from => ring_of(&key.public_key),
                _ => {
                    return Ok(Err(format!(
                        "signed with key {}, which this desk does not know as that desk's",
                        list.key_id
                    )));
                }
            };
            let check = licensekey::RevocationCheck::at(list.issued_at);
            if ring
                .map(|ring| licensekey::verify_revocation_list(&l.file, &ring, &check))
                .is_none_or(|verified| verified.is_err())
            {
                return Ok(Err(format!(
                    "the signature of revocation list {} does not hold",
                    l.sequence
                )));
            }
            let kept = PeerRevocationList {
                desk_id: from,
                sequence: list.sequence,
                key_id: list.key_id,
                issued_at: list.issued_at,
                file: l.file.clone(),
            };
            let here = peers::revocation_list(tx, from, list.sequence)?;
            let what = format!("revocation list {} of that desk", l.sequence);
            super::fact(here, &kept, what, || {
                verdict(peers::add_revocation_list(tx, &kept))
            })
        },
    )
}

/// A license as another desk issued it: stored once a key this desk knows is found to have
/// signed it, marked with the desk it came from.
pub(super) fn license_issued(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    from: DeskId,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |l: &LicenseRecord| l.license_id,
        |l| match signed(tx, &l)? {
            Ok((license, status)) => store_issued(tx, &l, &license, status, from),
            Err(why) => Ok(Err(why)),
        },
    )
}

/// Stores a license another desk issued (its signature checked), unless it is here already.
fn store_issued(
    tx: &Transaction<'_>,
    l: &LicenseRecord,
    license: &SignedLicense,
    status: LicenseStatus,
    from: DeskId,
) -> Result<Verdict, StoreError> {
    match licenses::get(tx, l.license_id)? {
        Some(here) if here.artifact == license.to_bytes() => return Ok(Ok(())),
        Some(_) => {
            return Ok(Err(format!(
                "a different license {} is here already",
                l.license_id
            )));
        }
        None => {}
    }
    if let Err(why) = linked_account_here(tx, l.account_id)? {
        return Ok(Err(why));
    }
    verdict(licenses::insert_pulled(
        tx,
        license,
        l.account_id,
        status,
        from,
    ))
}

/// A later state of a license (status, account), from the desk that issued it.
pub(super) fn license(
    tx: &Transaction<'_>,
    entity_id: &str,
    body: &str,
    from: DeskId,
    now: i64,
) -> Result<Verdict, StoreError> {
    with(
        entity_id,
        body,
        |l: &LicenseRecord| l.license_id,
        |l| {
            let (license, status) = match signed(tx, &l)? {
                Ok(read) => read,
                Err(why) => return Ok(Err(why)),
            };
            match licenses::origin(tx, l.license_id)? {
                None => return store_issued(tx, &l, &license, status, from),
                Some(None) => {
                    return Ok(Err(format!(
                        "license {} was issued on this desk: only this desk changes it",
                        l.license_id
                    )));
                }
                Some(Some(origin)) if origin != from => {
                    return Ok(Err(format!(
                        "license {} was issued on another desk: only that desk changes it",
                        l.license_id
                    )));
                }
                Some(Some(_)) => {}
            }
            let Some(here) = licenses::get(tx, l.license_id)? else {
                return Ok(Err(format!("license {} is not on this desk", l.license_id)));
            };
            if here.artifact != license.to_bytes() {
                return Ok(Err(format!(
                    "license {} is another license here",
                    l.license_id
                )));
            }
            if let Err(why) = linked_account_here(tx, l.account_id)? {
                return Ok(Err(why));
            }
            if here.account_id != l.account_id {
                licenses::set_account(tx, l.license_id, l.account_id, now)?;
            }
            if here.status != status {
                licenses::set_status(tx, l.license_id, status, now)?;
            }
            Ok(Ok(()))
        },
    )
}

/// A key ring holding the one public key given as base64 (none when it does not read).
fn ring_of(public_key: &str) -> Option<KeyRing> {
    licensekey::parse_public_key(public_key)
        .ok()
        .and_then(|key| KeyRing::new().with(key).ok())
}

/// Refuses a license linked to an account this desk does not have (an unlinked one is fine).
fn linked_account_here(
    tx: &Transaction<'_>,
    account: Option<crate::domain::ids::AccountId>,
) -> Result<Verdict, StoreError> {
    match account {
        Some(account) => account_here(tx, account),
        None => Ok(Ok(())),
    }
}

/// The signed license a record carries and its state, when a key this desk knows signed it.
fn signed(
    tx: &Transaction<'_>,
    l: &LicenseRecord,
) -> Result<Result<(SignedLicense, LicenseStatus), String>, StoreError> {
    let Ok(license) = SignedLicense::parse_serial(&l.serial) else {
        return Ok(Err("the serial does not read".into()));
    };
    if LicenseId(license.payload().license_id) != l.license_id {
        return Ok(Err(format!(
            "the serial is license {}, not {}",
            license.payload().license_id,
            l.license_id
        )));
    }
    let Some(status) = LicenseStatus::parse(&l.status) else {
        return Ok(Err(format!("'{}' is not a license state", l.status)));
    };
    let key_id = license.payload().key_id;
    let public = match (keys::get(tx, key_id)?, peers::key(tx, key_id)?) {
        (Some(here), _) => here.public_key,
        (None, Some(peer)) => peer.public_key,
        (None, None) => {
            return Ok(Err(format!(
                "signed with key {key_id}, which this desk does not know yet"
            )));
        }
    };
    match ring_of(&public).map(|ring| license.check_signature(&ring)) {
        Some(Ok(_)) => Ok(Ok((license, status))),
        _ => Ok(Err(format!(
            "the signature of license {} does not hold",
            l.license_id
        ))),
    }
}
