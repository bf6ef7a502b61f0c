#!/usr/bin/env bash
# Build (once) a portable llama-cpp-python wheel into the wheel folder and print its path.
#   installers/llama_wheel.sh [PYTHON]
# Portable: GGML_NATIVE=OFF and every x86-64 CPU variant as a loadable backend
# (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS); ggml picks the best one for the CPU at
# run time (core/models/backends.py loads them), so the wheel runs on any x86-64
# from SSE4.2-less to AVX-512 without SIGILL (on Apple silicon: M1 … M4). The
# multimodal library is left out.
# The wheel is kept in ENGRAM_WHEELS (default ~/.cache/engram/wheels), where
# installers/install.sh finds it: developers then install without a compiler.
set -euo pipefail
PY=${1:-python3}
VERSION=0.3.36
WHEELS=${ENGRAM_WHEELS:-$HOME/.cache/engram/wheels}
mkdir -p "$WHEELS"

existing=$(ls "$WHEELS"/llama_cpp_python-$VERSION-*.whl 2>/dev/null | head -1 || true)
# The listing is read whole first: with pipefail, `unzip | grep -q` fails at random
# (grep stops at the first match, unzip dies of SIGPIPE) and the wheel was rebuilt.
listing=$( [ -n "$existing" ] && unzip -Z1 "$existing" 2>/dev/null || true)
if grep -q 'ggml-cpu-x64\|ggml-cpu-apple_m1' <<<"$listing"; then
  echo "$existing"
  exit 0
fi

flags=(-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON
       # the CPU variants are installed beside libllama/libggml, found through $ORIGIN
       -DCMAKE_INSTALL_BINDIR=llama_cpp/lib '-DCMAKE_INSTALL_RPATH=$ORIGIN'
       -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF)
# macOS arm64: the same switches give Metal plus the apple_m1 / m2_m3 / m4 CPU variants.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS and could hand back a native build.
CMAKE_ARGS="${flags[*]}" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
  nice -n 19 "$PY" -m pip wheel --no-cache-dir --no-deps -w "$tmp" "llama-cpp-python==$VERSION" >&2
built=$(ls "$tmp"/llama_cpp_python-*.whl)
# Without the AMX variant: where CPUID advertises AMX but the OS or hypervisor has
# not enabled its register state, its tile instructions fault (SIGILL/SIGSEGV on the
# first quantised matrix product: Q4_1 and Q8_0 models, seen on a Sapphire Rapids VM).
# Such CPUs run the AVX-512 variants (zen4, cooperlake, icelake …) instead.
# Only the package itself: llama.cpp's own install rules also put a second copy of the
# libraries (plus libllama-common, linked to OpenSSL) in lib/ and the C headers in
# include/, which a wheel would spread into site-packages.
"$PY" - "$built" <<'PYEOF'
import sys, zipfile
path = sys.argv[1]
amx = "libggml-cpu-sapphirerapids.so"

def kept(name: str) -> bool:
    top = name.split("/", 1)[0]
    return (top == "llama_cpp" or top.endswith(".dist-info")) and not name.endswith(amx)

with zipfile.ZipFile(path) as src:
    entries = [(info, src.read(info)) for info in src.infolist()]
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
    for info, data in entries:
        if not kept(info.filename):
            continue
        if info.filename.endswith(".dist-info/RECORD"):
            data = b"".join(line for line in data.splitlines(keepends=True)
                            if kept(line.split(b",", 1)[0].decode()))
        out.writestr(info, data)
PYEOF
PYEOF
mv "$built" "$WHEELS/"
echo "$WHEELS/$(basename "$built")"
