//! The prepaid wallet: an append-only ledger of money and entitlements.
//!
//! Nothing in a wallet is a number edited in place. Every change is an entry — a top-up, a
//! payment, a credit (from a seat decrease or a credit note), a refund that reverses one
//! earlier top-up or payment exactly, or an entitlement movement (Pro licenses, TB, support,
//! seats bought, assigned to an array, released) — and balances are sums of entries. Before an
//! entry is booked, [`Wallet::check`] refuses one that would make any balance negative: money
//! below zero, more units assigned than are available, more released than are assigned.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::catalog::Product;
use crate::domain::money::{Currency, Money, MoneyError};

/// Why money was credited to the wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CreditReason {
    /// Named seats removed mid-term (prorated).
    SeatDecrease,
    /// A credit note paid out into the wallet.
    CreditNote { number: String },
    /// A goodwill credit, with a note saying why.
    Goodwill { note: String },
    /// The reward for a referred friend who became a customer (one per referral; the entry's
    /// id is derived from the referral's, see docs/billing.md §15).
    Referral { referral: Uuid, friend: String },
}

/// What kind of entry a refund reverses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reversed {
    /// Money goes back to where the top-up came from: the balance goes down.
    TopUp,
    /// A payment made from the wallet is returned to it: the balance goes up.
    Payment,
}

/// An entitlement movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Units added to the wallet (an order was fulfilled).
    Bought,
    /// Units taken from the available pool for an array or person.
    Assigned,
    /// Assigned units handed back to the pool.
    Released,
}

/// One change to a wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WalletChange {
    TopUp {
        amount: Money,
        reference: String,
    },
    Payment {
        amount: Money,
        /// The order or invoice paid ("INV-2026-0001").
        reference: String,
    },
    Credit {
        amount: Money,
        #[serde(flatten)]
        reason: CreditReason,
    },
    /// Reverses the entry `of` exactly; `amount` is that entry's amount.
    Refund {
        of: Uuid,
        reverses: Reversed,
        amount: Money,
    },
    Entitlement {
        product: Product,
        movement: Movement,
        quantity: u32,
        /// The order, array or seat holder concerned.
        reference: String,
    },
}

impl WalletChange {
    /// The signed change to the money balance (None for entitlement entries).
    pub fn money_delta(&self) -> Option<Result<Money, MoneyError>> {
        match self {
            WalletChange::TopUp { amount, .. } | WalletChange::Credit { amount, .. } => {
                Some(Ok(*amount))
            }
            WalletChange::Payment { amount, .. } => Some(amount.checked_neg()),
            WalletChange::Refund {
                reverses, amount, ..
            } => Some(match reverses {
                Reversed::TopUp => amount.checked_neg(),
                Reversed::Payment => Ok(*amount),
            }),
            WalletChange::Entitlement { .. } => None,
        }
    }
}

/// One booked entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletEntry {
    /// UUIDv7, made by the caller.
    pub id: Uuid,
    /// When it was booked, unix seconds (passed in).
    pub at: i64,
    pub change: WalletChange,
}

/// Counts of one product's entitlement entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitlementCount {
    pub bought: u64,
    pub assigned: u64,
    pub released: u64,
}

impl EntitlementCount {
    /// Units in use: assigned and not released.
    pub fn in_use(&self) -> u64 {
        self.assigned.saturating_sub(self.released)
    }

    /// Units free to assign: bought and not in use.
    pub fn available(&self) -> u64 {
        self.bought.saturating_sub(self.in_use())
    }
}

/// Balances: sums of the entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletBalances {
    pub money: Money,
    pub entitlements: BTreeMap<Product, EntitlementCount>,
}

impl WalletBalances {
    /// The counts for `product` (zero when it never appeared).
    pub fn entitlement(&self, product: Product) -> EntitlementCount {
        self.entitlements.get(&product).copied().unwrap_or_default()
    }
}

