"""Telegram Desktop export: ``result.json`` (machine-readable JSON export).

Either one chat ``{name, type, id, messages: [...]}`` or a full export whose
``chats.list`` (and ``left_chats.list``) hold the chats. A message's ``text`` is
a string or a list of parts (strings and ``{"type", "text", "href"?}`` dicts).
Times come from ``date_unixtime`` (UTC); older exports only have ``date``, which
is local wall-clock time (read in ``options.tz``, default this machine's zone).

Service messages ("X joined the group", pinned messages, calls) are ignored,
like WhatsApp's notices. Media become short notes ("[photo]", "[voice
message]", "[file: report.pdf]") followed by any caption. ``from`` may be null
(deleted accounts): the speaker is then "Deleted account".
External ids are ``telegram:<chat id>:<message id>``. Loaded whole.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from core.errors import BadInput
from ingest.chats.common import (ChatItem, Ignored, ParseOptions, SkippedItem, from_epoch,
                                 from_iso, load_json, make_observation, read_export_bytes,
                                 text_of)

FORMAT = "telegram"
_MEDIA = {"sticker": "sticker", "voice_message": "voice message", "video_message":
          "video message", "video_file": "video", "audio_file": "audio", "animation": "GIF"}


def parse(path: Path, options: ParseOptions = ParseOptions()) -> Iterator[ChatItem]:
    """Stream the messages of a Telegram ``result.json`` (or a zip holding it).

    Raises ``BadInput`` at once when the file is not valid JSON or holds no
    chats; a broken chat or message inside is skipped and reported.
    """
    data, label = read_export_bytes(path, "result.json")
    document = load_json(data, label)
    if not isinstance(document, dict):
        raise BadInput(f"{label}: expected a Telegram export object, "
                       f"found a JSON {type(document).__name__}")
    if isinstance(document.get("messages"), list):
        chats: list[Any] = [document]
    else:
        chats = []
        for key in ("chats", "left_chats"):
            section = document.get(key)
            if isinstance(section, dict) and isinstance(section.get("list"), list):
                chats.extend(section["list"])
        if not chats and not isinstance(document.get("chats"), dict):
            raise BadInput(f"{label}: no chats in this export (no 'messages' or 'chats.list')")
    return _chats(chats, label, options)


def _chats(chats: list[Any], label: str, options: ParseOptions) -> Iterator[ChatItem]:
    for index, chat in enumerate(chats):
        where = f"{label}: chat {index}"
        if not isinstance(chat, dict) or not isinstance(chat.get("messages"), list):
            yield SkippedItem(where, "not a chat (no messages)")
            continue
        name = text_of(chat.get("name")).strip() or (
            "Saved Messages" if chat.get("type") == "saved_messages" else f"Chat {chat.get('id')}")
        chat_id = str(chat["id"]) if isinstance(chat.get("id"), (int, str)) else name
        for message in chat["messages"]:
            yield _message(message, f"{where} ({name!r})", name, chat_id, options)


def _message(message: object, where: str, chat: str, chat_id: str,
             options: ParseOptions) -> ChatItem:
    if not isinstance(message, dict):
        return SkippedItem(where, "message is not an object")
    message_id = message.get("id")
    at = f"{where}, message {message_id}"
    if message.get("type") == "service":
        return Ignored("service message")
    if not isinstance(message_id, (int, str)):
        return SkippedItem(at, "message has no id")
    when = from_epoch(message.get("date_unixtime")) or from_iso(message.get("date"), options.tz)
    if when is None:
        return SkippedItem(at, "no readable date")
    text = "\n".join(p for p in (_media_note(message), flatten_text(message.get("text"))) if p)
    if not text.strip():
        return Ignored("empty message")
    sender = message.get("from")
    speaker = (sender.strip() or None) if isinstance(sender, str) else (
        "Deleted account" if message.get("from_id") else None)
    meta: dict[str, Any] = {"format": FORMAT, "conversation_id": chat_id,
                            "message_id": message_id}
    if message.get("reply_to_message_id") is not None:
        meta["reply_to"] = message["reply_to_message_id"]
    if isinstance(message.get("forwarded_from"), str):
        meta["forwarded_from"] = message["forwarded_from"]
    if message.get("edited") or message.get("edited_unixtime"):
        meta["edited"] = True
    return make_observation(captured_at=when, text=text.strip(), thread=chat, speaker=speaker,
                            external_id=f"telegram:{chat_id}:{message_id}", app="Telegram",
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
