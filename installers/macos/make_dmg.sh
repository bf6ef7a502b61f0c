#!/usr/bin/env bash
# Wrap Engram.app into a compressed disk image with an Applications link.
#   installers/macos/make_dmg.sh VERSION dist/Engram.app
# Signing-ready: when CODESIGN_IDENTITY is set, the app is signed (hardened runtime,
# entitlements.plist) before it goes into the image; notarising is a separate CI step.
set -euo pipefail
VERSION=$1 APP=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ARCH=$(uname -m)
OUT=dist/engram-$VERSION-macos-$ARCH.dmg
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp \
    --entitlements "$HERE/entitlements.plist" --sign "$CODESIGN_IDENTITY" "$APP"
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$APP" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$OUT"
hdiutil create -volname "Engram $VERSION" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$OUT" >&2
echo "$OUT"
