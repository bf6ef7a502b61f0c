"""Local model runtimes (llama.cpp through llama-cpp-python).

``import_llama()`` is the one way Engram imports ``llama_cpp``: it sets the
environment the native library reads while it loads, routes llama.cpp's log
output into Python logging, and initialises the backend once.
"""
from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
from types import ModuleType
from typing import Any

# Read by libgomp (ggml's OpenMP runtime) once, when the native library loads.
# PASSIVE makes idle worker threads sleep instead of spinning: with 2 threads on
# a 2-core machine and one busy process beside them, embedding ran at ≈5
# sentences/s with ACTIVE and ≈78/s with PASSIVE (tests/benchmarks/bench_embedding.py).
# setdefault: a person's own choice wins.
_ENV_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}

# ggml_log_level: 1 DEBUG, 2 INFO, 3 WARN, 4 ERROR, 5 CONT (continues the previous line).
# llama.cpp's INFO is a dump of every load (metadata, tensor types): debug for us.
_LEVELS = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING, 4: logging.ERROR}

llama_log = logging.getLogger("engram.llama")
# Without this, Python's last-resort handler would print llama.cpp warnings to
# stderr in a CLI that configured no logging; the app's own handlers still see them.
llama_log.addHandler(logging.NullHandler())

_lock = threading.Lock()
_llama: ModuleType | None = None
_log_callback: Any = None  # the ctypes callback must stay referenced while installed
_last_level = logging.DEBUG


def import_llama() -> ModuleType:
    """Import and initialise ``llama_cpp`` (idempotent, thread-safe).

    Call this instead of ``import llama_cpp`` so the OpenMP wait policy is set
    before the native library loads and llama.cpp logs through ``engram.llama``
    rather than writing to stderr.
    """
    global _llama, _log_callback
    with _lock:
        if _llama is not None:
            return _llama
        already_loaded = "llama_cpp" in sys.modules
        for key, value in _ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        import llama_cpp  # noqa: PLC0415 — deliberately late, after the environment

        if already_loaded:
            llama_log.debug("llama_cpp was imported before import_llama(); "
                            "OMP_WAIT_POLICY may not have taken effect")
        _log_callback = llama_cpp.llama_log_callback(_forward_log)
        llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
        from core.models.backends import load_backends  # noqa: PLC0415

        load_backends(llama_cpp)  # a portable build's CPU variants, before init looks
        llama_cpp.llama_backend_init()
        _llama = llama_cpp
        return llama_cpp


def _forward_log(level: int, text: bytes, _user_data: Any) -> None:
    # Called from native code on whichever thread logs: keep it tiny and never raise.
    global _last_level
    try:
        py_level = _last_level if level == 5 else _LEVELS.get(level, logging.DEBUG)
        _last_level = py_level
        if llama_log.isEnabledFor(py_level):
            message = text.decode("utf-8", errors="replace").rstrip()
            if message:
                llama_log.log(py_level, "%s", message)
    except Exception:  # an exception cannot cross back into C
        pass


# Llama(verbose=False) silences loading by redirecting the process's stdout and
# stderr file descriptors; two loads at once could leave them pointing at
# /dev/null for good, so constructions are serialised.
_construct_lock = threading.Lock()


def new_llama(**kwargs: Any) -> Any:
    """Construct ``llama_cpp.Llama`` safely (one at a time, logs routed)."""
    llama = import_llama()
    with _construct_lock:
        return llama.Llama(verbose=False, **kwargs)


def default_threads() -> int:
    """Threads for llama.cpp: all cores but one, so the UI and capture keep a core."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)
