//! Arrays: create an array for an account, edit it (cluster UUID pasted or taken from the
//! request file made on the cluster; Eval, Dev or Pro; capacity from the wallet), generate its
//! license serial, mail the serial, delete it.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction holding the array row, the wallet entries
//! it takes or gives back (a Pro license entitlement, TB of capacity), the license it issues
//! (through [`licensing::record_issued`]: row, ledger entry, outbox) or withdraws, and the
//! outbox change of each. The rules of what a change takes and gives back are in
//! [`crate::domain::array`]; the wallet's own check refuses anything that would go negative.

use crate::commerce::catalog::Product;
use crate::commerce::wallet::{Movement, Wallet, WalletChange, WalletEntry, WalletError};
use crate::domain::FieldErrors;
use crate::domain::array::{
    self, ArrayEdit, ArraySpec, Holding, Licensed, WalletMoves, validity_days,
};
use crate::domain::ids::{AccountId, ArrayId, LicenseId, WalletEntryId};
use crate::domain::issue::IssueDraft;
use crate::domain::license_status::{LicenseStatus, StatusChange};
use crate::domain::money::Currency;
use crate::services::commerce::{self, CommerceError};
use crate::services::keys::{self, KeyVault, KeysError};
use crate::services::licensing::{self, IssuedView, LicensingError};
use crate::store::arrays::ArrayRow;
use crate::store::licenses::LicenseRow;
use crate::store::{self, Store, StoreError};
use licensekey::{KeyId, LicenseKind, LicenseRequest, SignedLicense, SigningKey, Uuid};
use rusqlite::Transaction;
use std::path::PathBuf;

/// What staff can do with arrays.
#[derive(Debug, Clone)]
pub enum ArraysCommand {
    /// A new array (unassigned: no license kind yet) for the account.
    Create { account_id: AccountId, name: String },
    /// Saves the "Edit array" form: takes from or gives back to the wallet what the change
    /// needs, and withdraws the serial when it no longer may stand.
    Save { id: ArrayId, edit: Box<ArrayEdit> },
    /// Issues the array's license serial (replacing the one it had).
    Generate { id: ArrayId },
    /// Queues the serial and the license file in a mail to the account's billing email.
    SendSerial { id: ArrayId },
    /// Deletes the array: its serial is withdrawn and what it held goes back to the wallet.
    Delete { id: ArrayId },
    /// Reads a license request file made on a cluster (opened or dropped on the Arrays panel).
    ReadRequest { path: PathBuf },
}

impl ArraysCommand {
    /// What the command does, in words, for messages.
    pub fn action(&self) -> &'static str {
        match self {
            ArraysCommand::Create { .. } => "Create array",
            ArraysCommand::Save { .. } => "Save array",
            ArraysCommand::Generate { .. } => "Generate license serial",
            ArraysCommand::SendSerial { .. } => "Send serial by email",
            ArraysCommand::Delete { .. } => "Delete array",
            ArraysCommand::ReadRequest { .. } => "Open request file",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArraysEvent {
    Created(ArrayRow),
    Saved {
        array: ArrayRow,
        /// The serial the change withdrew (deleted, so it is on the revocation list).
        withdrawn: Option<LicenseId>,
    },
    Generated {
        array: ArrayRow,
        issued: IssuedView,
        /// The serial the new one replaced (superseded).
        replaced: Option<LicenseId>,
    },
    SerialSent {
        array_id: ArrayId,
        to: String,
        subject: String,
    },
    Deleted {
        array: ArrayRow,
        withdrawn: Option<LicenseId>,
    },
    RequestRead {
        request: LicenseRequest,
        source: PathBuf,
    },
}

/// Why an arrays command was refused; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum ArraysError {
    #[error("{0}")]
    Invalid(#[from] FieldErrors),
    #[error("Array name: '{0}' is already taken by another array of this account")]
    NameTaken(String),
    #[error("the account was not found (it may have been deleted)")]
    AccountNotFound,
    #[error("the array was not found (it may have been deleted)")]
    ArrayNotFound,
    #[error(
        "Kind: the wallet of '{account}' has no Pro license available: buy one under Purchase first"
    )]
    NoProLicense { account: String },
    #[error(
        "Capacity (TB): the wallet of '{account}' has {available} TB available; {requested} more requested: buy capacity under Purchase"
    )]
    NotEnoughCapacity {
        account: String,
        available: u64,
        requested: u64,
    },
    #[error(
        "Kind: cluster {cluster} already had its Eval license (issued {issued}); an Eval is given once per cluster: choose Dev or Pro"
    )]
    EvalUsed { cluster: Uuid, issued: String },
    #[error("{0}")]
    NotReady(String),
    #[error("the array has no serial yet: generate one first")]
    NoSerial,
    #[error("Wallet: {0}")]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error(transparent)]
    Licensing(#[from] LicensingError),
    #[error(transparent)]
    Commerce(#[from] CommerceError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ArraysError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate {
                what: "array name",
                value,
            } => ArraysError::NameTaken(value),
            StoreError::NotFound { what: "array", .. } => ArraysError::ArrayNotFound,
            e => ArraysError::Store(e),
        }
    }
}

