"""Values of folder indexing: its options, and what a scan did."""
from __future__ import annotations

import stat
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from core.records import reason_group
from ingest.files.ignore import DEFAULT_IGNORE_PATTERNS

MB = 1024 * 1024
# Control characters in a file name could fake output lines or move the cursor.
_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7f, 0xa0)]}
_CONTROL.update({0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t"})


def shown_path(path: str) -> str:
    """``path`` safe to print on one terminal line: control characters and bytes
    that are not UTF-8 (kept by Python as surrogates) written as escapes."""
    if path.isprintable():
        return path
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.translate(_CONTROL)


def special_kind(mode: int) -> str:
    """What a non-regular file is, in a word ("FIFO", "device", "socket")."""
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


@dataclass(frozen=True)
class IndexOptions:
    """Which files a scan reads: ignore patterns, hidden files, size limits."""

    patterns: tuple[str, ...] = DEFAULT_IGNORE_PATTERNS
    max_bytes: int = 20 * MB
    ignore_hidden: bool = True
    data_max_bytes: int = 256 * 1024  # larger JSON/XML/logs/minified code: name + head only


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file that was not simply unchanged."""

    path: str
    action: Literal["indexed", "skipped", "removed", "moved"]
    added: int = 0
    kept: int = 0
    removed: int = 0
    reason: str | None = None
    dest: str | None = None

    def describe(self) -> str:
        """One line for a person: "indexed notes.md (2 new, 5 unchanged)"."""
        path = shown_path(self.path)
        if self.action == "moved":
            return f"moved {path} → {shown_path(self.dest or '')}"
        if self.action == "skipped":
            return f"skipped {path}: {self.reason}"
        if self.action == "removed":
            return f"forgot {path} ({self.removed} item{'s' * (self.removed != 1)})"
        parts = [f"{self.added} new"]
        if self.kept:
            parts.append(f"{self.kept} unchanged")
        if self.removed:
            parts.append(f"{self.removed} gone")
        noted = f" — {self.reason}" if self.reason else ""
        return f"indexed {path} ({', '.join(parts)}){noted}"


@dataclass
class ScanReport:
    """Counts of one scan (or one batch of watcher work). Built by one thread."""

    folder: str
    indexed: int = 0      # files read and stored (new or changed)
    unchanged: int = 0    # files already indexed, not read again
    skipped: int = 0      # files not indexed, with a reason in ``problems``
    removed: int = 0      # files gone since the last scan, forgotten
    chunks_added: int = 0
    chunks_kept: int = 0
    chunks_removed: int = 0
    relocated: int = 0    # stored chunks given a new path or position
    bytes_read: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def files(self) -> int:
        return self.indexed + self.unchanged + self.skipped

    def merge(self, other: "ScanReport") -> "ScanReport":
        """Add ``other``'s counts into this report; returns self."""
        for name in ("indexed", "unchanged", "skipped", "removed", "chunks_added",
                     "chunks_kept", "chunks_removed", "relocated", "bytes_read"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        self.cancelled = self.cancelled or other.cancelled
        self.problems += other.problems
        self.outcomes += other.outcomes
        return self

    @property
    def notes(self) -> list[tuple[str, str]]:
        """Files read only in part, and what was left out ("page 3: no readable text layer")."""
        return [(o.path, o.reason) for o in self.outcomes if o.action == "indexed" and o.reason]

    def reasons(self) -> dict[str, int]:
        """Skipped files by kind of reason, most common first."""
        counts = Counter(reason_group(reason) for _, reason in self.problems)
        return dict(counts.most_common())

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder, "files": self.files, "indexed": self.indexed,
            "unchanged": self.unchanged, "skipped": self.skipped, "removed": self.removed,
            "chunks_added": self.chunks_added, "chunks_kept": self.chunks_kept,
            "chunks_removed": self.chunks_removed, "relocated": self.relocated,
            "bytes_read": self.bytes_read, "seconds": round(self.seconds, 3),
            "cancelled": self.cancelled, "skipped_reasons": self.reasons(),
            "problems": [{"path": p, "reason": r} for p, r in self.problems],
            "notes": [{"path": p, "note": n} for p, n in self.notes],
        }
