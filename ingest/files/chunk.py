"""Cut extracted documents into search-sized chunks that keep their context.

Rules, in order of importance:
- a heading is never the last thing in a chunk: it is glued to the text after it;
- a chunk starts at a paragraph, a sentence or (code, tables) a line — inside a
  sentence only when that one sentence is longer than ``max_chars``;
- paragraphs are packed up to about ``target_chars``; a chunk may grow to
  ``max_chars`` rather than leave a small one behind, and never beyond it;
- a new section starts a new chunk once the current one has some substance;
- every chunk carries its heading path ("Install › Linux") and its first page.

Pure and deterministic: the same ``Extracted`` always gives the same chunks,
so a chunk's identity (path, index, content hash) is stable across re-scans.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.files.blocks import Block, Extracted

HEADING_SEPARATOR = " › "
# Where a sentence may end: punctuation then space (or, for CJK, no space), or
# a line break (list items, verse, addresses).
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+|[。！？]+[\"'”’」』)\]]*\s*|\n+")
_PARAGRAPH_GAP = "\n\n"


@dataclass(frozen=True)
class Chunk:
    """One piece of a document, ready to be an observation.

    ``heading`` is the section path joined with " › " (None outside any
    section); ``title`` prefixes it with the file name for display.
    ``content_hash`` is the hex BLAKE2b-128 of ``text``.
    """

    index: int
    text: str
    heading: str | None
    title: str
    page: int | None
    content_hash: str


def chunk(extracted: Extracted, *, target_chars: int = 1000,
          max_chars: int = 1500) -> list[Chunk]:
    """Split ``extracted`` into ordered chunks (see the module docstring)."""
    if not 0 < target_chars <= max_chars:
        raise ValueError("need 0 < target_chars <= max_chars")
    packer = _Packer(target_chars, max_chars)
    pending: list[Block] = []  # headings waiting for their first text
    for block in extracted.blocks:
        if block.kind == "heading":
            pending.append(block)
            continue
        text = block.text.strip("\n")
        if not text.strip():
            continue
        lead = "\n".join(h.text for h in pending)
        section = pending[0].heading if pending else block.heading
        page = pending[0].page if pending and pending[0].page else block.page
        pending = []
        packer.add(f"{lead}\n{text}" if lead else text, section, page,
                   by_lines=block.kind in ("code", "table"))
    if pending:  # headings at the very end, with nothing under them
        packer.add("\n".join(h.text for h in pending), pending[0].heading, pending[0].page,
                   by_lines=True)
    packer.flush()
    name = extracted.path.name
    chunks: list[Chunk] = []
    for index, (text, section, page) in enumerate(packer.chunks):
        heading = HEADING_SEPARATOR.join(section) if section else None
        title = f"{name}{HEADING_SEPARATOR}{heading}" if heading else name
        chunks.append(Chunk(index, text, heading, title, page, content_hash(text)))
    return chunks


def content_hash(text: str) -> str:
    """Hex BLAKE2b-128 of ``text`` (UTF-8)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def external_id(path: Path, piece: Chunk) -> str:
    """A chunk's stable identity: file path, position and content hash."""
    return f"file:{path}#{piece.index}:{piece.content_hash}"


class _Packer:
    """Greedy packing of paragraphs (and, when needed, their sentences)."""

    def __init__(self, target: int, maximum: int) -> None:
        self.target = target
        self.maximum = maximum
        self.minimum = target // 3  # below this, a new section does not force a cut
        self.chunks: list[tuple[str, tuple[str, ...], int | None]] = []
        self._parts: list[str] = []
        self._size = 0
        self._section: tuple[str, ...] = ()
        self._page: int | None = None

    def add(self, unit: str, section: tuple[str, ...], page: int | None, by_lines: bool) -> None:
        if self._parts and section != self._section and self._size >= self.minimum:
            self.flush()
        joined = self._size + len(_PARAGRAPH_GAP) + len(unit) if self._parts else len(unit)
        if joined <= self.target or (joined <= self.maximum and self._size < self.target // 2):
            self._append(_PARAGRAPH_GAP + unit if self._parts else unit, section, page)
            return
        self.flush()
        if len(unit) <= self.maximum:
            self._append(unit, section, page)
            return
        # Too long for one chunk: fill chunks with whole sentences (or lines).
        for piece in _pieces(unit, by_lines, self.maximum):
            if self._parts and self._size + len(piece.rstrip()) > self.target:
                self.flush()
            self._append(piece, section, page)

    def _append(self, text: str, section: tuple[str, ...], page: int | None) -> None:
        if not self._parts:
            text = text.lstrip()
            self._section, self._page = section, page
        self._parts.append(text)
        self._size += len(text)

    def flush(self) -> None:
        text = "".join(self._parts).strip()
        if text:
            self.chunks.append((text, self._section, self._page))
        self._parts, self._size = [], 0


def _pieces(text: str, by_lines: bool, maximum: int) -> list[str]:
    """Sentences (or lines) of ``text`` with their trailing whitespace, each at
    most ``maximum`` characters: an over-long one is cut at spaces."""
    pieces: list[str] = []
    if by_lines:
        spans = text.splitlines(keepends=True)
    else:
        spans, start = [], 0
        for end in _SENTENCE_END.finditer(text):
            spans.append(text[start:end.end()])
            start = end.end()
        if start < len(text):
            spans.append(text[start:])
    for span in spans:
        while len(span) > maximum:
            cut = span.rfind(" ", 0, maximum)
            cut = cut + 1 if cut > maximum // 2 else maximum
            pieces.append(span[:cut])
            span = span[cut:]
        if span:
            pieces.append(span)
    return pieces