impl From<rusqlite::Error> for ArraysError {
    fn from(e: rusqlite::Error) -> Self {
        ArraysError::Store(e.into())
    }
}

/// Runs one command; `vault` holds the keys unlocked in this session (generating a serial
/// signs; withdrawing one publishes the next revocation list).
pub fn run(
    store: &mut Store,
    vault: &mut KeyVault,
    now: i64,
    command: ArraysCommand,
) -> Result<ArraysEvent, ArraysError> {
    match command {
        ArraysCommand::Create { account_id, name } => {
            create(store, account_id, &name, now).map(ArraysEvent::Created)
        }
        ArraysCommand::Save { id, edit } => save(store, vault, id, &edit, now),
        ArraysCommand::Generate { id } => generate(store, vault, id, now),
        ArraysCommand::SendSerial { id } => send_serial(store, id, now),
        ArraysCommand::Delete { id } => delete(store, vault, id, now),
        ArraysCommand::ReadRequest { path } => {
            let request = licensing::load_request(&path)?;
            Ok(ArraysEvent::RequestRead {
                request,
                source: path,
            })
        }
    }
}

/// Creates an unassigned array named `name` for `account_id`.
pub fn create(
    store: &mut Store,
    account_id: AccountId,
    name: &str,
    now: i64,
) -> Result<ArrayRow, ArraysError> {
    array::validate_name(name).into_result()?;
    let name = array::normalize_name(name);
    store.write(|tx| {
        store::accounts::get(tx, account_id)?.ok_or(ArraysError::AccountNotFound)?;
        let row = ArrayRow {
            seq: 0,
            id: ArrayId::new(),
            account_id,
            name,
            product: array::DEFAULT_PRODUCT.into(),
            cluster: None,
            request: None,
            kind: None,
            pro_days: None,
            capacity_tb: 0,
            license_id: None,
            created_at: now,
            updated_at: now,
        };
        Ok(store::arrays::insert(tx, &row, now)?)
    })
}

/// The serial that stands for the array now (following renewals), if it is active or
/// suspended.
pub fn standing_license(
    conn: &rusqlite::Connection,
    array: &ArrayRow,
) -> Result<Option<LicenseRow>, StoreError> {
    let Some(id) = array.license_id else {
        return Ok(None);
    };
    Ok(store::arrays::current_license(conn, id)?
        .filter(|l| matches!(l.status, LicenseStatus::Active | LicenseStatus::Suspended)))
}

/// What a stored license says, for comparing with the array.
pub fn licensed(license: &LicenseRow) -> Option<Licensed> {
    let machine_bound = license
        .signed()
        .is_some_and(|s| s.payload().binding.machine.is_some());
    Some(Licensed {
        product: license.product.clone(),
        kind: crate::domain::issue::parse_kind(&license.kind)?,
        cluster: license.cluster,
        capacity_tb: u32::try_from(license.capacity_tb).ok()?,
        machine_bound,
    })
}

/// The array as a spec (what it is now), for comparisons.
pub fn spec_of(array: &ArrayRow) -> ArraySpec {
    ArraySpec {
        name: array.name.clone(),
        product: array.product.clone(),
        cluster: array.cluster,
        request: array.parsed_request(),
        kind: array.kind,
        capacity_tb: array.capacity_tb,
    }
}

/// Where the array's serial stands at `now`.
pub fn serial_state(
    array: &ArrayRow,
    standing: Option<&LicenseRow>,
    now: i64,
) -> array::SerialState {
    use array::SerialState;
    match (array.kind, standing) {
        (None, _) => SerialState::Unassigned,
        (Some(LicenseKind::Pro), None) => SerialState::Ordered,
        (Some(_), None) => SerialState::NotGenerated,
        (Some(_), Some(license)) => {
            if licensed(license).as_ref() != array::describes(&spec_of(array)).as_ref() {
                SerialState::OutOfDate
            } else if license.expires_at.is_some_and(|e| e <= now) {
                SerialState::Expired
            } else {
                SerialState::Active
            }
        }
    }
}

