#!/usr/bin/env bash
# The one Windows build of a CI run (x86_64-pc-windows-gnu, `dist` profile): every workspace
# crate compiles for Windows, and the two .exe (CLI and console-less window) are reused by the
# Wine round trip, the window check and the installer. Replaces a `cargo check` for Windows.
source "$(dirname "$0")/lib.sh"
apt_install gcc-mingw-w64-x86-64 # bundled SQLite's C code, and windres for the icon
rustup target add "$WIN_TARGET" >/dev/null 2>&1
log=$CI_WORK/windows-build.log
cargo build --profile dist --target "$WIN_TARGET" --workspace >"$log" 2>&1 ||
  fail "cargo build --target $WIN_TARGET: $(grep -A5 '^error' "$log" | head -n 20)"
# Clippy runs on Linux, where the Windows-only code (src/platform/windows.rs) is not
# compiled: here at least rustc's warnings on it fail the step.
if grep -q "generated [0-9]* warning" "$log"; then
  grep -B2 -A12 "^warning" "$log" | head -n 40
  fail "the Windows build has warnings"
fi
[ -f "$WIN_EXE" ] && [ -f "$WIN_APP_EXE" ] || fail "no $WIN_EXE or $WIN_APP_EXE"
# license-desk-app.exe is the window without a console (Windows GUI subsystem = 2).
subsystem=$(x86_64-w64-mingw32-objdump -p "$WIN_APP_EXE" | awk '/^Subsystem/ {print $2}')
[ "$subsystem" = 00000002 ] || fail "license-desk-app.exe is not a GUI-subsystem program ($subsystem)"
headers=$(x86_64-w64-mingw32-objdump -p "$WIN_EXE")
# Resource type 14 (0x0e) is RT_GROUP_ICON: the icon Explorer and the Start menu show.
grep -q "Entry: ID: 0x00000e" <<<"$headers" || fail "no icon resource in $WIN_EXE"
pass "license-desk.exe (CLI) and license-desk-app.exe (window, no console), $(du -h "$WIN_EXE" | cut -f1) each, icon embedded"
