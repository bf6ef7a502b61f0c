"""Local models through llama.cpp. Import llama_cpp only through ``import_llama``."""
from __future__ import annotations

import os
from types import ModuleType


def import_llama() -> ModuleType:
    """Import llama_cpp with thread settings that don't collapse on a busy machine.

    ggml's OpenMP threads busy-wait by default; with the UI, capture and OCR
    sharing two cores that collapses throughput several times over
    (PLATFORM-NOTES). PASSIVE makes idle threads sleep. Must be set before the
    library loads, so every import of llama_cpp goes through here.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import llama_cpp

    return llama_cpp


def default_threads() -> int:
    """Leave one core to the UI and capture."""
    return max(1, (os.cpu_count() or 2) - 1)
