//! Named-seat contracts, the changes booked on them (insert-only, each with the idempotency
//! key of the confirmation that booked it) and the seats given to named users.

use super::commerce::{date_text, from_json, money, parse_date, to_json};
use super::outbox::{self, Change};
use super::{StoreError, StoreResult};
use crate::commerce::seats::SeatAdjustment;
use crate::commerce::terms::Term;
use crate::domain::ids::{
    AccountId, IdempotencyKey, InvoiceId, PriceListId, SeatAssignmentId, SeatChangeId,
    SeatContractId, WalletEntryId,
};
use crate::domain::money::Money;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

/// A seat contract as stored and as it syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatContractRecord {
    pub id: SeatContractId,
    pub account_id: AccountId,
    pub name: String,
    pub term: Term,
    /// The first day of the first term; later terms are counted from it.
    pub anchor: NaiveDate,
    /// The agreed price of one seat for one term.
    pub unit_price: Money,
    pub seats: u32,
    pub price_list_id: PriceListId,
    pub created_at: i64,
}

/// One booked change of the seat count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatChangeRecord {
    pub id: SeatChangeId,
    pub contract_id: SeatContractId,
    pub from_seats: u32,
    pub to_seats: u32,
    pub effective: NaiveDate,
    pub adjustment: SeatAdjustment,
    pub invoice_id: Option<InvoiceId>,
    pub wallet_entry_id: Option<WalletEntryId>,
    pub idempotency_key: IdempotencyKey,
    pub at: i64,
}

/// A seat held by a named user (free again once released).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatAssignmentRecord {
    pub id: SeatAssignmentId,
    pub contract_id: SeatContractId,
    pub user_name: String,
    pub email: String,
    pub assigned_at: i64,
    pub released_at: Option<i64>,
}

fn term_word(term: Term) -> &'static str {
    match term {
        Term::Monthly => "monthly",
        Term::Quarterly => "quarterly",
        Term::Annual => "annual",
        Term::Triennial => "triennial",
    }
}

fn parse_term(word: &str) -> StoreResult<Term> {
    Term::ALL
        .into_iter()
        .find(|t| term_word(*t) == word)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown term '{word}'")))
}

const CONTRACT_COLUMNS: &str = "id, account_id, name, term, anchor, currency, unit_price_minor, seats, price_list_id, created_at";

type ContractParts = (
    SeatContractId,
    AccountId,
    String,
    String,
    String,
    String,
    i64,
    u32,
    PriceListId,
    i64,
);

fn contract_row(r: &Row<'_>) -> rusqlite::Result<ContractParts> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn contract(p: ContractParts) -> StoreResult<SeatContractRecord> {
    Ok(SeatContractRecord {
        id: p.0,
        account_id: p.1,
        name: p.2,
        term: parse_term(&p.3)?,
        anchor: parse_date(&p.4)?,
        unit_price: money(p.6, &p.5)?,
        seats: p.7,
        price_list_id: p.8,
        created_at: p.9,
    })
}

/// Saves a new contract.
pub fn insert_contract(tx: &Transaction<'_>, c: &SeatContractRecord, now: i64) -> StoreResult<()> {
    tx.execute(
        &format!(
            "INSERT INTO seat_contracts ({CONTRACT_COLUMNS}, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"
        ),
        params![
            c.id,
            c.account_id,
            c.name,
            term_word(c.term),
            date_text(c.anchor),
            c.unit_price.currency().code(),
            c.unit_price.minor(),
            c.seats,
            c.price_list_id,
            c.created_at
        ],
    )?;
    outbox::record(tx, &Change::SeatContract(c.clone()), now)?;
    Ok(())
}

/// Sets a contract's seat count.
pub fn set_seats(
    tx: &Transaction<'_>,
    id: SeatContractId,
    seats: u32,
    now: i64,
) -> StoreResult<SeatContractRecord> {
    tx.execute(
        "UPDATE seat_contracts SET seats = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, seats, now],
    )?;
    let c = get_contract(tx, id)?.ok_or_else(|| StoreError::NotFound {
        what: "seat contract",
        id: id.to_string(),
    })?;
    outbox::record(tx, &Change::SeatContract(c.clone()), now)?;
    Ok(c)
}

/// One contract.
pub fn get_contract(
    conn: &Connection,
    id: SeatContractId,
) -> StoreResult<Option<SeatContractRecord>> {
    conn.query_row(
        &format!("SELECT {CONTRACT_COLUMNS} FROM seat_contracts WHERE id = ?1"),
        [id],
        contract_row,
    )
    .optional()?
    .map(contract)
    .transpose()
}

/// An account's contracts, oldest first (an account has a handful).
pub fn contracts(conn: &Connection, account_id: AccountId) -> StoreResult<Vec<SeatContractRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONTRACT_COLUMNS} FROM seat_contracts WHERE account_id = ?1
         ORDER BY created_at, id LIMIT 200"
    ))?;
    let rows = stmt.query_map([account_id], contract_row)?;
    rows.map(|r| contract(r?)).collect()
}

