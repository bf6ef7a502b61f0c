"""ChatGPT data export: ``conversations.json`` (alone or inside the export zip).

The file is a list of conversations; each holds its messages as a tree
(``mapping``: node id → {message, parent, children}) because editing a prompt or
regenerating an answer starts a new branch. Decisions:

- The path from the root to ``current_node`` is what the person last saw: those
  messages get ``meta["branch"] = "main"``. Messages on other branches are
  imported too (they were said, and may hold the answer someone remembers) with
  ``meta["branch"] = "alternate"``. Without a usable ``current_node`` the main
  line follows the last child at every fork (ChatGPT's newest branch).
- Only what a person sees in the chat is imported: user and assistant messages
  addressed to everyone, and images a tool generated into the chat ("[image]",
  as ChatGPT's). System prompts, custom instructions, tool calls and
  tool output, hidden messages and model "thoughts" are counted as ignored.
- A message with ``create_time: null`` takes the time of the nearest earlier
  message on its branch (or the conversation's), with ``meta["time_estimated"]``.
- External ids are ``chatgpt:<conversation id>:<message id>``.

- Each message's context (``meta["context"]``) is its neighbours on its own
  branch: the nearest imported ancestor before it, and after it the nearest
  imported descendant along the main line (or the newest child off it).

The file is streamed one conversation at a time (exports reach gigabytes);
each conversation is bounded in depth and size (``jsonstream``).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from core.errors import BadInput
from core.records import Observation
from ingest.chats.common import (ChatItem, Ignored, ParseOptions, SkippedItem, dict_of,
                                 export_opener, from_epoch, list_of, make_observation,
                                 label_of, short_hash, text_of, turn_of)
from ingest.chats.jsonstream import check_json, json_units

FORMAT = "chatgpt"
SPEAKERS = {"user": "You", "assistant": "ChatGPT"}
# Content types that are the model's private working, not part of the chat.
_HIDDEN_CONTENT = {"thoughts", "reasoning_recap", "user_editable_context",
                   "model_editable_context", "system_error", "app_pairing_content"}


def parse(path: Path, options: ParseOptions = ParseOptions()) -> Iterator[ChatItem]:
    """Stream the messages of a ChatGPT export (``conversations.json`` or zip).

    Raises ``BadInput`` at once when the file is not valid JSON or not a list
    of conversations; a broken conversation inside is skipped and reported.
    """
    open_, label = export_opener(path, "conversations.json")
    shape = check_json(open_, label)
    # A single conversation saved on its own is an object with a "mapping".
    single = shape.root == "object" and "mapping" in shape.keys
    if not single and shape.root != "list":
        raise BadInput(f"{label}: expected a list of conversations, "
                       f"found a JSON {shape.root}")
    return _conversations(open_, label, single)


def _conversations(open_: Callable[[], IO[bytes]], label: str,
                   single: bool) -> Iterator[ChatItem]:
    wanted = () if single else ("item",)
    units = json_units(open_, lambda path: path == wanted)
    for index, unit in enumerate(units):
        where = f"{label}: conversation {index}"
        conversation = unit.value
        if unit.error is not None:
            yield SkippedItem(where, "conversation not readable", unit.error)
            continue
        if not isinstance(conversation, dict) or not isinstance(conversation.get("mapping"), dict):
            yield SkippedItem(where, "not a conversation (no message tree)")
            continue
        title = text_of(conversation.get("title")).strip() or "Untitled conversation"
        yield from _conversation(conversation, f"{where} ({title!r})", title)


def _conversation(conversation: dict[str, Any], where: str, title: str) -> Iterator[ChatItem]:
    mapping: dict[str, Any] = conversation["mapping"]
    nodes = {key: node for key, node in mapping.items() if isinstance(node, dict)}
    parents = {key: _ref(node.get("parent"), nodes) for key, node in nodes.items()}
    children = {key: [c for c in list_of(node.get("children")) if _ref(c, nodes)]
                for key, node in nodes.items()}
    roots = [key for key, parent in parents.items() if parent is None]
    own_id = text_of(conversation.get("conversation_id")) or text_of(conversation.get("id"))
    conv_id = own_id or "h" + short_hash(title, conversation.get("create_time"))
    url = f"https://chatgpt.com/c/{own_id}" if own_id else None
    main = _main_line(parents, children, roots, _ref(conversation.get("current_node"), nodes))
    start_time = from_epoch(conversation.get("create_time"))

    # Depth-first from each root, children in their listed order: conversation
    # order within a branch, and every node visited once even if the tree is cyclic.
    visited: set[str] = set()
    found: list[tuple[str, ChatItem]] = []
    stack: list[tuple[str, datetime | None]] = [(key, start_time) for key in reversed(roots)]
    while stack:
        key, inherited = stack.pop()
        if key in visited:
            continue
        visited.add(key)
        message = nodes[key].get("message")
        item: ChatItem | None = None
        if isinstance(message, dict):
            own_time = from_epoch(message.get("create_time"))
            item = _message(message, key, where, own_time or inherited, own_time is None,
                            conv_id, title, "main" if key in main else "alternate", url)
            inherited = own_time or inherited
        elif message is not None:
            item = SkippedItem(f"{where}, node {key}", "message is not an object")
        if item is not None:
            found.append((key, item))
        stack.extend((child, inherited) for child in reversed(children[key]))
    observations = {key: item for key, item in found if isinstance(item, Observation)}
    for key, item in found:
        if isinstance(item, Observation):
            item = _with_context(item, key, observations, parents, children, main)
        yield item
    for key, node in nodes.items():
        if key not in visited and node.get("message"):
            yield SkippedItem(f"{where}, node {key}", "not reachable from the tree's root")


def _with_context(obs: Observation, key: str, observations: dict[str, Observation],
                  parents: dict[str, str | None], children: dict[str, list[str]],
                  main: set[str]) -> Observation:
    """``obs`` with its neighbours on its own branch as ``meta["context"]``."""
    context: dict[str, str] = {}
    seen = {key}
    step = parents[key]
    while step is not None and step not in seen:
        seen.add(step)
        if step in observations:
            context["before"] = turn_of(observations[step])
            break
        step = parents[step]
    step = _next_on_branch(key, children, main)
    while step is not None and step not in seen:
        seen.add(step)
        if step in observations:
            context["after"] = turn_of(observations[step])
            break
        step = _next_on_branch(step, children, main)
    return replace(obs, meta={**obs.meta, "context": context})


def _next_on_branch(key: str, children: dict[str, list[str]], main: set[str]) -> str | None:
    kids = children[key]
    on_main = [k for k in kids if k in main]
    return on_main[0] if on_main else (kids[-1] if kids else None)


def _ref(value: object, nodes: dict[str, Any]) -> str | None:
    """``value`` when it names a node of this conversation, else None."""
    return value if isinstance(value, str) and value in nodes else None


def _main_line(parents: dict[str, str | None], children: dict[str, list[str]],
               roots: list[str], current: str | None) -> set[str]:
    """Node ids on the path from the root to ``current`` (or the newest leaf)."""
    line: set[str] = set()
    if current is None:  # follow the newest (last) child at every fork
        key = roots[0] if roots else None
        while key is not None and key not in line:
            line.add(key)
            key = children[key][-1] if children[key] else None
        return line
    step: str | None = current
    while step is not None and step not in line:
        line.add(step)
        step = parents[step]
    return line


def _message(message: dict[str, Any], node_id: str, where: str, when: datetime | None,
             estimated: bool, conv_id: str, title: str, branch: str,
             url: str | None) -> ChatItem:
    role = text_of(dict_of(message.get("author")).get("role")) or "unknown"
    metadata = dict_of(message.get("metadata"))
    content = dict_of(message.get("content"))
    content_type = text_of(content.get("content_type"))
    if role == "tool" and _shows_images(content):
        role = "assistant"  # generated images appear in the chat as ChatGPT's
    if role not in SPEAKERS:
        return Ignored(f"{label_of(role)} message")
    if metadata.get("is_visually_hidden_from_conversation") or content_type in _HIDDEN_CONTENT:
        return Ignored("hidden message")
    if message.get("recipient") not in (None, "all"):
        return Ignored("message to a tool")
    attachments = [text_of(dict_of(a).get("name")) for a in list_of(metadata.get("attachments"))
                   if text_of(dict_of(a).get("name"))]
    text = _content_text(content, named_files=bool(attachments))
    if text is None:
        return Ignored(f"{label_of(content_type)} content")
    text = "\n".join(p for p in [text, *(f"[attached: {n}]" for n in attachments)] if p)
    if not text:
        return Ignored("empty message")
    message_id = text_of(message.get("id")) or node_id
    if when is None:
        return SkippedItem(f"{where}, message {message_id}", "no time anywhere in the conversation")
    meta: dict[str, Any] = {"format": FORMAT, "conversation_id": conv_id,
                            "message_id": message_id, "role": role, "branch": branch}
    if estimated:
        meta["time_estimated"] = True
    if isinstance(metadata.get("model_slug"), str):
        meta["model"] = metadata["model_slug"]
    return make_observation(captured_at=when, text=text, thread=title, speaker=SPEAKERS[role],
                            external_id=f"chatgpt:{conv_id}:{message_id}", app="ChatGPT",
                            meta=meta, url=url)


def _shows_images(content: dict[str, Any]) -> bool:
    return content.get("content_type") == "multimodal_text" and any(
        dict_of(part).get("content_type") == "image_asset_pointer"
        for part in list_of(content.get("parts")))


def _content_text(content: dict[str, Any], named_files: bool) -> str | None:
    """The visible text of a message's content, or None for unsupported types.

    With ``named_files``, image parts are left to the "[attached: name]" notes.
    """
    content_type = content.get("content_type")
    if content_type == "code":
        return text_of(content.get("text")).strip()
    if content_type not in ("text", "multimodal_text"):
        return None
    pieces: list[str] = []
    for part in list_of(content.get("parts")):
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict) and not (
                named_files and part.get("content_type") == "image_asset_pointer"):
            pieces.append(_part_text(part))
    return "\n".join(p for p in (piece.strip() for piece in pieces) if p)


def _part_text(part: dict[str, Any]) -> str:
    kind = text_of(part.get("content_type"))
    spoken = text_of(part.get("text"))  # audio transcriptions and the like
    if spoken:
        return spoken
    if kind == "image_asset_pointer":
        return "[image]"
    if "audio" in kind or "video" in kind:
        return ""  # voice-mode media: their transcript comes as its own part
    return f"[{kind.replace('_', ' ')}]" if kind else ""
