//! The sync outbox. Every change to something that syncs writes a row here inside the change's
//! own transaction, so sync can never miss one; a row leaves only when the portal acknowledges
//! its change id.
//!
//! Each row is typed: an entity, the entity's id, an operation (`upsert` for state that can
//! change, `delete`, `insert` for facts that are only ever added) and a versioned JSON body
//! holding the entity's whole new state. A body that cannot be written fails the transaction:
//! there is no "null" body.

use super::StoreResult;
use crate::domain::account::Account;
use crate::domain::billing::BillingDetails;
use crate::domain::ids::{AccountId, ChangeId, DeskId, LicenseId, PaymentMethodId};
use crate::domain::payment::PaymentMethod;
use portal::hlc::{Hlc, HlcClock};
use portal::protocol::{Base, Envelope, Op as WireOp};
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// What happened to the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// New state of something that can change again.
    Upsert,
    /// The entity is gone.
    Delete,
    /// A fact that is only ever added (a license, a ledger entry, a revocation list).
    Insert,
}

impl Op {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Delete => "delete",
            Op::Insert => "insert",
        }
    }
}

/// A public signing key as it syncs (never the sealed private key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyRecord {
    pub key_id: String,
    pub name: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub active: bool,
    pub created_at: i64,
}

/// An issued license as it syncs: the signed artifact carries everything it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseRecord {
    pub license_id: LicenseId,
    pub account_id: Option<AccountId>,
    /// The serial key (the canonical text form of the signed artifact).
    pub serial: String,
    pub status: String,
}

/// A published revocation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationListRecord {
    pub sequence: u64,
    pub key_id: String,
    pub issued_at: i64,
    /// The armored, signed list.
    pub file: String,
}

/// One ledger entry, as an insert-only fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRecord {
    pub seq: i64,
    pub format: u8,
    pub action: String,
    pub license_id: LicenseId,
    /// Lower-case hex.
    pub payload_hash: String,
    pub prev_hash: String,
    pub entry_hash: String,
    pub operator: String,
    pub recorded_at: i64,
    pub account_id: Option<AccountId>,
    pub status: Option<String>,
    pub note: String,
}

/// A range of ledger entries a bulk issue appended in one transaction. The entries and the
/// licenses they issued are not copied into the outbox (a million-license issue would double
/// the database): [`expand`] reads them from their tables when the change is pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerBatchRecord {
    pub from_seq: i64,
    pub to_seq: i64,
}

/// A license's staff settings and the machines registered to it. The administrator password
/// travels only sealed (hex of nonce || ciphertext, under a key derived from the signing
/// key `password_key_id`), never in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseAdminRecord {
    pub license_id: LicenseId,
    pub registration_key: String,
    pub admin_password_sealed: Option<String>,
    pub password_key_id: Option<String>,
    /// Public keys (hex) of the machines registered to the license.
    pub registered_machines: Vec<String>,
}

/// An applied deactivation file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeactivationRecord {
    pub id: String,
    pub license_id: LicenseId,
    /// The armored deactivation file.
    pub file: String,
    pub applied_at: i64,
}