/// Why an entry cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("the amount must be more than zero")]
    NotPositive,
    #[error("the quantity must be at least 1")]
    ZeroQuantity,
    #[error("the wallet holds {wallet}, not {found}")]
    WrongCurrency { wallet: Currency, found: Currency },
    #[error("the wallet holds {balance}; {needed} is needed")]
    InsufficientFunds { balance: Money, needed: Money },
    #[error("only {available} {product} available to assign; {requested} requested", product = product.label())]
    NotEnoughAvailable {
        product: Product,
        available: u64,
        requested: u32,
    },
    #[error("only {in_use} {product} assigned; cannot release {requested}", product = product.label())]
    ReleaseMoreThanAssigned {
        product: Product,
        in_use: u64,
        requested: u32,
    },
    #[error("there is no wallet entry {of} to refund")]
    RefundOfUnknownEntry { of: Uuid },
    #[error("entry {of} is not a {expected:?} and cannot be refunded as one")]
    RefundKindMismatch { of: Uuid, expected: Reversed },
    #[error("a refund must reverse the whole entry: {original}, not {requested}")]
    RefundAmountMismatch { original: Money, requested: Money },
    #[error("entry {of} has already been refunded")]
    AlreadyRefunded { of: Uuid },
    #[error("entry {id} is already booked")]
    DuplicateEntry { id: Uuid },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A wallet's ledger, in booking order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    currency: Currency,
    entries: Vec<WalletEntry>,
}

impl Wallet {
    /// An empty wallet in `currency`.
    pub fn new(currency: Currency) -> Wallet {
        Wallet {
            currency,
            entries: Vec::new(),
        }
    }

