#!/bin/sh
# A stand-in macOS C compiler for `cargo check --target *-apple-darwin` on Linux (see
# .ci/macos-check.sh). cc-rs only needs the compiler to answer its probe (-E) and to leave an
# object file at -o; `cargo check` links nothing, so empty objects are enough. Never use it
# for a real build: the objects are empty.
out=
prev=
for arg in "$@"; do
  [ "$prev" = "-o" ] && out=$arg
  case "$arg" in
    -E) echo "clang"; exit 0 ;;
    -o*) [ "$arg" != "-o" ] && out=${arg#-o} ;;
  esac
  prev=$arg
done
[ -n "$out" ] && : >"$out"
exit 0