/// The active signing key and its id, when the vault holds it unlocked.
fn signing_key(store: &Store, vault: &mut KeyVault) -> Result<(SigningKey, KeyId), KeysError> {
    let (_, signing) = vault.active_signing_key(store.conn())?;
    let signing = signing.clone();
    let signer = keys::ensure_active(store.conn(), &signing)?;
    Ok((signing, signer.key_id))
}

fn reference(array: &ArrayRow) -> String {
    format!("array '{}'", array.name)
}

/// Checks and books one entitlement movement.
#[allow(clippy::too_many_arguments)]
fn book(
    tx: &Transaction<'_>,
    account_id: AccountId,
    wallet: &mut Wallet,
    product: Product,
    movement: Movement,
    quantity: u32,
    reference: &str,
    now: i64,
) -> Result<(), ArraysError> {
    if quantity == 0 {
        return Ok(());
    }
    let entry = WalletEntry {
        id: WalletEntryId::new().0,
        at: now,
        change: WalletChange::Entitlement {
            product,
            movement,
            quantity,
            reference: reference.to_string(),
        },
    };
    wallet.append(entry.clone())?;
    store::wallet::append(tx, account_id, &entry, now)?;
    Ok(())
}

/// Books what `moves` needs: releases first (a switch never trips over its own units), then
/// assignments, each refused with the wallet's balance when it is short.
fn move_entitlements(
    tx: &Transaction<'_>,
    array: &ArrayRow,
    account_name: &str,
    moves: WalletMoves,
    now: i64,
) -> Result<(), ArraysError> {
    let mut wallet = commerce::wallet_of(tx, array.account_id, Currency::EUR)?;
    let reference = reference(array);
    let units = |n: i64| u32::try_from(n.unsigned_abs()).unwrap_or(u32::MAX);
    for (product, delta) in [
        (Product::ProLicense, moves.pro),
        (Product::CapacityTb, moves.capacity_tb),
    ] {
        if delta < 0 {
            book(
                tx,
                array.account_id,
                &mut wallet,
                product,
                Movement::Released,
                units(delta),
                &reference,
                now,
            )?;
        }
    }
    let balances = wallet.balances().map_err(WalletError::from)?;
    if moves.pro > 0 && balances.entitlement(Product::ProLicense).available() < 1 {
        return Err(ArraysError::NoProLicense {
            account: account_name.to_string(),
        });
    }
    let tb = balances.entitlement(Product::CapacityTb).available();
    if moves.capacity_tb > 0 && tb < moves.capacity_tb.unsigned_abs() {
        return Err(ArraysError::NotEnoughCapacity {
            account: account_name.to_string(),
            available: tb,
            requested: moves.capacity_tb.unsigned_abs(),
        });
    }
    for (product, delta) in [
        (Product::ProLicense, moves.pro),
        (Product::CapacityTb, moves.capacity_tb),
    ] {
        if delta > 0 {
            book(
                tx,
                array.account_id,
                &mut wallet,
                product,
                Movement::Assigned,
                units(delta),
                &reference,
                now,
            )?;
        }
    }
    Ok(())
}

fn eval_check(tx: &Transaction<'_>, cluster: Uuid) -> Result<(), ArraysError> {
    if let Some((_, issued_at)) = store::arrays::eval_license_for(tx, cluster)? {
        return Err(ArraysError::EvalUsed {
            cluster,
            issued: crate::domain::time::rfc3339(issued_at),
        });
    }
    Ok(())
}

/// Deletes `license` (it goes on the next revocation list) inside `tx`.
#[allow(clippy::too_many_arguments)]
fn withdraw(
    tx: &Transaction<'_>,
    key: Option<&(SigningKey, KeyId)>,
    locked: &Option<KeysError>,
    license: LicenseId,
    why: &str,
    operator: &str,
    now: i64,
) -> Result<(), ArraysError> {
    let Some((signing, signer)) = key else {
        let reason = match locked {
            Some(e) => e.to_string(),
            None => "no signing key is unlocked".into(),
        };
        return Err(ArraysError::NotReady(format!(
            "the current serial must be withdrawn first ({why}), which publishes a signed revocation list: {reason}"
        )));
    };
    licensing::change_status_in(
        tx,
        signing,
        *signer,
        license,
        StatusChange::Delete,
        why,
        operator,
        now,
    )?;
    Ok(())
}

