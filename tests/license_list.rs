//! The license list's query: every sort pages through every license exactly once, in order,
//! by keyset (the way the panel scrolls).

mod common;

use keyvault::KdfParams;
use license_desk::domain::issue::IssueDraft;
use license_desk::domain::license_filter::LicenseFilter;
use license_desk::services::{NoProgress, keys, licensing};
use license_desk::store::Store;
use license_desk::store::license_list::{ListQuery, ListRow, Sort, SortColumn};
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
    licensing::issue_many(
        &mut store,
        &key,
        &specs,
        None,
        "ada",
        NOW,
        &mut NoProgress,
        |_| Ok(()),
    )
    .unwrap();
    licensing::index_list(&mut store, &mut NoProgress).unwrap();
    let conn = store.conn();

    for column in SortColumn::ALL {
        for descending in [false, true] {
            let sort = Sort { column, descending };
            let query = ListQuery::new(LicenseFilter::default(), sort, NOW);
            let mut rows: Vec<ListRow> = Vec::new();
            loop {
                let after = rows.last().map(|r| r.key.clone());
                let page = query.read(conn, after.as_ref(), 0, 23).unwrap();
                if page.is_empty() {
                    break;
                }
                rows.extend(page);
                assert!(rows.len() <= specs.len(), "{sort:?}: rows come back twice");
            }
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
        }
    }
}
