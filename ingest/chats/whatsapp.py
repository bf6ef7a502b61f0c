"""WhatsApp "Export chat" text files (``.txt``, or the export ``.zip``).

Each message starts with a date and time in the phone's locale, e.g.

    12/31/23, 9:41 PM - Ana: text                  (Android, US, 12h clock)
    31.12.23, 21:41 - Ana: text                    (Android, German)
    [31/12/2023, 21:41:05] Ana: text               (iPhone)

and lines that do not start that way continue the message before them. Lines
without "Name:" after the time are system notices (encryption banner, "X added
Y") and are ignored, as are iPhone notices (their text starts with U+200E) and
deleted messages. Media become short notes such as "[image omitted]".

Day/month order is decided from the whole file: if any first field is over 12
the file is day-first, else if any second field is, month-first; if nothing
tells, dotted dates and 24h clocks are read day-first and 12h clocks
month-first (the US layout). ``options.day_first`` overrides the guess.

Times are the phone's local wall-clock without a zone; they are read as local
time of ``options.tz`` (default: this machine's zone), which is right when the
chat was exported where it happened.

There are no message ids: ``whatsapp:<chat>:<hash>`` is derived from the
wall-clock time, sender and text (plus an occurrence counter), so re-importing
the same or a longer export of the chat gives the same ids. The file is read
line by line twice (once to decide the date order), never held whole.
"""
from __future__ import annotations

import io
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, TextIO

from core.errors import BadInput
from ingest.chats.common import (ChatItem, DerivedIds, Ignored, ParseOptions,
                                 SkippedItem, local_to_utc, make_observation)

FORMAT = "whatsapp"
_MARKS = "\u200e\u200f\ufeff"
HEADER = re.compile(
    r"^[\u200e\u200f\ufeff]*(?P<open>\[)?"
    r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{2,4})\.?,?\s+"
    r"(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?"
    r"(?:\s*(?P<ampm>[AaPp])\.?\s?[Mm]\.?)?"
    r"(?(open)\]\s|\s[-\u2013]\s)(?P<rest>.*)$")
# A sender is what precedes the first ": "; quotes mean it is a notice such as
# 'Ana changed the subject to "Plan: Friday"'.
_SPEAKER = re.compile(r'^(?P<name>[^:"\u201c\u201d\n]{1,80}?): (?P<text>.*)$', re.S)
_OMITTED = re.compile(
    r"(?i)^<(media omitted|medien ausgeschlossen|multimedia omitido|médias omis|"
    r"media weggelaten|mídia oculta|media omessi|archivo omitido)>$")
# iPhone: "image omitted", or "<file> • <n> pages document omitted" for documents.
_IOS_OMITTED = re.compile(r"(?i)^(?:(?P<what>\S+\.\w{1,5}(?: \u2022 [^\n]*)?)\s)?"
                          r"(?P<kind>image|video|audio|sticker|gif|document|contact card)"
                          r" omitted$")
_ATTACHED = re.compile(r"<attached: (?P<file>[^>]+)>")
_FILE_ATTACHED = re.compile(r"(?i)^(?P<file>\S.*?) \((?:file attached|datei angehängt|"
                            r"archivo adjunto|fichier joint|arquivo anexado)\)")
_DELETED = {"this message was deleted", "you deleted this message",
            "diese nachricht wurde gelöscht", "du hast diese nachricht gelöscht",
            "se eliminó este mensaje", "eliminaste este mensaje"}
_EDITED = re.compile(r"\s*<(?:This message was edited|Diese Nachricht wurde bearbeitet)>$")
_CHAT_NAME = [re.compile(p, re.I) for p in (
    r"^WhatsApp Chat (?:with|-)\s*(.+)$", r"^WhatsApp[- ]Chat mit (.+)$",
    r"^Chat de WhatsApp con (.+)$", r"^Conversa do WhatsApp com (.+)$",
    r"^Discussion WhatsApp avec (.+)$", r"^WhatsApp[- ]chat met (.+)$",
    r"^Chat WhatsApp con (.+)$")]


@dataclass(frozen=True)
class _Source:
    path: Path
    member: str | None  # the chat text inside a zip
    label: str


def parse(path: Path, options: ParseOptions = ParseOptions()) -> Iterator[ChatItem]:
    """Stream the messages of a WhatsApp export (``.txt`` or ``.zip``).

    Raises ``BadInput`` at once when the file cannot be read or its first line
    is not a WhatsApp message line.
    """
    source = _locate(path)
    with _open(source) as lines:
        for number, line in enumerate(lines, 1):
            if line.strip(_MARKS + " \t\r\n"):
                if not HEADER.match(line.rstrip("\n")):
                    raise BadInput(f"{source.label}, line {number}: not a WhatsApp chat "
                                   "line (expected a date and time first)")
                break
        else:
            raise BadInput(f"{source.label}: the chat is empty")
    chat = options.name or chat_name(path, source.member)
    return _items(source, chat, options)


def looks_like_whatsapp(first_line: str) -> bool:
    """Whether a line starts the way WhatsApp export lines do."""
    return HEADER.match(first_line.rstrip("\r\n")) is not None


def chat_name(path: Path, member: str | None = None) -> str:
    """The chat's name from the export's file name ("WhatsApp Chat with Ana.txt")."""
    for stem in ([PurePosixPath(member).stem] if member else []) + [path.stem]:
        for pattern in _CHAT_NAME:
            found = pattern.match(stem)
            if found:
                return found.group(1).strip()
    stem = path.stem
    return "WhatsApp chat" if stem.strip("_").lower() == "chat" else stem