/// Books a change.
pub fn insert_change(tx: &Transaction<'_>, c: &SeatChangeRecord, now: i64) -> StoreResult<()> {
    let amount = match &c.adjustment {
        SeatAdjustment::Charge { amount, .. } => amount.minor(),
        SeatAdjustment::WalletCredit { amount, .. } => -amount.minor(),
    };
    tx.execute(
        "INSERT INTO seat_changes (id, contract_id, from_seats, to_seats, effective, amount_minor,
             invoice_id, wallet_entry_id, idempotency_key, body, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            c.id,
            c.contract_id,
            c.from_seats,
            c.to_seats,
            date_text(c.effective),
            amount,
            c.invoice_id,
            c.wallet_entry_id,
            c.idempotency_key,
            to_json(c)?,
            c.at
        ],
    )?;
    outbox::record(tx, &Change::SeatChange(c.clone()), now)?;
    Ok(())
}

/// One booked change.
pub fn change(conn: &Connection, id: SeatChangeId) -> StoreResult<Option<SeatChangeRecord>> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM seat_changes WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    body.map(|b| from_json("seat change", &b)).transpose()
}

/// The change a confirmation with `key` booked, if any.
pub fn change_by_key(
    conn: &Connection,
    key: IdempotencyKey,
) -> StoreResult<Option<SeatChangeRecord>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM seat_changes WHERE idempotency_key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?;
    body.map(|b| from_json("seat change", &b)).transpose()
}

/// A contract's changes, newest first.
pub fn changes(
    conn: &Connection,
    contract_id: SeatContractId,
) -> StoreResult<Vec<SeatChangeRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM seat_changes WHERE contract_id = ?1 ORDER BY seq DESC LIMIT 200",
    )?;
    let rows = stmt.query_map([contract_id], |r| r.get::<_, String>(0))?;
    rows.map(|b| from_json("seat change", &b?)).collect()
}

const ASSIGNMENT_COLUMNS: &str = "id, contract_id, user_name, email, assigned_at, released_at";

fn assignment_row(r: &Row<'_>) -> rusqlite::Result<SeatAssignmentRecord> {
    Ok(SeatAssignmentRecord {
        id: r.get(0)?,
        contract_id: r.get(1)?,
        user_name: r.get(2)?,
        email: r.get(3)?,
        assigned_at: r.get(4)?,
        released_at: r.get(5)?,
    })
}

/// Gives a seat to a user.
pub fn assign(tx: &Transaction<'_>, a: &SeatAssignmentRecord, now: i64) -> StoreResult<()> {
    tx.execute(
        &format!(
            "INSERT INTO seat_assignments ({ASSIGNMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ),
        params![
            a.id,
            a.contract_id,
            a.user_name,
            a.email,
            a.assigned_at,
            a.released_at
        ],
    )
    .map_err(|e| {
        if super::is_unique_violation(&e) {
            StoreError::Duplicate {
                what: "seat user",
                value: a.email.clone(),
            }
        } else {
            e.into()
        }
    })?;
    outbox::record(tx, &Change::SeatAssignment(a.clone()), now)?;
    Ok(())
}

/// One seat held (or held once).
pub fn assignment(
    conn: &Connection,
    id: SeatAssignmentId,
) -> StoreResult<Option<SeatAssignmentRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {ASSIGNMENT_COLUMNS} FROM seat_assignments WHERE id = ?1"),
            [id],
            assignment_row,
        )
        .optional()?)
}

/// Frees a user's seat.
pub fn release(
    tx: &Transaction<'_>,
    id: SeatAssignmentId,
    now: i64,
) -> StoreResult<SeatAssignmentRecord> {
    let changed = tx.execute(
        "UPDATE seat_assignments SET released_at = ?2 WHERE id = ?1 AND released_at IS NULL",
        params![id, now],
    )?;
    let record = tx
        .query_row(
            &format!("SELECT {ASSIGNMENT_COLUMNS} FROM seat_assignments WHERE id = ?1"),
            [id],
            assignment_row,
        )
        .optional()?
        .filter(|_| changed == 1)
        .ok_or_else(|| StoreError::NotFound {
            what: "seat user",
            id: id.to_string(),
        })?;
    outbox::record(tx, &Change::SeatAssignment(record.clone()), now)?;
    Ok(record)
}

/// Frees a seat at `at`, as another desk did (sync), when it is still held here. No outbox
/// row: the change came from the portal.
pub fn released_elsewhere(tx: &Transaction<'_>, id: SeatAssignmentId, at: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE seat_assignments SET released_at = ?2 WHERE id = ?1 AND released_at IS NULL",
        params![id, at],
    )?;
    Ok(())
}

/// The users holding seats of a contract now, by name.
pub fn assigned(
    conn: &Connection,
    contract_id: SeatContractId,
) -> StoreResult<Vec<SeatAssignmentRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM seat_assignments
         WHERE contract_id = ?1 AND released_at IS NULL ORDER BY user_name COLLATE NOCASE, id
         LIMIT 10000"
    ))?;
    let rows = stmt.query_map([contract_id], assignment_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many seats of a contract are held.
pub fn assigned_count(conn: &Connection, contract_id: SeatContractId) -> StoreResult<u32> {
    Ok(conn.query_row(
        "SELECT count(*) FROM seat_assignments WHERE contract_id = ?1 AND released_at IS NULL",
        [contract_id],
        |r| r.get(0),
    )?)
}
