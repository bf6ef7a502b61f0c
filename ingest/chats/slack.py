"""Slack workspace export: a folder or a zip with ``channels.json``, ``users.json``
(plus ``groups.json``, ``dms.json``, ``mpims.json`` when present) and one folder
per conversation of ``YYYY-MM-DD.json`` day files.

User ids become people's real names (from ``users.json``, else the message's
own ``user_profile``; the display name or handle only when no real name is
known). Bot posts keep their words in ``attachments`` (pretext, title, text,
fields, or the fallback when nothing else is there); those become the text. ``<@U123>``, ``<#C123|general>``, ``<!here>`` and
``<https://…|label>`` become readable text. Thread replies keep their parent's
``thread_ts`` in ``meta``. Joins, leaves, topic changes and other notices are
ignored; edits and deletions recorded as separate events are ignored too (the
export already holds the edited text). A broken day file is skipped and
reported; a broken ``channels.json`` or ``users.json`` refuses the whole export.
External ids are ``slack:<channel id>:<ts>`` (ts is unique within a channel);
the time is ts's whole seconds (its fraction is a sequence number, not time).
Each JSON file is loaded whole; day files keep that small.
"""
from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from core.errors import BadInput
from ingest.chats.common import (MAX_SMALL_FILE, BadJson, ChatItem, Ignored, ParseOptions,
                                 SkippedItem, check_regular, dict_of, from_epoch, list_of,
                                 label_of, load_json, make_observation, read_small,
                                 text_of)

FORMAT = "slack"
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_IMPORTED_SUBTYPES = {None, "thread_broadcast", "reply_broadcast", "me_message", "file_share",
                      "bot_message", "slackbot_response", "file_comment"}
_MARKUP = re.compile(r"<([^<>]+)>")
# What Slack writes as a post's text when its content is in blocks.
_PLACEHOLDERS = {"This content can't be displayed.", "This content can\u2019t be displayed."}


