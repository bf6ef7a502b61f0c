"""How big one stored item may be, applied at the pipeline's door.

A chat line of 50 MB or a JSONL record of 200 MB must not become one item: the
keyword index, snippets and every search that hits it would pay for its size.
Long text is split into parts of at most ``limit`` characters at paragraph, line
or word boundaries (like files are chunked), and text beyond ``MAX_PARTS`` parts
is not stored at all: the last part ends with a visible note saying how much was
left out. Other fields (title, speaker, app, URL…) are names, cut to
``FIELD_CHARS``.
"""
from __future__ import annotations

from dataclasses import replace

from core.records import Observation

DEFAULT_ITEM_CHARS = 256 * 1024
MIN_ITEM_CHARS = 4 * 1024
MAX_PARTS = 32
FIELD_CHARS = 4096
_MARKER_HEAD = "[redacted:"


def item_chars(setting: object) -> int:
    """The per-item limit from the ``item_max_kb`` setting (thousands of characters);
    the default for anything missing or malformed, never below ``MIN_ITEM_CHARS``."""
    if isinstance(setting, bool) or not isinstance(setting, (int, float)) or setting <= 0:
        return DEFAULT_ITEM_CHARS
    return max(MIN_ITEM_CHARS, int(setting * 1024))


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (at a word boundary when one is near),
    with a note saying how much was not stored."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = head.rfind(" ", limit - limit // 8)
    head = head[:cut] if cut > 0 else head
    left_out = len(text) - len(head)
    return f"{head}\n[… {left_out:,} more characters not stored: longer than Engram keeps]"


def cap_fields(obs: Observation) -> Observation:
    """Names and links longer than ``FIELD_CHARS`` cut short (a title is not a document)."""
    long = {name: value[:FIELD_CHARS] + "…"
            for name in ("title", "app", "url", "path", "thread", "speaker")
            if isinstance(value := getattr(obs, name), str) and len(value) > FIELD_CHARS}
    return replace(obs, **long) if long else obs


def _cut_at(text: str, start: int, limit: int) -> int:
    """Where the part starting at ``start`` ends: the last paragraph break, line
    break or space in its second half, else exactly ``limit`` characters on (moved
    back before a redaction marker so a marker is never split)."""
    end = start + limit
    floor = start + limit // 2
    for sep in ("\n\n", "\n", " "):
        at = text.rfind(sep, floor, end)
        if at > floor:
            return at + len(sep)
    marker = text.rfind(_MARKER_HEAD, max(start, end - 40), end)
    if marker > start and text.find("]", marker, end) < 0:
        return marker
    return end


def split_text(text: str, limit: int, max_parts: int = 2 * MAX_PARTS) -> list[str]:
    """``text`` in parts of at most ``limit`` characters; past ``max_parts`` parts the
    rest is left out and the last part says so. Short text comes back whole."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    start = 0
    while start < len(text) and len(parts) < max_parts:
        if len(text) - start <= limit:
            parts.append(text[start:])
            start = len(text)
            break
        end = _cut_at(text, start, limit)
        parts.append(text[start:end])
        start = end
    if start < len(text):
        left_out = len(text) - start
        parts[-1] = (parts[-1].rstrip()
                     + f"\n[… {left_out:,} more characters not stored: longer than Engram keeps]")
    return [p for p in parts if p.strip()]


def cap_observation(obs: Observation, limit: int) -> Observation:
    """Before redaction: fields cut to their size, text to ``MAX_PARTS`` parts' worth,
    so the redactor's (linear) time is bounded whatever came in."""
    obs = cap_fields(obs)
    if len(obs.text) > limit * MAX_PARTS:
        obs = replace(obs, text=truncate(obs.text, limit * MAX_PARTS))
    return obs


def split_observation(obs: Observation, limit: int) -> list[Observation]:
    """``obs`` as one or more observations of at most ``limit`` characters of text.

    The first part keeps the observation's identity, so what was stored before
    a limit existed is still recognised on re-import; later parts get
    ``<external id>#part<N>`` (or differ by their text's hash)."""
    obs = cap_fields(obs)
    texts = split_text(obs.text, limit)
    if len(texts) == 1:
        return [obs if texts[0] is obs.text else replace(obs, text=texts[0])]
    out = []
    for n, text in enumerate(texts, 1):
        ext = obs.external_id if n == 1 or obs.external_id is None else f"{obs.external_id}#part{n}"
        out.append(replace(obs, text=text, external_id=ext,
                           meta={**obs.meta, "part": n, "parts": len(texts)}))
    return out
