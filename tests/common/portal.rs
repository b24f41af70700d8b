//! A real portal on 127.0.0.1 (a fresh SQLite file, no rate limit) with a device token.

use portal::server::{BackgroundPortal, Limits};
use portal::store::DbUrl;

/// A portal serving `dir/portal.db`, and a token it knows.
pub fn start(dir: &std::path::Path) -> (BackgroundPortal, String) {
    let server = BackgroundPortal::start(
        &DbUrl::Sqlite(dir.join("portal.db")),
        Limits {
            rate_per_second: 0,
            compact_every: None,
            ..Limits::default()
        },
    )
    .expect("the portal starts");
    let token = server.create_token("desks").expect("a token");
    (server, token)
}

/// A client of the portal at `url` with `token`, its protocol settled.
pub fn client(url: &str, token: &str) -> portal::client::PortalClient {
    let mut client =
        portal::client::PortalClient::new(url, token, portal::client::ClientOptions::default())
            .expect("test setup");
    client.negotiate().expect("test setup");
    client
}

/// A portal for one test: its folder, the server and a token it knows.
pub struct TestPortal {
    _dir: tempfile::TempDir,
    pub server: BackgroundPortal,
    pub token: String,
}

impl TestPortal {
    pub fn start() -> TestPortal {
        let dir = tempfile::tempdir().expect("test setup");
        let (server, token) = start(dir.path());
        TestPortal {
            _dir: dir,
            server,
            token,
        }
    }

    pub fn client(&self) -> portal::client::PortalClient {
        client(&self.server.url(), &self.token)
    }
}
