//! Transfer of a license to a partner account ("import to partner"). The sending staff name
//! the partner by wallet ID and get a generated secret, shown once, to hand over. The partner
//! account sees the transfer under "Pending import approval" and must type the secret: a
//! wrong one is refused and counted ([`MAX_TRIES`] lock the transfer), the right one moves
//! the license (`licensing::move_to_account_in`, a ledger `link` entry) in the transaction
//! that accepts it. Until then nothing moves, and the sender can cancel.
//!
//! The secret is 160 random bits; only SHA-256 of a per-transfer salt and the secret is kept,
//! and a typed secret is compared with it in constant time.

use super::license_admin::OneTimeSecret;
use super::licensing::{self, LicensingError};
use crate::domain::ids::{AccountId, LicenseId, TransferId};
use crate::domain::license_status::LicenseStatus;
use crate::store::transfers::{self, TransferRow, TransferStatus};
use crate::store::{self, Store};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Wrong secrets after which a transfer locks (it can then only be cancelled).
pub const MAX_TRIES: u32 = 5;

/// Crockford base32: no I, L, O or U, so a secret read aloud or typed is unambiguous.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new secret: 20 random bytes as 32 Crockford base32 characters in groups of four.
fn new_secret() -> Result<String, LicensingError> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)
        .map_err(|e| LicensingError::Refused(format!("no randomness for the secret: {e}")))?;
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = String::with_capacity(39);
    for byte in bytes {
        bits = (bits << 8) | u32::from(byte);
        count += 8;
        while count >= 5 {
            count -= 5;
            if !out.is_empty() && out.len() % 5 == 4 {
                out.push('-');
            }
            out.push(ALPHABET[((bits >> count) & 31) as usize] as char);
        }
    }
    Ok(out)
}

/// The secret as typed, the way it is hashed: dashes and spaces dropped, upper case, and the
/// look-alikes folded (O→0, I/L→1).
fn normalized(secret: &str) -> String {
    secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

fn secret_hash(salt: &[u8; 16], secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"LicenseDesk/transfer-secret/v1\0");
    h.update(salt);
    h.update(normalized(secret).as_bytes());
    h.finalize().into()
}

/// A transfer as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferView {
    pub id: TransferId,
    pub license_id: LicenseId,
    pub from_wallet: Option<i64>,
    pub to_wallet: i64,
    pub to_name: String,
    pub status: TransferStatus,
    pub tries_left: u32,
}

/// A stored transfer as the app shows it.
pub fn view(conn: &rusqlite::Connection, t: &TransferRow) -> Result<TransferView, LicensingError> {
    let to = store::accounts::get(conn, t.to_account)?;
    let from = match t.from_account {
        Some(id) => store::accounts::get(conn, id)?.map(|a| a.wallet_id),
        None => None,
    };
    Ok(TransferView {
        id: t.id,
        license_id: t.license_id,
        from_wallet: from,
        to_wallet: to.as_ref().map_or(0, |a| a.wallet_id),
        to_name: to.map(|a| a.name).unwrap_or_default(),
        status: t.status,
        tries_left: MAX_TRIES.saturating_sub(t.failed_tries),
    })
}

/// Starts a transfer of `license_id` to the account with wallet ID `partner_wallet`; returns
/// it with the secret to hand over (shown once, never stored).
pub fn start(
    store: &mut Store,
    license_id: LicenseId,
    partner_wallet: &str,
    now: i64,
) -> Result<(TransferView, OneTimeSecret), LicensingError> {
    let partner = super::accounts::by_wallet_id(store, partner_wallet.trim())
        .map_err(|e| LicensingError::Refused(format!("Partner ID: {e}")))?;
    let secret = new_secret()?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| LicensingError::Refused(format!("no randomness for the salt: {e}")))?;
    let row = store.write(|tx| {
        let license = super::licensing::issued_license(tx, license_id)?;
        if !matches!(
            license.status,
            LicenseStatus::Active | LicenseStatus::Suspended
        ) {
            return Err(LicensingError::Refused(format!(
                "license {license_id} is {}: only an active or suspended license is transferred",
                license.status.label()
            )));
        }
        let Some(from) = license.account_id else {
            return Err(LicensingError::Refused(format!(
                "license {license_id} is linked to no account: link it to the account it belongs to first"
            )));
        };
        if from == partner.id {
            return Err(LicensingError::Refused(format!(
                "Partner ID: the license already belongs to wallet {}",
                partner.wallet_id
            )));
        }
        let row = TransferRow {
            id: TransferId::new(),
            license_id,
            from_account: Some(from),
            to_account: partner.id,
            salt,
            secret_hash: secret_hash(&salt, &secret),
            status: TransferStatus::Pending,
            failed_tries: 0,
            created_at: now,
            decided_at: None,
        };
        transfers::insert(tx, &row, now).map_err(|e| match e {
            store::StoreError::Duplicate { .. } => LicensingError::Refused(format!(
                "license {license_id} already has a transfer waiting for approval: cancel it first"
            )),
            e => e.into(),
        })?;
        Ok(row)
    })?;
    Ok((view(store.conn(), &row)?, OneTimeSecret::new(&secret)))
}

