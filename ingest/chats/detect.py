"""Which chat export is this, and one entry point to import any of them.

Detection is cheap: file and zip member names first, then a peek at the first
few hundred KiB; the file is only parsed once, by the chosen format's parser.
"""
from __future__ import annotations

import json
import re
import zipfile
from datetime import tzinfo
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from core.errors import BadInput
from ingest.chats import chatgpt, claude, jsonl, slack, telegram, whatsapp
from ingest.chats.common import ChatImport, ChatItem, ParseOptions, check_regular, find_member

Parser = Callable[[Path, ParseOptions], Iterator[ChatItem]]
PARSERS: dict[str, Parser] = {
    "jsonl": jsonl.parse, "chatgpt": chatgpt.parse, "claude": claude.parse,
    "whatsapp": whatsapp.parse, "telegram": telegram.parse, "slack": slack.parse,
}
FORMATS: tuple[str, ...] = tuple(PARSERS)
_PEEK = 256 * 1024
# What a format's inner file is called, when a folder is given for it.
_MAIN_FILE = {"chatgpt": "conversations.json", "claude": "conversations.json",
              "telegram": "result.json"}


def detect_format(path: Path) -> str:
    """The export format of ``path`` (a file, zip or folder), one of ``FORMATS``.

    Raises ``BadInput`` when the path is missing or the format is not recognised.
    """
    check_regular(path)  # a FIFO or device would block or never end
    try:
        if path.is_dir():
            found = _detect_folder(path)
        elif zipfile.is_zipfile(path):
            found = _detect_zip(path)
        else:
            with path.open("rb") as handle:
                found = _detect_head(handle.read(_PEEK), path.name)
    except OSError as exc:
        raise BadInput(f"{path.name}: cannot read ({exc.strerror or exc})") from exc
    except zipfile.BadZipFile as exc:
        raise BadInput(f"{path.name}: broken zip ({exc})") from exc
    if found is None:
        raise BadInput(f"{path.name}: not a chat export Engram recognises",
                       hint="Supported: " + ", ".join(FORMATS) + "; name one to force it.")
    return found


def parse_export(path: Path, format: str = "auto", *, name: str | None = None,
                 tz: tzinfo | None = None, day_first: bool | None = None) -> ChatImport:
    """Open a chat export as a stream of ``Observation``s with a running report.

    ``format`` is one of ``FORMATS`` or "auto". ``name`` names the conversation
    where the export does not (WhatsApp, JSONL); ``tz`` is the zone of
    offset-less times (default: local); ``day_first`` forces WhatsApp's date
    order. A file that cannot be read at all raises ``BadInput`` here, before
    anything is imported; problems inside are reported in ``skipped``.
    """
    check_regular(path)
    chosen = detect_format(path) if format == "auto" else format
    if chosen not in PARSERS:
        raise BadInput(f"unknown chat format {format!r}",
                       hint="Supported: " + ", ".join(FORMATS))
    target = path
    if path.is_dir() and chosen in _MAIN_FILE:
        target = path / _MAIN_FILE[chosen]
        if not target.is_file():
            raise BadInput(f"{path.name}: no {_MAIN_FILE[chosen]} in this folder")
    elif path.is_dir() and chosen != "slack":
        raise BadInput(f"{path.name}: is a folder; give the {chosen} export file itself")
    items = PARSERS[chosen](target, ParseOptions(name=name, tz=tz, day_first=day_first))
    return ChatImport(path, chosen, items)


def _detect_folder(path: Path) -> str | None:
    conversations = path / "conversations.json"
    if conversations.is_file():  # ChatGPT and Claude; Claude's also has users.json
        with conversations.open("rb") as handle:
            return _detect_head(handle.read(_PEEK), conversations.name)
    if (path / "result.json").is_file():
        return "telegram"
    if (path / "channels.json").is_file() or (path / "users.json").is_file():
        return "slack"
    return None


def _detect_zip(path: Path) -> str | None:
    with zipfile.ZipFile(path) as archive:
        for inner in ("conversations.json", "result.json"):
            member = find_member(archive, inner)
            if member is not None:
                with archive.open(member) as handle:
                    return _detect_head(handle.read(_PEEK), member)
        names = {PurePosixPath(n).name for n in archive.namelist()}
        if "channels.json" in names or "users.json" in names:
            return "slack"
        texts = [n for n in archive.namelist() if n.lower().endswith(".txt")]
        for member in texts:
            with archive.open(member) as handle:
                if _detect_head(handle.read(4096), member) == "whatsapp":
                    return "whatsapp"
    return None


def _detect_head(head: bytes, name: str) -> str | None:
    """Guess from the first bytes of a file (possibly cut mid-character)."""
    text = head.decode("utf-8", "ignore").lstrip("\ufeff\u200e\u200f \t\r\n")
    first_line = text.split("\n", 1)[0]
    if whatsapp.looks_like_whatsapp(first_line):
        return "whatsapp"
    if name.lower().endswith((".jsonl", ".ndjson")) or (
            text.startswith("{") and _is_jsonl_record(first_line)):
        return "jsonl"
    if not text.startswith(("[", "{")):
        return None
    # Key names that only one format uses, in the order they show up early.
    if '"mapping"' in text:
        return "chatgpt"
    if '"chat_messages"' in text:
        return "claude"
    if any(key in text for key in ('"date_unixtime"', '"personal_information"', '"from_id"')):
        return "telegram"
    # Older or converted Telegram exports: chats.list, or messages typed "message".
    if _TELEGRAM_CHATS.search(text) or (
            '"messages"' in text and _TELEGRAM_MESSAGE.search(text)):
        return "telegram"
    return None


_TELEGRAM_CHATS = re.compile(r'"chats"\s*:\s*\{\s*"(?:about|list)"')
_TELEGRAM_MESSAGE = re.compile(r'"type"\s*:\s*"(?:message|service)"')


def _is_jsonl_record(line: str) -> bool:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(record, dict) and "text" in record and "timestamp" in record
