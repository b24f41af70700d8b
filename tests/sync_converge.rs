//! Three desks edit offline on random schedules (creates, renames, deletes, wallet top-ups,
//! desks closed and reopened, pushes, pulls and whole rounds in any order) against one real
//! portal; then every desk syncs until nothing moves. Every desk must then hold the portal's
//! state: each account as its newest change (by hybrid logical clock, then desk) says, and
//! every wallet entry exactly once — or, for a change a desk refused, that change waiting for
//! staff in its review queue. Nothing is lost, nothing is applied twice.
//!
//! `PROPTEST_CASES` sets how many schedules run (24 by default).

// Helpers outside the tests unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use license_desk::commerce::wallet::{WalletChange, WalletEntry};
use license_desk::domain::account::Account;
use license_desk::domain::ids::{AccountId, WalletEntryId};
use license_desk::domain::money::{Currency, Money};
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::store::sync::InboxState;
use license_desk::store::{self, Store};
use license_desk::sync;
use portal::client::PortalClient;
use portal::protocol::{Envelope, Op};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;
const DESKS: usize = 3;

/// One step of a schedule.
#[derive(Debug, Clone)]
enum Step {
    Create {
        desk: usize,
    },
    Rename {
        desk: usize,
        pick: usize,
        name: u8,
    },
    Delete {
        desk: usize,
        pick: usize,
    },
    TopUp {
        desk: usize,
        pick: usize,
        euros: u8,
    },
    /// The desk's process ends and it starts again (its state is what it committed).
    Reopen {
        desk: usize,
    },
    Push {
        desk: usize,
    },
    Pull {
        desk: usize,
    },
    Round {
        desk: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let desk = 0..DESKS;
    prop_oneof![
        2 => desk.clone().prop_map(|desk| Step::Create { desk }),
        4 => (desk.clone(), any::<usize>(), any::<u8>())
            .prop_map(|(desk, pick, name)| Step::Rename { desk, pick, name }),
        1 => (desk.clone(), any::<usize>()).prop_map(|(desk, pick)| Step::Delete { desk, pick }),
        2 => (desk.clone(), any::<usize>(), 1u8..=200)
            .prop_map(|(desk, pick, euros)| Step::TopUp { desk, pick, euros }),
        1 => desk.clone().prop_map(|desk| Step::Reopen { desk }),
        1 => desk.clone().prop_map(|desk| Step::Push { desk }),
        1 => desk.clone().prop_map(|desk| Step::Pull { desk }),
        2 => desk.prop_map(|desk| Step::Round { desk }),
    ]
}

struct Desk {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Option<Store>,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let path = license_desk::paths::database_path(dir.path());
        let store = Some(Store::open(&path).unwrap());
        Desk {
            _dir: dir,
            path,
            store,
        }
    }

    fn store(&mut self) -> &mut Store {
        self.store.as_mut().unwrap()
    }

    fn accounts(&mut self) -> BTreeMap<AccountId, String> {
        let conn = self.store().conn();
        let mut stmt = conn.prepare("SELECT id, name FROM accounts").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Entity ids of the pulled changes this desk refused (waiting for staff).
    fn refused(&mut self, entity: &str) -> BTreeSet<String> {
        store::sync::open_items(self.store().conn())
            .unwrap()
            .into_iter()
            .filter(|i| i.state == InboxState::Refused && i.change.entity == entity)
            .map(|i| i.change.entity_id)
            .collect()
    }

    fn wallet_ids(&mut self) -> Vec<String> {
        let conn = self.store().conn();
        let mut stmt = conn.prepare("SELECT id FROM wallet_entries").unwrap();
        stmt.query_map([], |r| r.get::<_, WalletEntryId>(0))
            .unwrap()
            .map(|id| id.unwrap().to_string())
            .collect()
    }
}

struct World {
    _portal_dir: tempfile::TempDir,
    server: portal::server::BackgroundPortal,
    token: String,
    desks: Vec<Desk>,
    /// Every account id any desk created (desks pick from these, known to them or not).
    ids: Vec<AccountId>,
    now: i64,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let (server, token) = common::portal::start(dir.path());
        World {
            _portal_dir: dir,
            server,
            token,
            desks: (0..DESKS).map(|_| Desk::new()).collect(),
            ids: Vec::new(),
            now: NOW,
        }
    }

    fn client(&self) -> PortalClient {
        common::portal::client(&self.server.url(), &self.token)
    }

    fn tick(&mut self) -> i64 {
        self.now += 1;
        self.now
    }

