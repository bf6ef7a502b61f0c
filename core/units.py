"""Sizes for people: "1.2 GB" out, "5GB" / "500 MB" in (binary units, like file managers)."""
from __future__ import annotations

import re

from core.errors import UsageError

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024 ** 2, "mb": 1024 ** 2,
          "g": 1024 ** 3, "gb": 1024 ** 3, "t": 1024 ** 4, "tb": 1024 ** 4}


def format_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"  # pragma: no cover - the loop returns


def parse_size(text: str) -> int:
    """ "5GB", "1.5 g", "500MB", "0" → bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise UsageError(f"{text!r} is not a size; write it like 500MB or 5GB.")
    return int(float(m.group(1)) * _UNITS[unit])


def plural(n: int, word: str, many: str | None = None) -> str:
    """A count with its noun: ``1 item``, ``3 items``, ``0 items`` (``many``: an
    irregular plural, ``memories``)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
