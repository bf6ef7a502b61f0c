"""Streaming JSON for exports that can be large (ChatGPT, Claude, Telegram).

A multi-GB ``conversations.json`` must not be held whole, and a hostile file
(100k levels of nesting, one giant string) must neither raise ``RecursionError``
nor grow memory without bound. ``ijson``'s event parser (yajl, in C) reads the
file in small chunks and keeps no recursion; on its events we build only the
*units* a parser asks for (a conversation, a message), each bounded in depth and
size. A unit over a bound is reported as skipped; the stream goes on after it.

Files are read twice: ``check_json`` walks the whole document first (syntax
only, no objects built) so that a broken or cut-off file is refused before a
single message is imported, as with any other unreadable file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator

import ijson

from ingest.chats.common import BadJson

# Deeper than any real export (ChatGPT's deepest metadata is ~15 levels), far
# below anything that could hurt code walking the values.
MAX_DEPTH = 200
# A unit larger than this (characters of its strings, roughly its size) is
# skipped: it bounds the memory one conversation or message can take.
MAX_UNIT_CHARS = 128 * 1024 * 1024
_SCALAR_CHARS = 4096  # scalars of enclosing objects kept for context (names, ids)

Path_ = tuple[str, ...]
Selector = Callable[[Path_], bool]


@dataclass(frozen=True)
class Unit:
    """One selected value, or why it could not be built.

    ``path`` is its place ("item" for array elements); ``ancestors`` are the
    scalar fields seen so far of every enclosing container, outermost first,
    with the container's running index (how many values it held before).
    """

    path: Path_
    value: Any
    error: str | None
    ancestors: tuple[tuple[dict[str, Any], int], ...]


@dataclass
class Shape:
    """What the first pass saw: the root's kind and, for an object, its keys."""

    root: str = ""
    keys: set[str] = field(default_factory=set)


class _Reader:
    """A file wrapper that drops a leading UTF-8 BOM (files saved on Windows)
    and counts lines read (for an error's rough position)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.seen = 0
        self.newlines = 0
        self.tail = b""

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.seen == 0 and data:
            while len(data) < 3 and b"\xef\xbb\xbf".startswith(data):
                more = self.raw.read(size)
                if not more:
                    break
                data += more
            data = data.removeprefix(b"\xef\xbb\xbf")
            self.seen = 1
        self.seen += len(data)
        self.newlines += data.count(b"\n")
        if data:
            self.tail = (self.tail + data)[-64:]
        return data


_KINDS = {"start_map": "object", "start_array": "list", "string": "string",
          "number": "number", "boolean": "boolean", "null": "null"}


def check_json(open_: Callable[[], Any], label: str) -> Shape:
    """Walk the whole document once; raise ``BadJson`` if it does not parse.

    ``open_`` returns a fresh binary file object (a context manager).
    """
    shape = Shape()
    with open_() as raw:
        counting = _Reader(raw)
        depth = 0
        try:
            for event, value in ijson.basic_parse(counting, use_float=True):
                if not shape.root:
                    shape.root = _KINDS.get(event, event)
                if event in ("start_map", "start_array"):
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                elif event == "map_key" and depth == 1 and len(shape.keys) < 1000:
                    shape.keys.add(value)
        except UnicodeDecodeError as exc:
            raise BadJson(label, "not UTF-8 text") from exc
        except (ijson.JSONError, ValueError) as exc:
            cut = _cut_off(str(exc))
            line = counting.newlines + 1
            problem = ("not valid JSON (" + ("the document ends too early" if cut else
                                             _short(str(exc)))
                       + f", near line {line})"
                       + ("; the file ends early, as if cut off" if cut else ""))
            raise BadJson(label, problem, hint="Export it again and retry with the new file."
                          if cut else None) from exc
    if not shape.root:
        raise BadJson(label, "the file is empty")
    return shape


def _cut_off(message: str) -> bool:
    return "premature EOF" in message or "Incomplete JSON" in message


def _short(message: str) -> str:
    return " ".join(message.split("\n", 1)[0].split())[:120] or "syntax error"


def json_units(open_: Callable[[], Any], select: Selector) -> Iterator[Unit]:
    """The values at paths ``select`` accepts, built one at a time, in file order.

    The document must have passed ``check_json``; a read failure still raises.
    """
    with open_() as raw:
        yield from _walk(ijson.basic_parse(_Reader(raw), use_float=True), select)


def _walk(events: Iterator[tuple[str, Any]], select: Selector) -> Iterator[Unit]:
    # Open containers: (path, scalars seen, next index, pending key)
    stack: list[list[Any]] = []
    path: list[str] = []

    def value_path() -> Path_:
        if not stack:
            return ()
        top = stack[-1]
        return tuple(path) + (("item",) if top[3] is None else (top[3],))

    for event, value in events:
        if event == "map_key":
            stack[-1][3] = value
            continue
        if event in ("end_map", "end_array"):
            stack.pop()
            if path:
                path.pop()
            continue
        here = value_path()
        ancestors = tuple((dict(s[1]), s[2]) for s in stack)
        if stack:
            stack[-1][2] += 1
        if select(here):
            built, error = _build(event, value, events)
            yield Unit(here, built, error, ancestors)
            continue
        if event in ("start_map", "start_array"):
            if stack:
                path.append(here[-1])
            stack.append([here, {}, 0, "" if event == "start_map" else None])
            continue
        # a scalar of a container we are only walking through
        if stack and stack[-1][3] is not None:
            if not isinstance(value, str) or len(value) <= _SCALAR_CHARS:
                scalars = stack[-1][1]
                if len(scalars) < 64:
                    scalars[stack[-1][3]] = value


def _build(event: str, value: Any, events: Iterator[tuple[str, Any]]) -> tuple[Any, str | None]:
    """The value starting with ``event``, consuming its events; bounded.

    Over a bound, the rest of the value is still consumed (so the stream stays
    in step) but nothing more is kept, and the reason is returned.
    """
    if event not in ("start_map", "start_array"):
        return value, None
    root: Any = {} if event == "start_map" else []
    containers: list[Any] = [root]
    keys: list[str | None] = [None]
    size = 0
    error: str | None = None
    depth = 1
    for event, value in events:
        if event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
            if error is None:
                containers.pop()
                keys.pop()
            continue
        if event == "map_key":
            size += len(value)
            if error is None:
                keys[-1] = value
            continue
        opening = event in ("start_map", "start_array")
        if opening:
            depth += 1
        if error is not None:
            continue
        if isinstance(value, str):
            size += len(value)
        else:
            size += 8
        if depth > MAX_DEPTH:
            error = f"nested more than {MAX_DEPTH} levels deep"
        elif size > MAX_UNIT_CHARS:
            error = f"larger than {MAX_UNIT_CHARS // (1024 * 1024)} MB"
        if error is not None:
            containers, keys, root = [], [], None
            continue
        item: Any = ({} if event == "start_map" else []) if opening else value
        parent = containers[-1]
        if isinstance(parent, list):
            parent.append(item)
        else:
            parent[keys[-1]] = item
        if opening:
            containers.append(item)
            keys.append(None)
    return root, error