class _Tree:
    """Read-only access to the export's files, from a folder or a zip."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path) if path.is_file() else None
        names = (self._zip.namelist() if self._zip else
                 [p.relative_to(path).as_posix() for p in path.rglob("*.json")])
        # Zips made by hand often wrap everything in one top folder.
        anchors = [n for n in names if PurePosixPath(n).name in ("channels.json", "users.json")]
        self.root = str(PurePosixPath(min(anchors, key=len)).parent) if anchors else ""
        self.root = "" if self.root == "." else self.root
        self.names = {n for n in names if n.endswith(".json")}
        # folder (relative to root) → its day files, oldest first
        self.days: dict[str, list[str]] = {}
        prefix = self.rel("")
        for name in sorted(self.names):
            parts = PurePosixPath(name[len(prefix):]).parts if name.startswith(prefix) else ()
            if len(parts) == 2 and _DAY_FILE.match(parts[1]):
                self.days.setdefault(parts[0], []).append(name)

    def label(self, name: str) -> str:
        return f"{self.path.name}:{name}"

    def rel(self, name: str) -> str:
        return f"{self.root}/{name}" if self.root else name

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            if self._zip.getinfo(name).file_size > MAX_SMALL_FILE:
                raise BadInput(f"{self.label(name)}: larger than "
                               f"{MAX_SMALL_FILE // (1024 * 1024)} MB")
            return self._zip.read(name)
        return read_small(self.path / name, self.label(name))

    def exists(self, name: str) -> bool:
        return name in self.names

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


@dataclass(frozen=True)
class _Channel:
    id: str
    folder: str
    title: str


def parse(path: Path, options: ParseOptions = ParseOptions()) -> Iterator[ChatItem]:
    """Stream the messages of a Slack export folder or zip.

    Raises ``BadInput`` at once when it is not a Slack export or its
    ``channels.json`` / ``users.json`` cannot be read.
    """
    check_regular(path)
    try:
        tree = _Tree(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BadInput(f"{path.name}: cannot read the Slack export ({exc})") from exc
    try:
        if not (tree.exists(tree.rel("channels.json")) or tree.exists(tree.rel("users.json"))):
            raise BadInput(f"{path.name}: not a Slack export (no channels.json or users.json)")
        users = _users(tree)
        channels = _channels(tree, users)
    except BaseException:
        tree.close()
        raise
    return _items(tree, channels, users)


def _load(tree: _Tree, name: str) -> Any:
    try:
        return load_json(tree.read(name), tree.label(name))
    except (OSError, KeyError) as exc:
        raise BadInput(f"{tree.label(name)}: cannot read ({exc})") from exc


def _users(tree: _Tree) -> dict[str, str]:
    name = tree.rel("users.json")
    if not tree.exists(name):
        return {}
    data = _load(tree, name)
    if not isinstance(data, list):
        raise BadInput(f"{tree.label(name)}: expected a list of users")
    users: dict[str, str] = {}
    for user in data:
        if isinstance(user, dict) and isinstance(user.get("id"), str):
            users[user["id"]] = _person_name(user.get("profile"), user) or user["id"]
    return users


def _person_name(profile: object, fallback: dict[str, Any] | None = None) -> str:
    profile = profile if isinstance(profile, dict) else {}
    fallback = fallback or {}
    for value in (profile.get("real_name"), fallback.get("real_name"),
                  profile.get("display_name"), profile.get("name"), fallback.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _channels(tree: _Tree, users: dict[str, str]) -> list[_Channel]:
    channels: list[_Channel] = []
    for listing in ("channels.json", "groups.json", "mpims.json", "dms.json"):
        name = tree.rel(listing)
        if not tree.exists(name):
            continue
        data = _load(tree, name)
        if not isinstance(data, list):
            raise BadInput(f"{tree.label(name)}: expected a list of conversations")
        for entry in data:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                continue
            if listing == "dms.json":  # DM folders are named by id
                members = [users.get(m, m) for m in map(text_of, list_of(entry.get("members")))
                           if m]
                channels.append(_Channel(entry["id"], entry["id"],
                                         "DM: " + ", ".join(members)))
            elif isinstance(entry.get("name"), str):
                channels.append(_Channel(entry["id"], entry["name"], "#" + entry["name"]))
    # Day-file folders missing from every listing are still conversations.
    listed = {c.folder for c in channels}
    channels.extend(_Channel(folder, folder, "#" + folder)
                    for folder in sorted(tree.days) if folder not in listed)
    return channels


def _items(tree: _Tree, channels: list[_Channel], users: dict[str, str]) -> Iterator[ChatItem]:
    try:
        for channel in channels:
            for day in tree.days.get(channel.folder, ()):
                try:
                    messages = _load(tree, day)
                except BadJson as exc:
                    yield SkippedItem(tree.label(day), "day file not readable", exc.problem)
                    continue
                except BadInput as exc:
                    yield SkippedItem(tree.label(day), "day file not readable", exc.message)
                    continue
                if not isinstance(messages, list):
                    yield SkippedItem(tree.label(day), "not a list of messages")
                    continue
                for message in messages:
                    yield _message(message, tree.label(day), channel, users)
    finally:
        tree.close()


def _message(message: object, where: str, channel: _Channel, users: dict[str, str]) -> ChatItem:
    if not isinstance(message, dict):
        return SkippedItem(where, "message is not an object")
    kind = message.get("type", "message")
    if kind != "message":  # reactions and other events some exporters keep
        return Ignored(f"{label_of(kind)} event")
    subtype = message.get("subtype")
    subtype = subtype if isinstance(subtype, str) or subtype is None else "unknown"
    if subtype not in _IMPORTED_SUBTYPES:
        return Ignored(f"{label_of(subtype)} event")
    ts = text_of(message.get("ts"))
    when = from_epoch(ts.partition(".")[0]) if ts else None
    if when is None:
        return SkippedItem(where, "message without a readable ts", repr(ts)[:80])
    text = readable_text(text_of(message.get("text")), users)
    if not text.strip() or text.strip() in _PLACEHOLDERS:
        # Newer posts may carry their words only in blocks.
        text = readable_text(_blocks_text(message.get("blocks")), users) or text
    attachments = [dict_of(a) for a in list_of(message.get("attachments"))]
    # A person's own words stand alone; link previews under them are not theirs.
    # Bot posts and bare shares are made of their attachments.
    if text.strip() and not (message.get("bot_id") or subtype == "bot_message"):
        attachments = []
    attachments = [a for a in attachments
                   if not (text.strip() and (a.get("from_url") or a.get("original_url")))]
    files = [dict_of(f) for f in list_of(message.get("files"))]
    notes = [f"[file: {text_of(f.get('name')) or text_of(f.get('title')) or 'unnamed'}]"
             for f in files if f]
    parts = [text, *(_attachment_text(a, users, text) for a in attachments), *notes]
    text = "\n".join(p for p in parts if p.strip()).strip()
    if not text:
        return Ignored("empty message")
    user = text_of(message.get("user"))
    speaker = (users.get(user) or _person_name(message.get("user_profile"))
               or text_of(message.get("username"))
               or _person_name(message.get("bot_profile"))
               or next((text_of(a.get("author_name")) for a in attachments
                        if text_of(a.get("author_name"))), "") or user or None)
    meta: dict[str, Any] = {"format": FORMAT, "conversation_id": channel.id, "ts": ts}
    thread_ts = text_of(message.get("thread_ts"))
    if thread_ts:
        meta["thread_ts"] = thread_ts
        meta["reply"] = thread_ts != ts
    if isinstance(message.get("edited"), dict):
        meta["edited"] = True
    return make_observation(captured_at=when, text=text, thread=channel.title, speaker=speaker,
                            external_id=f"slack:{channel.id}:{ts}", app="Slack", meta=meta)


def _attachment_text(attachment: dict[str, Any], users: dict[str, str], said: str) -> str:
    """What a person sees of one attachment (bot posts, link unfurls, shares)."""
    pieces = [text_of(attachment.get(k)) for k in ("pretext", "title", "text")]
    for field in list_of(attachment.get("fields")):
        title, value = text_of(dict_of(field).get("title")), text_of(dict_of(field).get("value"))
        pieces.append(f"{title}: {value}" if title and value else title or value)
    pieces = [readable_text(p, users).strip() for p in pieces if p.strip()]
    if not pieces:
        fallback = readable_text(text_of(attachment.get("fallback")), users).strip()
        pieces = [fallback] if fallback and fallback not in said else []
    return "\n".join(p for p in pieces if p not in said)


def _blocks_text(blocks: object) -> str:
    """The visible text of Block Kit blocks (sections, headers, rich text)."""
    lines: list[str] = []
    for block in list_of(blocks)[:200]:
        block = dict_of(block)
        kind = block.get("type")
        if kind in ("section", "header", "context"):
            lines.append(text_of(dict_of(block.get("text")).get("text")))
            lines.extend(text_of(dict_of(f).get("text")) for f in list_of(block.get("fields")))
            if kind == "context":
                lines.extend(text_of(dict_of(e).get("text"))
                             for e in list_of(block.get("elements")))
        elif kind == "rich_text":
            pieces: list[str] = []
            for section in list_of(block.get("elements"))[:200]:
                for element in list_of(dict_of(section).get("elements"))[:1000]:
                    element = dict_of(element)
                    pieces.append(text_of(element.get("text")) or text_of(element.get("url"))
                                  or (f"<@{text_of(element.get('user_id'))}>"
                                      if element.get("type") == "user" else ""))
                pieces.append("\n")
            lines.append("".join(pieces).strip())
    return "\n".join(line for line in lines if line.strip())


def readable_text(text: str, users: dict[str, str]) -> str:
    """Slack's message markup as plain text: mentions, channels, links, entities."""
    def replace(found: re.Match[str]) -> str:
        inner = found.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (users.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            special = label or target[1:].split("^")[0]
            return special if special.startswith("@") else "@" + special
        if target.startswith("mailto:"):
            return label or target[len("mailto:"):]
        return f"{label} ({target})" if label and label != target else target
    # Slack escapes only &, < and >; unescape after the markup is resolved.
    return html.unescape(_MARKUP.sub(replace, text))