/// What typing a secret did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    Accepted(TransferView),
    /// Refused; this many tries are left (0: the transfer is locked now).
    WrongSecret {
        tries_left: u32,
    },
}

/// The partner types the secret: the right one moves the license (with its `link` ledger
/// entry) and accepts the transfer; a wrong one is counted, and the count kept.
pub fn accept(
    store: &mut Store,
    transfer_id: TransferId,
    secret: &str,
    operator: &str,
    now: i64,
) -> Result<Acceptance, LicensingError> {
    let outcome = store.write(|tx| {
        let mut t = transfers::get(tx, transfer_id)?
            .ok_or_else(|| LicensingError::Refused(format!("no transfer {transfer_id}")))?;
        match t.status {
            TransferStatus::Pending => {}
            TransferStatus::Locked => {
                return Err(LicensingError::Refused(format!(
                    "the transfer is locked after {MAX_TRIES} wrong secrets: the sender must cancel it and start a new one"
                )));
            }
            other => {
                return Err(LicensingError::Refused(format!(
                    "the transfer is already {}",
                    other.label().to_lowercase()
                )));
            }
        }
        let typed = secret_hash(&t.salt, secret);
        if !bool::from(typed.ct_eq(&t.secret_hash)) {
            t.failed_tries += 1;
            if t.failed_tries >= MAX_TRIES {
                t.status = TransferStatus::Locked;
                t.decided_at = Some(now);
            }
            transfers::update(tx, &t, now)?;
            return Ok(Acceptance::WrongSecret {
                tries_left: MAX_TRIES.saturating_sub(t.failed_tries),
            });
        }
        let license = super::licensing::issued_license(tx, t.license_id)?;
        if license.account_id != t.from_account {
            return Err(LicensingError::Refused(format!(
                "license {} moved to another account since the transfer was made: cancel the transfer",
                t.license_id
            )));
        }
        let to = store::accounts::get(tx, t.to_account)?.map_or(0, |a| a.wallet_id);
        licensing::move_to_account_in(
            tx,
            t.license_id,
            Some(t.to_account),
            &format!("transferred to partner wallet {to} (transfer {})", t.id),
            operator,
            now,
        )?;
        t.status = TransferStatus::Accepted;
        t.decided_at = Some(now);
        transfers::update(tx, &t, now)?;
        Ok(Acceptance::Accepted(view(tx, &t)?))
    })?;
    Ok(outcome)
}

/// Cancels a pending (or locked) transfer: nothing moved, nothing moves.
pub fn cancel(
    store: &mut Store,
    transfer_id: TransferId,
    now: i64,
) -> Result<TransferView, LicensingError> {
    store.write(|tx| {
        let mut t = transfers::get(tx, transfer_id)?
            .ok_or_else(|| LicensingError::Refused(format!("no transfer {transfer_id}")))?;
        if !matches!(t.status, TransferStatus::Pending | TransferStatus::Locked) {
            return Err(LicensingError::Refused(format!(
                "the transfer is already {}",
                t.status.label().to_lowercase()
            )));
        }
        t.status = TransferStatus::Cancelled;
        t.decided_at = Some(now);
        transfers::update(tx, &t, now)?;
        view(tx, &t)
    })
}

/// Transfers waiting for `account` to approve them.
pub fn incoming(
    conn: &rusqlite::Connection,
    account: AccountId,
) -> Result<Vec<TransferView>, LicensingError> {
    transfers::incoming(conn, account)?
        .iter()
        .map(|t| view(conn, t))
        .collect()
}

/// Transfers `account` sent that wait for the partner.
pub fn outgoing(
    conn: &rusqlite::Connection,
    account: AccountId,
) -> Result<Vec<TransferView>, LicensingError> {
    transfers::outgoing(conn, account)?
        .iter()
        .map(|t| view(conn, t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_unambiguous_and_forgiving_when_typed() {
        let secret = new_secret().expect("randomness");
        assert_eq!(secret.len(), 39, "{secret}");
        assert_eq!(secret.matches('-').count(), 7);
        assert!(
            secret
                .chars()
                .all(|c| c == '-' || ALPHABET.contains(&(c as u8)))
        );
        assert_ne!(secret, new_secret().expect("randomness"));
        let salt = [3; 16];
        let typed = secret.to_lowercase().replace('-', " ");
        assert_eq!(secret_hash(&salt, &secret), secret_hash(&salt, &typed));
        assert_eq!(secret_hash(&salt, "0O1IL"), secret_hash(&salt, "00111"));
        assert_ne!(secret_hash(&salt, &secret), secret_hash(&[4; 16], &secret));
    }
}