/// A transfer of a license to a partner account. The secret is never here: only its salted
/// SHA-256, which the receiving desk checks the typed secret against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseTransferRecord {
    pub id: crate::domain::ids::TransferId,
    pub license_id: LicenseId,
    pub from_account: Option<AccountId>,
    pub to_account: AccountId,
    pub salt: String,
    pub secret_hash: String,
    pub status: String,
    pub failed_tries: u32,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// Everything that can enter the outbox, one variant per entity and operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    Account(Account),
    AccountDeleted {
        id: AccountId,
    },
    Billing {
        account_id: AccountId,
        details: BillingDetails,
    },
    PaymentMethod(PaymentMethod),
    PaymentMethodDeleted {
        id: PaymentMethodId,
    },
    PublicKey(PublicKeyRecord),
    /// A license as issued: the signed artifact, a fact.
    LicenseIssued(LicenseRecord),
    /// A license's later state (status, account).
    License(LicenseRecord),
    RevocationList(RevocationListRecord),
    /// A published list by its number, in the outbox: pushed as the whole
    /// [`Change::RevocationList`], read when it is pushed.
    RevocationListRef {
        sequence: u64,
    },
    LedgerEntry(LedgerRecord),
    /// A price list version (never changed once saved).
    PriceList(crate::commerce::catalog::PriceList),
    /// A stored VAT ID validation result (reverse charge rests on it).
    VatValidation(super::price_lists::VatValidationRecord),
    Quote(super::quotes::QuoteRecord),
    Order(super::orders::OrderRecord),
    /// An invoice still being prepared.
    InvoiceDraft(super::invoices::InvoiceRecord),
    InvoiceDraftDeleted {
        id: crate::domain::ids::InvoiceId,
    },
    /// A finalised, numbered invoice: its document never changes again.
    Invoice(super::invoices::InvoiceRecord),
    /// A finalised invoice paid or voided.
    InvoiceStatus(super::invoices::InvoiceStatusRecord),
    CreditNote(super::invoices::CreditNoteRecord),
    WalletEntry(super::wallet::WalletEntryRecord),
    SeatContract(super::seats::SeatContractRecord),
    SeatChange(super::seats::SeatChangeRecord),
    SeatAssignment(super::seats::SeatAssignmentRecord),
    RenewalSetting(super::renewals::RenewalSettingRecord),
    Renewal(super::renewals::RenewalRecord),
    /// Ledger entries `from_seq..=to_seq` and the licenses they issued (bulk issue).
    LedgerBatch(LedgerBatchRecord),
    LicenseAdmin(LicenseAdminRecord),
    Deactivation(DeactivationRecord),
    LicenseTransfer(LicenseTransferRecord),
    /// An array's whole state (its license kind, capacity and current serial).
    Array(super::arrays::ArrayRecord),
    ArrayDeleted {
        id: crate::domain::ids::ArrayId,
    },
    /// A referred friend and where they stand.
    Referral(super::referrals::ReferralRecord),
    /// The one reward a referral earned (its wallet credit syncs as a wallet entry).
    ReferralReward(super::referrals::ReferralRewardRecord),
}

