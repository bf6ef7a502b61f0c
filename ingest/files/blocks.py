"""What extraction produces: a document as an ordered list of blocks.

A ``Block`` is a heading, a paragraph, a piece of code or a table, with the path
of headings it sits under and its page (PDF). Keeping that structure lets
chunking cut between paragraphs and sentences, keep a heading with the text
after it, and label every chunk "file.md › Section".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BlockKind = Literal["heading", "paragraph", "code", "table"]


@dataclass(frozen=True)
class Block:
    """One structural piece of a document.

    ``heading`` is the path of section titles this block belongs to, outermost
    first; for a heading block it ends with the heading itself. ``level`` is a
    heading's depth (1 = top; 0 for a document title). ``page`` is 1-based.
    """

    kind: BlockKind
    text: str
    heading: tuple[str, ...] = ()
    page: int | None = None
    level: int = 0


@dataclass(frozen=True)
class Extracted:
    """The readable content of one file.

    ``kind`` names the reader used ("text", "code", "markdown", "html", "pdf",
    "docx", "odt", "csv"). ``notes`` lists problems that did not stop
    extraction (an unreadable page, a CSV cut at its row limit).
    """

    path: Path
    kind: str
    blocks: tuple[Block, ...]
    title: str | None = None
    encoding: str | None = None
    pages: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """All blocks' text, paragraphs separated by blank lines."""
        return "\n\n".join(block.text for block in self.blocks)


@dataclass(frozen=True)
class Skipped:
    """A file that was deliberately not read, and the reason a person would see."""

    path: Path
    reason: str


class Outline:
    """Tracks the current heading path while a document is read top to bottom."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> tuple[str, ...]:
        """Open a heading at ``level``; returns the path ending with it."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        return self.path

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._stack)


def paragraphs(text: str, kind: BlockKind = "paragraph",
               heading: tuple[str, ...] = (), page: int | None = None) -> list[Block]:
    """Split plain text on blank lines into blocks of ``kind``."""
    blocks: list[Block] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(Block(kind, "\n".join(current), heading, page))
            current = []
    if current:
        blocks.append(Block(kind, "\n".join(current), heading, page))
    return blocks
