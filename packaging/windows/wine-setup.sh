#!/usr/bin/env bash
# Makes a fresh Wine prefix that runs License Desk's Windows build (Debian 12's Wine 8):
#   packaging/windows/wine-setup.sh PREFIX
# then: WINEPREFIX=PREFIX /usr/lib/wine/wine64 license-desk.exe where
#
# Wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's std imports; without it the
# program stops at load ("Library bcryptprimitives.dll ... not found"). A stand-in built from
# bcryptprimitives.c (forwarding to RtlGenRandom) goes into the prefix's system32. Nothing
# here is shipped: real Windows has the DLL.
# Needs: wine64 (Debian's wine64 + wine packages) and x86_64-w64-mingw32-gcc.
set -euo pipefail
prefix=${1:?usage: wine-setup.sh PREFIX}
here=$(cd "$(dirname "$0")" && pwd)
wine=${WINE:-/usr/lib/wine/wine64}
export WINEPREFIX=$prefix WINEDEBUG=${WINEDEBUG:--all} WINEARCH=win64
# No Mono or Gecko installers (nothing here needs .NET or a browser) and no prompts.
export WINEDLLOVERRIDES="mscoree,mshtml,winemenubuilder.exe=${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}"
mkdir -p "$prefix"
"$wine" wineboot -i >/dev/null 2>&1
"${WINESERVER:-wineserver}" -w
system32=$prefix/drive_c/windows/system32
x86_64-w64-mingw32-gcc -shared -O2 -o "$system32/bcryptprimitives.dll" \
  "$here/bcryptprimitives.c" -ladvapi32 -Wl,--kill-at
echo "Wine prefix ready: $prefix (stand-in bcryptprimitives.dll in system32)"
