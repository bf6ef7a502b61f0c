"""Telegram Desktop export: ``result.json`` (machine-readable JSON export).

Either one chat ``{name, type, id, messages: [...]}`` or a full export whose
``chats.list`` (and ``left_chats.list``) hold the chats. A message's ``text`` is
a string or a list of parts (strings and ``{"type", "text", "href"?}`` dicts).
Times come from ``date_unixtime`` (UTC); older exports only have ``date``, which
is local wall-clock time (read in ``options.tz``, default this machine's zone).

Service messages ("X joined the group", pinned messages, calls) are ignored,
like WhatsApp's notices. Media become short notes ("[photo]", "[voice
message]", "[file: report.pdf]") followed by any caption. ``from`` may be null
(deleted accounts): the speaker is then "Deleted account". Some exports carry
the text only as ``text_entities`` (the same parts); they are read the same way.

External ids are ``telegram:<chat id>:<message id>``; a message without an id
(hand-made or converted exports) gets ``h<hash>`` of its time, sender and text
(plus an occurrence counter), as in JSONL. A chat without a name is called after
its id. The file is streamed one message at a time (``jsonstream``).
"""
from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Callable, Iterator

from core.errors import BadInput
from ingest.chats.common import (ChatItem, DerivedIds, Ignored, ParseOptions, SkippedItem,
                                 export_opener, from_epoch, from_iso, make_observation,
                                 text_of)
from ingest.chats.jsonstream import check_json, json_units

FORMAT = "telegram"
_MEDIA = {"sticker": "sticker", "voice_message": "voice message", "video_message":
          "video message", "video_file": "video", "audio_file": "audio", "animation": "GIF"}


def parse(path: Path, options: ParseOptions = ParseOptions()) -> Iterator[ChatItem]:
    """Stream the messages of a Telegram ``result.json`` (or a zip holding it).

    Raises ``BadInput`` at once when the file is not valid JSON or holds no
    chats; a broken chat or message inside is skipped and reported.
    """
    open_, label = export_opener(path, "result.json")
    shape = check_json(open_, label)
    if shape.root != "object":
        raise BadInput(f"{label}: expected a Telegram export object, found a JSON {shape.root}")
    if not shape.keys & {"messages", "chats", "left_chats"}:
        raise BadInput(f"{label}: no chats in this export (no 'messages' or 'chats.list')")
    return _messages(open_, label, options)


_PATHS = {("messages", "item"), ("chats", "list", "item", "messages", "item"),
          ("left_chats", "list", "item", "messages", "item")}


def _messages(open_: Callable[[], IO[bytes]], label: str,
              options: ParseOptions) -> Iterator[ChatItem]:
    derived: dict[str, DerivedIds] = {}
    for unit in json_units(open_, lambda path: path in _PATHS):
        # The chat is the object holding "messages": its fields precede them.
        chat_fields, _ = unit.ancestors[-2]
        number = unit.ancestors[-3][1] - 1 if len(unit.ancestors) >= 3 else 0
        section = unit.path[0] if len(unit.path) > 2 else "chat"
        name = chat_name(chat_fields)
        raw_id = chat_fields.get("id")
        chat_id = (str(raw_id) if isinstance(raw_id, (int, str)) and not isinstance(raw_id, bool)
                   else f"{section}-{number}")
        where = (f"{label}: chat {number} ({name!r})" if section != "chat"
                 else f"{label} ({name!r})")
        position = unit.ancestors[-1][1] - 1
        if unit.error is not None:
            yield SkippedItem(f"{where}, message #{position + 1}", "message not readable",
                              unit.error)
            continue
        yield _message(unit.value, where, position, name, chat_id, options,
                       derived.setdefault(chat_id, DerivedIds()))


def chat_name(chat: dict[str, Any]) -> str:
    """A chat's name as the person saw it in Telegram's list of chats."""
    name = text_of(chat.get("name")).strip()
    if name:
        return name
    if chat.get("type") == "saved_messages":
        return "Saved Messages"
    raw_id = chat.get("id")
    if isinstance(raw_id, (int, str)) and not isinstance(raw_id, bool) and str(raw_id):
        return f"Telegram chat {raw_id}"
    return "Telegram chat"


def _message(message: object, where: str, position: int, chat: str, chat_id: str,
             options: ParseOptions, derived: DerivedIds) -> ChatItem:
    if not isinstance(message, dict):
        return SkippedItem(f"{where}, message #{position + 1}", "message is not an object")
    message_id = message.get("id")
    has_id = isinstance(message_id, (int, str)) and not isinstance(message_id, bool) \
        and str(message_id) != ""
    at = f"{where}, message {message_id}" if has_id else f"{where}, message #{position + 1}"
    if message.get("type") == "service":
        return Ignored("service message")
    when = from_epoch(message.get("date_unixtime")) or from_iso(message.get("date"), options.tz)
    if when is None:
        return SkippedItem(at, "no readable date")
    body = flatten_text(message.get("text")) or flatten_text(message.get("text_entities"))
    text = "\n".join(p for p in (_media_note(message), body) if p).strip()
    if not text:
        return Ignored("empty message")
    sender = message.get("from")
    speaker = (sender.strip() or None) if isinstance(sender, str) else (
        "Deleted account" if message.get("from_id") else None)
    local_id = str(message_id) if has_id else "h" + derived.make(
        when.isoformat(), speaker, text)
    meta: dict[str, Any] = {"format": FORMAT, "conversation_id": chat_id,
                            "message_id": message_id if has_id else local_id}
    if message.get("reply_to_message_id") is not None:
        meta["reply_to"] = message["reply_to_message_id"]
    if isinstance(message.get("forwarded_from"), str):
        meta["forwarded_from"] = message["forwarded_from"]
    if message.get("edited") or message.get("edited_unixtime"):
        meta["edited"] = True
    return make_observation(captured_at=when, text=text, thread=chat, speaker=speaker,
                            external_id=f"telegram:{chat_id}:{local_id}", app="Telegram",
                            meta=meta)


def flatten_text(value: object) -> str:
    """Telegram's text: a string, or a list of strings and formatted parts."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    pieces: list[str] = []
    for part in value:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict):
            piece = text_of(part.get("text"))
            href = text_of(part.get("href"))
            pieces.append(f"{piece} ({href})" if href and href != piece else piece)
    return "".join(pieces)


def _media_note(message: dict[str, Any]) -> str:
    if message.get("photo"):
        return "[photo]"
    media_type = text_of(message.get("media_type"))
    if media_type == "sticker":
        emoji = text_of(message.get("sticker_emoji"))
        return f"[sticker {emoji}]" if emoji else "[sticker]"
    if media_type in _MEDIA:
        return f"[{_MEDIA[media_type]}]"
    if message.get("file"):
        name = text_of(message.get("file_name")) or Path(text_of(message.get("file"))).name
        return f"[file: {name}]" if name and "not included" not in name else "[file]"
    if isinstance(message.get("poll"), dict):
        return f"[poll: {text_of(message['poll'].get('question'))}]"
    if isinstance(message.get("location_information"), dict):
        return "[location]"
    if isinstance(message.get("contact_information"), dict):
        return "[contact]"
    return ""
