"""Stored text made safe to print on a terminal (imported by the few-imports CLI path too)."""
from __future__ import annotations

import re

# What must not reach a terminal raw from stored text (titles, file names, chat
# names, snippets): C0/C1 controls (ESC sequences move the cursor or recolour, a CR
# overwrites the line, a newline fakes an output line), bidirectional overrides and
# line separators (they reorder or break what is shown), and lone surrogates (bytes
# of a file name that are not UTF-8).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069\ud800-\udfff]")
_UNSAFE_KEEPING_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e"
                                   "\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:  # a byte kept by surrogateescape: show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str, *, keep_lines: bool = False) -> str:
    """``text`` safe to print: control characters written as visible escapes
    (``\\n``, ``\\e``, ``\\x07``…). ``keep_lines`` lets newlines and tabs through, for
    text that is meant to span lines (an answer, a whole note)."""
    pattern = _UNSAFE_KEEPING_LINES if keep_lines else _UNSAFE
    return pattern.sub(_escape, text)
