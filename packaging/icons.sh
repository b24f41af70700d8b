#!/usr/bin/env bash
# Renders every icon the platforms need from the one source, assets/icons/license-desk.svg:
#   assets/icons/hicolor/SIZE/apps/license-desk.png  Linux (freedesktop hicolor theme), window icon
#   assets/icons/license-desk.ico                    Windows (embedded in the .exe by build.rs)
# The outputs are small and committed, so builds need none of these tools; run this after
# changing the SVG. The macOS .icns is made from the same PNGs by packaging/macos/make-app.sh.
# Needs: rsvg-convert (librsvg2-bin) and ImageMagick's convert (imagemagick).
set -euo pipefail
cd "$(dirname "$0")/.."
svg=assets/icons/license-desk.svg
for size in 16 24 32 48 64 128 256 512; do
  dir=assets/icons/hicolor/${size}x${size}/apps
  mkdir -p "$dir"
  rsvg-convert -w "$size" -h "$size" "$svg" -o "$dir/license-desk.png"
done
ico_sizes=(16 24 32 48 64 256)
inputs=()
for size in "${ico_sizes[@]}"; do inputs+=("assets/icons/hicolor/${size}x${size}/apps/license-desk.png"); done
convert "${inputs[@]}" assets/icons/license-desk.ico
echo "icons: $(ls assets/icons/hicolor | tr '\n' ' ')+ license-desk.ico"
