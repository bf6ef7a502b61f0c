"""Values that cross threads and module boundaries: frozen, typed, small.

Times are timezone-aware UTC ``datetime`` objects everywhere in Python; the store
keeps them as UNIX seconds (REAL).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Mapping

SourceKind = str  # "note", "screen", "file", "chat", "assistant" … (open set)
MemoryType = Literal["core", "episodic", "semantic", "procedural"]
MEMORY_TYPES: tuple[MemoryType, ...] = ("core", "episodic", "semantic", "procedural")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive datetimes are taken as local time."""
    if value.tzinfo is None:
        value = value.astimezone()  # interpret as local wall-clock time
    return value.astimezone(timezone.utc)


def to_epoch(value: datetime) -> float:
    return to_utc(value).timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, timezone.utc)


@dataclass(frozen=True)
class Observation:
    """Something a source saw, before redaction and dedupe.

    ``external_id`` is the source's stable identity for this item (file path +
    chunk, chat message id). Without one, identity is the content hash, so the
    same text seen twice by the same source is stored once.
    ``meta`` holds JSON-serialisable, source-specific details (OCR word boxes,
    chat session, file chunk position); it is stored as JSON.
    ``image`` is an already-encoded small image (WebP/JPEG thumbnail) or None;
    ``full_image`` an optional full-resolution one kept beside it (screen
    capture with full frames turned on), stored only with a thumbnail.
    """

    source: SourceKind
    captured_at: datetime
    text: str
    ended_at: datetime | None = None
    app: str | None = None
    title: str | None = None
    url: str | None = None
    path: str | None = None
    thread: str | None = None
    speaker: str | None = None
    external_id: str | None = None
    image: bytes | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    full_image: bytes | None = None

    def content_hash(self) -> bytes:
        """Identity of the content when the source has no external id."""
        h = hashlib.blake2b(digest_size=16)
        for part in (self.source, self.app, self.title, self.url, self.path,
                     self.thread, self.speaker, self.text):
            h.update((part or "").encode("utf-8", "surrogatepass"))
            h.update(b"\x1f")
        return h.digest()


@dataclass(frozen=True)
class Event:
    """A stored observation. Immutable except by the person's own forget."""

    id: int
    source: SourceKind
    started_at: datetime
    ended_at: datetime
    text: str
    app: str | None = None
    title: str | None = None
    url: str | None = None
    path: str | None = None
    thread: str | None = None
    speaker: str | None = None
    external_id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    has_image: bool = False


@dataclass(frozen=True)
class Provenance:
    """Where a hit came from, as the source knows it."""

    external_id: str | None = None
    app: str | None = None
    title: str | None = None
    url: str | None = None
    path: str | None = None
    thread: str | None = None
    speaker: str | None = None


@dataclass(frozen=True)
class SearchHit:
    """One display-ready search result.

    ``snippet`` marks matched words as «word». ``kind`` is "event" or "memory";
    ``memory_type`` is set for memories, and ``sources`` holds a memory's source
    event ids (the message a dated fact came from), so a hit leads to its evidence.
    """

    id: int
    kind: Literal["event", "memory"]
    source: SourceKind
    time: datetime
    title: str
    snippet: str
    score: float
    provenance: Provenance
    text: str = ""
    memory_type: MemoryType | None = None
    end_time: datetime | None = None
    has_image: bool = False
    sources: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        p = self.provenance
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "source": self.source,
            "time": self.time.isoformat(),
            "title": self.title,
            "snippet": self.snippet,
            "score": round(self.score, 6),
            "external_id": p.external_id,
            "app": p.app,
            "path": p.path,
            "url": p.url,
            "conversation": p.thread,
            "speaker": p.speaker,
        }
        if self.memory_type:
            out["memory_type"] = self.memory_type
            out["sources"] = list(self.sources)
        if self.end_time:
            out["end_time"] = self.end_time.isoformat()
        return out


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied to a search. Times are aware UTC datetimes."""

    since: datetime | None = None
    until: datetime | None = None
    sources: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    memory_types: tuple[MemoryType, ...] = ()
    include_events: bool = True
    include_memories: bool = True


@dataclass(frozen=True)
class Changes:
    """What a write did, so views refresh once from the summary."""

    added: tuple[int, ...] = ()
    duplicates: int = 0
    updated: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (what, why)
    memories: tuple[int, ...] = ()  # memories added, edited or removed (by id)
    matched: tuple[int, ...] = ()  # ids of stored events that the duplicates matched

    def __add__(self, other: "Changes") -> "Changes":
        return Changes(
            added=self.added + other.added,
            duplicates=self.duplicates + other.duplicates,
            matched=self.matched + other.matched,
            updated=self.updated + other.updated,
            removed=self.removed + other.removed,
            skipped=self.skipped + other.skipped,
            memories=self.memories + other.memories,
        )


# -- what a source hands its sink besides observations ------------------------------------
@dataclass(frozen=True)
class Relocation:
    """A stored event's new place: the same content under a new path and identity.

    Used when a file is moved or renamed, or a chunk shifts position in its
    file: the event keeps its id (and so whatever was built from it), only
    where it lives and how the source names it change.
    """

    event_id: int
    path: str | None
    external_id: str | None
    title: str | None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Retract:
    """Events a source no longer stands behind (a deleted file, a changed chunk).

    ``scrub`` (a deletion) also merges the keyword index so the words are gone
    from its pages; a replaced chunk skips that: its file still holds the text.
    """

    event_ids: tuple[int, ...]
    scrub: bool = True


@dataclass(frozen=True)
class Relocate:
    """Events that moved (a renamed file, a shifted chunk): same content, new place."""

    relocations: tuple[Relocation, ...]


SinkItem = Observation | Retract | Relocate
"""What a source hands its sink; the pipeline is the only one that acts on it."""


# -- what the folder indexer remembers about a file -------------------------------------
FILE_SOURCE = "file"


@dataclass(frozen=True)
class FileState:
    """One file as last seen by the indexer.

    ``mtime_ns`` and ``size`` are from the stat taken *before* the file was read,
    so a file that changed while being read looks changed at the next scan.
    """

    path: str
    size: int
    mtime_ns: int
    status: str  # "indexed" | "skipped"
    problem: str | None = None
    kind: str | None = None
    chunks: int = 0
    checked_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class FileEvent:
    """A stored chunk of a file: enough to diff it against a new reading."""

    id: int
    path: str
    external_id: str | None
    title: str | None
    meta: Mapping[str, Any]


def reason_group(reason: str) -> str:
    """The kind of a skip reason, without its per-file detail.

    "unreadable PDF (EOF marker not found)" → "unreadable PDF".
    """
    return reason.split(" (", 1)[0].split(": ", 1)[0]
