"""WhatsApp "Export chat" text files (``.txt``, or the export ``.zip``).

Each message starts with a date and time in the phone's locale, e.g.

    12/31/23, 9:41 PM - Ana: text                  (Android, US, 12h clock)
    31.12.23, 21:41 - Ana: text                    (Android, German)
    [31/12/2023, 21:41:05] Ana: text               (iPhone)

and lines that do not start that way continue the message before them.
Invisible direction marks (U+200E/F, U+202A–E, U+2066–9, U+FEFF) are tolerated
anywhere in a header. Lines without "Name:" after the time are system notices
(encryption banner, "X added Y") and are ignored. iPhone notices carry a name
(the group's) and start with U+200E; a mark alone never makes a line a notice:
it must also be worded like one (in English, German, Spanish or Portuguese) and
be said by the group or be about the speaker. Deleted messages are left out
and counted. Media become short notes such as "[image omitted]".

The order of the date's fields is decided from the whole file: each reading
(day-month-year, month-day-year, year-month-day, year-day-month) is scored by
how many dates it makes impossible, then by how often it makes the chat go back
in time; when readings tie, dotted dates and 24h clocks are read day first and
12h clocks month first (the US layout). ``options.day_first`` forces dd/mm or
mm/dd. 12-hour times with hour 0 or 13–23 ("23:59 PM", which real exports
hold) are read as the 24-hour time they show; the report notes how many.

Times are the phone's local wall-clock without a zone; they are read as local
time of ``options.tz`` (default: this machine's zone), which is right when the
chat was exported where it happened.

There are no message ids: ``whatsapp:<chat>:<hash>`` is derived from the
wall-clock time, sender and text (plus an occurrence counter), so re-importing
the same or a longer export of the chat gives the same ids. The file is read
line by line twice (once to decide the date order), never held whole; a line is
read in pieces of 64 K characters and a message is cut at ``MAX_MESSAGE_CHARS``
with a visible note, so one 50 MB "line" never becomes one item.
"""
from __future__ import annotations

import io
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, TextIO

from core.errors import BadInput
from ingest.chats.common import (MAX_MESSAGE_CHARS, ChatItem, DerivedIds, Ignored, Note,
                                 ParseOptions, SkippedItem, bound_text, check_regular,
                                 local_to_utc, make_observation)

FORMAT = "whatsapp"
ODD_CLOCK_NOTE = "12-hour time with hour 0 or 13–23 (e.g. 23:59 PM) read as a 24-hour time"
_LINE_CHARS = 64 * 1024  # read lines in pieces of this size at most
# Invisible direction marks and BOMs that WhatsApp (and the apps it exports
# through) put around dates, names and phone numbers, and before iPhone notices.
_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_STRIP_MARKS = re.compile(f"[{_MARKS}]")
# 12-hour suffixes: AM/PM in its spellings ("a. m.", "p.m."), German vorm./nachm.,
# Spanish/Portuguese day parts.
_AMPM = (r"(?P<ampm>[AaPp]\.?\s?[Mm]\.?|vorm\.|nachm\.|"
         r"de la (?:mañana|madrugada|tarde|noche)|da (?:manhã|madrugada|tarde|noite))")
_PRE = "上午|下午|오전|오후|午前|午後"
# Matched on the line with its marks taken out (``header_of``).
HEADER = re.compile(
    r"^(?P<open>\[)?\s*"
    r"(?P<a>\d{1,4})(?P<sep>[./-])\s?(?P<b>\d{1,2})(?P=sep)\s?(?P<c>\d{1,4})\.?,?\s+"
    r"(?:(?!" + _PRE + r")[^\W\d_]{1,6}\.?\s+){0,2}"  # a word or two: klo, um, à, a las
    r"(?P<pre>" + _PRE + r")?\s?"  # day parts written before the time
    r"(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?"
    r"(?:[\s_]*" + _AMPM + r")?"
    # then "]", " - ", ": " or (only before "Name: ") a plain space
    r"(?(open)\s*\]\s?|(?:\s*[-\u2013]\s|:\s|(?P<bare>\s)))")
