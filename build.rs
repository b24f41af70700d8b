//! Embeds the app icon and version information in the Windows executable. Nothing happens
//! for other targets, so Linux and macOS builds need no Windows tools.

fn main() {
    println!("cargo:rerun-if-changed=assets/icons/license-desk.ico");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let mut resource = winresource::WindowsResource::new();
    resource
        .set_icon("assets/icons/license-desk.ico")
        .set("FileDescription", "License Desk")
        .set("ProductName", "License Desk");
    if let Err(err) = resource.compile() {
        // A missing resource compiler must not stop a build: the exe then has no icon.
        println!("cargo:warning=no icon embedded in the Windows executable: {err}");
    }
}
