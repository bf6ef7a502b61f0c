"""Property-based tests (hypothesis) for every chat parser and the JSONL reader.

Random bytes (invalid UTF-8 included), structured garbage shaped like each
export, deep nesting and huge fields: no exception other than Engram's own
user-facing errors escapes, every message handed out is well formed, and every
example finishes within the profile's deadline (tests/conftest.py;
``--hypothesis-profile=long`` for a long run).
"""
from __future__ import annotations

import json
import tempfile
from datetime import timezone
from pathlib import Path

from hypothesis import example, given, strategies as st

from core.errors import EngramError
from ingest.chats import FORMATS, parse_export
from ingest.chats.common import MAX_MESSAGE_CHARS

UTC = timezone.utc


def _run(path: Path, fmt: str) -> None:
    """Import ``path`` as ``fmt``; only user-facing errors may escape."""
    try:
        stream = parse_export(path, fmt, tz=UTC)
        with stream:
            for obs in stream:
                assert isinstance(obs.text, str) and obs.text.strip()
                assert len(obs.text) <= MAX_MESSAGE_CHARS + 100
                assert obs.captured_at.utcoffset() is not None
                assert obs.external_id and obs.thread
                json.dumps(dict(obs.meta))
        report = stream.report()
    except EngramError:
        return
    assert report.total == report.imported + len(report.skipped) + sum(report.ignored.values())
    assert all(s.reason and s.where for s in report.skipped)


def _in_file(name: str, data: bytes, formats: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        for fmt in formats:
            _run(path, fmt)


# ── random bytes through every parser ────────────────────────────────────────

@given(st.binary(max_size=2000))
@example(b"\xff\xfe[{\"mapping\":")
@example(b"[" * 5000)
def test_hypothesis_any_bytes_any_format(data: bytes) -> None:
    _in_file("conversations.json", data, ("auto", *FORMATS))


# ── WhatsApp: lines built from the pieces real exports are made of ───────────

MARKS = ["\u200e", "\u200f", "\u202a", "\u202c", "\u2066", "\u2069", "\ufeff"]
_WA = MARKS + [
    "[", "]", " - ", ", ", " ", "\u202f", "\n", "\r\n", ":", ": ", "/", ".", "-",
    "1", "12", "13", "29", "31", "00", "23", "2024", "18", "AM", "PM", "a. m.", "p. m.",
    "vorm.", "nachm.", "Ana", "Bo", "<Media omitted>", "image omitted", "<attached: a.jpg>",
    "(file attached)", "This message was deleted", "<This message was edited>", "null",
    "added", "created group", "Messages and calls are end-to-end encrypted", "“", '"', "•",
    "\ud800", "\x00", "日本",
]
wa_line = st.lists(st.one_of(st.sampled_from(_WA), st.integers(0, 99).map(str),
                             st.text(max_size=10)), max_size=25).map("".join)
wa_header = st.builds(
    lambda m1, a, b, c, h, mi, ampm, ios, m2, name, text: (
        f"{m1}[{a}/{b}/{c}, {h}:{mi:02d}{ampm}] {m2}{name}: {text}" if ios
        else f"{m1}{a}/{b}/{c}, {h}:{mi:02d}{ampm} - {m2}{name}: {text}"),
    st.sampled_from(["", *MARKS]), st.integers(0, 40), st.integers(0, 40),
    st.sampled_from(["18", "2024", "99", "0"]), st.integers(0, 30), st.integers(0, 99),
    st.sampled_from(["", " AM", " PM", "\u202fPM", " a. m.", " nachm."]), st.booleans(),
    st.sampled_from(["", *MARKS]), st.text(max_size=12), st.text(max_size=40))


@given(st.lists(st.one_of(wa_header, wa_line), min_size=1, max_size=40))
@example(["1/29/18, 23:59 PM - Bob: \u200eHow about Locations?"])
@example(["\ufeff[\ufeff29.01.18, 12:27:03] Dave: " + "x" * 200_000])
def test_hypothesis_whatsapp_lines(lines: list[str]) -> None:
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    _in_file("chat.txt", data, ("auto", "whatsapp"))


# ── JSON exports: shaped garbage, deep nesting, huge fields ──────────────────

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                        st.text(max_size=30),
                        st.sampled_from(["", "user", "assistant", "human", "message", "service",
                                         "text", "multimodal_text", "all", "python", "1704448920",
                                         "2024-01-05T10:02:00", "2024-01-05T10:02:00Z"]))
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["id", "text", "parts", "content", "content_type", "author", "role",
                                 "message", "parent", "children", "mapping", "create_time",
                                 "current_node", "type", "from", "date", "date_unixtime",
                                 "text_entities", "messages", "name", "chats", "list", "sender",
                                 "created_at", "chat_messages", "uuid", "recipient", "metadata",
                                 "ts", "user", "attachments", "files", "subtype"]),
                                inner, max_size=6)),
    max_leaves=40)


def _deep(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@given(json_value, st.sampled_from(["plain", "deep", "huge"]), st.integers(1, 3000))
def test_hypothesis_json_exports(value: object, shape: str, depth: int) -> None:
    text = json.dumps(value)
    if shape == "deep":
        text = json.dumps({"mapping": {}, "messages": [], "chat_messages": []})[:-1] \
            + ', "x": ' + _deep(depth, text) + "}"
    elif shape == "huge":
        text = json.dumps([value, "y" * 300_000, {"messages": [{"text": "z" * 100_000}]}])
    _in_file("conversations.json", text.encode(), ("auto", "chatgpt", "claude", "telegram"))


@given(st.lists(st.one_of(json_value.map(json.dumps), st.text(max_size=60),
                          st.integers(1, 2000).map(_deep)), max_size=12),
       st.binary(max_size=50))
def test_hypothesis_jsonl_lines(lines: list[str], junk: bytes) -> None:
    good = json.dumps({"conversation": "c", "timestamp": "2024-01-01T00:00:00Z", "text": "ok"})
    data = "\n".join([good, *lines]).encode("utf-8", "surrogatepass") + b"\n" + junk
    _in_file("chat.jsonl", data, ("auto", "jsonl"))


@given(st.lists(json_value, max_size=6), json_value)
def test_hypothesis_slack_day_files(messages: list[object], users: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "general").mkdir()
        (root / "channels.json").write_text('[{"id": "C1", "name": "general"}]')
        (root / "users.json").write_text(json.dumps(users))
        (root / "general" / "2024-01-01.json").write_text(json.dumps(messages))
        _run(root, "slack")
        _run(root, "auto")