_HEADER_SPAN = 200  # a header, marks and all, is shorter than this
_PM = ("p", "nachm.", "de la tarde", "de la noche", "da tarde", "da noite", "下午", "오후",
       "午後")
# A sender is what precedes the first ": "; quotes mean it is a notice such as
# 'Ana changed the subject to "Plan: Friday"'.
_SPEAKER = re.compile(r'^(?P<name>[^:"\u201c\u201d\n]{1,80}?): (?P<text>.*)$', re.S)
_OMITTED = re.compile(
    r"(?i)^<(media omitted|medien ausgeschlossen|multimedia omitido|médias omis|"
    r"media weggelaten|m[íi]dia oculta|arquivo de m[íi]dia oculto|media omessi|"
    r"archivo omitido)>$")
# iPhone: "image omitted", or "<file> • <n> pages document omitted" for documents,
# and the same in German, Spanish and Portuguese.
_IOS_KINDS = {"image": "image", "video": "video", "audio": "audio", "sticker": "sticker",
              "gif": "GIF", "document": "document", "contact card": "contact card",
              "bild": "image", "dokument": "document", "kontaktkarte": "contact card",
              "imagen": "image", "documento": "document", "tarjeta de contacto": "contact card",
              "imagem": "image", "vídeo": "video", "áudio": "audio", "figurinha": "sticker",
              "cartão de contato": "contact card"}
_IOS_OMITTED = re.compile(r"(?i)^(?:(?P<what>\S+\.\w{1,5}(?: \u2022 [^\n]*)?)\s)?"
                          r"(?P<kind>" + "|".join(sorted(_IOS_KINDS, key=len, reverse=True))
                          + r") (?:omitted|weggelassen|omitid[oa]|ocultad?[oa]|oculto)$")
# The encryption banner, recognised by its wording alone (it is a full sentence
# nobody types); other notices need the iPhone mark *and* their wording.
_BANNER = re.compile(
    r"(?i)^(?:messages and calls are end-to-end encrypted|"
    r"messages (?:to this group|you send to this (?:chat|group))(?: and calls)? are now "
    r"secured with end-to-end encryption|"
    r"nachrichten und anrufe sind ende-zu-ende-verschlüsselt|"
    r"nachrichten (?:an diese gruppe|, die du)[^.]*ende-zu-ende-verschlüsselung|"
    r"los mensajes y las llamadas están cifrados de extremo a extremo|"
    r"los mensajes (?:de este grupo|que envíes)[^.]*cifrado de extremo a extremo|"
    r"as mensagens e as chamadas são protegidas com a criptografia de ponta a ponta|"
    r"as mensagens (?:deste grupo|e ligações)[^.]*criptografia de ponta[- ]a[- ]ponta)")
_NOTICE = re.compile(
    r"(?i)(?:\b(?:created group|added|removed|left|joined using this group's invite link|"
    r"changed the (?:subject|group description|group name)|changed this group's (?:icon|"
    r"settings)|deleted this group's icon|security code (?:with .+ )?changed|"
    r"changed (?:their|his|her) phone number|is now an admin|pinned a message|"
    r"turned (?:on|off) disappearing messages|"
    r"hat die gruppe .+ erstellt|hinzugefügt|entfernt|hat die gruppe verlassen|"
    r"sicherheitsnummer|hat den betreff|"
    r"creó el grupo|añadió|eliminó a|salió del grupo|cambió el asunto|código de seguridad|"
    r"criou o grupo|adicionou|removeu|saiu do grupo|mudou o assunto|código de segurança)\b"
    r"|^(?:you|du|tú|você) )")
_ATTACHED = re.compile(r"<(?:attached|Anhang|adjunto|anexado|pièce jointe): (?P<file>[^>]+)>")
_FILE_ATTACHED = re.compile(r"(?i)^(?P<file>\S.*?) \((?:file attached|datei angehängt|"
                            r"archivo adjunto|fichier joint|arquivo anexado)\)")
