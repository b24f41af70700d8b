//! Sync from the desk's side (issue #17), against a real portal on 127.0.0.1 (SQLite, in this
//! process): the initial pull of 100,000 changes into a fresh desk (each applied and kept in
//! the inbox, a transaction per page with its cursor); an incremental round that takes 10
//! changes from another desk, and one that sends 10 of its own; a push of 100,000 changes.
//!
//! Run: `cargo bench --bench sync`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use license_desk::domain::ids::AccountId;
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::store::{self, Store, StoreError};
use license_desk::sync;
use std::hint::black_box;
use std::time::Duration;

const CHANGES: usize = 100_000;
/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

struct Desk {
    _dir: tempfile::TempDir,
    store: Store,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&license_desk::paths::database_path(dir.path())).unwrap();
        Desk { _dir: dir, store }
    }

    /// `n` new accounts, in one transaction (their creations wait in the outbox).
    fn with_accounts(n: usize) -> (Desk, Vec<AccountId>) {
        let mut desk = Desk::new();
        let ids = desk
            .store
            .write(|tx| {
                (0..n)
                    .map(|i| Ok(store::accounts::create(tx, &format!("Customer {i:06}"), NOW)?.id))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .unwrap();
        (desk, ids)
    }
}

/// The tests' portal: a fresh SQLite file, no rate limit, one token.
#[path = "../tests/common/portal.rs"]
mod test_portal;

use test_portal::TestPortal as Portal;

fn pull_and_push(c: &mut Criterion) {
    let portal = Portal::start();
    let client = portal.client();
    let url = portal.server.url();
    let (mut maker, ids) = Desk::with_accounts(CHANGES);
    // Pushed as made (a round would renumber the wallet IDs first: 100,000 changes more).
    sync::push::push(&mut maker.store, &client, Default::default(), NOW).unwrap();

    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.bench_function("initial_pull_100k", |b| {
        b.iter_batched(
            Desk::new,
            |mut desk| {
                let report =
                    sync::pull::pull(&mut desk.store, &client, &url, sync::pull::PAGE, NOW)
                        .unwrap();
                assert_eq!(report.applied, CHANGES as u64);
                black_box(report);
                desk
            },
            BatchSize::PerIteration,
        )
    });

    // A desk that has everything; each round takes 10 renames another desk made (made and
    // pushed outside the timing).
    let mut desk = Desk::new();
    sync::round(&mut desk.store, &client, &url, NOW).unwrap();
    let mut turn = 0;
    let rename = |store: &mut Store, ids: &[AccountId], turn: i64| {
        for id in ids {
            accounts::run(
                store,
                NOW + turn,
                AccountsCommand::Rename {
                    id: *id,
                    name: format!("Renamed {turn} {id}"),
                },
            )
            .unwrap();
        }
    };
    group.bench_function("round_pulling_10", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                turn += 1;
                rename(&mut maker.store, &ids[..10], turn);
                sync::push::push(&mut maker.store, &client, Default::default(), NOW + turn)
                    .unwrap();
                let started = std::time::Instant::now();
                let report = sync::round(&mut desk.store, &client, &url, NOW + turn).unwrap();
                spent += started.elapsed();
                assert_eq!(report.pull.applied, 10);
            }
            spent
        })
    });
    group.bench_function("round_pushing_10", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                turn += 1;
                rename(&mut desk.store, &ids[10..20], turn);
                let started = std::time::Instant::now();
                let report = sync::round(&mut desk.store, &client, &url, NOW + turn).unwrap();
                spent += started.elapsed();
                assert_eq!(report.push.acknowledged, 10);
            }
            spent
        })
    });
    group.bench_function("push_100k", |b| {
        b.iter_batched(
            || Desk::with_accounts(CHANGES).0,
            |mut desk| {
                let report =
                    sync::push::push(&mut desk.store, &client, Default::default(), NOW).unwrap();
                assert_eq!(report.acknowledged, CHANGES as u64);
                desk
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(10));
    targets = pull_and_push
}
criterion_main!(benches);
