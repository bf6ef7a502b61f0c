"""Claude data export: ``conversations.json`` (alone or inside the export zip).

A list of conversations ``{uuid, name, created_at, chat_messages: [{uuid, sender,
text, content: [{type, text}], created_at, attachments, files}]}``. The text of
a message is its ``content`` text blocks (falling back to ``text``); tool calls
become a short note only when they made an artifact; "thinking" blocks are left
out; attached files become ``[attached: name]`` notes (their extracted text is
not imported: it is the file, not the conversation).

Where the export records branches (``parent_message_uuid`` and the
conversation's ``current_leaf_message_uuid``), messages off the path to the
current leaf get ``meta["branch"] = "alternate"``, and every message's context
(``meta["context"]``) is its neighbours on its own branch, as for ChatGPT.
External ids are ``claude:<conversation uuid>:<message uuid>``. Streamed one
conversation at a time, each bounded in depth and size (``jsonstream``).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from core.errors import BadInput
from core.records import Observation
from ingest.chats.common import (ChatItem, DerivedIds, Ignored, ParseOptions, SkippedItem,
                                 dict_of, export_opener, from_iso, list_of, make_observation,
                                 label_of, short_hash, text_of, turn_of)
from ingest.chats.jsonstream import check_json, json_units

FORMAT = "claude"
_NOT_SHOWN = {"thinking", "redacted_thinking", "tool_result", "token_budget"}
SPEAKERS = {"human": ("You", "user"), "user": ("You", "user"),
            "assistant": ("Claude", "assistant")}


def parse(path: Path, options: ParseOptions = ParseOptions()) -> Iterator[ChatItem]:
    """Stream the messages of a Claude export (``conversations.json`` or zip).

    Raises ``BadInput`` at once when the file is not valid JSON or not a list
    of conversations; a broken conversation or message is skipped and reported.
    """
    open_, label = export_opener(path, "conversations.json")
    shape = check_json(open_, label)
    single = shape.root == "object" and "chat_messages" in shape.keys
    if not single and shape.root != "list":
        raise BadInput(f"{label}: expected a list of conversations, "
                       f"found a JSON {shape.root}")
    return _conversations(open_, label, single)


def _conversations(open_: Callable[[], IO[bytes]], label: str,
                   single: bool) -> Iterator[ChatItem]:
    wanted = () if single else ("item",)
    for index, unit in enumerate(json_units(open_, lambda path: path == wanted)):
        where = f"{label}: conversation {index}"
        conversation = unit.value
        if unit.error is not None:
            yield SkippedItem(where, "conversation not readable", unit.error)
            continue
        if not isinstance(conversation, dict) or not isinstance(
                conversation.get("chat_messages"), list):
            yield SkippedItem(where, "not a conversation (no chat_messages)")
            continue
        title = text_of(conversation.get("name")).strip() or "Untitled conversation"
        own_id = text_of(conversation.get("uuid"))
        conv_id = own_id or "h" + short_hash(title, conversation.get("created_at"))
        messages = [m for m in conversation["chat_messages"] if isinstance(m, dict)]
        branches = _branches(messages, conversation.get("current_leaf_message_uuid"))
        url = f"https://claude.ai/chat/{own_id}" if own_id else None
        derived = DerivedIds()
        found: list[tuple[str, ChatItem]] = []
        for position, message in enumerate(conversation["chat_messages"]):
            at = f"{where} ({title!r}), message {position}"
            if not isinstance(message, dict):
                found.append(("", SkippedItem(at, "message is not an object")))
                continue
            found.append((text_of(message.get("uuid")),
                          _message(message, at, conv_id, title, branches, derived, url)))
        if branches:
            found = _branch_context(found, messages, branches)
        for _, item in found:
            yield item


def _branch_context(found: list[tuple[str, ChatItem]], messages: list[dict[str, Any]],
                    branches: dict[str, str]) -> list[tuple[str, ChatItem]]:
    """Each message's neighbours on its own branch as ``meta["context"]``."""
    parents = {text_of(m.get("uuid")): text_of(m.get("parent_message_uuid")) for m in messages}
    children: dict[str, list[str]] = {}
    for uuid, parent in parents.items():
        children.setdefault(parent, []).append(uuid)
    said = {uuid: item for uuid, item in found if isinstance(item, Observation) and uuid}

    def after(uuid: str) -> str | None:
        seen = {uuid}
        while True:
            kids = children.get(uuid, [])
            on_main = [k for k in kids if branches.get(k) == "main"]
            uuid = on_main[0] if on_main else (kids[-1] if kids else "")
            if not uuid or uuid in seen:
                return None
            seen.add(uuid)
            if uuid in said:
                return turn_of(said[uuid])

    def before(uuid: str) -> str | None:
        seen = {uuid}
        uuid = parents.get(uuid, "")
        while uuid and uuid not in seen:
            seen.add(uuid)
            if uuid in said:
                return turn_of(said[uuid])
            uuid = parents.get(uuid, "")
        return None

    out: list[tuple[str, ChatItem]] = []
    for uuid, item in found:
        if isinstance(item, Observation) and uuid in said:
            context = {k: v for k, v in (("before", before(uuid)), ("after", after(uuid))) if v}
            item = replace(item, meta={**item.meta, "context": context})
        out.append((uuid, item))
    return out