impl Change {
    /// The entity's name on the wire.
    pub fn entity(&self) -> &'static str {
        match self {
            Change::Account(_) | Change::AccountDeleted { .. } => "account",
            Change::Billing { .. } => "billing_details",
            Change::PaymentMethod(_) | Change::PaymentMethodDeleted { .. } => "payment_method",
            Change::PublicKey(_) => "public_key",
            Change::License(_) | Change::LicenseIssued(_) => "license",
            Change::RevocationList(_) => "revocation_list",
            Change::RevocationListRef { .. } => REVOCATION_LIST_REF,
            Change::LedgerEntry(_) => "ledger_entry",
            Change::PriceList(_) => "price_list",
            Change::VatValidation(_) => "vat_validation",
            Change::Quote(_) => "quote",
            Change::Order(_) => "order",
            Change::InvoiceDraft(_) | Change::InvoiceDraftDeleted { .. } => "invoice_draft",
            Change::Invoice(_) => "invoice",
            Change::InvoiceStatus(_) => "invoice_status",
            Change::CreditNote(_) => "credit_note",
            Change::WalletEntry(_) => "wallet_entry",
            Change::SeatContract(_) => "seat_contract",
            Change::SeatChange(_) => "seat_change",
            Change::SeatAssignment(_) => "seat_assignment",
            Change::RenewalSetting(_) => "renewal_setting",
            Change::Renewal(_) => "renewal",
            Change::LedgerBatch(_) => "ledger_batch",
            Change::LicenseAdmin(_) => "license_admin",
            Change::Deactivation(_) => "deactivation",
            Change::LicenseTransfer(_) => "license_transfer",
            Change::Array(_) | Change::ArrayDeleted { .. } => "array",
            Change::Referral(_) => "referral",
            Change::ReferralReward(_) => "referral_reward",
        }
    }

    /// The entity's id as text. A per-desk counter is qualified by the desk that counted it
    /// (`<desk id>:<n>`), so two desks' numbers never collide.
    pub fn entity_id(&self, desk: DeskId) -> String {
        match self {
            Change::Account(a) => a.id.to_string(),
            Change::AccountDeleted { id } => id.to_string(),
            Change::Billing { account_id, .. } => account_id.to_string(),
            Change::PaymentMethod(m) => m.id.to_string(),
            Change::PaymentMethodDeleted { id } => id.to_string(),
            Change::PublicKey(k) => k.key_id.clone(),
            Change::License(l) | Change::LicenseIssued(l) => l.license_id.to_string(),
            Change::RevocationList(l) => format!("{desk}:{}", l.sequence),
            Change::RevocationListRef { sequence } => format!("{desk}:{sequence}"),
            Change::LedgerEntry(e) => format!("{desk}:{}", e.seq),
            Change::PriceList(l) => format!("{}/{}", l.id, l.version),
            Change::VatValidation(v) => format!("{desk}:{}", v.seq),
            Change::Quote(q) => q.id.to_string(),
            Change::Order(o) => o.id.to_string(),
            Change::InvoiceDraft(i) | Change::Invoice(i) => i.id.to_string(),
            Change::InvoiceDraftDeleted { id } => id.to_string(),
            Change::InvoiceStatus(i) => i.id.to_string(),
            Change::CreditNote(c) => c.id.to_string(),
            Change::WalletEntry(e) => e.entry.id.to_string(),
            Change::SeatContract(c) => c.id.to_string(),
            Change::SeatChange(c) => c.id.to_string(),
            Change::SeatAssignment(a) => a.id.to_string(),
            Change::RenewalSetting(r) => r.license_id.to_string(),
            Change::Renewal(r) => r.id.to_string(),
            Change::LedgerBatch(b) => format!("{desk}:{}-{}", b.from_seq, b.to_seq),
            Change::LicenseAdmin(a) => a.license_id.to_string(),
            Change::Deactivation(d) => d.id.clone(),
            Change::LicenseTransfer(t) => t.id.to_string(),
            Change::Array(a) => a.id.to_string(),
            Change::ArrayDeleted { id } => id.to_string(),
            Change::Referral(r) => r.id.to_string(),
            Change::ReferralReward(r) => r.referral_id.to_string(),
        }
    }

    /// What happened.
    pub fn op(&self) -> Op {
        match self {
            Change::Account(_)
            | Change::Billing { .. }
            | Change::PaymentMethod(_)
            | Change::PublicKey(_)
            | Change::License(_)
            | Change::Quote(_)
            | Change::Order(_)
            | Change::InvoiceDraft(_)
            | Change::InvoiceStatus(_)
            | Change::SeatContract(_)
            | Change::SeatAssignment(_)
            | Change::RenewalSetting(_)
            | Change::LicenseAdmin(_)
            | Change::LicenseTransfer(_)
            | Change::Array(_)
            | Change::Referral(_) => Op::Upsert,
            Change::AccountDeleted { .. }
            | Change::PaymentMethodDeleted { .. }
            | Change::InvoiceDraftDeleted { .. }
            | Change::ArrayDeleted { .. } => Op::Delete,
            Change::RevocationList(_)
            | Change::RevocationListRef { .. }
            | Change::LedgerEntry(_)
            | Change::PriceList(_)
            | Change::VatValidation(_)
            | Change::LicenseIssued(_)
            | Change::Invoice(_)
            | Change::CreditNote(_)
            | Change::WalletEntry(_)
            | Change::SeatChange(_)
            | Change::Renewal(_)
            | Change::LedgerBatch(_)
            | Change::Deactivation(_)
            | Change::ReferralReward(_) => Op::Insert,
        }
    }

    /// The body's version; a reader that knows an older version of an entity refuses newer ones.
    pub fn version(&self) -> u32 {
        1
    }

    /// The body: the entity's whole new state (or its id, for a delete) as JSON.
    pub fn body(&self) -> serde_json::Result<String> {
        match self {
            Change::Account(a) => serde_json::to_string(a),
            Change::AccountDeleted { id } => {
                serde_json::to_string(&serde_json::json!({ "id": id }))
            }
            Change::Billing {
                account_id,
                details,
            } => serde_json::to_string(&serde_json::json!({
                "account_id": account_id,
                "details": details,
            })),
            Change::PaymentMethod(m) => serde_json::to_string(m),
            Change::PaymentMethodDeleted { id } => {
                serde_json::to_string(&serde_json::json!({ "id": id }))
            }
            Change::PublicKey(k) => serde_json::to_string(k),
            Change::License(l) | Change::LicenseIssued(l) => serde_json::to_string(l),
            Change::RevocationList(l) => serde_json::to_string(l),
            Change::RevocationListRef { sequence } => {
                serde_json::to_string(&serde_json::json!({ "sequence": sequence }))
            }
            Change::LedgerEntry(e) => serde_json::to_string(e),
            Change::PriceList(l) => serde_json::to_string(l),
            Change::VatValidation(v) => serde_json::to_string(v),
            Change::Quote(q) => serde_json::to_string(q),
            Change::Order(o) => serde_json::to_string(o),
            Change::InvoiceDraft(i) | Change::Invoice(i) => serde_json::to_string(i),
            Change::InvoiceDraftDeleted { id } => {
                serde_json::to_string(&serde_json::json!({ "id": id }))
            }
            Change::InvoiceStatus(i) => serde_json::to_string(i),
            Change::CreditNote(c) => serde_json::to_string(c),
            Change::WalletEntry(e) => serde_json::to_string(e),
            Change::SeatContract(c) => serde_json::to_string(c),
            Change::SeatChange(c) => serde_json::to_string(c),
            Change::SeatAssignment(a) => serde_json::to_string(a),
            Change::RenewalSetting(r) => serde_json::to_string(r),
            Change::Renewal(r) => serde_json::to_string(r),
            Change::LedgerBatch(b) => serde_json::to_string(b),
            Change::LicenseAdmin(a) => serde_json::to_string(a),
            Change::Deactivation(d) => serde_json::to_string(d),
            Change::LicenseTransfer(t) => serde_json::to_string(t),
            Change::Array(a) => serde_json::to_string(a),
            Change::ArrayDeleted { id } => serde_json::to_string(&serde_json::json!({ "id": id })),
            Change::Referral(r) => serde_json::to_string(r),
            Change::ReferralReward(r) => serde_json::to_string(r),
        }
    }
}