_DELETED = {"this message was deleted", "you deleted this message",
            "diese nachricht wurde gelöscht", "du hast diese nachricht gelöscht",
            "se eliminó este mensaje", "eliminaste este mensaje",
            "essa mensagem foi apagada", "esta mensagem foi apagada",
            "você apagou esta mensagem", "você apagou essa mensagem"}
_EDITED = re.compile(r"\s*<(?:This message was edited|Diese Nachricht wurde bearbeitet|"
                     r"Se editó este mensaje|Mensagem editada)>$")
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
    with _open(source) as handle:
        for number, (line, _) in enumerate(_lines(handle), 1):
            if clean(line).strip():
                if not header_of(line):
                    raise BadInput(f"{source.label}, line {number}: not a WhatsApp chat "
                                   "line (expected a date and time first)")
                break
        else:
            raise BadInput(f"{source.label}: the chat is empty")
    chat = options.name or chat_name(path, source.member)
    return _items(source, chat, options)


def clean(line: str) -> str:
    """``line`` without invisible marks and without its line end."""
    return _STRIP_MARKS.sub("", line).rstrip("\r\n")


@dataclass(frozen=True)
class Header:
    """A message line's date/time header (its fields) and the text after it."""

    found: re.Match[str]
    rest: str

    def __getitem__(self, name: str) -> str | None:
        if name == "ampm":
            return self.found["ampm"] or self.found["pre"]
        return self.rest if name == "rest" else self.found[name]


def header_of(line: str) -> Header | None:
    """The date/time header a message line starts with, marks tolerated anywhere
    in it; ``rest`` keeps any marks that follow it (they mark iPhone notices)."""
    head = line[:_HEADER_SPAN]
    found = HEADER.match(_STRIP_MARKS.sub("", head))
    if found is None:
        return None
    # Walk the original line past as many unmarked characters as matched.
    wanted, position = found.end(), 0
    while wanted:
        if head[position] not in _MARKS:
            wanted -= 1
        position += 1
    rest = line[position:].rstrip("\r\n")
    if found["bare"] and not _SPEAKER.match(_STRIP_MARKS.sub("", rest[:200])):
        return None  # "date time word…" without "Name:" is text, not a header
    return Header(found, rest)


def looks_like_whatsapp(first_line: str) -> bool:
    """Whether a line starts the way WhatsApp export lines do."""
    return header_of(first_line) is not None


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
    check_regular(path)
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
    check_regular(source.path)
    try:
        if source.member is None:
            with source.path.open(encoding="utf-8-sig", errors="replace") as handle:
                yield handle
        else:
            with zipfile.ZipFile(source.path) as archive, archive.open(source.member) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise BadInput(f"{source.label}: cannot read ({exc.strerror or exc})") from exc


def _lines(handle: TextIO) -> Iterator[tuple[str, int]]:
    """Lines of at most ``_LINE_CHARS``, with how many characters were dropped.

    One "line" of 50 MB (or a file with no line breaks) is never held whole.
    """
    while True:
        line = handle.readline(_LINE_CHARS)
        if not line:
            return
        dropped = 0
        if len(line) == _LINE_CHARS and not line.endswith("\n"):
            while True:
                more = handle.readline(_LINE_CHARS)
                dropped += len(more.rstrip("\r\n"))
                if not more or more.endswith("\n"):
                    break
        yield line, dropped


# How the three fields of a date are read: d(ay), m(onth), y(ear).
_READINGS = ("dmy", "mdy", "ymd", "ydm")


