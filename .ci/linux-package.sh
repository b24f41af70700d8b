#!/usr/bin/env bash
# Linux packages from one `dist` build: a .deb (cargo-deb) and a tarball for other
# distributions. Both are tried as a user would: the .deb is installed with dpkg -i, the CLI
# and the window (under Xvfb, checked by its title) start, the menu entry and icons are in
# place, and removing the package keeps the user's data folder; the tarball's install.sh /
# uninstall.sh do the same in a private HOME. Leaves dist/*.deb and dist/*.tar.gz.
source "$(dirname "$0")/lib.sh"
apt_install desktop-file-utils "${GUI_PACKAGES[@]}"
if ! cargo deb --version >/dev/null 2>&1; then
  say "cargo install cargo-deb"
  CARGO_TARGET_DIR=$CI_WORK/cargo-install cargo install cargo-deb --version 3.8.0 --locked --quiet ||
    fail "cargo install cargo-deb"
fi
cargo build --profile dist --bin license-desk --quiet || fail "cargo build --profile dist"
mkdir -p dist
deb=$(cargo deb --no-build --profile dist --output dist/ 2>"$CI_WORK/cargo-deb.log" | tail -n1) ||
  fail "cargo deb: $(tail -n5 "$CI_WORK/cargo-deb.log")"
[ -f "$deb" ] || fail "cargo deb wrote no package ($deb)"
say "built $deb ($(du -h "$deb" | cut -f1))"

# A private HOME: the default data folder is ~/.local/share/license-desk.
export HOME=$CI_WORK/home
unset XDG_DATA_HOME LICENSE_DESK_DATA
mkdir -p "$HOME"
dpkg -r license-desk >/dev/null 2>&1 || true
check "dpkg -i" dpkg -i "$deb"
check "the CLI is on the PATH" test "$(command -v license-desk)" = /usr/bin/license-desk
check "menu entry is valid" desktop-file-validate /usr/share/applications/license-desk.desktop
check "icons installed" test -f /usr/share/icons/hicolor/256x256/apps/license-desk.png
where=$(license-desk where 2>/dev/null)
check "license-desk where: $where" test "$where" = "$HOME/.local/share/license-desk/license-desk.sqlite3"
printf 'deb check passphrase\n' >"$CI_WORK/deb-pass.txt"
check "installed CLI makes data (keys new)" license-desk keys new --name "Deb key" \
  --passphrase-file "$CI_WORK/deb-pass.txt"
check "data folder is private (0700)" test "$(stat -c %a "$HOME/.local/share/license-desk")" = 700

start_xvfb
log=$CI_WORK/linux-window.log
license-desk >"$log" 2>&1 &
app=$!
id=$(wait_for_window "License Desk" 60) || fail "no window titled 'License Desk': $(tail -n5 "$log")"
say "pass: window 'License Desk' on screen, $(grep -o "drawing with .*" "$log" | head -n1)"
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true

check "dpkg -r" dpkg -r license-desk
check "removing the package removed the program" test ! -e /usr/bin/license-desk
check "removing the package kept the data folder" test -f "$HOME/.local/share/license-desk/license-desk.sqlite3"

# The tarball for other distributions.
name=license-desk-$APP_VERSION-linux-$(uname -m)
stage=$CI_WORK/$name
rm -rf "$stage" && mkdir -p "$stage/icons"
cp "$LINUX_BIN" packaging/linux/license-desk.desktop packaging/linux/install.sh \
  packaging/linux/uninstall.sh README.md "$stage/"
cp -r assets/icons/hicolor "$stage/icons/"
tar -C "$CI_WORK" -czf "dist/$name.tar.gz" "$name"
say "built dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1))"
rm -rf "$stage" && tar -C "$CI_WORK" -xzf "dist/$name.tar.gz"
check "tarball install.sh" sh "$stage/install.sh"
check "tarball CLI runs" "$HOME/.local/bin/license-desk" where
check "tarball menu entry" test -f "$HOME/.local/share/applications/license-desk.desktop"
check "tarball uninstall.sh" sh "$stage/uninstall.sh"
check "tarball uninstall kept the data" test -f "$HOME/.local/share/license-desk/license-desk.sqlite3"
pass "$(basename "$deb") and $name.tar.gz: install, CLI, window, remove, data kept"
