"""Shared values and helpers of the chat-export parsers.

Every format module exposes ``parse(path, options) -> Iterator[ChatItem]``: a
stream of ``Observation`` (one per imported message), ``SkippedItem`` (something
that looked like content but could not be read, reported to the person),
``Ignored`` (deliberately left out — system notices, tool calls — only counted)
and ``Note`` (a message was stored, but read with an assumption the person
should hear about, e.g. "23:59 PM" read as 23:59). Every message of a file is
exactly one of stored, skipped or ignored, so the report's counts add up.
``parse`` itself is a plain function that validates the file *before* returning
the generator, so a file that cannot be read at all raises ``BadInput`` before a
single message is handed out. Only a read failure during the stream (the file
deleted mid-import) raises from the iteration, after whole messages only.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import stat
import zipfile
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path, PurePosixPath
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator, Mapping, Union

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
    reason: str  # a fixed phrase, so reports can count per reason
    detail: str = ""  # the particular value, e.g. the unreadable timestamp

    def describe(self) -> str:
        """The reason with its detail, for one line of a report."""
        return f"{self.reason} ({self.detail})" if self.detail else self.reason


@dataclass(frozen=True)
class Ignored:
    """A message left out on purpose (system notice, tool output, empty)."""

    reason: str


@dataclass(frozen=True)
class Note:
    """Something the person should know about how a stored message was read."""

    what: str


ChatItem = Union[Observation, SkippedItem, Ignored, Note]


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
    notes: Mapping[str, int] = field(default_factory=dict)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        """How many messages (or units) were skipped, per reason."""
        return dict(Counter(s.reason for s in self.skipped))

    @property
    def total(self) -> int:
        """Every message read from the file: imported + skipped + ignored."""
        return self.imported + len(self.skipped) + sum(self.ignored.values())


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
        self.notes: Counter[str] = Counter()
        self._items = items

    def __iter__(self) -> Iterator[Observation]:
        # Each message is held back until the next one of its conversation
        # arrives, so it can carry its neighbours' words (``meta["context"]``).
        waiting: dict[str, Observation] = {}
        last: dict[str, str] = {}
        for item in self._items:
            if isinstance(item, Observation) and item.meta.get("cut"):
                self.notes[CUT_NOTE] += 1
            if isinstance(item, Observation) and "context" in item.meta:
                # The parser knows the neighbours better (conversation trees).
                self.imported += 1
                yield item
            elif isinstance(item, Observation):
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
            elif isinstance(item, Note):
                self.notes[item.what] += 1
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
                            tuple(self.skipped), dict(self.ignored), dict(self.notes))


CONTEXT_CHARS = 300


def turn_of(obs: Observation) -> str:
    """One message as a short "speaker: text" line for its neighbours' context."""
    return _turn(obs)


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
    chat gives every earlier message the id it had before. The content always
    includes the message's time, so repeats sit close together: only the most
    recent ``window`` distinct contents are remembered, which keeps memory
    bounded on exports of any length.
    """

    def __init__(self, window: int = 200_000) -> None:
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._window = window

    def make(self, *parts: object) -> str:
        digest = short_hash(*parts)
        n = self._seen.pop(digest, 0) + 1
        self._seen[digest] = n
        if len(self._seen) > self._window:
            self._seen.popitem(last=False)
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


# A message longer than this is cut, with a visible note, before it is stored:
# a 50 MB "line" is not a message anyone wrote, and the pipeline splits what is
# left into items of its own size limit.
MAX_MESSAGE_CHARS = 1024 * 1024
# Whole-file reads (Slack's small JSON files) stop at this size.
MAX_SMALL_FILE = 256 * 1024 * 1024
CUT_NOTE = "message cut to 1 MB"


def bound_text(text: str, dropped: int = 0) -> tuple[str, bool]:
    """``text`` cut to ``MAX_MESSAGE_CHARS`` with a visible note; whether it was cut.

    ``dropped`` counts characters the reader already left out of ``text``.
    """
    if len(text) <= MAX_MESSAGE_CHARS and not dropped:
        return text, False
    extra = max(0, len(text) - MAX_MESSAGE_CHARS) + dropped
    return (text[:MAX_MESSAGE_CHARS].rstrip()
            + f"\n[… {extra:,} more characters not imported]"), True


def check_regular(path: Path) -> None:
    """Refuse, before anything reads it, a path that is not a file or folder.

    A FIFO would block the import forever and ``/dev/zero`` never ends.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise BadInput(f"{path}: no such file or folder") from exc
    except OSError as exc:
        raise BadInput(f"{path.name}: cannot read ({exc.strerror or exc})") from exc
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise BadInput(f"{path.name}: not a regular file (a pipe, device or socket)",
                       hint="Save the export to a file and import that file.")


