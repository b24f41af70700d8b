#!/usr/bin/env bash
# What the test suite needs from the machine besides Rust: strace, which the air-gapped test
# (tests/air_gapped.rs) watches the binary's socket calls with. Without it that test is
# reported as ignored; in CI it must run, so this installs it.
source "$(dirname "$0")/lib.sh"
apt_install strace
strace -f -qq -e trace=socket -o /dev/null true || fail "strace cannot trace here"
pass "strace $(strace -V | head -n1 | awk '{print $NF}')"
