#!/usr/bin/env bash
# `cargo check` of the whole workspace (all targets) for Apple Silicon and Intel Macs, so
# macOS-only code compiles in CI. Nothing is linked, so no macOS SDK is needed; bundled
# SQLite's C code is "compiled" by a stand-in (packaging/macos/cc-standin.sh) that writes
# empty objects. Running on a Mac is covered by packaging/macos/README.md.
source "$(dirname "$0")/lib.sh"
standin=$PWD/packaging/macos/cc-standin.sh
checked=()
for target in aarch64-apple-darwin x86_64-apple-darwin; do
  rustup target add "$target" >/dev/null 2>&1
  var=${target//-/_}
  env "CC_$var=$standin" "CXX_$var=$standin" "AR_$var=ar" \
    cargo check --workspace --all-targets --target "$target" --quiet ||
    fail "cargo check --target $target"
  say "pass: cargo check --workspace --all-targets --target $target"
  checked+=("$target")
done
pass "${checked[*]} compile (checked, not linked)"
