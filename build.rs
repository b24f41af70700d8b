//! Build-time facts about the machine the tests run on, so a test that cannot run here is
//! reported as ignored (by name) instead of passing silently.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_unshare)");
    println!("cargo::rerun-if-changed=build.rs");
    // The air-gapped CLI test runs the binary in a network namespace of its own.
    let unshare = std::process::Command::new("unshare")
        .args(["-rn", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !unshare {
        println!("cargo::rustc-cfg=no_unshare");
    }
}
