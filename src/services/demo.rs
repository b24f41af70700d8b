//! Demo data: accounts and licenses that look like a vendor's real book, made through the
//! same services as real work (ledger entries, outbox changes, revocation lists), fast enough
//! for a million licenses (the bulk issue path, on every core).
//!
//! What it makes, from a seed (the same seed gives the same customers and mix):
//! company accounts; licenses for six products, mostly Pro, some Dev and Eval, four in five
//! linked to an account and the rest for free-text customers (shown as unlinked); cluster
//! and IP bindings; issue dates over the past three years and expiries from those, so some
//! have expired and some expire soon; order periods for Pro licenses bought on a term; and
//! a few percent suspended, revoked, replaced by a renewal or deleted.

use super::Progress;
use super::bulk::{self, BulkItem};
use super::licensing::{self, BulkChange, LicensingError};
use crate::domain::ids::{AccountId, LicenseId};
use crate::domain::issue::IssueSpec;
use crate::domain::license_status::StatusChange;
use crate::store::{self, Store};
use licensekey::{Binding, LicenseKind, SigningKey};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How much demo data to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSize {
    pub licenses: u64,
    pub accounts: u64,
    pub seed: u64,
}

/// What was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoSummary {
    pub accounts: u64,
    pub licenses: u64,
    pub changes: u64,
    pub listed: u64,
}

/// A small seeded generator (64-bit LCG, upper bits), so demo data is repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 16
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// True with probability `percent`/1000.
    fn per_mille(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SYLLABLES: [&str; 28] = [
    "ka", "lo", "mi", "ra", "ten", "vex", "dor", "lin", "qua", "zor", "bel", "tri", "nov", "sol",
    "mar", "cor", "pen", "dal", "fin", "gra", "hel", "jun", "ost", "wey", "sen", "ta", "ri", "vo",
];
const TRADES: [&str; 14] = [
    "Storage",
    "Systems",
    "Data",
    "Cloud",
    "Networks",
    "Labs",
    "Analytics",
    "Media",
    "Logistics",
    "Robotics",
    "Energy",
    "Health",
    "Hosting",
    "Bank",
];
const SUFFIXES: [&str; 8] = ["GmbH", "Ltd", "Inc", "SA", "BV", "AB", "Oy", "S.r.l."];
const PRODUCTS: [(&str, u64); 6] = [
    ("StorageOS", 40),
    ("StorageOS Enterprise", 20),
    ("Backup Vault", 15),
    ("Object Gateway", 12),
    ("Metro Cluster", 8),
    ("Analytics Suite", 5),
];
const FEATURES: [&str; 6] = [
    "snapshots",
    "replication",
    "dedup",
    "encryption",
    "tiering",
    "audit",
];
const DAY: i64 = 86_400;

fn company(rng: &mut Rng) -> String {
    let syllables = 2 + rng.below(2);
    let mut word: String = (0..syllables).map(|_| *rng.pick(&SYLLABLES)).collect();
    if let Some(first) = word.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    format!("{word} {} {}", rng.pick(&TRADES), rng.pick(&SUFFIXES))
}

fn product(rng: &mut Rng) -> &'static str {
    let total: u64 = PRODUCTS.iter().map(|(_, w)| w).sum();
    let mut at = rng.below(total);
    for (name, weight) in PRODUCTS {
        if at < weight {
            return name;
        }
        at -= weight;
    }
    PRODUCTS[0].0
}

