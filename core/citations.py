"""Citations in an answer: ``[1]``, ``[2][3]`` — only ones that point at evidence survive.

``CitationFilter`` works on a token stream: it holds back a ``[`` until it knows
whether a valid citation follows, so a citation pointing at nothing is never
shown, not even for a moment.
"""
from __future__ import annotations

import re
from typing import Collection

_CITE = re.compile(r"\[(\d{1,3})\]")
_MAX_HELD = 6  # "[123]" plus one character decides every case


def cited_numbers(text: str) -> list[int]:
    """The citation numbers in ``text``, first appearance order, unique."""
    return list(dict.fromkeys(int(m.group(1)) for m in _CITE.finditer(text)))


def strip_invalid(text: str, valid: Collection[int]) -> str:
    """Remove citations whose number is not in ``valid``."""
    cleaned = _CITE.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)


class CitationFilter:
    """Feed streamed text in; get text out with invalid citations removed."""

    def __init__(self, valid: Collection[int]) -> None:
        self.valid = set(valid)
        self._held = ""

    def feed(self, piece: str) -> str:
        out = []
        for ch in piece:
            if self._held:
                self._held += ch
                decided = self._decide()
                if decided is not None:
                    out.append(decided)
            elif ch == "[":
                self._held = ch
            else:
                out.append(ch)
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return strip_invalid(held, self.valid) if held else ""

    def _decide(self) -> str | None:
        held = self._held
        inner = held[1:]
        if inner.endswith("]"):
            digits = inner[:-1]
            self._held = ""
            if digits.isdigit():
                return held if int(digits) in self.valid else ""
            return held
        if inner.isdigit() and len(held) < _MAX_HELD:
            return None  # still possibly a citation
        self._held = ""
        if inner[-1:] == "[":  # "[[" or "[12[": release all but the new bracket
            self._held = "["
            return held[:-1]
        return held