thread_local! {
    static APPLYING_PULLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While held, the store's writers on this thread record no change: they are applying a
/// change another desk made (`sync::apply`), which the portal already has and which must not
/// come back as a change of this desk. Dropped (also on unwinding), recording resumes.
#[must_use = "recording resumes when the guard is dropped"]
pub struct ApplyingPulled(());

impl ApplyingPulled {
    pub fn start() -> ApplyingPulled {
        APPLYING_PULLED.with(|flag| flag.set(true));
        ApplyingPulled(())
    }
}

impl Drop for ApplyingPulled {
    fn drop(&mut self) {
        APPLYING_PULLED.with(|flag| flag.set(false));
    }
}

/// Appends one change to the outbox inside `tx`, stamped with the desk's next hybrid logical
/// clock reading (kept in the desk row, so it never goes back, even across restarts or a
/// wall clock set back); fails (and so fails the transaction) if its body cannot be written.
/// While [`ApplyingPulled`] is held nothing is recorded (the nil id is returned).
pub fn record(tx: &Transaction<'_>, change: &Change, now: i64) -> StoreResult<ChangeId> {
    if APPLYING_PULLED.with(std::cell::Cell::get) {
        return Ok(ChangeId(uuid::Uuid::nil()));
    }
    let desk = super::desk::ensure(tx)?;
    append(
        tx,
        desk,
        &Recorded {
            entity: change.entity(),
            entity_id: &change.entity_id(desk),
            op: change.op().as_str(),
            version: change.version(),
            body: &change.body()?,
        },
        now,
    )
}

/// A change as the outbox stores it (the entity's id written as it syncs).
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub op: &'a str,
    pub version: u32,
    pub body: &'a str,
}

/// Appends a change given as stored text (staff keeping one version of a conflict records
/// that version again, as a change of this desk), stamped like [`record`].
pub fn record_body(tx: &Transaction<'_>, change: &Recorded<'_>, now: i64) -> StoreResult<ChangeId> {
    let desk = super::desk::ensure(tx)?;
    append(tx, desk, change, now)
}

fn append(
    tx: &Transaction<'_>,
    desk: DeskId,
    change: &Recorded<'_>,
    now: i64,
) -> StoreResult<ChangeId> {
    let hlc = tick(tx, now)?.to_string();
    let id = ChangeId::new();
    // What the change was made on: the entity's version here until now (a fact has none).
    let base = if change.op == Op::Insert.as_str() {
        None
    } else {
        super::sync::version(tx, change.entity, change.entity_id)?
    };
    tx.prepare_cached(
        "INSERT INTO outbox (change_id, entity, entity_id, op, version, body, created_at, hlc,
                             base_hlc, base_desk_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id,
        change.entity,
        change.entity_id,
        change.op,
        change.version,
        change.body,
        now,
        hlc,
        base.as_ref().map(|(hlc, _)| hlc),
        base.as_ref().map(|(_, desk)| desk),
    ])?;
    if change.op != Op::Insert.as_str() {
        // The entity's local state is at this change now (a pulled older change will not
        // overwrite it).
        super::sync::set_version(tx, change.entity, change.entity_id, &hlc, desk)?;
    }
    Ok(id)
}

