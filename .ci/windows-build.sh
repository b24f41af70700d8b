#!/usr/bin/env bash
# The one Windows build of a CI run (x86_64-pc-windows-gnu, `dist` profile): every workspace
# crate compiles for Windows, and the .exe is reused by the Wine round trip, the window check
# and the installer. Replaces a separate `cargo check` for Windows.
source "$(dirname "$0")/lib.sh"
apt_install gcc-mingw-w64-x86-64 # bundled SQLite's C code, and windres for the icon
rustup target add "$WIN_TARGET" >/dev/null 2>&1
cargo build --profile dist --target "$WIN_TARGET" --workspace --quiet ||
  fail "cargo build --target $WIN_TARGET"
[ -f "$WIN_EXE" ] || fail "no $WIN_EXE"
x86_64-w64-mingw32-objdump -p "$WIN_EXE" | grep -q "ICON\|\.rsrc" ||
  fail "the icon is not embedded in $WIN_EXE"
pass "$(basename "$WIN_EXE") $(du -h "$WIN_EXE" | cut -f1), icon embedded"
