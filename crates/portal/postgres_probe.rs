// Whether a PostgreSQL server answers for the tests, as `cfg(no_postgres)`: included by this
// crate's build.rs and the desk's, one rule for both test suites. Without a server each
// PostgreSQL test is reported as ignored by name instead of passing silently; with `CI=true`
// the tests run anyway and fail, so CI cannot go green without them (`.ci/postgres.sh` starts
// the server first).

fn probe_postgres() {
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=LICENSE_PORTAL_TEST_PG");
    // The socket appears and disappears in this folder as the server starts and stops.
    println!("cargo::rerun-if-changed=/var/run/postgresql");
    println!("cargo::rustc-check-cfg=cfg(no_postgres)");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if postgres_answers() {
        return;
    }
    if ci {
        println!(
            "cargo::warning=CI=true but no PostgreSQL answers on /var/run/postgresql: the PostgreSQL tests will fail (run .ci/postgres.sh)"
        );
    } else {
        println!("cargo::rustc-cfg=no_postgres");
    }
}

/// True when `LICENSE_PORTAL_TEST_PG` names a server, or one answers on the local socket.
fn postgres_answers() -> bool {
    if std::env::var_os("LICENSE_PORTAL_TEST_PG").is_some() {
        return true;
    }
    #[cfg(unix)]
    {
        std::os::unix::net::UnixStream::connect("/var/run/postgresql/.s.PGSQL.5432").is_ok()
    }
    #[cfg(not(unix))]
    {
        false
    }
}
