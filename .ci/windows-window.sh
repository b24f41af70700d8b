#!/usr/bin/env bash
# Opens the Windows build's window under Wine and Xvfb, checks that it shows its title and
# which renderer drew it (wgpu, or glow after wgpu failed), then closes it with Alt+F4.
# Needs the build from .ci/windows-build.sh.
source "$(dirname "$0")/lib.sh"
[ -f "$WIN_EXE" ] || fail "no Windows build at $WIN_EXE (run .ci/windows-build.sh first)"
ensure_wine
apt_install "${GUI_PACKAGES[@]}"
start_xvfb
wine_new_session
data=$WINEPREFIX/drive_c/users/Public/window-check
log=$CI_WORK/windows-window.log
"$WINE" "$WIN_EXE" --data-dir "$(winpath "$data")" >"$log" 2>&1 &
app=$!
id=$(wait_for_window "License Desk" 90) ||
  fail "no window titled 'License Desk' within 90 s: $(tail -n5 "$log" | tr -d '\r')"
say "pass: window 'License Desk' is on screen (X id $id, $(xwininfo -id "$id" | awk '/Width|Height/ {printf "%s ", $2}'))"
renderer=
for _ in $(seq 120); do
  renderer=$(grep -o "drawing with .*" "$log" | tr -d '\r' | head -n1 || true)
  [ -n "$renderer" ] && break
  sleep 0.5
done
[ -n "$renderer" ] || fail "the app did not say which renderer it uses: $(tail -n5 "$log")"
id=$(wait_for_window "License Desk" 30) || fail "the window went away: $(tail -n5 "$log")"
say "pass: $renderer"
grep -q "could not start" "$log" && say "wgpu fell back: $(grep "could not start" "$log" | tr -d '\r' | head -n1)"
sleep 2
xdotool windowfocus --sync "$id" key --clearmodifiers alt+F4 || true
for _ in $(seq 40); do
  kill -0 "$app" 2>/dev/null || break
  sleep 0.5
done
if kill -0 "$app" 2>/dev/null; then
  kill "$app" 2>/dev/null || true
  fail "the window did not close on Alt+F4"
fi
wait "$app" || fail "the app exited with status $? after Alt+F4: $(tail -n5 "$log")"
wineserver -k 2>/dev/null || true
pass "window shown and closed; ${renderer#drawing with }"
