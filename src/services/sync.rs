//! Sync for the app and the CLI: the device token kept sealed in the vault, and one round with
//! the portal the settings name.
//!
//! The token is sealed (`keyvault::seal_secret`, purpose [`TOKEN_PURPOSE`]) under the active
//! signing key, so it is never in clear on disk: saving it needs that key unlocked, and so does
//! the first round of a session, which opens it and keeps it in memory ([`SyncSession`]) until
//! the app closes or the token is replaced. Locking keys does not stop a sync already set up.

use crate::domain::ids::ChangeId;
use crate::domain::settings::Settings;
use crate::services::keys::{KeyVault, KeysError, Secret};
use crate::store::{self, Store, StoreError};
use crate::sync::{self, RoundReport, SyncError};
use portal::client::{ClientOptions, PortalClient};
use zeroize::Zeroizing;

/// HKDF purpose of the key that seals the device token.
pub const TOKEN_PURPOSE: &str = "LicenseDesk/sync/device-token/v1";
/// What the sealed token is bound to (a sealed value copied elsewhere does not open).
const TOKEN_AAD: &[u8] = b"sync_token";
/// Longest device token accepted (the portal's are 47 characters).
pub const TOKEN_MAX: usize = 512;

/// A sync request for the worker.
#[derive(Debug, Clone)]
pub enum SyncCommand {
    /// Seal a device token under the active signing key, in place of any earlier one.
    SaveToken { token: Secret },
    /// Forget the device token (sync stops until a new one is saved).
    ForgetToken,
    /// One round with the portal of the settings (staff asked, or the schedule is due).
    Round,
    /// Offer a change the portal refused again, at the next push.
    RetryParked { change_id: ChangeId },
}

impl SyncCommand {
    /// What the command does, in words.
    pub fn action(&self) -> &'static str {
        match self {
            SyncCommand::SaveToken { .. } => "Save device token",
            SyncCommand::ForgetToken => "Forget device token",
            SyncCommand::Round => "Sync",
            SyncCommand::RetryParked { .. } => "Retry change",
        }
    }
}

/// What a sync command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// Sealed under the signing key of that name.
    TokenSaved {
        key_name: String,
    },
    TokenForgotten,
    Synced(RoundReport),
    /// Back in the outbox; it goes with the next push.
    Requeued {
        change_id: ChangeId,
    },
}

/// Why a sync command did nothing (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum SyncServiceError {
    /// Air-gapped mode is on: no network code runs.
    #[error("air-gapped mode is on (Settings): this desk opens no connection")]
    AirGapped,
    #[error("Portal URL: not set (save one in Settings)")]
    NoPortal,
    #[error("Device token: none saved (seal one in Settings)")]
    NoToken,
    #[error("Device token: {0}")]
    BadToken(&'static str),
    /// The key that sealed the token is locked: unlock it once to start syncing.
    #[error(
        "the device token is sealed under the signing key '{name}': unlock it under Signing keys to sync"
    )]
    TokenLocked { name: String },
    #[error("change {0} is not among the changes the portal refused")]
    NotParked(ChangeId),
    #[error("the device token does not open: {0}")]
    TokenDamaged(String),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("portal {url}: {source}")]
    Sync { url: String, source: SyncError },
}

/// What the worker keeps between rounds: the opened token and the client (its connections
/// are reused), for the portal they belong to.
#[derive(Default)]
pub struct SyncSession {
    token: Option<Zeroizing<String>>,
    /// The client, for the portal address and CA certificate it was made for.
    client: Option<((String, String), PortalClient)>,
}

impl SyncSession {
    /// Runs one command.
    pub fn run(
        &mut self,
        store: &mut Store,
        vault: &mut KeyVault,
        now: i64,
        command: SyncCommand,
    ) -> Result<SyncEvent, SyncServiceError> {
        match command {
            SyncCommand::SaveToken { token } => {
                let key_name = save_token(store, vault, &token, now)?;
                self.token = Some(Zeroizing::new(token.expose().trim().to_string()));
                self.client = None;
                Ok(SyncEvent::TokenSaved { key_name })
            }
            SyncCommand::ForgetToken => {
                store.write(store::sync::forget_token)?;
                *self = Self::default();
                Ok(SyncEvent::TokenForgotten)
            }
            SyncCommand::Round => self.round(store, vault, now).map(SyncEvent::Synced),
            SyncCommand::RetryParked { change_id } => {
                if store.write(|tx| store::outbox::unpark(tx, change_id))? {
                    Ok(SyncEvent::Requeued { change_id })
                } else {
                    Err(SyncServiceError::NotParked(change_id))
                }
            }
        }
    }