/// Notes on this desk's changes of `(entity, entity_id)` not pushed yet that they are made
/// on the version `(hlc, desk)` too: the desk has seen that version (a conflict with it is
/// kept here), so the desk that made it need not find the conflict again.
pub fn rebase(
    tx: &Transaction<'_>,
    entity: &str,
    entity_id: &str,
    hlc: &str,
    desk: DeskId,
) -> StoreResult<()> {
    tx.prepare_cached(
        "UPDATE outbox SET base_hlc = ?3, base_desk_id = ?4 WHERE entity = ?1 AND entity_id = ?2",
    )?
    .execute(params![entity, entity_id, hlc, desk])?;
    Ok(())
}

/// Moves the desk's clock past `seen` (an HLC on a pulled change), so its next change is
/// ordered after everything it has seen.
pub fn observe(tx: &Transaction<'_>, seen: Hlc) -> StoreResult<()> {
    if desk_clock(tx)?.is_none_or(|last| seen > last) {
        tx.prepare_cached("UPDATE desk SET hlc = ?1 WHERE singleton = 1")?
            .execute([seen.to_string()])?;
    }
    Ok(())
}

/// The desk's next clock reading for a change made at `now` (Unix seconds), stored as the
/// clock's last value.
fn tick(tx: &Transaction<'_>, now: i64) -> StoreResult<Hlc> {
    let mut clock = HlcClock::new(desk_clock(tx)?);
    let now_ms = u64::try_from(now).unwrap_or(0).saturating_mul(1000);
    let hlc = clock.tick(now_ms);
    tx.prepare_cached("UPDATE desk SET hlc = ?1 WHERE singleton = 1")?
        .execute([hlc.to_string()])?;
    Ok(hlc)
}

/// The desk clock's last value, as stored in the desk row.
fn desk_clock(tx: &Transaction<'_>) -> StoreResult<Option<Hlc>> {
    let last: Option<String> = tx
        .prepare_cached("SELECT hlc FROM desk WHERE singleton = 1")?
        .query_row([], |r| r.get(0))?;
    last.map(|text| {
        text.parse::<Hlc>()
            .map_err(|e| super::StoreError::Corrupt(format!("the desk's clock '{text}': {e}")))
    })
    .transpose()
}

/// One outbox row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub seq: i64,
    pub change_id: ChangeId,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub version: u32,
    pub body: String,
    pub created_at: i64,
    /// The desk's clock when the change was recorded (`portal::hlc` text form).
    pub hlc: String,
    /// The entity's version the change was made on (its HLC text and desk), if any.
    pub base: Option<(String, DeskId)>,
}

/// The columns [`outbox_row`] reads, in its order.
const ROW_COLUMNS: &str =
    "seq, change_id, entity, entity_id, op, version, body, created_at, hlc, base_hlc, base_desk_id";

/// An outbox row from [`ROW_COLUMNS`] (in the outbox and among the parked changes).
fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        seq: r.get(0)?,
        change_id: r.get(1)?,
        entity: r.get(2)?,
        entity_id: r.get(3)?,
        op: r.get(4)?,
        version: r.get(5)?,
        body: r.get(6)?,
        created_at: r.get(7)?,
        hlc: r.get(8)?,
        base: match (r.get(9)?, r.get(10)?) {
            (Some(hlc), Some(desk)) => Some((hlc, desk)),
            _ => None,
        },
    })
}

/// The oldest `limit` changes waiting to be pushed, after `after_seq`.
pub fn pending(conn: &Connection, after_seq: i64, limit: usize) -> StoreResult<Vec<OutboxRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after_seq, super::limit(limit)], outbox_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many changes wait to be pushed.
pub fn pending_count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
}

