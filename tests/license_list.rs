//! The license list's query: every sort pages through every license exactly once, in order,
//! by keyset (the way the panel scrolls); every filter, on a few rows and on more than the
//! probe's limit, finds exactly what a row-by-row reading finds, and counts it.

// A helper outside the tests pages with unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use keyvault::KdfParams;
use license_desk::domain::issue::IssueDraft;
use license_desk::domain::license_filter::LicenseFilter;
use license_desk::domain::license_status::{LicenseStatus, StatusChange};
use license_desk::services::licensing::BulkChange;
use license_desk::services::{NoProgress, keys, licensing};
use license_desk::store::Store;
use license_desk::store::license_list::{FEW, ListQuery, ListRow, Sort, SortColumn};
use licensekey::LicenseKind;

const NOW: i64 = 1_795_435_200;
const PASS: &str = "a long enough passphrase";

#[test]
fn every_sort_pages_through_every_license_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
    let row = keys::generate(&mut store, "Main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
    let key = keys::unlock(store.conn(), &row, PASS).unwrap();
    let names = ["acme", "Beta", "alpha", "Zeta", "beta", "Omega", "delta"];
    let products = ["Storage OS", "backup suite", "Archive"];
    let specs: Vec<_> = (0..150u32)
        .map(|i| {
            IssueDraft {
                product: products[i as usize % 3].into(),
                customer: names[i as usize % names.len()].into(),
                kind: LicenseKind::Pro,
                ip: if i % 4 == 0 {
                    String::new()
                } else {
                    format!("10.0.{}.{}", i / 7, i % 7)
                },
                seats: "1".into(),
                days: (30 + i % 11).to_string(),
                ..IssueDraft::default()
            }
            .validate()
            .unwrap()
        })
        .collect();
    common::issue_all(&mut store, &key, &specs, NOW);
    licensing::index_list(&mut store, &mut NoProgress).unwrap();
    let conn = store.conn();

    for column in SortColumn::ALL {
        for descending in [false, true] {
            let sort = Sort { column, descending };
            let query = ListQuery::new(LicenseFilter::default(), sort, NOW);
            let rows = pages(conn, &query, 23, specs.len());
            let mut seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
            seqs.sort();
            seqs.dedup();
            assert_eq!(seqs.len(), specs.len(), "{sort:?}: every license once");
            let text = |r: &ListRow| match column {
                SortColumn::Name => Some(r.customer.to_lowercase()),
                SortColumn::Software => Some(r.product.to_lowercase()),
                _ => None,
            };
            if let Some(first) = rows.first().and_then(text) {
                let mut previous = first;
                for row in &rows[1..] {
                    let this = text(row).unwrap();
                    if descending {
                        assert!(this <= previous, "{sort:?}: {this} after {previous}");
                    } else {
                        assert!(this >= previous, "{sort:?}: {this} after {previous}");
                    }
                    previous = this;
                }
            }

            // A filter that leaves few rows reads them from its probe: the same rows in the
            // same order as the whole list has them, by keyset and by skipping.
            let few = ListQuery::new(
                LicenseFilter {
                    software: "storage".into(),
                    ..LicenseFilter::default()
                },
                sort,
                NOW,
            );
            assert!(few.is_short(conn).unwrap(), "{sort:?}: a short list");
            let expected: Vec<i64> = rows
                .iter()
                .filter(|r| r.product == "Storage OS")
                .map(|r| r.seq)
                .collect();
            let found: Vec<i64> = pages(conn, &few, 23, expected.len())
                .iter()
                .map(|r| r.seq)
                .collect();
            assert_eq!(found, expected, "{sort:?}: the short list's order");
            let skipped: Vec<i64> = few
                .read(conn, None, 10, 7)
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect();
            assert_eq!(skipped, expected[10..17], "{sort:?}: rows 10 to 16");
        }
    }
}

/// Every row of `query`, paged by keyset.
fn all_rows(conn: &rusqlite::Connection, query: &ListQuery) -> Vec<ListRow> {
    pages(conn, query, 500, usize::MAX)
}

