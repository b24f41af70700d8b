#!/usr/bin/env bash
# The Windows build's air-gapped round trip under Wine, as a new user would run it:
#   keys new -> request -> issue from the request -> verify --this-machine -> ledger verify
#   -> bulk issue of 1,000 from CSV
# once in the default data folder (%APPDATA%) and once in a --data-dir whose path has spaces
# and non-ASCII characters. Also: the data folder gets an owner-only ACL, and a customer name
# like "Müller Ærøskøbing 東京" prints correctly both to a console and through a pipe.
# Needs the build from .ci/windows-build.sh.
source "$(dirname "$0")/lib.sh"
[ -f "$WIN_EXE" ] || fail "no Windows build at $WIN_EXE (run .ci/windows-build.sh first)"
ensure_wine
apt_install bsdutils # `script`: a terminal for the console check
export LC_ALL=C.UTF-8
CUSTOMER="Müller Ærøskøbing 東京"
CLUSTER=0192f0e6-5a1b-7c3d-9e8f-123456789abc
work="$WINEPREFIX/drive_c/users/Public/Documents/round trip"
mkdir -p "$work"
printf 'correct horse battery staple\n' >"$work/passphrase.txt"

desk() { "$WINE" "$WIN_EXE" "$@"; }

# `roundtrip NAME UNIX_DATA_DIR [--data-dir WINDOWS_DIR]`
roundtrip() {
  local name=$1 data_unix=$2
  shift 2
  local dd=("$@") out=$work/$name
  mkdir -p "$out"
  say "round trip in $name data folder"

  desk "${dd[@]}" where >"$out/where.txt" 2>"$out/where.err" || fail "$name: where"
  local db
  db=$(tr -d '\r' <"$out/where.txt")
  say "database: $db"

  check "$name: keys new" desk "${dd[@]}" keys new --name "CI key" \
    --passphrase-file "$(winpath "$work/passphrase.txt")"
  [ -f "$data_unix/license-desk.sqlite3" ] || fail "$name: no database in $data_unix"
  desk "${dd[@]}" where >/dev/null 2>"$out/where.err"
  check "$name: data folder is readable by the current user only (ACL read back)" \
    grep -q "readable by the current user only" "$out/where.err"
  # Wine keeps no ACLs: it maps the DACL onto the folder's Unix mode, where "others" get nothing.
  check "$name: Wine mapped the owner-only ACL to mode $(stat -c %a "$data_unix")" \
    test "$(($(stat -c %a "$data_unix") % 10))" = 0

  check "$name: request" desk request --cluster "$CLUSTER" \
    --out "$(winpath "$out/machine.ldreq")"
  check "$name: issue from the request" env LICENSE_DESK_PASSPHRASE="correct horse battery staple" \
    "$WINE" "$WIN_EXE" "${dd[@]}" issue --product "Storage OS" --kind pro --customer "$CUSTOMER" \
    --request "$(winpath "$out/machine.ldreq")" --out "$(winpath "$out/customer.lic")"
  desk "${dd[@]}" verify "$(winpath "$out/customer.lic")" --this-machine --cluster "$CLUSTER" \
    >"$out/verify.txt" 2>&1 ||
    fail "$name: verify --this-machine exited $? ($(tr -d '\r' <"$out/verify.txt" | head -n3))"
  check "$name: verify --this-machine says VALID" grep -q "^VALID" "$out/verify.txt"
  check "$name: the customer name survives a pipe" grep -q "Customer: *$CUSTOMER" "$out/verify.txt"
  check "$name: ledger verify" desk "${dd[@]}" ledger verify

  {
    echo "product,kind,customer,seats,days"
    for i in $(seq 1000); do echo "Storage OS,dev,Kunde $i Ærø 東京,$((i % 5 + 1)),365"; done
  } >"$out/bulk.csv"
  local started=$SECONDS
  check "$name: bulk issue of 1,000 from CSV" desk "${dd[@]}" issue \
    --csv "$(winpath "$out/bulk.csv")" --out "$(winpath "$out/issued.csv")" \
    --passphrase-file "$(winpath "$work/passphrase.txt")"
  local rows
  rows=$(grep -c "Kunde .* Ærø 東京" "$out/issued.csv" || true)
  [ "$rows" = 1000 ] || fail "$name: issued.csv has $rows licenses, not 1000"
  say "pass: $name: 1,000 licenses in $((SECONDS - started)) s"
  check "$name: ledger verify after the bulk issue" desk "${dd[@]}" ledger verify
}

# 1. A new user's default folder: %APPDATA%\LicenseDesk\license-desk\data.
appdata=$(ls -d "$WINEPREFIX"/drive_c/users/*/AppData/Roaming | head -n1)
[ -z "${LICENSE_DESK_DATA:-}" ] || fail "LICENSE_DESK_DATA is set; the default folder would not be used"
roundtrip default "$appdata/LicenseDesk/license-desk/data"
# 2. A folder with spaces and non-ASCII characters, chosen with --data-dir.
odd="$WINEPREFIX/drive_c/users/Public/Lizenz Daten — Müller Ærø 東京"
roundtrip odd-path "$odd" --data-dir "$(winpath "$odd")"

# Console output: Rust writes UTF-16 to a console (WriteConsoleW), so the name needs no code
# page; under `script` Wine gives the program a console on a terminal.
script -qec "$WINE $(printf %q "$WIN_EXE") verify $(printf %q "$(winpath "$work/default/customer.lic")") --cluster $CLUSTER" \
  /dev/null >"$work/console.txt" 2>&1 || true
check "the customer name prints correctly in a console" grep -q "$CUSTOMER" "$work/console.txt"
pass "2 round trips (%APPDATA% and a non-ASCII --data-dir), 2,002 licenses"