/// How many rows a table of the outbox's holds, counting no further than `cap`.
fn capped_count(conn: &Connection, table: &str, cap: u64) -> StoreResult<u64> {
    Ok(conn.query_row(
        &format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT ?1)"),
        [i64::try_from(cap).unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?)
}

/// How many changes wait to be pushed, counting no further than `cap`.
pub fn pending_count_capped(conn: &Connection, cap: u64) -> StoreResult<u64> {
    capped_count(conn, "outbox", cap)
}

/// How many changes are parked, counting no further than `cap`.
pub fn parked_count(conn: &Connection, cap: u64) -> StoreResult<u64> {
    capped_count(conn, "sync_parked", cap)
}

impl OutboxRow {
    /// The entity the row goes out as (a list held by its number goes out as the list).
    pub fn sent_as(&self) -> &str {
        match self.entity.as_str() {
            REVOCATION_LIST_REF => "revocation_list",
            entity => entity,
        }
    }
}

/// The outbox entity of a revocation list held by its number ([`Change::RevocationListRef`]).
const REVOCATION_LIST_REF: &str = "revocation_list_ref";

/// The changes an outbox row stands for when it does not hold them itself: for a
/// `ledger_batch` row every ledger entry of its range followed by each license those entries
/// issued (in its current state); for a revocation list held by its number, the list. Empty
/// for every other row (it is its own change).
pub fn expand(conn: &Connection, row: &OutboxRow) -> StoreResult<Vec<Change>> {
    if row.entity == REVOCATION_LIST_REF {
        #[derive(Deserialize)]
        struct Ref {
            sequence: u64,
        }
        let held: Ref = serde_json::from_str(&row.body)?;
        let list = super::revocations::list(conn, held.sequence)?.ok_or_else(|| {
            super::StoreError::Corrupt(format!(
                "outbox row {}: revocation list {} is not here",
                row.seq, held.sequence
            ))
        })?;
        return Ok(vec![Change::RevocationList(list.record())]);
    }
    if row.entity != "ledger_batch" {
        return Ok(Vec::new());
    }
    let batch: LedgerBatchRecord = serde_json::from_str(&row.body)?;
    let entries = super::ledger::records(conn, batch.from_seq, batch.to_seq)?;
    let mut changes = Vec::with_capacity(entries.len() * 2);
    for entry in &entries {
        if entry.action == "issue"
            && let Some(license) = super::licenses::get(conn, entry.license_id)?
        {
            changes.push(Change::LicenseIssued(LicenseRecord {
                license_id: license.license_id,
                account_id: license.account_id,
                serial: license.serial()?,
                status: license.status.as_str().to_string(),
            }));
        }
    }
    let mut all: Vec<Change> = entries.into_iter().map(Change::LedgerEntry).collect();
    all.extend(changes);
    Ok(all)
}

/// The envelopes (`docs/sync-protocol.md`, "The change envelope") an outbox row is pushed as:
/// one for most rows, its body sent byte for byte as stored; for a row that stands for others
/// ([`expand`]), one per change it stands for: a `ledger_batch` row's each with a change id
/// derived from the row's and its place, a revocation list's under the row's own. A retried
/// push sends exactly the same envelopes.
pub fn envelopes(conn: &Connection, desk: DeskId, row: &OutboxRow) -> StoreResult<Vec<Envelope>> {
    let corrupt =
        |what: &str| super::StoreError::Corrupt(format!("outbox row {}: {what}", row.seq));
    let hlc: Hlc = row.hlc.parse().map_err(|_| corrupt("its clock reading"))?;
    let envelope = |change_id: uuid::Uuid,
                    entity: &str,
                    entity_id: String,
                    op: &str,
                    version: u32,
                    body: String|
     -> StoreResult<Envelope> {
        Ok(Envelope {
            change_id,
            desk_id: desk.0,
            hlc,
            entity: entity.to_string(),
            entity_id,
            op: WireOp::parse(op).ok_or_else(|| corrupt("its operation"))?,
            version,
            body: RawValue::from_string(body).map_err(|_| corrupt("its body"))?,
            base: None,
        })
    };
    let stands_for = expand(conn, row)?;
    if stands_for.is_empty() {
        let base = match &row.base {
            Some((hlc, desk)) => Some(Base {
                hlc: hlc
                    .parse()
                    .map_err(|_| corrupt("its base's clock reading"))?,
                desk_id: desk.0,
            }),
            None => None,
        };
        return Ok(vec![Envelope {
            base,
            ..envelope(
                row.change_id.0,
                &row.entity,
                row.entity_id.clone(),
                &row.op,
                row.version,
                row.body.clone(),
            )?
        }]);
    }
    // A row standing for one change is sent under its own change id (a list recorded whole
    // before schema 22 goes out the same either way).
    let single = row.entity != "ledger_batch";
    stands_for
        .iter()
        .enumerate()
        .map(|(index, change)| {
            envelope(
                if single {
                    row.change_id.0
                } else {
                    derived_change_id(row.change_id, index)
                },
                change.entity(),
                change.entity_id(desk),
                change.op().as_str(),
                change.version(),
                change.body()?,
            )
        })
        .collect()
}

/// The change id of the `index`th change a `ledger_batch` row stands for: a UUID (version 8)
/// from the SHA-256 of the row's change id and the index.
fn derived_change_id(batch: ChangeId, index: usize) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(batch.0.as_bytes());
    hash.update((index as u64).to_be_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Removes rows the portal acknowledged (accepted, or already held), keeping the body of
/// each that is still its entity's state here in `sync_sent` (a change another desk makes
/// without having seen it is then a conflict with both versions to show).
pub fn acknowledge(tx: &Transaction<'_>, seqs: &[i64]) -> StoreResult<()> {
    let ids: Vec<rusqlite::types::Value> = seqs
        .iter()
        .map(|&seq| rusqlite::types::Value::Integer(seq))
        .collect();
    let ids = std::rc::Rc::new(ids);
    tx.prepare_cached(
        "INSERT INTO sync_sent (entity, entity_id, hlc, op, version, body)
         SELECT o.entity, o.entity_id, o.hlc, o.op, o.version, o.body
         FROM outbox o
         JOIN sync_versions v
           ON v.entity = o.entity AND v.entity_id = o.entity_id AND v.hlc = o.hlc
              AND v.desk_id = (SELECT desk_id FROM desk WHERE singleton = 1)
         WHERE o.seq IN rarray(?1) AND o.op <> 'insert'
         ON CONFLICT (entity, entity_id) DO UPDATE SET
             hlc = excluded.hlc, op = excluded.op, version = excluded.version,
             body = excluded.body",
    )?
    .execute([ids.clone()])?;
    tx.prepare_cached("DELETE FROM outbox WHERE seq IN rarray(?1)")?
        .execute([ids])?;
    Ok(())
}

/// Moves a row the portal refused to the parked changes, with the portal's code and reason.
pub fn park(tx: &Transaction<'_>, seq: i64, code: &str, reason: &str, now: i64) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO sync_parked (seq, change_id, entity, entity_id, op, version, body,
                                  created_at, hlc, base_hlc, base_desk_id, code, reason, parked_at)
         SELECT seq, change_id, entity, entity_id, op, version, body, created_at, hlc,
                base_hlc, base_desk_id, ?2, ?3, ?4
         FROM outbox WHERE seq = ?1",
    )?
    .execute(params![seq, code, reason, now])?;
    tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

/// Puts a parked change back at the end of the outbox (the same change id and clock reading),
/// for the next push to offer the portal again; false when no such change is parked.
pub fn unpark(tx: &Transaction<'_>, change_id: ChangeId) -> StoreResult<bool> {
    let moved = tx
        .prepare_cached(
            "INSERT INTO outbox (change_id, entity, entity_id, op, version, body, created_at, hlc,
                                 base_hlc, base_desk_id)
             SELECT change_id, entity, entity_id, op, version, body, created_at, hlc,
                    base_hlc, base_desk_id
             FROM sync_parked WHERE change_id = ?1",
        )?
        .execute([change_id])?;
    tx.prepare_cached("DELETE FROM sync_parked WHERE change_id = ?1")?
        .execute([change_id])?;
    Ok(moved > 0)
}

/// A change the portal refused, as parked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedRow {
    pub row: OutboxRow,
    pub code: String,
    pub reason: String,
    pub parked_at: i64,
}

/// The oldest `limit` parked changes.
pub fn parked(conn: &Connection, limit: usize) -> StoreResult<Vec<ParkedRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS}, code, reason, parked_at FROM sync_parked ORDER BY seq LIMIT ?1"
    ))?;
    let rows = stmt.query_map([super::limit(limit)], |r| {
        Ok(ParkedRow {
            row: outbox_row(r)?,
            code: r.get(11)?,
            reason: r.get(12)?,
            parked_at: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
