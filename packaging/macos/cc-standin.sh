#!/bin/sh
# A stand-in macOS C compiler for `cargo check --target *-apple-darwin` on Linux (see
# .ci/macos-check.sh). cc-rs only needs it to pass for clang in its family probe (-E prints
# "clang", and MSVC's `-?` is refused) and to leave an object file at -o; `cargo check`
# links nothing, so empty objects are enough. Never use it for a real build.
out=
prev=
for arg in "$@"; do
  case "$arg" in
    -E) echo '#pragma message "clang"'; exit 0 ;;
    "-?") exit 1 ;;
    -o) ;;
    -o*) out=${arg#-o} ;;
    *) [ "$prev" = "-o" ] && out=$arg ;;
  esac
  prev=$arg
done
if [ -n "$out" ]; then : >"$out"; fi
exit 0