def _locate(path: Path) -> _Source:
    try:
        if not zipfile.is_zipfile(path):
            return _Source(path, None, path.name)
        with zipfile.ZipFile(path) as archive:
            texts = [n for n in archive.namelist()
                     if n.lower().endswith(".txt") and not n.startswith("__MACOSX/")]
    except OSError as exc:
        raise BadInput(f"{path.name}: cannot read ({exc.strerror or exc})") from exc
    except zipfile.BadZipFile as exc:
        raise BadInput(f"{path.name}: broken zip ({exc})") from exc
    if not texts:
        raise BadInput(f"{path.name}: no chat text file inside this zip")
    # iPhone exports name it _chat.txt; Android "WhatsApp Chat with X.txt".
    texts.sort(key=lambda n: (PurePosixPath(n).name != "_chat.txt",
                              "whatsapp" not in n.lower(), n.count("/"), n))
    return _Source(path, texts[0], f"{path.name}:{texts[0]}")


@contextmanager
def _open(source: _Source) -> Iterator[TextIO]:
    try:
        if source.member is None:
            with source.path.open(encoding="utf-8-sig", errors="replace") as handle:
                yield handle
        else:
            with zipfile.ZipFile(source.path) as archive, archive.open(source.member) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise BadInput(f"{source.label}: cannot read ({exc.strerror or exc})") from exc


def _guess_day_first(source: _Source) -> bool:
    """Decide day/month order from every header line of the file."""
    dotted = twelve_hour = False
    with _open(source) as lines:
        for line in lines:
            found = HEADER.match(line.rstrip("\n"))
            if not found or len(found["a"]) > 2:
                continue
            if int(found["a"]) > 12:
                return True
            if int(found["b"]) > 12:
                return False
            dotted = dotted or found["sep"] == "."
            twelve_hour = twelve_hour or found["ampm"] is not None
    return dotted or not twelve_hour


def _items(source: _Source, chat: str, options: ParseOptions) -> Iterator[ChatItem]:
    day_first = options.day_first if options.day_first is not None else _guess_day_first(source)
    derived = DerivedIds()
    header: re.Match[str] | None = None
    start = 0
    body: list[str] = []
    with _open(source) as lines:
        for number, raw in enumerate(lines, 1):
            line = raw.rstrip("\r\n")
            found = HEADER.match(line)
            if found is None:
                body.append(line)  # continues the message above
                continue
            if header is not None:
                yield _message(header, body, f"{source.label}, line {start}", chat,
                               day_first, options, derived)
            header, start, body = found, number, [found["rest"]]
    if header is not None:
        yield _message(header, body, f"{source.label}, line {start}", chat,
                       day_first, options, derived)


def _message(header: re.Match[str], body: list[str], where: str, chat: str,
             day_first: bool, options: ParseOptions, derived: DerivedIds) -> ChatItem:
    wall = _wall_clock(header, day_first)
    if wall is None:
        return SkippedItem(where, "impossible date or time")
    full = "\n".join(body).rstrip()
    sent = _SPEAKER.match(full)
    if sent is None:
        return Ignored("system notice")
    speaker = sent["name"].strip(_MARKS + " ")
    raw_text = sent["text"]
    if raw_text.startswith("\u200e") and not _media_note(raw_text.strip(_MARKS)):
        return Ignored("system notice")  # iPhone marks notices this way
    text = raw_text.strip(_MARKS + " \n")
    meta: dict[str, Any] = {"format": FORMAT, "conversation_id": chat}
    edited = _EDITED.search(text)
    if edited:
        text = text[:edited.start()]
        meta["edited"] = True
    if text.lower().rstrip(".") in _DELETED:
        return Ignored("deleted message")
    if text in ("", "null"):  # "null": view-once media on Android
        return Ignored("empty message")
    note = _media_note(text)
    if note is not None:
        text = note
        meta["media"] = True
    local_id = derived.make(wall.isoformat(), speaker, text)
    return make_observation(captured_at=local_to_utc(wall, options.tz), text=text,
                            thread=chat, speaker=speaker, app="WhatsApp", meta=meta,
                            external_id=f"whatsapp:{chat}:{local_id}")


def _wall_clock(found: re.Match[str], day_first: bool) -> datetime | None:
    a, b, c = int(found["a"]), int(found["b"]), int(found["c"])
    if len(found["a"]) > 2:
        year, month, day = a, b, c
    else:
        year = c + 2000 if len(found["c"]) <= 2 else c
        day, month = (a, b) if day_first else (b, a)
    hour, minute = int(found["H"]), int(found["M"])
    second = int(found["S"]) if found["S"] else 0
    if found["ampm"] is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if found["ampm"].lower() == "p" else 0)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _media_note(text: str) -> str | None:
    """A short bracketed note for a media placeholder, or None for plain text."""
    if _OMITTED.match(text):
        return "[media omitted]"
    omitted = _IOS_OMITTED.match(text)
    if omitted:
        what = f": {omitted['what'].strip(_MARKS + ' ')}" if omitted["what"] else ""
        return f"[{omitted['kind'].lower()} omitted{what}]"
    if _ATTACHED.search(text):
        return _ATTACHED.sub(lambda m: f"[attached: {m['file']}]", text).strip(_MARKS + " ")
    attached = _FILE_ATTACHED.match(text)
    if attached:
        caption = text[attached.end():].strip()
        note = f"[attached: {attached['file'].strip(_MARKS)}]"
        return f"{note}\n{caption}" if caption else note
    return None
