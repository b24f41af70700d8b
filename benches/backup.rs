//! Backup under load (issue #16): "Back up now" on a database of a million licenses while a
//! bulk issue keeps committing into it. Measured: the time of one backup (copy, then the check
//! of the copy: integrity, foreign keys, ledger). Checked on every run: each backup verifies,
//! and when the writer stops, every license it was told was committed is in the database with
//! an intact ledger.
//!
//! Run: `cargo bench --bench backup`. The database is made once under target/bench-data
//! (`LICENSE_DESK_BENCH_LICENSES` sets its size; 1,000,000 by default).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use keyvault::KdfParams;
use license_desk::domain::issue::IssueDraft;
use license_desk::services::backup;
use license_desk::services::keys;
use license_desk::services::{Progress, licensing};
use license_desk::store::{self, Store, backup::Verdict};
use licensekey::{LicenseKind, SigningKey};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const PASS: &str = "bench passphrase";
/// Bump to rebuild the bench database when the generator changes.
const DATA_VERSION: &str = "backup-v2";
/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

struct Quiet;

impl Progress for Quiet {
    fn report(&mut self, _done: u64, _total: u64) {}
}

fn licenses() -> u64 {
    std::env::var("LICENSE_DESK_BENCH_LICENSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn spec(i: u64) -> license_desk::domain::issue::IssueSpec {
    IssueDraft {
        product: "Storage OS".into(),
        customer: format!("Customer {i}"),
        kind: LicenseKind::Pro,
        ip: format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
        seats: "5".into(),
        ..IssueDraft::default()
    }
    .validate()
    .expect("a valid license")
}

/// The bench database with `count` licenses (made once) and its unlocked signing key.
fn database(count: u64) -> (PathBuf, SigningKey) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("../bench-data")
        .join(format!("{DATA_VERSION}-{count}"));
    let path = dir.join("desk.sqlite3");
    let ready = dir.join("ready");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::open(&path).unwrap();
        keys::generate(&mut store, "Main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
        let key = unlock(&store);
        let started = Instant::now();
        for chunk in (0..count).collect::<Vec<_>>().chunks(100_000) {
            let specs: Vec<_> = chunk.iter().map(|&i| spec(i)).collect();
            licensing::issue_many(
                &mut store,
                &key,
                &specs,
                None,
                "bench",
                NOW,
                &mut Quiet,
                |_| Ok(()),
            )
            .unwrap();
        }
        eprintln!(
            "made {count} licenses in {:.0?} ({} MB)",
            started.elapsed(),
            std::fs::metadata(&path).unwrap().len() / 1_000_000
        );
        store
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        std::fs::write(&ready, b"").unwrap();
    }
    let store = Store::open(&path).unwrap();
    let key = unlock(&store);
    (path, key)
}

fn unlock(store: &Store) -> SigningKey {
    let row = keys::active(store.conn()).unwrap();
    keys::unlock(store.conn(), &row, PASS).unwrap()
}

fn license_count(path: &Path) -> u64 {
    let store = Store::open(path).unwrap();
    store::licenses::count(store.conn()).unwrap()
}

/// A bulk issue committing batches of 2,000 into `path` until `stop`; counts what it was told
/// was committed.
fn writer(
    path: PathBuf,
    key: SigningKey,
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut store = Store::open(&path).unwrap();
        let mut next = 1u64 << 40;
        while !stop.load(Ordering::Relaxed) {
            let specs: Vec<_> = (next..next + 2_000).map(spec).collect();
            next += 2_000;
            licensing::issue_many(
                &mut store,
                &key,
                &specs,
                None,
                "bench",
                NOW,
                &mut Quiet,
                |_| {
                    committed.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                },
            )
            .unwrap();
        }
    })
}

/// One backup of a fresh copy of the bench database while a bulk issue writes into it; checks
/// that the copy verifies and that every license the writer was told was committed is there.
/// Returns the time of the backup alone.
fn one_backup(pristine: &Path, key: &SigningKey, work: &Path, n: usize) -> Duration {
    let live = work.join("desk.sqlite3");
    let dest = work.join("copy.sqlite3");
    std::fs::copy(pristine, &live).unwrap();
    let before = license_count(&live);
    let store = Store::open(&live).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(0));
    let issuing = writer(live.clone(), key.clone(), stop.clone(), committed.clone());
    let taken_at = DateTime::<Utc>::from_timestamp(NOW, 0).unwrap();
    let started = Instant::now();
    let written = backup::back_up(&store, &dest, None, false, taken_at, &mut Quiet).unwrap();
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    issuing.join().unwrap();
    drop(store);
    assert!(
        matches!(written.verdict, Verdict::Verified),
        "the backup did not verify: {:?}",
        written.verdict
    );
    let issued = committed.load(Ordering::Relaxed);
    let after = license_count(&live);
    assert_eq!(after, before + issued, "the bulk issue lost licenses");
    eprintln!(
        "backup {n}: {took:.1?}, {} MB holding {} licenses, verified; the bulk issue committed \
         {issued} licenses meanwhile, all in the database ({after})",
        written.bytes / 1_000_000,
        written.contents.licenses,
    );
    for file in [live, dest] {
        let _ = std::fs::remove_file(store::backup::description_path(&file));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
    took
}

fn backup_under_load(c: &mut Criterion) {
    let count = licenses();
    let (pristine, key) = database(count);
    let work = tempfile::tempdir_in(pristine.parent().unwrap()).unwrap();
    let mut n = 0;
    let mut group = c.benchmark_group("backup");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function(
        format!("back up {count} licenses while a bulk issue writes"),
        |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| {
                        n += 1;
                        one_backup(&pristine, &key, work.path(), n)
                    })
                    .sum()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, backup_under_load);
criterion_main!(benches);
