//! The Sync panel, walked by label: a desk that synced with a real portal and met a conflict
//! shows its portal and both versions of the account; "Keep this desk's version" settles it,
//! the account is this desk's version again, and the panel says nothing waits.

mod common;

use common::*;
use license_desk::services::accounts::{self, AccountsCommand};
use license_desk::store::{self, Store};
use license_desk::sync;

#[test]
fn a_conflict_is_shown_with_both_versions_and_settled_from_the_panel() {
    let portal_dir = tempfile::tempdir().expect("test setup");
    let (server, token) = common::portal::start(portal_dir.path());
    let client = || {
        let mut client = ::portal::client::PortalClient::new(
            &server.url(),
            &token,
            ::portal::client::ClientOptions::default(),
        )
        .expect("test setup");
        client.negotiate().expect("test setup");
        client
    };
    let url = server.url();
    let desk = TempDesk::new();
    let other = TempDesk::new();
    let mut a = Store::open(&desk.database()).expect("test setup");
    let mut b = Store::open(&other.database()).expect("test setup");
    let acme = accounts::create(&mut a, "Acme", TEST_NOW).expect("test setup");
    sync::round(&mut a, &client(), &url, TEST_NOW + 1).expect("test setup");
    sync::round(&mut b, &client(), &url, TEST_NOW + 2).expect("test setup");
    let rename = |store: &mut Store, name: &str, at: i64| {
        accounts::run(
            store,
            at,
            AccountsCommand::Rename {
                id: acme.id,
                name: name.into(),
            },
        )
        .expect("test setup");
    };
    rename(&mut a, "Acme (this desk)", TEST_NOW + 10);
    rename(&mut b, "Acme (other desk)", TEST_NOW + 20);
    sync::round(&mut b, &client(), &url, TEST_NOW + 21).expect("test setup");
    let report = sync::round(&mut a, &client(), &url, TEST_NOW + 22).expect("test setup");
    assert_eq!(report.conflicts, 1);
    drop(a);

    let mut app = harness(&desk);
    open_page(&mut app, "Sync");
    assert!(shows(&app, &format!("Portal: {url}")));
    assert!(shows(&app, "1 conflicts, 0 refused here"));
    assert!(shows(&app, "Other desk's version: upsert"));
    assert!(shows(&app, "Acme (other desk)"));
    assert!(shows(&app, "This desk's version: upsert"));
    assert!(shows(&app, "Acme (this desk)"));

    click(&mut app, "Keep this desk's version");
    settle(&mut app);
    assert!(shows(&app, "0 conflicts, 0 refused here"));
    assert!(!shows(&app, "Keep this desk's version"));
    let a = Store::open(&desk.database()).expect("test setup");
    assert_eq!(
        store::accounts::get(a.conn(), acme.id)
            .expect("read")
            .expect("the account")
            .name,
        "Acme (this desk)"
    );
}