    /// One round with the portal of the saved settings; its outcome (or why it stopped) is
    /// noted in `sync_state`, which the Sync panel shows.
    fn round(
        &mut self,
        store: &mut Store,
        vault: &mut KeyVault,
        now: i64,
    ) -> Result<RoundReport, SyncServiceError> {
        let settings = store::settings::load(store.conn())?;
        let url = portal_of(&settings)?;
        let outcome = self.round_with(store, vault, &url, settings.portal_ca(), now);
        if let Err(e) = &outcome {
            let error = e.to_string();
            store.write(|tx| store::sync::note_attempt(tx, &url, now, Some(&error)))?;
            // A refused token or a portal that moved: open and connect afresh next time; a
            // refused token is read again from the vault (another may be sealed since, e.g.
            // with `license-desk sync-setup`).
            self.client = None;
            if matches!(
                e,
                SyncServiceError::Sync {
                    source: SyncError::Portal(portal::client::ClientError::Unauthorized),
                    ..
                }
            ) {
                self.token = None;
            }
        }
        outcome
    }

    fn round_with(
        &mut self,
        store: &mut Store,
        vault: &mut KeyVault,
        url: &str,
        ca_pem: Option<&str>,
        now: i64,
    ) -> Result<RoundReport, SyncServiceError> {
        let failed = |source| SyncServiceError::Sync {
            url: url.to_string(),
            source,
        };
        if self.token.is_none() {
            self.token = Some(open_token(store, vault)?);
        }
        let made_for = (url.to_string(), ca_pem.unwrap_or_default().to_string());
        if self
            .client
            .as_ref()
            .is_none_or(|(for_portal, _)| *for_portal != made_for)
        {
            let token = self
                .token
                .as_deref()
                .map(String::as_str)
                .unwrap_or_default();
            let options = ClientOptions {
                extra_root_pem: ca_pem.map(|pem| pem.as_bytes().to_vec()),
                ..ClientOptions::default()
            };
            let mut client =
                PortalClient::new(url, token, options).map_err(|e| failed(e.into()))?;
            client.negotiate().map_err(|e| failed(e.into()))?;
            self.client = Some((made_for, client));
        }
        let Some((_, client)) = &self.client else {
            return Err(SyncServiceError::NoToken);
        };
        sync::round(store, client, url, now).map_err(failed)
    }
}

/// The portal to sync with, or why there is none: air-gapped mode wins over everything.
pub fn portal_of(settings: &Settings) -> Result<String, SyncServiceError> {
    if settings.air_gapped {
        return Err(SyncServiceError::AirGapped);
    }
    match settings.portal() {
        "" => Err(SyncServiceError::NoPortal),
        url => Ok(url.to_string()),
    }
}

/// Checks a device token as typed.
pub fn check_token(token: &str) -> Result<(), SyncServiceError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(SyncServiceError::BadToken("is empty"));
    }
    if token.len() > TOKEN_MAX {
        return Err(SyncServiceError::BadToken("is longer than 512 characters"));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SyncServiceError::BadToken(
            "must be one line of printable characters without spaces",
        ));
    }
    Ok(())
}

/// Seals `token` under the active signing key (which must be unlocked) and keeps it in place
/// of any earlier one. Returns the key's name.
pub fn save_token(
    store: &mut Store,
    vault: &mut KeyVault,
    token: &Secret,
    now: i64,
) -> Result<String, SyncServiceError> {
    check_token(token.expose())?;
    let (key, signing) = vault.active_signing_key(store.conn())?;
    let sealed = seal(signing, key.key_id, token.expose())?;
    store.write(|tx| store::sync::set_token(tx, &sealed, now))?;
    Ok(key.name)
}

/// Seals a device token (checked) under `signing`, the key `key_id`.
pub fn seal(
    signing: &licensekey::SigningKey,
    key_id: licensekey::KeyId,
    token: &str,
) -> Result<store::sync::SealedToken, SyncServiceError> {
    check_token(token)?;
    let sealed = keyvault::seal_secret(signing, TOKEN_PURPOSE, TOKEN_AAD, token.trim().as_bytes())
        .map_err(|e| SyncServiceError::TokenDamaged(e.to_string()))?;
    Ok(store::sync::SealedToken { key_id, sealed })
}

/// Opens the sealed device token with the key that sealed it (unlocked in `vault`).
pub fn open_token(
    store: &Store,
    vault: &mut KeyVault,
) -> Result<Zeroizing<String>, SyncServiceError> {
    let sealed = store::sync::sealed_token(store.conn())?.ok_or(SyncServiceError::NoToken)?;
    let signing = match vault.signing_key_by_id(store.conn(), sealed.key_id) {
        Ok((_, signing)) => signing,
        Err(KeysError::Locked { name, .. }) => return Err(SyncServiceError::TokenLocked { name }),
        Err(e) => return Err(e.into()),
    };
    open_with(signing, &sealed)
}

/// Opens a sealed token with its signing key (the CLI unlocks the key itself).
pub fn open_with(
    signing: &licensekey::SigningKey,
    sealed: &store::sync::SealedToken,
) -> Result<Zeroizing<String>, SyncServiceError> {
    let clear = keyvault::open_secret(signing, TOKEN_PURPOSE, TOKEN_AAD, &sealed.sealed)
        .map_err(|e| SyncServiceError::TokenDamaged(e.to_string()))?;
    let text = std::str::from_utf8(&clear)
        .map_err(|_| SyncServiceError::TokenDamaged("it is not text".into()))?;
    Ok(Zeroizing::new(text.to_string()))
}