/// Makes the demo data; `phase` is told what is being made as each phase starts.
pub fn fill(
    store: &mut Store,
    key: &SigningKey,
    size: DemoSize,
    now: i64,
    phase: &mut dyn FnMut(&'static str),
    progress: &mut dyn Progress,
) -> Result<DemoSummary, LicensingError> {
    let mut rng = Rng(size.seed ^ 0x5eed_1ce5_0000_0001);
    let operator = licensing::operator(store)?;
    let mut summary = DemoSummary::default();

    phase("Creating accounts");
    let mut accounts: Vec<(AccountId, String)> = Vec::new();
    let mut made = 0u64;
    while made < size.accounts && !progress.cancelled() {
        let batch = (size.accounts - made).min(5_000);
        let start = made;
        let created = store.write(|tx| {
            let mut out = Vec::with_capacity(batch as usize);
            for i in 0..batch {
                // The number keeps names unique, as accounts require.
                let name = format!("{} {}", company(&mut rng), start + i + 1);
                out.push(store::accounts::create(tx, &name, now)?);
            }
            Ok::<_, store::StoreError>(out)
        })?;
        made += batch;
        accounts.extend(created.into_iter().map(|a| (a.id, a.name)));
        progress.report(made, size.accounts);
    }
    summary.accounts = made;

    phase("Issuing licenses");
    let items = items(&mut rng, &accounts, size.licenses, now);
    let mut ids: Vec<LicenseId> = Vec::with_capacity(items.len());
    summary.licenses = bulk::issue(store, key, &items[..], &operator, now, progress, |l| {
        ids.push(LicenseId(l.payload().license_id));
        Ok(())
    })?;

    phase("Changing states");
    let changes = changes(&mut rng, &ids);
    summary.changes =
        licensing::change_status_many(store, key, &changes, &operator, now, progress)?;

    phase("Indexing for the license list");
    summary.listed = licensing::index_list(store, progress)?;
    Ok(summary)
}

/// The licenses to issue: products, kinds, customers, bindings and terms as described in the
/// module docs.
fn items(rng: &mut Rng, accounts: &[(AccountId, String)], count: u64, now: i64) -> Vec<BulkItem> {
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let kind = match rng.below(100) {
            0..70 => LicenseKind::Pro,
            70..85 => LicenseKind::Dev,
            _ => LicenseKind::Eval,
        };
        // Some accounts buy much more than others: skew toward the start of the list.
        let linked = !accounts.is_empty() && rng.per_mille(800);
        let (account, customer) = if linked {
            let n = accounts.len() as u64;
            let skewed = rng.below(n).min(rng.below(n));
            let (id, name) = &accounts[skewed as usize];
            (Some(*id), name.clone())
        } else {
            (None, format!("{} (walk-in)", company(rng)))
        };
        let cluster = (kind != LicenseKind::Eval && rng.per_mille(600)).then(|| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&rng.next().to_be_bytes());
            bytes[8..].copy_from_slice(&rng.next().to_be_bytes());
            uuid::Builder::from_random_bytes(bytes).into_uuid()
        });
        let ip = match rng.below(100) {
            0..60 => Some(IpAddr::V4(Ipv4Addr::new(
                10,
                rng.below(256) as u8,
                rng.below(256) as u8,
                1 + rng.below(254) as u8,
            ))),
            60..65 => Some(IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                rng.below(65536) as u16,
                0,
                0,
                0,
                0,
                1 + rng.below(65535) as u16,
            ))),
            _ => None,
        };
        let issued_at = now - rng.below(3 * 365) as i64 * DAY - rng.below(DAY as u64) as i64;
        let (valid_days, order_months) = match kind {
            LicenseKind::Eval => (Some(30), None),
            LicenseKind::Dev => (Some(365), None),
            LicenseKind::Pro => {
                if rng.per_mille(50) {
                    (None, None)
                } else {
                    let months = *rng.pick(&[1u32, 3, 12, 12, 12, 36]);
                    (Some(months * 365 / 12 + 1), Some(months))
                }
            }
        };
        let features = FEATURES
            .iter()
            .filter(|_| rng.per_mille(250))
            .map(|f| f.to_string())
            .collect::<Vec<_>>();
        let spec = IssueSpec {
            product: product(rng).to_string(),
            kind,
            customer,
            binding: Binding {
                cluster,
                ip,
                ..Binding::default()
            },
            capacity_tb: *rng.pick(&[0u32, 10, 50, 100, 500]),
            seats: 1 + rng.below(50) as u32,
            features,
            valid_days,
            support_days: (kind == LicenseKind::Pro && rng.per_mille(500)).then_some(365),
            grace_days: 14,
            machine_key: None,
            machine_label: String::new(),
        };
        out.push(BulkItem {
            spec,
            account,
            order_months: order_months.filter(|_| account.is_some()),
            issued_at: Some(issued_at),
        });
    }
    out
}

/// A few percent of the licenses change state: suspended, revoked, replaced by a renewal,
/// deleted.
fn changes(rng: &mut Rng, ids: &[LicenseId]) -> Vec<BulkChange> {
    let mut out = Vec::new();
    for id in ids {
        let (change, reason) = match rng.below(1000) {
            0..30 => (StatusChange::Suspend, "payment overdue"),
            30..45 => (StatusChange::Revoke, "refunded"),
            45..65 => (StatusChange::Supersede, "replaced by a renewal"),
            65..70 => (StatusChange::Delete, "entered by mistake"),
            _ => continue,
        };
        out.push(BulkChange {
            license_id: *id,
            change,
            reason: reason.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use licensekey::Uuid;

    #[test]
    fn the_same_seed_makes_the_same_book() {
        let accounts = vec![(AccountId::new(), "Acme 1".to_string())];
        let a = items(&mut Rng(7), &accounts, 50, 1_795_435_200);
        let b = items(&mut Rng(7), &accounts, 50, 1_795_435_200);
        assert_eq!(
            a.iter().map(|i| &i.spec).collect::<Vec<_>>(),
            b.iter().map(|i| &i.spec).collect::<Vec<_>>()
        );
        let spread: std::collections::HashSet<_> = a.iter().map(|i| i.spec.kind).collect();
        assert!(spread.len() >= 2, "kinds vary");
        for item in &a {
            let payload = item
                .spec
                .payload(Uuid::now_v7(), item.issued_at.unwrap_or(0));
            assert!(payload.encode().is_ok(), "{item:?}");
        }
    }
}
