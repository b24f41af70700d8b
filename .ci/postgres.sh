#!/usr/bin/env bash
# Makes PostgreSQL 15 available for the portal's PostgreSQL tests (crates/portal): installs
# Debian's package if it is missing, starts the packaged cluster and lets the current user
# (root in CI) in over the local socket as a superuser. Safe to run again: each part checks
# first. Ends with one line "postgres: ok (N s)" or "postgres: FAILED — why".
set -uo pipefail
start=$SECONDS
name=${STEP_NAME:-postgres}
fail() {
  echo "$name: FAILED — $*"
  exit 1
}
export DEBIAN_FRONTEND=noninteractive

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
  echo "installing postgresql-15"
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq postgresql-15 >/dev/null || fail "apt-get install postgresql-15"
fi

# The package makes the cluster on install; a machine where it was dropped gets a fresh one.
if ! pg_lsclusters -h 2>/dev/null | awk '$1 == "15" && $2 == "main"' | grep -q .; then
  pg_createcluster 15 main >/dev/null || fail "pg_createcluster 15 main"
fi
if ! pg_lsclusters -h | awk '$1 == "15" && $2 == "main" {print $4}' | grep -q online; then
  pg_ctlcluster 15 main start || fail "pg_ctlcluster 15 main start"
fi
for _ in $(seq 1 30); do
  pg_isready -q -h /var/run/postgresql && break
  sleep 1
done
pg_isready -q -h /var/run/postgresql || fail "the cluster does not answer on /var/run/postgresql"

user=$(id -un)
if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = '$user'\"" | grep -q 1; then
  su postgres -c "createuser -s $user" || fail "createuser -s $user"
fi
# Tools connect to a database named like the user unless told otherwise.
if ! psql -h /var/run/postgresql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$user'" | grep -q 1; then
  createdb -h /var/run/postgresql "$user" || fail "createdb $user"
fi
echo "$name: ok ($((SECONDS - start)) s)"
