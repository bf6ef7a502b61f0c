"""Shared values and helpers of the chat-export parsers.

Every format module exposes ``parse(path, options) -> Iterator[ChatItem]``: a
stream of ``Observation`` (one per imported message), ``SkippedItem`` (something
that looked like content but could not be read, reported to the person) and
``Ignored`` (deliberately left out — system notices, tool calls — only counted).
``parse`` itself is a plain function that validates the file *before* returning
the generator, so a file that cannot be read at all raises ``BadInput`` before a
single message is handed out. Only a read failure during the stream (the file
deleted mid-import) raises from the iteration, after whole messages only.
"""
from __future__ import annotations

import hashlib
import json
import math
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Mapping, Union

from core.errors import BadInput
from core.records import Observation, to_utc


@dataclass(frozen=True)
class SkippedItem:
    """A message or conversation that could not be imported, and why.

    ``where`` is for the person: file, line or conversation index and, where
    the export has one, the conversation's title. Titles are content, so show
    these in the UI/CLI but do not write them to logs.
    """

    where: str
    reason: str


@dataclass(frozen=True)
class Ignored:
    """A message left out on purpose (system notice, tool output, empty)."""

    reason: str


ChatItem = Union[Observation, SkippedItem, Ignored]


@dataclass(frozen=True)
class ParseOptions:
    """Knobs shared by the parsers; each format uses the ones that apply.

    ``name``: conversation name when the export has none (WhatsApp, JSONL).
    ``tz``: zone of wall-clock times that carry no offset (WhatsApp, Telegram's
    ``date``, naive JSONL timestamps); None means this machine's local zone.
    ``day_first``: force WhatsApp's date order instead of guessing it.
    """

    name: str | None = None
    tz: tzinfo | None = None
    day_first: bool | None = None


@dataclass(frozen=True)
class ImportReport:
    """What an import did, once its stream has been consumed."""

    format: str
    path: str
    imported: int
    skipped: tuple[SkippedItem, ...]
    ignored: Mapping[str, int]


