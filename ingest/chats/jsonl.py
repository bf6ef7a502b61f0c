"""Engram's generic chat format: JSON Lines, one message per line.

    {"conversation": "trip", "session": "s1", "timestamp": "2023-05-08T13:56:00+00:00",
     "speaker": "Ana", "text": "…", "id": "D1:1"}

``session`` and ``id`` are optional. Timestamps are ISO-8601 (an offset-less one
is wall-clock time in ``options.tz``, default the local zone) or epoch seconds.
The file is streamed line by line, so it may be arbitrarily large. A bad line is
skipped and reported; a file whose first line is not a JSON object is refused.

External ids are ``jsonl:<conversation>:<id>`` because ids such as ``D1:1``
repeat across conversations; without an id, ``h<hash>`` of the conversation,
time, speaker and text (plus an occurrence counter) stands in.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from core.errors import BadInput
from ingest.chats.common import (ChatItem, DerivedIds, Ignored, ParseOptions, SkippedItem,
                                 check_regular, from_epoch, from_iso, make_observation)

FORMAT = "jsonl"


def parse(path: Path, options: ParseOptions = ParseOptions()) -> Iterator[ChatItem]:
    """Stream the messages of a JSONL chat file.

    Raises ``BadInput`` at once if the file cannot be opened or its first
    non-blank line is not a JSON object (then it is not this format).
    """
    _check_first_line(path)
    return _items(path, options)


MAX_LINE_BYTES = 16 * 1024 * 1024  # a longer line is skipped, never held or parsed whole


def _lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines; None for a line over ``MAX_LINE_BYTES`` (read past, not kept)."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            while raw and not raw.endswith(b"\n"):
                raw = handle.readline(1024 * 1024)
            yield number, None
            continue
        yield number, raw


def _check_first_line(path: Path) -> None:
    """Refuse a file whose first readable line is not a JSON object.

    Lines that are JSON but cannot be taken in (nested too deeply, over the
    line limit) are skipped here and reported by the import, like any bad line
    further down; the first line that decodes decides.
    """
    number = 0
    unreadable = False  # lines the import will skip and report
    check_regular(path)
    try:
        with path.open("rb") as handle:
            for number, raw in _lines(handle):
                if raw is None:
                    unreadable = True
                if raw is None or not raw.strip():
                    continue
                unreadable = True
                try:
                    record = _decode(raw, number == 1)
                except RecursionError:
                    continue
                if not isinstance(record, dict):
                    raise BadInput(f"{path.name}, line {number}: not a JSON object; "
                                   "expected one chat message per line (JSONL)")
                return
    except OSError as exc:
        raise BadInput(f"{path.name}: cannot read ({exc.strerror or exc})") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path.name}, line {number}: not valid JSON ({str(exc)[:120]}); "
                       "expected one chat message per line (JSONL)") from exc
    if unreadable:
        return  # only lines the import will report; let it say which
    raise BadInput(f"{path.name}: the file is empty")


def _decode(raw: bytes, first: bool) -> Any:
    text = raw.decode("utf-8-sig" if first else "utf-8")
    return json.loads(text)


def _items(path: Path, options: ParseOptions) -> Iterator[ChatItem]:
    derived = DerivedIds()
    seen: set[tuple[str, str]] = set()
    default_conversation = options.name or path.stem
    with path.open("rb") as handle:
        for number, raw in _lines(handle):
            where = f"{path.name}, line {number}"
            if raw is None:
                yield SkippedItem(where, "line too long",
                                  f"over {MAX_LINE_BYTES // (1024 * 1024)} MB")
                continue
            if not raw.strip():
                continue
            try:
                record = _decode(raw, number == 1)
            except UnicodeDecodeError:
                yield SkippedItem(where, "not UTF-8 text")
                continue
            except RecursionError:
                yield SkippedItem(where, "JSON nested too deeply")
                continue
            except ValueError:
                truncated = not raw.endswith(b"\n")
                yield SkippedItem(where, "truncated line (file cut off?)" if truncated
                                  else "not valid JSON")
                continue
            if not isinstance(record, dict):
                yield SkippedItem(where, "not a JSON object")
                continue
            yield _message(record, where, default_conversation, options, derived, seen)


def _message(record: dict[str, Any], where: str, default_conversation: str,
             options: ParseOptions, derived: DerivedIds,
             seen: set[tuple[str, str]]) -> ChatItem:
    conversation = _scalar(record.get("conversation")) or default_conversation
    stamp = record.get("timestamp")
    when = from_epoch(stamp) if isinstance(stamp, (int, float)) else from_iso(stamp, options.tz)
    if when is None:
        if stamp is None:
            return SkippedItem(where, "no timestamp")
        return SkippedItem(where, "unreadable timestamp", repr(stamp)[:80])
    text = record.get("text")
    if not isinstance(text, str):
        return SkippedItem(where, "no text" if text is None else "text is not a string")
    if not text.strip():
        return Ignored("empty message")
    speaker = _scalar(record.get("speaker"))
    own_id = _scalar(record.get("id"))
    if own_id is not None:
        if (conversation, own_id) in seen:
            return SkippedItem(where, "duplicate id", f"{own_id!r} in {conversation!r}"[:200])
        seen.add((conversation, own_id))
        local_id = own_id
    else:
        local_id = "h" + derived.make(conversation, when.isoformat(), speaker, text)
    meta: dict[str, Any] = {"format": FORMAT, "conversation_id": conversation}
    session = _scalar(record.get("session"))
    if session is not None:
        meta["session"] = session
    return make_observation(captured_at=when, text=text, thread=conversation,
                            speaker=speaker, external_id=f"jsonl:{conversation}:{local_id}",
                            app=None, meta=meta)


def _scalar(value: object) -> str | None:
    """Strings and numbers as a non-empty string; anything else as None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        text = str(value).strip()
        return text or None
    return None