/// Every row of `query`, read `size` at a time by keyset; fails past `most` rows (a row
/// coming back twice).
fn pages(conn: &rusqlite::Connection, query: &ListQuery, size: usize, most: usize) -> Vec<ListRow> {
    let mut rows: Vec<ListRow> = Vec::new();
    loop {
        let after = rows.last().map(|r| r.key.clone());
        let page = query.read(conn, after.as_ref(), 0, size).unwrap();
        if page.is_empty() {
            return rows;
        }
        rows.extend(page);
        assert!(rows.len() <= most, "{:?}: rows come back twice", query.sort);
    }
}

#[test]
fn every_filter_finds_and_counts_what_a_row_by_row_reading_finds() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("desk.sqlite3")).unwrap();
    let row = keys::generate(&mut store, "Main", PASS, KdfParams::TEST_ONLY, true, NOW).unwrap();
    let key = keys::unlock(store.conn(), &row, PASS).unwrap();
    // More licenses than a probe reads, most of them for customers named "… Energy …".
    let total = FEW as u32 + 400;
    let specs: Vec<_> = (0..total)
        .map(|i| {
            let customer = if i % 10 == 0 {
                format!("Korasol 100% Data {i}")
            } else {
                format!("Vexdor Energy_{} Ltd", i % 40)
            };
            IssueDraft {
                product: ["Storage OS", "Backup Suite", "Archive Vault"][i as usize % 3].into(),
                customer,
                kind: LicenseKind::Pro,
                ip: format!("10.{}.{}.{}", i % 3, i / 250, i % 250),
                seats: "1".into(),
                days: (30 + i % 60).to_string(),
                ..IssueDraft::default()
            }
            .validate()
            .unwrap()
        })
        .collect();
    common::issue_all(&mut store, &key, &specs, NOW);
    licensing::index_list(&mut store, &mut NoProgress).unwrap();
    let everything = all_rows(
        store.conn(),
        &ListQuery::new(LicenseFilter::default(), Sort::default(), NOW),
    );
    assert_eq!(everything.len(), total as usize);
    // Suspend more than a probe reads, and delete a few.
    let changes: Vec<BulkChange> = everything
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 12 != 0)
        .map(|(i, r)| BulkChange {
            license_id: r.license_id,
            change: if i % 101 == 3 {
                StatusChange::Delete
            } else {
                StatusChange::Suspend
            },
            reason: String::new(),
        })
        .collect();
    licensing::change_status_many(&mut store, &key, &changes, "ada", NOW, &mut NoProgress).unwrap();
    let conn = store.conn();
    let mut everything = all_rows(
        conn,
        &ListQuery::new(
            LicenseFilter {
                statuses: vec![
                    LicenseStatus::Active,
                    LicenseStatus::Suspended,
                    LicenseStatus::Deleted,
                ],
                ..LicenseFilter::default()
            },
            Sort::default(),
            NOW,
        ),
    );
    assert_eq!(everything.len(), total as usize);
    everything.sort_by_key(|r| r.seq);

    let day = 86_400;
    let contains = |text: &str, part: &str| text.to_lowercase().contains(&part.to_lowercase());
    type Test = Box<dyn Fn(&ListRow) -> bool>;
    let not_deleted = |r: &ListRow| r.status != LicenseStatus::Deleted;
    let cases: Vec<(&str, LicenseFilter, Test)> = vec![
        (
            "name, common",
            LicenseFilter {
                name: "nErgy".into(),
                ..Default::default()
            },
            Box::new(move |r| not_deleted(r) && contains(&r.customer, "nergy")),
        ),
        (
            "name, few",
            LicenseFilter {
                name: "korasol".into(),
                ..Default::default()
            },
            Box::new(move |r| not_deleted(r) && contains(&r.customer, "korasol")),
        ),
        (
            "name with a wildcard character",
            LicenseFilter {
                name: "y_1".into(),
                ..Default::default()
            },
            Box::new(move |r| not_deleted(r) && contains(&r.customer, "y_1")),
        ),
        (
            "name with a percent sign",
            LicenseFilter {
                name: "100%".into(),
                ..Default::default()
            },
            Box::new(move |r| not_deleted(r) && contains(&r.customer, "100%")),
        ),
        (
            "name, two characters (starts with)",
            LicenseFilter {
                name: "ko".into(),
                ..Default::default()
            },
            Box::new(move |r| not_deleted(r) && r.customer.to_lowercase().starts_with("ko")),
        ),
        (
            "name, nothing",
            LicenseFilter {
                name: "zzz".into(),
                ..Default::default()
            },
            Box::new(|_| false),
        ),
        (
            "software",
            LicenseFilter {
                software: "orage".into(),
                ..Default::default()
            },
            Box::new(move |r| not_deleted(r) && contains(&r.product, "orage")),
        ),
        (
            "software and name",
            LicenseFilter {
                software: "backup".into(),
                name: "energy".into(),
                ..Default::default()
            },
            Box::new(move |r| {
                not_deleted(r) && contains(&r.product, "backup") && contains(&r.customer, "energy")
            }),
        ),
        (
            "IP",
            LicenseFilter {
                ip: "10.1.".into(),
                ..Default::default()
            },
            Box::new(move |r| {
                not_deleted(r) && r.ip.as_deref().is_some_and(|ip| ip.contains("10.1."))
            }),
        ),
        (
            "suspended, common",
            LicenseFilter::with_status(LicenseStatus::Suspended),
            Box::new(|r| r.status == LicenseStatus::Suspended),
        ),
        (
            "suspended with a name",
            LicenseFilter {
                name: "energy_3".into(),
                ..LicenseFilter::with_status(LicenseStatus::Suspended)
            },
            Box::new(move |r| {
                r.status == LicenseStatus::Suspended && contains(&r.customer, "energy_3")
            }),
        ),
        (
            "expiry range",
            LicenseFilter {
                expires_from: Some(NOW + 40 * day),
                expires_until: Some(NOW + 70 * day),
                ..Default::default()
            },
            Box::new(move |r| {
                not_deleted(r)
                    && r.expires_at
                        .is_some_and(|e| e >= NOW + 40 * day && e < NOW + 70 * day)
            }),
        ),
        (
            "expiry range, suspended",
            LicenseFilter {
                expires_from: Some(NOW),
                expires_until: Some(NOW + 80 * day),
                ..LicenseFilter::with_status(LicenseStatus::Suspended)
            },
            Box::new(move |r| {
                r.status == LicenseStatus::Suspended
                    && r.expires_at.is_some_and(|e| e >= NOW && e < NOW + 80 * day)
            }),
        ),
    ];
    for (what, filter, test) in cases {
        let expected: Vec<i64> = everything
            .iter()
            .filter(|r| test(r))
            .map(|r| r.seq)
            .collect();
        for sort in [
            Sort::default(),
            Sort {
                column: SortColumn::Name,
                descending: false,
            },
        ] {
            let query = ListQuery::new(filter.clone(), sort, NOW);
            if what.ends_with(", common") {
                assert!(
                    !query.is_short(conn).unwrap(),
                    "{what}: more than a probe reads"
                );
            }
            let mut found: Vec<i64> = all_rows(conn, &query).iter().map(|r| r.seq).collect();
            found.sort();
            assert_eq!(found, expected, "{what}, {sort:?}: the rows");
            // Capped at 1,001, or exact (a short list is counted exactly).
            let capped = ListQuery::new(filter.clone(), sort, NOW)
                .count(conn, 1_001)
                .unwrap();
            assert!(
                capped == expected.len() as u64 || (capped == 1_001 && expected.len() > 1_001),
                "{what}: counted {capped} of {} (capped at 1,001)",
                expected.len()
            );
            let query = ListQuery::new(filter.clone(), sort, NOW);
            assert_eq!(
                query.count(conn, u64::MAX).unwrap(),
                expected.len() as u64,
                "{what}: the exact count"
            );
        }
    }
}