def _branches(messages: list[dict[str, Any]], leaf: object) -> dict[str, str]:
    """message uuid → "main" | "alternate", or empty when branches are unrecorded."""
    parents = {m["uuid"]: text_of(m.get("parent_message_uuid")) for m in messages
               if isinstance(m.get("uuid"), str)}
    if not isinstance(leaf, str) or leaf not in parents:
        return {}
    main: set[str] = set()
    key = leaf
    while key in parents and key not in main:
        main.add(key)
        key = parents[key]
    return {uuid: "main" if uuid in main else "alternate" for uuid in parents}


def _message(message: dict[str, Any], where: str, conv_id: str, title: str,
             branches: dict[str, str], derived: DerivedIds, url: str | None) -> ChatItem:
    sender = text_of(message.get("sender"))
    if sender not in SPEAKERS:
        return Ignored(f"{label_of(sender)} message")
    speaker, role = SPEAKERS[sender]
    when = from_iso(message.get("created_at"))
    if when is None:
        return SkippedItem(where, "no readable created_at")
    text = _message_text(message)
    if not text:
        return Ignored("empty message")
    message_id = text_of(message.get("uuid")) or "h" + derived.make(
        message.get("created_at"), sender, text)
    meta: dict[str, Any] = {"format": FORMAT, "conversation_id": conv_id,
                            "message_id": message_id, "role": role}
    if message_id in branches:
        meta["branch"] = branches[message_id]
    return make_observation(captured_at=when, text=text, thread=title, speaker=speaker,
                            external_id=f"claude:{conv_id}:{message_id}", app="Claude",
                            meta=meta, url=url)


def _message_text(message: dict[str, Any]) -> str:
    pieces: list[str] = []
    blocks = message.get("content")
    if isinstance(blocks, list) and blocks:
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                pieces.append(text_of(block.get("text")))
            elif kind == "tool_use":
                artifact = text_of(dict_of(block.get("input")).get("title"))
                if artifact:
                    pieces.append(f"[artifact: {artifact}]")
            elif kind not in _NOT_SHOWN:
                # Other blocks that carry words (voice notes…) show them.
                pieces.append(text_of(block.get("text")))
            # Thinking and tool results are not the conversation.
    else:
        pieces.append(text_of(message.get("text")))
    names: list[str] = []  # a file often appears under both keys
    for key in ("attachments", "files"):
        for item in list_of(message.get(key)):
            name = text_of(dict_of(item).get("file_name"))
            if name and name not in names:
                names.append(name)
    pieces.extend(f"[attached: {name}]" for name in names)
    return "\n".join(p for p in (piece.strip() for piece in pieces) if p)