    /// A wallet from stored entries, checking each in order as if booked again.
    pub fn from_entries(
        currency: Currency,
        entries: Vec<WalletEntry>,
    ) -> Result<Wallet, WalletError> {
        let mut wallet = Wallet::new(currency);
        for entry in entries {
            wallet.append(entry)?;
        }
        Ok(wallet)
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn entries(&self) -> &[WalletEntry] {
        &self.entries
    }

    /// Sums every entry.
    pub fn balances(&self) -> Result<WalletBalances, MoneyError> {
        let mut money = Money::zero(self.currency);
        let mut entitlements: BTreeMap<Product, EntitlementCount> = BTreeMap::new();
        for entry in &self.entries {
            if let Some(delta) = entry.change.money_delta() {
                money = money.checked_add(delta?)?;
            }
            if let WalletChange::Entitlement {
                product,
                movement,
                quantity,
                ..
            } = entry.change
            {
                let count = entitlements.entry(product).or_default();
                let quantity = u64::from(quantity);
                match movement {
                    Movement::Bought => count.bought += quantity,
                    Movement::Assigned => count.assigned += quantity,
                    Movement::Released => count.released += quantity,
                }
            }
        }
        Ok(WalletBalances {
            money,
            entitlements,
        })
    }

    /// Refuses a change that is malformed or would make any balance negative.
    pub fn check(&self, change: &WalletChange) -> Result<(), WalletError> {
        let balances = self.balances()?;
        let positive = |amount: &Money| -> Result<(), WalletError> {
            if amount.currency() != self.currency {
                return Err(WalletError::WrongCurrency {
                    wallet: self.currency,
                    found: amount.currency(),
                });
            }
            if !amount.is_positive() {
                return Err(WalletError::NotPositive);
            }
            Ok(())
        };
        match change {
            WalletChange::TopUp { amount, .. } | WalletChange::Credit { amount, .. } => {
                positive(amount)?;
            }
            WalletChange::Payment { amount, .. } => positive(amount)?,
            WalletChange::Refund {
                of,
                reverses,
                amount,
            } => {
                positive(amount)?;
                self.check_refund(*of, *reverses, *amount)?;
            }
            WalletChange::Entitlement {
                product,
                movement,
                quantity,
                ..
            } => {
                if *quantity == 0 {
                    return Err(WalletError::ZeroQuantity);
                }
                let count = balances.entitlement(*product);
                match movement {
                    Movement::Bought => {}
                    Movement::Assigned if count.available() < u64::from(*quantity) => {
                        return Err(WalletError::NotEnoughAvailable {
                            product: *product,
                            available: count.available(),
                            requested: *quantity,
                        });
                    }
                    Movement::Released if count.in_use() < u64::from(*quantity) => {
                        return Err(WalletError::ReleaseMoreThanAssigned {
                            product: *product,
                            in_use: count.in_use(),
                            requested: *quantity,
                        });
                    }
                    Movement::Assigned | Movement::Released => {}
                }
            }
        }
        if let Some(delta) = change.money_delta() {
            let delta = delta?;
            let after = balances.money.checked_add(delta)?;
            if after.is_negative() {
                return Err(WalletError::InsufficientFunds {
                    balance: balances.money,
                    needed: delta.checked_neg()?,
                });
            }
        }
        Ok(())
    }

    fn check_refund(&self, of: Uuid, reverses: Reversed, amount: Money) -> Result<(), WalletError> {
        let original = self
            .entries
            .iter()
            .find(|e| e.id == of)
            .ok_or(WalletError::RefundOfUnknownEntry { of })?;
        let original_amount = match (&original.change, reverses) {
            (WalletChange::TopUp { amount, .. }, Reversed::TopUp)
            | (WalletChange::Payment { amount, .. }, Reversed::Payment) => *amount,
            _ => {
                return Err(WalletError::RefundKindMismatch {
                    of,
                    expected: reverses,
                });
            }
        };
        if original_amount != amount {
            return Err(WalletError::RefundAmountMismatch {
                original: original_amount,
                requested: amount,
            });
        }
        let refunded = self
            .entries
            .iter()
            .any(|e| matches!(e.change, WalletChange::Refund { of: o, .. } if o == of));
        if refunded {
            return Err(WalletError::AlreadyRefunded { of });
        }
        Ok(())
    }

    /// Checks and books an entry.
    pub fn append(&mut self, entry: WalletEntry) -> Result<(), WalletError> {
        if self.entries.iter().any(|e| e.id == entry.id) {
            return Err(WalletError::DuplicateEntry { id: entry.id });
        }
        self.check(&entry.change)?;
        self.entries.push(entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::commerce::catalog::fixtures::eur;

    fn entry(n: u128, change: WalletChange) -> WalletEntry {
        WalletEntry {
            id: Uuid::from_u128(n),
            at: 1_767_225_600 + i64::try_from(n).unwrap(),
            change,
        }
    }

    fn top_up(minor: i64) -> WalletChange {
        WalletChange::TopUp {
            amount: eur(minor),
            reference: "card".into(),
        }
    }

    fn pay(minor: i64) -> WalletChange {
        WalletChange::Payment {
            amount: eur(minor),
            reference: "INV-2026-0001".into(),
        }
    }

    fn units(product: Product, movement: Movement, quantity: u32) -> WalletChange {
        WalletChange::Entitlement {
            product,
            movement,
            quantity,
            reference: "ORD-2026-0001".into(),
        }
    }

    #[test]
    fn balances_are_sums_of_entries() {
        let wallet = Wallet::from_entries(
            Currency::EUR,
            vec![
                entry(1, top_up(50000)),
                entry(2, pay(15227)),
                entry(
                    3,
                    WalletChange::Credit {
                        amount: eur(16274),
                        reason: CreditReason::SeatDecrease,
                    },
                ),
                entry(
                    4,
                    WalletChange::Refund {
                        of: Uuid::from_u128(2),
                        reverses: Reversed::Payment,
                        amount: eur(15227),
                    },
                ),
                entry(5, units(Product::ProLicense, Movement::Bought, 10)),
                entry(6, units(Product::ProLicense, Movement::Assigned, 4)),
                entry(7, units(Product::ProLicense, Movement::Released, 1)),
                entry(8, units(Product::CapacityTb, Movement::Bought, 100)),
            ],
        )
        .unwrap();
        let balances = wallet.balances().unwrap();
        assert_eq!(balances.money, eur(66274));
        let pro = balances.entitlement(Product::ProLicense);
        assert_eq!((pro.in_use(), pro.available()), (3, 7));
        assert_eq!(balances.entitlement(Product::CapacityTb).available(), 100);
        assert_eq!(
            balances.entitlement(Product::Support),
            EntitlementCount::default()
        );
    }

    #[test]
    fn nothing_may_go_negative() {
        let mut wallet = Wallet::new(Currency::EUR);
        wallet.append(entry(1, top_up(10000))).unwrap();
        wallet
            .append(entry(2, units(Product::Support, Movement::Bought, 5)))
            .unwrap();
        let refusals: Vec<(WalletChange, &str)> = vec![
            (pay(10001), "the wallet holds €100.00; €100.01 is needed"),
            (pay(0), "the amount must be more than zero"),
            (top_up(-5), "the amount must be more than zero"),
            (
                WalletChange::TopUp {
                    amount: Money::from_minor(5, Currency::USD),
                    reference: String::new(),
                },
                "the wallet holds EUR, not USD",
            ),
            (
                units(Product::Support, Movement::Assigned, 6),
                "only 5 Support available to assign; 6 requested",
            ),
            (
                units(Product::Support, Movement::Released, 1),
                "only 0 Support assigned; cannot release 1",
            ),
            (
                units(Product::Support, Movement::Bought, 0),
                "the quantity must be at least 1",
            ),
        ];
        for (change, message) in refusals {
            assert_eq!(
                wallet.check(&change).unwrap_err().to_string(),
                message,
                "{change:?}"
            );
        }
        // Exactly to zero is fine.
        wallet.append(entry(3, pay(10000))).unwrap();
        assert_eq!(wallet.balances().unwrap().money, eur(0));
        assert_eq!(
            wallet.append(entry(3, top_up(1))),
            Err(WalletError::DuplicateEntry {
                id: Uuid::from_u128(3)
            })
        );
    }

    #[test]
    fn refunds_reverse_one_entry_exactly_once() {
        let mut wallet = Wallet::new(Currency::EUR);
        wallet.append(entry(1, top_up(10000))).unwrap();
        wallet.append(entry(2, pay(4000))).unwrap();
        let refund = |of, reverses, minor| WalletChange::Refund {
            of: Uuid::from_u128(of),
            reverses,
            amount: eur(minor),
        };
        // The top-up cannot go back to the card while €40 of it is spent.
        assert_eq!(
            wallet.check(&refund(1, Reversed::TopUp, 10000)),
            Err(WalletError::InsufficientFunds {
                balance: eur(6000),
                needed: eur(10000)
            })
        );
        assert!(matches!(
            wallet.check(&refund(1, Reversed::Payment, 10000)),
            Err(WalletError::RefundKindMismatch { .. })
        ));
        assert!(matches!(
            wallet.check(&refund(2, Reversed::Payment, 3999)),
            Err(WalletError::RefundAmountMismatch { .. })
        ));
        assert!(matches!(
            wallet.check(&refund(9, Reversed::Payment, 3999)),
            Err(WalletError::RefundOfUnknownEntry { .. })
        ));
        wallet
            .append(entry(3, refund(2, Reversed::Payment, 4000)))
            .unwrap();
        assert_eq!(wallet.balances().unwrap().money, eur(10000));
        assert_eq!(
            wallet.check(&refund(2, Reversed::Payment, 4000)),
            Err(WalletError::AlreadyRefunded {
                of: Uuid::from_u128(2)
            })
        );
        wallet
            .append(entry(4, refund(1, Reversed::TopUp, 10000)))
            .unwrap();
        assert_eq!(wallet.balances().unwrap().money, eur(0));
    }

    #[test]
    fn entries_round_trip_through_json() {
        let e = entry(
            1,
            WalletChange::Credit {
                amount: eur(16274),
                reason: CreditReason::CreditNote {
                    number: "CN-2026-0001".into(),
                },
            },
        );
        let json = serde_json::to_string(&e).unwrap();
        assert!(
            json.contains(r#""kind":"credit""#) && json.contains(r#""reason":"credit_note""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<WalletEntry>(&json).unwrap(), e);
    }
}
