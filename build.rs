//! Build-time work: the app icon and version information embedded in the Windows executable
//! (nothing for other targets, so Linux and macOS builds need no Windows tools), and facts
//! about the machine the tests run on, so a test that cannot run here is reported as ignored
//! (by name) instead of passing silently.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=assets/icons/license-desk.ico");
    probe_unshare();
    probe_strace();
    println!("cargo::rerun-if-changed=crates/portal/postgres_probe.rs");
    probe_postgres();
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        embed_windows_icon();
    }
}

/// The air-gapped CLI test runs the binary in a network namespace of its own; the full-disk
/// and read-only-drive tests mount a small file system in a mount namespace of their own.
fn probe_unshare() {
    println!("cargo::rustc-check-cfg=cfg(no_unshare)");
    println!("cargo::rustc-check-cfg=cfg(no_mount_namespace)");
    let works = |args: &[&str]| {
        std::process::Command::new("unshare")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !works(&["-rn", "true"]) {
        println!("cargo::rustc-cfg=no_unshare");
    }
    if !works(&["-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"]) {
        println!("cargo::rustc-cfg=no_mount_namespace");
    }
}

/// The air-gapped socket test watches the binary's system calls with `strace`.
fn probe_strace() {
    println!("cargo::rustc-check-cfg=cfg(no_strace)");
    let works = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=socket", "-o", "/dev/null", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        println!("cargo::rustc-cfg=no_strace");
    }
}

fn embed_windows_icon() {
    let mut resource = winresource::WindowsResource::new();
    resource
        .set_icon("assets/icons/license-desk.ico")
        .set("FileDescription", "License Desk")
        .set("ProductName", "License Desk");
    if let Err(err) = resource.compile() {
        // A missing resource compiler must not stop a build: the exe then has no icon.
        println!("cargo::warning=no icon embedded in the Windows executable: {err}");
    }
}

// The desks-through-two-portals test needs a PostgreSQL server, as the portal's own tests do.
include!("crates/portal/postgres_probe.rs");
