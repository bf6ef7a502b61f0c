#!/usr/bin/env bash
# Package the one-folder build as a Debian package.
#   installers/linux/make_deb.sh VERSION BUNDLE_DIR ICONS_DIR OUT.deb
# Installs the folder as /opt/engram, links /usr/bin/engram to it, and adds the menu
# entry and the icon (hicolor PNGs + SVG; dpkg's triggers refresh the menu and icon
# caches). Depends lists tesseract-ocr and every system package whose libraries the
# bundle links to (what Qt's xcb plugin, libEGL, fontconfig… need), found with ldd and
# dpkg -S — the same idea as dpkg-shlibdeps, without a source package.
set -euo pipefail
VERSION=$1 BUNDLE=$2 ICONS=$3 OUT=$4
HERE=$(cd "$(dirname "$0")" && pwd)
stage=build/deb/engram_${VERSION}_amd64
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
  "$stage/usr/share/icons" "$stage/usr/share/doc/engram"
cp -a "$BUNDLE" "$stage/opt/engram"
ln -s /opt/engram/engram "$stage/usr/bin/engram"
install -m 0644 "$HERE/engram.desktop" "$stage/usr/share/applications/engram.desktop"
cp -a "$ICONS/hicolor" "$stage/usr/share/icons/"
cat > "$stage/usr/share/doc/engram/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: engram
Comment: Engram bundles Python, Qt (PySide6, LGPL-3.0), llama.cpp (MIT) and
 all-MiniLM-L6-v2 (Apache-2.0) under /opt/engram.

Files: *
License: MIT
EOF

# Which system libraries does the bundle use, and which packages hold them?
missing=()
declare -A libs=()
while IFS= read -r -d '' f; do
  head -c 4 "$f" 2>/dev/null | grep -q $'\x7fELF' || continue
  while IFS= read -r line; do
    case "$line" in
      *"not found"*) missing+=("$(basename "$f"): $line") ;;
      *"=> /"*)
        path=${line#*=> }; path=${path%% (*}
        case "$path" in "$BUNDLE"/*|"$(realpath "$BUNDLE")"/*) ;; *) libs["$path"]=1 ;; esac ;;
    esac
  done < <(LD_LIBRARY_PATH="$(realpath "$BUNDLE")/_internal" ldd "$f" 2>/dev/null || true)
done < <(find "$BUNDLE" -type f \( -name '*.so*' -o -perm -u+x \) -print0)
if [ ${#missing[@]} -gt 0 ]; then
  printf 'make_deb: libraries not found:\n' >&2
  printf '  %s\n' "${missing[@]}" | sort -u >&2
  exit 1
fi
declare -A pkgs=()
for path in "${!libs[@]}"; do
  pkg=""
  for candidate in "$path" "$(realpath "$path")" "${path#/usr}" "/usr$path"; do
    pkg=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  if [ -z "$pkg" ]; then echo "make_deb: no package owns $path" >&2; exit 1; fi
  pkgs["$pkg"]=1
done
glibc=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-.*//')
depends="tesseract-ocr, tesseract-ocr-eng"
for pkg in $(printf '%s\n' "${!pkgs[@]}" | sort); do
  if [ "$pkg" = libc6 ]; then depends+=", libc6 (>= $glibc)"; else depends+=", $pkg"; fi
done

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: engram
Version: $VERSION
Architecture: amd64
Maintainer: Engram developers <engram@localhost>
Installed-Size: $size
Depends: $depends
Section: utils
Priority: optional
Description: private, local memory of what you see and work on
 Engram keeps notes, your screen's text, your documents and your chat history
 in one encrypted database on your own disk, and finds things again by words or
 by meaning. Everything runs locally (llama.cpp); nothing leaves the machine.
 .
 This package is self-contained: Python, Qt and llama.cpp live in /opt/engram.
EOF
mkdir -p "$(dirname "$OUT")"
# gzip -3: xz took >14 min and gzip -9 5.5 min for the 330 MB tree on a busy 2-core box;
# every dpkg reads gzip.
nice -n 19 dpkg-deb --root-owner-group -Zgzip -z3 --build "$stage" "$OUT" >&2
echo "$OUT"
