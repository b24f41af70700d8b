#!/bin/sh
# Removes what install.sh installed. Your data (the database and signing keys in
# ~/.local/share/license-desk, or --data-dir) is never touched.
set -eu
prefix=${PREFIX:-$HOME/.local}
rm -f "$prefix/bin/license-desk" "$prefix/share/applications/license-desk.desktop"
rm -f "$prefix"/share/icons/hicolor/*/apps/license-desk.png
echo "Removed License Desk from $prefix; your data folder is kept."