/// Saves the "Edit array" form.
pub fn save(
    store: &mut Store,
    vault: &mut KeyVault,
    id: ArrayId,
    edit: &ArrayEdit,
    now: i64,
) -> Result<ArraysEvent, ArraysError> {
    let spec = edit.validate()?;
    let request_text = match &spec.request {
        Some(request) => Some(request.to_file().map_err(LicensingError::from)?),
        None => None,
    };
    let operator = licensing::operator(store)?;
    // The key is needed only when the change withdraws the serial; a locked key is reported
    // then, and only then.
    let (key, locked) = match signing_key(store, vault) {
        Ok(key) => (Some(key), None),
        Err(e) => (None, Some(e)),
    };
    let today = crate::domain::time::utc_date(now).unwrap_or_default();
    store.write(|tx| {
        let mut array = store::arrays::get(tx, id)?.ok_or(ArraysError::ArrayNotFound)?;
        let account =
            store::accounts::get(tx, array.account_id)?.ok_or(ArraysError::AccountNotFound)?;
        if let (Some(LicenseKind::Eval), Some(cluster)) = (spec.kind, spec.cluster)
            && (array.kind != Some(LicenseKind::Eval) || array.cluster != spec.cluster)
        {
            eval_check(tx, cluster)?;
        }
        let moves = WalletMoves::between(
            Holding::of(array.kind, array.capacity_tb),
            Holding::of(spec.kind, spec.capacity_tb),
        );
        let mut withdrawn = None;
        let standing = standing_license(tx, &array)?;
        array.license_id = standing.as_ref().map(|l| l.license_id);
        if let Some(license) = &standing {
            let must = match licensed(license) {
                Some(current) => array::withdraws(moves, &current, &spec),
                None => true,
            };
            if must {
                let why = format!("array '{}' changed", array.name);
                withdraw(
                    tx,
                    key.as_ref(),
                    &locked,
                    license.license_id,
                    &why,
                    &operator,
                    now,
                )?;
                withdrawn = Some(license.license_id);
                array.license_id = None;
            }
        }
        move_entitlements(tx, &array, &account.name, moves, now)?;
        array.pro_days = match spec.kind {
            Some(LicenseKind::Pro) if moves.pro > 0 || array.pro_days.is_none() => Some(
                store::arrays::latest_pro_term_days(tx, array.account_id, today)?
                    .unwrap_or(array::PRO_DEFAULT_DAYS),
            ),
            Some(LicenseKind::Pro) => array.pro_days,
            _ => None,
        };
        array.name = spec.name.clone();
        array.product = spec.product.clone();
        array.cluster = spec.cluster;
        array.request = request_text.clone();
        array.kind = spec.kind;
        array.capacity_tb = spec.capacity_tb;
        array.updated_at = now;
        store::arrays::update(tx, &array, now)?;
        Ok(ArraysEvent::Saved { array, withdrawn })
    })
}

/// Issues the array's license serial through the license core, replacing the one it had.
pub fn generate(
    store: &mut Store,
    vault: &mut KeyVault,
    id: ArrayId,
    now: i64,
) -> Result<ArraysEvent, ArraysError> {
    let operator = licensing::operator(store)?;
    let (signing, signer) = signing_key(store, vault)?;
    store.write(|tx| {
        let mut array = store::arrays::get(tx, id)?.ok_or(ArraysError::ArrayNotFound)?;
        let account =
            store::accounts::get(tx, array.account_id)?.ok_or(ArraysError::AccountNotFound)?;
        let kind = array.kind.ok_or_else(|| {
            ArraysError::NotReady("choose Eval, Dev or Pro for the array first (Edit array)".into())
        })?;
        let cluster = array.cluster.ok_or_else(|| {
            ArraysError::NotReady(
                "paste the array's cluster UUID first, or open its request file (Edit array)"
                    .into(),
            )
        })?;
        if kind == LicenseKind::Eval {
            eval_check(tx, cluster)?;
        }
        let standing = standing_license(tx, &array)?;
        let draft = IssueDraft {
            product: array.product.clone(),
            kind,
            customer: account.name.clone(),
            cluster: cluster.to_string(),
            capacity_tb: array.capacity_tb.to_string(),
            seats: "1".into(),
            days: validity_days(kind, array.pro_days).to_string(),
            request: array.parsed_request(),
            ..IssueDraft::default()
        };
        let spec = draft.validate()?;
        let mut payload = spec.payload(Uuid::now_v7(), now);
        // A Pro serial that replaces a Pro serial keeps the term already running: more
        // capacity, or a request file added later, does not extend it.
        if kind == LicenseKind::Pro
            && let Some(old) = &standing
            && old.kind == "Pro"
            && let Some(expires) = old.expires_at.filter(|e| *e > now)
        {
            payload.expires_at = Some(expires);
        }
        let license = SignedLicense::sign(payload, &signing).map_err(LicensingError::from)?;
        let new_id = LicenseId(license.payload().license_id);
        let head = store::ledger::head(tx)?;
        licensing::record_issued(tx, head, &license, Some(array.account_id), &operator, now)?;
        let replaced = match &standing {
            Some(old) => {
                licensing::change_status_in(
                    tx,
                    &signing,
                    signer,
                    old.license_id,
                    StatusChange::Supersede,
                    &format!("replaced by {new_id} for array '{}'", array.name),
                    &operator,
                    now,
                )?;
                Some(old.license_id)
            }
            None => None,
        };
        array.license_id = Some(new_id);
        array.updated_at = now;
        store::arrays::update(tx, &array, now)?;
        Ok(ArraysEvent::Generated {
            array,
            issued: IssuedView::from(&license),
            replaced,
        })
    })
}

