#!/bin/sh
# Installs License Desk from the tarball for the current user (no root needed):
#   ./install.sh            into ~/.local (bin, menu entry, icons)
#   PREFIX=/usr/local ./install.sh   for everyone (as root)
# ./uninstall.sh removes the same files; the data folder (~/.local/share/license-desk) stays.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
install -D -m 755 "$here/license-desk" "$prefix/bin/license-desk"
install -D -m 644 "$here/license-desk.desktop" "$prefix/share/applications/license-desk.desktop"
for png in "$here"/icons/hicolor/*/apps/license-desk.png; do
  size=$(basename "$(dirname "$(dirname "$png")")")
  install -D -m 644 "$png" "$prefix/share/icons/hicolor/$size/apps/license-desk.png"
done
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database "$prefix/share/applications" 2>/dev/null || true
fi
echo "Installed License Desk into $prefix (start it from the menu, or run: license-desk)"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "Note: add $prefix/bin to your PATH for the CLI." ;; esac