class ChatImport:
    """A single-use stream of the messages of one export, with a running report.

    Iterating yields ``Observation``s; while it runs, ``skipped`` fills with the
    items that could not be read and ``ignored`` counts what was left out on
    purpose. It can be iterated once. Stop iterating at any time to cancel;
    ``close()`` (or a ``with`` block) releases the files it holds open.
    """

    def __init__(self, path: Path, format: str, items: Iterator[ChatItem]) -> None:
        self.path = path
        self.format = format
        self.imported = 0
        self.skipped: list[SkippedItem] = []
        self.ignored: Counter[str] = Counter()
        self._items = items

    def __iter__(self) -> Iterator[Observation]:
        # Each message is held back until the next one of its conversation
        # arrives, so it can carry its neighbours' words (``meta["context"]``).
        waiting: dict[str, Observation] = {}
        last: dict[str, str] = {}
        for item in self._items:
            if isinstance(item, Observation):
                self.imported += 1
                key = item.thread or ""
                before = last.get(key)
                last[key] = _turn(item)
                if before:
                    item = replace(item, meta={**item.meta, "context": {"before": before}})
                held = waiting.pop(key, None)
                waiting[key] = item
                if held is not None:
                    yield _with_after(held, last[key])
            elif isinstance(item, SkippedItem):
                self.skipped.append(item)
            else:
                self.ignored[item.reason] += 1
        yield from waiting.values()

    def close(self) -> None:
        """Stop the underlying parser and release its file handles."""
        close = getattr(self._items, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "ChatImport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def report(self) -> ImportReport:
        """A frozen snapshot of the counts so far (complete after iteration)."""
        return ImportReport(self.format, str(self.path), self.imported,
                            tuple(self.skipped), dict(self.ignored))


CONTEXT_CHARS = 300


def _turn(obs: Observation) -> str:
    text = " ".join(obs.text.split())[:CONTEXT_CHARS]
    return f"{obs.speaker}: {text}" if obs.speaker else text


def _with_after(obs: Observation, after: str) -> Observation:
    context = {**obs.meta.get("context", {}), "after": after}
    return replace(obs, meta={**obs.meta, "context": context})


# ── identities ────────────────────────────────────────────────────────────────

def short_hash(*parts: object) -> str:
    """A short, stable hex digest of ``parts`` (for ids the export lacks)."""
    h = hashlib.blake2b(digest_size=10)
    for part in parts:
        h.update(str(part if part is not None else "").encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


class DerivedIds:
    """Content-derived ids that stay distinct for repeated identical messages.

    The n-th occurrence of the same content in a file gets suffix ``.n``; since
    exports only ever grow at the end, re-importing a longer export of the same
    chat gives every earlier message the id it had before.
    """

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def make(self, *parts: object) -> str:
        digest = short_hash(*parts)
        self._seen[digest] += 1
        n = self._seen[digest]
        return digest if n == 1 else f"{digest}.{n}"


# ── times ─────────────────────────────────────────────────────────────────────

def from_epoch(value: object) -> datetime | None:
    """Seconds (or milliseconds) since the epoch, as aware UTC; None if unusable."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    if seconds > 1e11:  # 13-digit values are milliseconds
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def local_to_utc(value: datetime, tz: tzinfo | None) -> datetime:
    """A naive wall-clock time in ``tz`` (None: this machine's zone) as UTC."""
    if value.tzinfo is None and tz is not None:
        value = value.replace(tzinfo=tz)
    return to_utc(value)


def from_iso(value: object, tz: tzinfo | None = None) -> datetime | None:
    """An ISO-8601 string as aware UTC; naive strings are wall-clock in ``tz``."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    try:
        return local_to_utc(parsed, tz)
    except (OverflowError, OSError, ValueError):
        return None


# ── reading exports ───────────────────────────────────────────────────────────

def find_member(archive: zipfile.ZipFile, basename: str) -> str | None:
    """The shallowest member of ``archive`` called ``basename`` (any folder)."""
    names = [n for n in archive.namelist()
             if PurePosixPath(n).name == basename and not n.startswith("__MACOSX/")]
    return min(names, key=lambda n: (n.count("/"), n)) if names else None


def read_export_bytes(path: Path, basename: str) -> tuple[bytes, str]:
    """The bytes of ``path``, or of its member ``basename`` when it is a zip.

    Returns the bytes and a label naming the file for error messages.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                member = find_member(archive, basename)
                if member is None:
                    raise BadInput(f"{path.name}: no {basename} inside this zip")
                return archive.read(member), f"{path.name}:{member}"
        return path.read_bytes(), path.name
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BadInput(f"{path.name}: cannot read the export ({exc})") from exc


class BadJson(BadInput):
    """A JSON file that does not parse; ``problem`` says what and where."""

    def __init__(self, label: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{label}: {problem}", hint=hint)
        self.problem = problem


def load_json(data: bytes, label: str) -> Any:
    """Parse a whole JSON document; a broken one raises ``BadJson`` naming where.

    JSON exports (ChatGPT, Claude, Telegram, Slack) are loaded whole: their
    formats have no record boundaries to stream on.
    """
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise BadJson(label, f"not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        truncated = not exc.doc.rstrip().endswith(("]", "}"))
        problem = (f"not valid JSON ({exc.msg.removesuffix(' at')}, line {exc.lineno}, "
                   f"column {exc.colno})" + ("; the file ends early, as if cut off"
                                             if truncated else ""))
        raise BadJson(label, problem, hint="Export it again and retry with the new file."
                      if truncated else None) from exc


def dict_of(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (for loose JSON)."""
    return value if isinstance(value, dict) else {}


def list_of(value: object) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one (for loose JSON)."""
    return value if isinstance(value, list) else []


def text_of(value: object) -> str:
    """``value`` if it is a string, else the empty string (for loose JSON)."""
    return value if isinstance(value, str) else ""


def make_observation(*, captured_at: datetime, text: str, thread: str,
                     speaker: str | None, external_id: str, app: str | None,
                     meta: dict[str, Any], url: str | None = None) -> Observation:
    """One chat message as an ``Observation`` (source ``"chat"``)."""
    return Observation(source="chat", captured_at=captured_at, text=text,
                       app=app, url=url, thread=thread, speaker=speaker,
                       external_id=external_id, meta=meta)