class _DateOrder:
    """The order of the date fields, decided from every date of the file.

    Each reading is scored by how many of the file's dates it makes
    impossible (a month over 12, a four-digit day), then by how often it makes
    the chat go back in time; the best reading wins. Only when readings tie
    does the locale's style decide: dotted dates and 24-hour clocks are day
    first, 12-hour clocks month first (the US layout), year first last.
    """

    def __init__(self) -> None:
        self.impossible = dict.fromkeys(_READINGS, 0)
        self.backwards = dict.fromkeys(_READINGS, 0)
        self.last: dict[str, date | None] = dict.fromkeys(_READINGS)
        self.dotted = self.twelve_hour = False
        self._key: tuple[str | None, ...] = ()
        self._dates: list[date | None] = []

    def see(self, found: Header) -> None:
        self.dotted = self.dotted or found["sep"] == "."
        self.twelve_hour = self.twelve_hour or found["ampm"] is not None
        key = (found["a"], found["b"], found["c"])
        if key != self._key:  # consecutive messages mostly share their date
            self._key = key
            self._dates = [_date(found, reading) for reading in _READINGS]
        for reading, when in zip(_READINGS, self._dates):
            if when is None:
                self.impossible[reading] += 1
                continue
            last = self.last[reading]
            if last is not None and when < last:
                self.backwards[reading] += 1
            self.last[reading] = when

    def best(self, allowed: tuple[str, ...] = _READINGS) -> str:
        style = ("mdy", "dmy") if self.twelve_hour and not self.dotted else ("dmy", "mdy")
        preference = [r for r in (*style, "ymd", "ydm") if r in allowed]
        return min(preference, key=lambda r: (self.impossible[r], self.backwards[r],
                                              preference.index(r)))


def _guess_reading(source: _Source, day_first: bool | None) -> tuple[str, str]:
    """Decide the date fields' order from every header line of the file.

    Returns the reading and the best day/month reading for lines whose year
    comes last even though the file's reading puts it first. With
    ``day_first`` given, only year-first readings compete with it.
    """
    order = _DateOrder()
    with _open(source) as handle:
        for line, _ in _lines(handle):
            found = header_of(line)
            if found is not None:
                order.see(found)
    if day_first is None:
        return order.best(), order.best(("dmy", "mdy"))
    forced = "dmy" if day_first else "mdy"
    return order.best((forced, "ymd", "ydm")), forced


class _Message:
    """The lines of one message as they are read, bounded in size."""

    def __init__(self, header: Header, number: int) -> None:
        self.header = header
        self.number = number
        self.body = [header["rest"]]
        self.size = len(header["rest"])
        self.dropped = 0

    def add(self, line: str, dropped: int) -> None:
        self.dropped += dropped
        if self.size > MAX_MESSAGE_CHARS:
            self.dropped += len(line) + 1
            return
        self.body.append(line)
        self.size += len(line) + 1


def _items(source: _Source, chat: str, options: ParseOptions) -> Iterator[ChatItem]:
    reading = _guess_reading(source, options.day_first)
    derived = DerivedIds()
    voices = {chat}  # names that system notices are said by (the group, the contact)
    current: _Message | None = None
    with _open(source) as handle:
        for number, (raw, dropped) in enumerate(_lines(handle), 1):
            found = header_of(raw)
            if found is None:
                if current is not None:
                    current.add(raw.rstrip("\r\n"), dropped)  # continues the message above
                continue
            if current is not None:
                yield from _message(current, source.label, chat, voices, reading, options,
                                   derived)
            current = _Message(found, number)
            current.dropped = dropped
    if current is not None:
        yield from _message(current, source.label, chat, voices, reading, options,
                                   derived)


