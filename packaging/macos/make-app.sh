#!/usr/bin/env bash
# Builds "License Desk.app" (a universal binary: Apple Silicon + Intel) and a .dmg, on a Mac
# with Rust and the Xcode command line tools (lipo, iconutil, codesign, hdiutil):
#   bash packaging/macos/make-app.sh          -> dist/License Desk.app, dist/license-desk-VERSION-macos.dmg
# It cannot run in CI (Linux has no macOS linker or SDK); CI only compiles the macOS targets
# (.ci/macos-check.sh). See packaging/macos/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
target_dir=${CARGO_TARGET_DIR:-target}

rustup target add aarch64-apple-darwin x86_64-apple-darwin
for target in aarch64-apple-darwin x86_64-apple-darwin; do
  cargo build --release --target "$target" --bin license-desk
done

app="dist/License Desk.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
lipo -create -output "$app/Contents/MacOS/license-desk" \
  "$target_dir/aarch64-apple-darwin/release/license-desk" \
  "$target_dir/x86_64-apple-darwin/release/license-desk"
sed "s/@VERSION@/$version/g" packaging/macos/Info.plist >"$app/Contents/Info.plist"

# The .icns from the committed PNGs (rendered from assets/icons/license-desk.svg).
iconset=$(mktemp -d)/license-desk.iconset
mkdir -p "$iconset"
png() { echo "assets/icons/hicolor/${1}x${1}/apps/license-desk.png"; }
for size in 16 32 128 256 512; do
  cp "$(png "$size")" "$iconset/icon_${size}x${size}.png"
  double=$((size * 2))
  if [ -f "$(png "$double")" ]; then
    cp "$(png "$double")" "$iconset/icon_${size}x${size}@2x.png"
  fi
done
iconutil -c icns "$iconset" -o "$app/Contents/Resources/license-desk.icns"

# Ad-hoc signature so Gatekeeper lets the local build run; for distribution sign with a
# Developer ID (codesign --options runtime --sign "Developer ID Application: ...") and
# notarize (xcrun notarytool submit ... --wait; xcrun stapler staple).
codesign --force --deep --sign - "$app"

stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg=dist/license-desk-$version-macos.dmg
rm -f "$dmg"
hdiutil create -volname "License Desk $version" -srcfolder "$stage" -ov -format UDZO "$dmg"
echo "Built $app and $dmg"