def export_opener(path: Path, basename: str) -> tuple[Callable[[], IO[bytes]], str]:
    """A function opening ``path`` (or its zip member ``basename``) for reading.

    Returns the opener and a label naming the file for messages. Raises
    ``BadInput`` when the file or member cannot be found or opened.
    """
    check_regular(path)
    try:
        if not zipfile.is_zipfile(path):
            path.open("rb").close()
            return (lambda: path.open("rb")), path.name
        with zipfile.ZipFile(path) as archive:
            member = find_member(archive, basename)
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BadInput(f"{path.name}: cannot read the export ({exc})") from exc
    if member is None:
        raise BadInput(f"{path.name}: no {basename} inside this zip")

    @contextmanager
    def open_member() -> Iterator[IO[bytes]]:
        try:
            with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
                yield handle
        except (zipfile.BadZipFile, EOFError) as exc:
            raise BadInput(f"{path.name}:{member}: cannot read ({exc})") from exc
    return open_member, f"{path.name}:{member}"  # type: ignore[return-value]


def read_small(path: Path, label: str, limit: int = MAX_SMALL_FILE) -> bytes:
    """A regular file's bytes, refusing non-regular files and files over ``limit``."""
    check_regular(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise BadInput(f"{label}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise BadInput(f"{label}: larger than {limit // (1024 * 1024)} MB")
    return data


class BadJson(BadInput):
    """A JSON file that does not parse; ``problem`` says what and where."""

    def __init__(self, label: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{label}: {problem}", hint=hint)
        self.problem = problem


def load_json(data: bytes, label: str) -> Any:
    """Parse a whole JSON document; a broken one raises ``BadJson`` naming where.

    Used for files that are small by nature (Slack's day files and lists);
    large exports are streamed (``jsonstream``).
    """
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise BadJson(label, "not readable: nested too deeply") from exc
    except UnicodeDecodeError as exc:
        raise BadJson(label, f"not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        truncated = not exc.doc.rstrip().endswith(("]", "}"))
        problem = (f"not valid JSON ({exc.msg.removesuffix(' at')}, line {exc.lineno}, "
                   f"column {exc.colno})" + ("; the file ends early, as if cut off"
                                             if truncated else ""))
        raise BadJson(label, problem, hint="Export it again and retry with the new file."
                      if truncated else None) from exc


_LABEL = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


def label_of(value: object) -> str:
    """A type name from the export (a role, a subtype) fit for a report's reason:
    a short identifier, else "unknown" (reasons are counted and shown)."""
    return value if isinstance(value, str) and _LABEL.fullmatch(value) else "unknown"


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
    """One chat message as an ``Observation`` (source ``"chat"``).

    Text over ``MAX_MESSAGE_CHARS`` is cut with a visible note and
    ``meta["cut"]``; the import report counts it.
    """
    text, cut = bound_text(text)
    if cut:
        meta = {**meta, "cut": True}
    return Observation(source="chat", captured_at=captured_at, text=text,
                       app=app, url=url, thread=thread, speaker=speaker,
                       external_id=external_id, meta=meta)
