#!/usr/bin/env bash
# Builds the Windows installer with NSIS on Linux and tries it under Wine as a user would:
# silent install (/S), the Start-menu entry and uninstall registration, the installed CLI and
# window, then a silent uninstall that removes the program and keeps the data folder.
# Needs the build from .ci/windows-build.sh. Leaves dist/license-desk-VERSION-windows-x64-setup.exe.
source "$(dirname "$0")/lib.sh"
[ -f "$WIN_EXE" ] || fail "no Windows build at $WIN_EXE (run .ci/windows-build.sh first)"
apt_install nsis
ensure_wine
mkdir -p dist
setup=dist/license-desk-$APP_VERSION-windows-x64-setup.exe
build_installer() {
  makensis -V2 -DVERSION="$APP_VERSION" -DEXE="$WIN_EXE" -DAPP_EXE="$WIN_APP_EXE" \
    -DOUTFILE="$PWD/$setup" packaging/windows/installer.nsi >"$CI_WORK/makensis.log" 2>&1
}
# makensis died once here with SIGBUS and no message (cause not found; it did not happen
# again in the same conditions): a second try tells a passing glitch from a real error.
if ! build_installer; then
  say "makensis failed (exit $?): $(tail -n3 "$CI_WORK/makensis.log"); trying once more"
  build_installer || fail "makensis (exit $?): $(tail -n5 "$CI_WORK/makensis.log")"
fi
say "built $setup ($(du -h "$setup" | cut -f1))"

programs=$WINEPREFIX/drive_c/Program\ Files/License\ Desk
menu=$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start\ Menu/Programs/License\ Desk.lnk
"$WINE" "$setup" /S
wineserver -w
check "installed into Program Files" test -f "$programs/License Desk.exe"
check "the CLI sits beside the app" test -f "$programs/license-desk.exe"
check "uninstaller in place" test -f "$programs/uninstall.exe"
check "Start-menu entry" test -f "$menu"
check "registered for Add/Remove programs" bash -c \
  "'$WINE' reg query 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\LicenseDesk' /v DisplayVersion | grep -q '$APP_VERSION'"

# The installed program, started as a user would, makes data in the default folder.
installed=$(winpath "$programs/license-desk.exe")
printf 'installer check passphrase\n' >"$CI_WORK/installer-pass.txt"
check "installed CLI runs (keys new)" "$WINE" "$installed" keys new --name "Installed key" \
  --passphrase-file "$(winpath "$CI_WORK/installer-pass.txt")"
data=$(ls -d "$WINEPREFIX"/drive_c/users/*/AppData/Roaming/LicenseDesk/license-desk/data)
check "data folder exists" test -f "$data/license-desk.sqlite3"

apt_install "${GUI_PACKAGES[@]}"
start_xvfb
wine_new_session
# What the Start-menu entry starts: the window without a console.
"$WINE" "$(winpath "$programs/License Desk.exe")" >"$CI_WORK/installed-window.log" 2>&1 &
app=$!
if id=$(wait_for_window "License Desk" 60); then
  say "pass: the installed app opens its window (X id $id)"
else
  fail "the installed app showed no window: $(tail -n5 "$CI_WORK/installed-window.log")"
fi
kill "$app" 2>/dev/null || true
wineserver -k || true

"$WINE" "$(winpath "$programs/uninstall.exe")" /S
wineserver -w
check "uninstall removed the program" test ! -e "$programs/license-desk.exe" -a ! -e "$programs/License Desk.exe"
check "uninstall removed the Start-menu entry" test ! -e "$menu"
check "uninstall kept the data folder" test -f "$data/license-desk.sqlite3"
pass "$(basename "$setup"): silent install, CLI, window, silent uninstall, data kept"