def _message(message: _Message, label: str, chat: str, voices: set[str],
             reading: tuple[str, str], options: ParseOptions,
             derived: DerivedIds) -> Iterator[ChatItem]:
    header = message.header
    where = f"{label}, line {message.number}"
    wall = _wall_clock(header, reading)
    if wall is None:
        yield SkippedItem(where, "impossible date or time")
        return
    full = "\n".join(message.body).rstrip()
    sent = _SPEAKER.match(full)
    if sent is None:
        yield Ignored("system notice")  # Android: no "Name:" after the time
        return
    # "~ Name": someone not in the phone's contacts (newer exports).
    speaker = clean(sent["name"]).strip().lstrip("~").strip() or clean(sent["name"]).strip()
    raw_text = sent["text"]
    marked = raw_text.lstrip(" ")[:1] in _MARKS
    text = _STRIP_MARKS.sub("", raw_text).strip(" \n")
    if _BANNER.match(text):
        voices.add(speaker)  # iPhone: the banner is said by the group itself
        yield Ignored("system notice")
        return
    if marked and _is_notice(text, speaker, voices):
        yield Ignored("system notice")
        return
    meta: dict[str, Any] = {"format": FORMAT, "conversation_id": chat}
    edited = _EDITED.search(text)
    if edited:
        text = text[:edited.start()]
        meta["edited"] = True
    if text.lower().rstrip(".") in _DELETED:
        yield Ignored("deleted message")
        return
    if text in ("", "null"):  # "null": view-once media on Android
        yield Ignored("empty message")
        return
    note = _media_note(text)
    if note is not None:
        text = note
        meta["media"] = True
    text, cut = bound_text(text, message.dropped)
    if cut:
        meta["cut"] = True
    if _odd_twelve_hour(header):
        yield Note(ODD_CLOCK_NOTE)
    local_id = derived.make(wall.isoformat(), speaker, text)
    yield make_observation(captured_at=local_to_utc(wall, options.tz), text=text,
                           thread=chat, speaker=speaker, app="WhatsApp", meta=meta,
                           external_id=f"whatsapp:{chat}:{local_id}")


def _is_notice(text: str, speaker: str, voices: set[str]) -> bool:
    """An iPhone notice: marked, worded like one, and said by the group (the
    chat's name, or whoever said the encryption banner) or about the speaker
    themself ("Ana: ‎Ana left")."""
    if not _NOTICE.search(text):
        return False
    first = text.split(" ", 1)[0].lower()
    return (speaker in voices or text.startswith(speaker)
            or first in ("you", "du", "tú", "você", "your", "tu", "dein"))


def _date(found: Header, reading: str) -> date | None:
    values = dict(zip(reading, (found["a"] or "", found["b"] or "", found["c"] or "")))
    day, month, year_text = values["d"], values["m"], values["y"]
    if len(day) > 2 or len(month) > 2 or len(year_text) == 3:
        return None
    year = int(year_text) + (2000 if len(year_text) <= 2 else 0)
    try:
        return date(year, int(month), int(day))
    except ValueError:
        return None


def _odd_twelve_hour(found: Header) -> bool:
    return found["ampm"] is not None and not 1 <= int(found["H"]) <= 12


def _wall_clock(found: Header, reading: tuple[str, str]) -> datetime | None:
    main, fallback = reading
    # A four-digit field is the year wherever it stands, whatever the file's reading.
    if len(found["a"] or "") > 2:
        main = "ydm" if main == "ydm" else "ymd"
    elif len(found["c"] or "") > 2 and main[0] == "y":
        main = fallback
    day = _date(found, main)
    if day is None:
        return None
    hour, minute = int(found["H"]), int(found["M"])
    second = int(found["S"]) if found["S"] else 0
    if found["ampm"] is not None and 1 <= hour <= 12:
        pm = found["ampm"].lower().startswith(_PM)
        hour = hour % 12 + (12 if pm else 0)
    # Hour 0 or 13-23 with AM/PM: the phone wrote a 24-hour time and a suffix
    # (seen in real exports); the hour is the time it means (ODD_CLOCK_NOTE).
    try:
        return datetime(day.year, day.month, day.day, hour, minute, second)
    except ValueError:
        return None


def _media_note(text: str) -> str | None:
    """A short bracketed note for a media placeholder, or None for plain text."""
    if _OMITTED.match(text):
        return "[media omitted]"
    omitted = _IOS_OMITTED.match(text)
    if omitted:
        what = f": {omitted['what'].strip()}" if omitted["what"] else ""
        return f"[{_IOS_KINDS[omitted['kind'].lower()]} omitted{what}]"
    if _ATTACHED.search(text):
        return _ATTACHED.sub(lambda m: f"[attached: {m['file']}]", text).strip(_MARKS + " ")
    attached = _FILE_ATTACHED.match(text)
    if attached:
        caption = text[attached.end():].strip()
        note = f"[attached: {attached['file'].strip(_MARKS)}]"
        return f"{note}\n{caption}" if caption else note
    return None