    fn run(&mut self, step: &Step) {
        let now = self.tick();
        let url = self.server.url();
        let client = self.client();
        let pick =
            |ids: &[AccountId], pick: usize| (!ids.is_empty()).then(|| ids[pick % ids.len()]);
        match *step {
            Step::Create { desk } => {
                let store = self.desks[desk].store();
                let account = accounts::create(store, &format!("Customer {now}"), now).unwrap();
                self.ids.push(account.id);
            }
            Step::Rename {
                desk,
                pick: p,
                name,
            } => {
                if let Some(id) = pick(&self.ids, p) {
                    // Refused when this desk does not have it (yet, or any more): fine.
                    let _ = accounts::run(
                        self.desks[desk].store(),
                        now,
                        AccountsCommand::Rename {
                            id,
                            name: format!("Name {name}"),
                        },
                    );
                }
            }
            Step::Delete { desk, pick: p } => {
                if let Some(id) = pick(&self.ids, p) {
                    let _ = accounts::run(
                        self.desks[desk].store(),
                        now,
                        AccountsCommand::Delete { id },
                    );
                }
            }
            Step::TopUp {
                desk,
                pick: p,
                euros,
            } => {
                let Some(id) = pick(&self.ids, p) else { return };
                let store = self.desks[desk].store();
                if store::accounts::get(store.conn(), id).unwrap().is_none() {
                    return;
                }
                let entry = WalletEntry {
                    id: uuid::Uuid::now_v7(),
                    at: now,
                    change: WalletChange::TopUp {
                        amount: Money::from_major(i64::from(euros), Currency::EUR).unwrap(),
                        reference: format!("transfer {now}"),
                    },
                };
                let _ = store.write(|tx| store::wallet::append(tx, id, &entry, now));
            }
            Step::Reopen { desk } => {
                let desk = &mut self.desks[desk];
                drop(desk.store.take());
                desk.store = Some(Store::open(&desk.path).unwrap());
            }
            Step::Push { desk } => {
                sync::push::push(self.desks[desk].store(), &client, Default::default(), now)
                    .unwrap();
            }
            Step::Pull { desk } => {
                // Small pages: a desk often stops between pages.
                sync::pull::pull(self.desks[desk].store(), &client, &url, 3, now).unwrap();
            }
            Step::Round { desk } => {
                sync::round(self.desks[desk].store(), &client, &url, now).unwrap();
            }
        }
    }

    /// Every desk syncs, twice over, so each has pushed everything and pulled everything.
    fn settle(&mut self) {
        for _ in 0..2 {
            for desk in 0..DESKS {
                self.run(&Step::Round { desk });
            }
        }
    }

    /// The whole feed from the start.
    fn feed(&self) -> Vec<Envelope> {
        let client = self.client();
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = client.pull(cursor.as_deref(), 1000).unwrap();
            all.extend(page.changes);
            cursor = Some(page.next_cursor);
            if !page.more {
                return all;
            }
        }
    }
}

/// The accounts as the newest change of each says (by HLC, then desk).
fn portal_accounts(feed: &[Envelope]) -> BTreeMap<String, Option<String>> {
    let mut newest: BTreeMap<String, &Envelope> = BTreeMap::new();
    for change in feed.iter().filter(|c| c.entity == "account") {
        let slot = newest.entry(change.entity_id.clone()).or_insert(change);
        if (change.hlc, change.desk_id) > (slot.hlc, slot.desk_id) {
            *slot = change;
        }
    }
    newest
        .into_iter()
        .map(|(id, change)| {
            let name = (change.op != Op::Delete).then(|| {
                let account: Account = serde_json::from_str(change.body.get()).unwrap();
                account.name
            });
            (id, name)
        })
        .collect()
}

fn check(world: &mut World) -> Result<(), TestCaseError> {
    let feed = world.feed();
    let expected = portal_accounts(&feed);
    let facts: BTreeSet<String> = feed
        .iter()
        .filter(|c| c.entity == "wallet_entry")
        .map(|c| c.entity_id.clone())
        .collect();
    let ids: BTreeSet<String> = feed.iter().map(|c| c.change_id.to_string()).collect();
    prop_assert_eq!(ids.len(), feed.len(), "a change id twice in the feed");
    for (n, desk) in world.desks.iter_mut().enumerate() {
        // The name search holds exactly the accounts' names (FTS5 checks its index against
        // the table it indexes).
        let search = desk.store().conn().execute(
            "INSERT INTO accounts_search (accounts_search, rank) VALUES ('integrity-check', 1)",
            [],
        );
        prop_assert!(
            search.is_ok(),
            "desk {}: account search out of step: {:?}",
            n,
            search
        );
        let held = desk.accounts();
        let refused = desk.refused("account");
        for (id, name) in &expected {
            if refused.contains(id) {
                continue;
            }
            let here = id
                .parse::<AccountId>()
                .ok()
                .and_then(|id| held.get(&id).cloned());
            prop_assert_eq!(&here, name, "desk {} account {}", n, id);
        }
        prop_assert!(
            held.keys().all(|id| expected.contains_key(&id.to_string())),
            "desk {} holds an account the portal never saw",
            n
        );
        let wallet = desk.wallet_ids();
        let unique: BTreeSet<String> = wallet.iter().cloned().collect();
        prop_assert_eq!(
            unique.len(),
            wallet.len(),
            "desk {} applied an entry twice",
            n
        );
        let waiting = desk.refused("wallet_entry");
        let accounted: BTreeSet<String> = unique.union(&waiting).cloned().collect();
        prop_assert_eq!(
            &accounted,
            &facts,
            "desk {}: wallet entries lost or invented",
            n
        );
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn three_desks_converge_to_the_portal(steps in prop::collection::vec(step(), 1..60)) {
        let mut world = World::new();
        for step in &steps {
            world.run(step);
        }
        world.settle();
        check(&mut world)?;
        // Quiet afterwards: one more round each moves nothing.
        for desk in 0..DESKS {
            let now = world.tick();
            let client = world.client();
            let url = world.server.url();
            let report = sync::round(world.desks[desk].store(), &client, &url, now).unwrap();
            prop_assert_eq!(report.push.sent, 0, "desk {} still had changes to send", desk);
        }
    }
}