/// The mail's text: the serial and the license file, inline.
fn serial_mail(array: &ArrayRow, license: &SignedLicense) -> (String, String) {
    let p = license.payload();
    let expiry = p
        .expires_at
        .map(|e| format!("valid until {}", crate::domain::time::rfc3339(e)))
        .unwrap_or_else(|| "perpetual".into());
    let cluster = p.binding.cluster.map(|c| c.to_string()).unwrap_or_default();
    let subject = format!(
        "{} license for array '{}' ({expiry})",
        p.kind.name(),
        array.name
    );
    let text = format!(
        "here is the {kind} license of {product} for your array '{name}' (cluster {cluster}), {expiry}.\n\n\
         Serial (paste it into the array):\n\n{serial}\n\n\
         License file (save the lines below as license-{short}.lic for an air-gapped array):\n\n{file}\n",
        kind = p.kind.name(),
        product = p.product,
        name = array.name,
        serial = license.to_serial(),
        short = p
            .license_id
            .simple()
            .to_string()
            .get(24..)
            .unwrap_or_default(),
        file = license.to_license_file(),
    );
    (subject, text)
}

/// Queues the array's serial and license file in a mail to the account's billing email (the
/// `.eml` outbox), written as a file once it commits.
pub fn send_serial(store: &mut Store, id: ArrayId, now: i64) -> Result<ArraysEvent, ArraysError> {
    let (event, mail) = store.write(|tx| {
        let array = store::arrays::get(tx, id)?.ok_or(ArraysError::ArrayNotFound)?;
        let license = standing_license(tx, &array)?.ok_or(ArraysError::NoSerial)?;
        let signed = license.signed().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the stored bytes of license {} do not parse",
                license.license_id
            ))
        })?;
        let parties = commerce::parties(tx, array.account_id)?;
        let (subject, text) = serial_mail(&array, &signed);
        let mail = commerce::mail_notice(tx, &parties, subject.clone(), &text, now)?;
        Ok::<_, ArraysError>((
            ArraysEvent::SerialSent {
                array_id: id,
                to: mail.to.clone(),
                subject,
            },
            mail,
        ))
    })?;
    commerce::write_mail_files(store, std::slice::from_ref(&mail));
    Ok(event)
}

/// Deletes an array: its serial is withdrawn (deleted, on the revocation list) and its Pro
/// license and capacity go back to the wallet.
pub fn delete(
    store: &mut Store,
    vault: &mut KeyVault,
    id: ArrayId,
    now: i64,
) -> Result<ArraysEvent, ArraysError> {
    let operator = licensing::operator(store)?;
    let (key, locked) = match signing_key(store, vault) {
        Ok(key) => (Some(key), None),
        Err(e) => (None, Some(e)),
    };
    store.write(|tx| {
        let array = store::arrays::get(tx, id)?.ok_or(ArraysError::ArrayNotFound)?;
        let account =
            store::accounts::get(tx, array.account_id)?.ok_or(ArraysError::AccountNotFound)?;
        let withdrawn = match standing_license(tx, &array)? {
            Some(license) => {
                let why = format!("array '{}' deleted", array.name);
                withdraw(
                    tx,
                    key.as_ref(),
                    &locked,
                    license.license_id,
                    &why,
                    &operator,
                    now,
                )?;
                Some(license.license_id)
            }
            None => None,
        };
        let moves = WalletMoves::between(
            Holding::of(array.kind, array.capacity_tb),
            Holding::default(),
        );
        move_entitlements(tx, &array, &account.name, moves, now)?;
        store::arrays::delete(tx, id, now)?;
        Ok(ArraysEvent::Deleted { array, withdrawn })
    })
}
