//! Issuing and revoking licenses: sign with the active key, store the license and append
//! the ledger entry in one transaction, so a license is never issued without its ledger entry.

use crate::domain::checkpoint::Checkpoint;
use crate::domain::issue::IssueSpec;
use crate::error::{DeskError, DeskResult};
use crate::store::ledger::{self, Action, ChainReport};
use crate::store::{Store, keys, licenses, revocations};
use licensekey::{KeyId, RevocationList, SignedLicense, SignedRevocationList, SigningKey, Uuid};

/// Licenses are committed in transactions of this many during bulk issue.
pub const BULK_COMMIT_EVERY: usize = 10_000;

/// Checks that `key` is the vault's active key: retired keys only verify.
fn ensure_active(store: &Store, key: &SigningKey) -> DeskResult<()> {
    let active = keys::active(store.conn())?.ok_or(DeskError::NoActiveKey)?;
    let id = KeyId::of(&key.verifying_key()).to_string();
    if active.key_id != id {
        return Err(DeskError::Other(format!(
            "Key: {id} is retired; licenses are signed with the active key {} ({})",
            active.name, active.key_id
        )));
    }
    Ok(())
}

/// Signs one license and records it (row + ledger entry) in one transaction.
pub fn issue(
    store: &mut Store,
    key: &SigningKey,
    spec: &IssueSpec,
    account_id: Option<&str>,
    operator: &str,
    now: i64,
) -> DeskResult<SignedLicense> {
    let mut issued = issue_many(
        store,
        key,
        std::slice::from_ref(spec),
        account_id,
        operator,
        now,
        |_| true,
    )?;
    issued
        .pop()
        .ok_or_else(|| DeskError::Other("nothing was issued".into()))
}

/// Signs and records many licenses, committing every [`BULK_COMMIT_EVERY`]. `progress` gets the
/// count done so far and returns false to stop (what was committed stays, with its ledger
/// entries). Returns the licenses issued.
pub fn issue_many(
    store: &mut Store,
    key: &SigningKey,
    specs: &[IssueSpec],
    account_id: Option<&str>,
    operator: &str,
    now: i64,
    mut progress: impl FnMut(usize) -> bool,
) -> DeskResult<Vec<SignedLicense>> {
    ensure_active(store, key)?;
    let mut issued = Vec::with_capacity(specs.len());
    for chunk in specs.chunks(BULK_COMMIT_EVERY) {
        let signed = chunk
            .iter()
            .map(|spec| SignedLicense::sign(spec.payload(Uuid::now_v7(), now), key))
            .collect::<Result<Vec<_>, _>>()?;
        store.write(|tx| {
            let mut head = ledger::head(tx)?;
            for license in &signed {
                licenses::insert(tx, license, account_id)?;
                head = ledger::append(
                    tx,
                    head,
                    Action::Issue,
                    &license.payload().license_id,
                    &license.to_bytes(),
                    operator,
                    now,
                )?;
            }
            Ok(())
        })?;
        issued.extend(signed);
        if !progress(issued.len()) {
            break;
        }
    }
    Ok(issued)
}

/// Revokes a license: records it with a ledger entry and publishes the next signed revocation
/// list (sequence numbers only grow, so an old list cannot be replayed).
pub fn revoke(
    store: &mut Store,
    key: &SigningKey,
    license_id: &str,
    reason: &str,
    operator: &str,
    now: i64,
) -> DeskResult<SignedRevocationList> {
    ensure_active(store, key)?;
    let id = Uuid::parse_str(license_id.trim())
        .map_err(|_| DeskError::Other(format!("License id: '{license_id}' is not a UUID")))?;
    let license_id = id.to_string();
    store
        .write(|tx| {
            revocations::insert(tx, &license_id, reason.trim(), now)?;
            let revoked = revocations::revoked_ids(tx)?
                .iter()
                .filter_map(|s| Uuid::parse_str(s).ok())
                .collect();
            let sequence = revocations::next_list_sequence(tx)?;
            let next_update = now + 90 * licensekey::SECONDS_PER_DAY;
            let list = SignedRevocationList::sign(
                RevocationList::new(sequence, now, next_update, revoked),
                key,
            )
            .map_err(|e| crate::store::StoreError::Conflict(e.to_string()))?;
            let head = ledger::head(tx)?;
            ledger::append(
                tx,
                head,
                Action::Revoke,
                &id,
                &list.to_bytes(),
                operator,
                now,
            )?;
            revocations::save_list(
                tx,
                sequence,
                &KeyId::of(&key.verifying_key()).to_string(),
                now,
                &list.to_file(),
            )?;
            Ok(list)
        })
        .map_err(DeskError::from)
}

/// The name recorded as operator: the one set in Settings, else the OS user.
pub fn operator_name(configured: &str) -> String {
    let configured = configured.trim();
    if !configured.is_empty() {
        return configured.to_string();
    }
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Signs the ledger's current head with the active key: keep the file outside this database
/// (see [`verify_ledger`]) so entries cut off its end are noticed.
pub fn checkpoint(store: &Store, key: &SigningKey, now: i64) -> DeskResult<Checkpoint> {
    ensure_active(store, key)?;
    let head = ledger::head(store.conn())?;
    Ok(Checkpoint::sign(
        u64::try_from(head.seq).unwrap_or(0),
        head.hash,
        now,
        key,
    ))
}

/// Walks the ledger's chain and, given a signed checkpoint, checks the chain still reaches it.
pub fn verify_ledger(
    conn: &rusqlite::Connection,
    checkpoint: Option<&Checkpoint>,
    progress: impl FnMut(i64),
) -> DeskResult<ChainReport> {
    Ok(match checkpoint {
        None => ledger::verify(conn, progress)?,
        Some(checkpoint) => {
            checkpoint.verify(&crate::vault::keyring(conn)?)?;
            ledger::verify_against(conn, checkpoint, progress)?
        }
    })
}
