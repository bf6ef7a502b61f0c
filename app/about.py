"""What this Engram is: version, build, llama.cpp, where its data lives (Qt-free).

Shared by ``engram --version``, ``engram about`` and the About panel in Settings.
A packaged build (``installers/build.sh``) carries ``engram-build.json`` beside its
code, written at build time: the version, the commit, when and how it was built.
A source checkout reports the installed package's version and "source".
"""
from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import Paths

BUILD_FILE = "engram-build.json"


@dataclass(frozen=True)
class BuildInfo:
    version: str
    build: str  # "pyinstaller 2026-12-06 3001750" or "source"
    commit: str | None
    built_at: str | None
    frozen: bool


def _bundle_dir() -> Path | None:
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) if getattr(sys, "frozen", False) and base else None


def build_info() -> BuildInfo:
    """The version and build of the running Engram; cheap (no llama.cpp, no Qt)."""
    bundle = _bundle_dir()
    if bundle is not None and (bundle / BUILD_FILE).is_file():
        try:
            data = json.loads((bundle / BUILD_FILE).read_text("utf-8"))
            commit, built_at = data.get("commit"), data.get("built_at")
            build = " ".join(str(p) for p in (data.get("tool", "bundle"), built_at,
                                                (commit or "")[:10]) if p)
            return BuildInfo(str(data["version"]), build, commit, built_at, True)
        except (OSError, ValueError, KeyError):
            pass
    return BuildInfo(_package_version(), "source", None, None, bundle is not None)


def _package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("engram")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def version_line() -> str:
    """One line for ``engram --version``."""
    info = build_info()
    return f"engram {info.version} ({info.build}; Python {platform.python_version()})"


def llama_info() -> dict[str, Any]:
    """llama.cpp as loaded here: package version, ggml build, the CPU code in use.

    Loads the native library (a fraction of a second), not a model.
    """
    try:
        from core.models import import_llama
        from core.models.backends import backend_info

        llama = import_llama()
    except Exception as exc:  # a broken native library: say so, don't crash About
        return {"error": f"llama.cpp could not be loaded: {exc}"}
    out: dict[str, Any] = {"llama_cpp_python": getattr(llama, "__version__", "?")}
    try:
        import ctypes

        from core.models.backends import native_library

        base = native_library(llama)
        for fn in ("ggml_version", "ggml_commit"):
            f = getattr(base, fn)
            f.restype = ctypes.c_char_p
            out[fn] = f().decode()
    except (OSError, AttributeError):
        pass
    info = backend_info()
    if info is not None:
        out["cpu_backend"] = (f"{info.cpu_variant} (chosen at run time)" if info.dynamic
                              else "built in (one CPU target, fixed when it was compiled)")
        if info.library:
            out["cpu_backend_library"] = info.library
    out["system_info"] = llama.llama_print_system_info().decode("utf-8", "replace").strip()
    return out


def about(paths: Paths, *, with_llama: bool = True) -> dict[str, Any]:
    """Everything the About page shows, as plain values."""
    from app.autostart import autostart_status

    info = build_info()
    out: dict[str, Any] = {
        "version": info.version,
        "build": info.build,
        "commit": info.commit,
        "built_at": info.built_at,
        "packaged": info.frozen,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "qt": _qt_version(),
        "data_dir": str(paths.data_dir),
        "database": str(paths.db_path),
        "models_dir": str(paths.models_dir),
        "settings": str(paths.settings_path),
        "program": str(Path(sys.executable).resolve()) if info.frozen else str(
            Path(__file__).resolve().parent.parent),
        "start_at_login": autostart_status().describe(),
    }
    if with_llama:
        out["llama_cpp"] = llama_info()
    return out


def _qt_version() -> str | None:
    try:
        import PySide6  # the package only: Qt's libraries stay unloaded

        return str(PySide6.__version__)
    except ImportError:
        return None
