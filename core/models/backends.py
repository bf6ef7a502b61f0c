"""Which llama.cpp CPU code runs here: loading ggml's backends from the package.

A portable llama-cpp-python build (``installers/llama_wheel.sh``: ``GGML_BACKEND_DL``
with ``GGML_CPU_ALL_VARIANTS``) ships one CPU backend per x86-64 generation
(``libggml-cpu-haswell.so``, ``-icelake``, ``-sapphirerapids`` …) and no CPU code in
``libggml`` itself. ggml chooses the best variant the processor supports — but it
looks for them next to the *executable* (python, or the frozen ``engram``) and in
the working directory, never beside ``libggml``. So before llama.cpp initialises,
the backends are loaded from the package's own library folder. A default
(``-march=native``, statically registered) build needs none of this and is left
alone.
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

_VARIANT = re.compile(r"ggml-cpu-([A-Za-z0-9_.]+)\.(?:so|dll|dylib)$")


@dataclass(frozen=True)
class BackendInfo:
    """How llama.cpp's CPU code was found: ``dynamic`` when it came from a variant
    library chosen at run time (``cpu_variant``, e.g. ``"icelake"``)."""

    dynamic: bool
    cpu_variant: str | None
    library: str | None
    lib_dir: str


_info: BackendInfo | None = None


def library_dir(llama_cpp: ModuleType) -> Path:
    """The folder holding ``libllama``/``libggml`` (``LLAMA_CPP_LIB_PATH`` wins, as
    in llama-cpp-python's own loader)."""
    override = os.environ.get("LLAMA_CPP_LIB_PATH")
    if override:
        return Path(override)
    return Path(llama_cpp.__file__).resolve().parent / "lib"


def native_library(llama_cpp: ModuleType) -> ctypes.CDLL:
    """A handle that finds ggml's functions in the copy llama.cpp itself uses.

    Symbols are looked up through ``libllama``'s own handle, which searches its
    dependencies: opening ``libggml`` again by path could map a second copy (wheels
    carry ``libggml.so`` and ``libggml.so.0`` as separate files) with a registry of
    its own, and backends registered there would stay invisible to llama.cpp.
    """
    lib = getattr(getattr(llama_cpp, "llama_cpp", None), "_lib", None)
    if isinstance(lib, ctypes.CDLL):
        return lib
    return ctypes.CDLL(str(library_dir(llama_cpp) / _ggml_name()))


def _ggml_name() -> str:
    if sys.platform == "win32":
        return "ggml.dll"
    return "libggml.dylib" if sys.platform == "darwin" else "libggml.so"


def load_backends(llama_cpp: ModuleType) -> BackendInfo:
    """Register ggml's backends from the package folder if none is registered yet.

    Must run after ``import llama_cpp`` (which loads ``libggml``) and before
    ``llama_backend_init`` (which would otherwise search the wrong folders and find
    no CPU backend at all). Idempotent.
    """
    global _info
    if _info is not None:
        return _info
    lib_dir = library_dir(llama_cpp)
    # ggml names every loadable backend .so outside Windows, macOS included.
    variants = sorted(lib_dir.glob("ggml-cpu-*.dll" if sys.platform == "win32"
                                   else "libggml-cpu-*.so"))
    if not variants:  # a native build: the CPU backend is linked in
        _info = BackendInfo(False, None, None, str(lib_dir))
        return _info
    ggml = native_library(llama_cpp)
    ggml.ggml_backend_reg_count.restype = ctypes.c_size_t
    if ggml.ggml_backend_reg_count() == 0:
        ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        ggml.ggml_backend_load_all_from_path(os.fsencode(lib_dir))
    library = _loaded_variant(lib_dir) or _best_scored(variants)
    match = _VARIANT.search(library or "")
    _info = BackendInfo(True, match.group(1) if match else None, library, str(lib_dir))
    return _info


def backend_info() -> BackendInfo | None:
    """What ``load_backends`` found (None before llama.cpp was first loaded)."""
    return _info


def _loaded_variant(lib_dir: Path) -> str | None:
    """The variant library actually mapped into this process (Linux)."""
    try:
        maps = Path("/proc/self/maps").read_text("utf-8", errors="replace")
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if _VARIANT.search(path):
            return path.strip()
    return None


def _best_scored(variants: list[Path]) -> str | None:
    """Elsewhere: the variant ggml's own scorer prefers (the one it loaded)."""
    best, best_score = None, 0
    for path in variants:
        try:
            lib = ctypes.CDLL(str(path))
            score = int(lib.ggml_backend_score())
        except (OSError, AttributeError):
            continue
        if score > best_score:
            best, best_score = str(path), score
    return best
