"""The fixture corpus: every export in tests/fixtures/chats/corpus has its
expected messages written beside it (``<name>.expected.json``: speaker, time in
UTC, text — all read with ``tz=UTC``), and what was left out, per reason.

Each file is compared exactly, and its report must account for every message
the file holds: stored + skipped + left out = ``total``, counted by hand.
"""
from __future__ import annotations

import json
import re
from datetime import timezone
from pathlib import Path

import pytest

from ingest.chats import detect_format, parse_export

CORPUS = Path(__file__).parent / "fixtures" / "chats" / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if not p.name.endswith(".expected.json"))


def expected_of(path: Path) -> dict:
    return json.loads((CORPUS / (path.name + ".expected.json")).read_text("utf-8"))


def test_every_fixture_has_its_expectation() -> None:
    assert len(CASES) >= 12
    for path in CASES:
        assert (CORPUS / (path.name + ".expected.json")).is_file(), path.name


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_fixture_reads_exactly_as_expected(path: Path) -> None:
    expected = expected_of(path)
    assert detect_format(path) == expected["format"]
    stream = parse_export(path, tz=timezone.utc)
    got = [[o.speaker, o.captured_at.strftime("%Y-%m-%d %H:%M:%S"), o.text] for o in stream]
    report = stream.report()
    # ChatImport hands a message on when the next one of its conversation
    # arrives (for context), so conversations interleave: compare as sorted.
    assert sorted(got) == sorted(expected["messages"])
    assert dict(report.ignored) == expected["ignored"]
    assert report.skipped_by_reason == expected["skipped"]
    assert dict(report.notes) == expected["notes"]
    # Every message of the file is stored, skipped with a reason, or left out on purpose.
    assert report.imported + len(report.skipped) + sum(report.ignored.values()) \
        == report.total == expected["total"]
    assert report.imported == len(expected["messages"])


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_fixture_ids_are_unique_and_stable(path: Path) -> None:
    first = [o.external_id for o in parse_export(path, tz=timezone.utc)]
    again = [o.external_id for o in parse_export(path, tz=timezone.utc)]
    assert first == again and len(set(first)) == len(first)


# ── every fixture, old and new: the report accounts for every message ───────

FIXTURES = CORPUS.parent
_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_WA_START = re.compile(r"^\[?\d{1,4}[./-]\s?\d{1,2}[./-]\s?\d{1,4}\b")


def _count_messages(path: Path, fmt: str) -> int:
    """The file's messages, counted the simplest way each format allows."""
    if fmt == "whatsapp":
        lines = path.read_text("utf-8-sig").splitlines()
        return sum(1 for line in lines if _WA_START.match(_MARKS.sub("", line)))
    if fmt == "jsonl":
        return sum(1 for line in path.read_text("utf-8").splitlines() if line.strip())
    if fmt == "slack":
        # A day file that does not parse is one skipped unit.
        return sum(len(json.loads(p.read_text("utf-8"))) if _loads(p) else 1
                   for p in path.glob("*/*.json"))
    data = json.loads(path.read_text("utf-8"))
    if fmt == "chatgpt":
        return sum(1 if not isinstance(c, dict) or not isinstance(c.get("mapping"), dict)
                   else sum(1 for n in c["mapping"].values() if n.get("message") is not None)
                   for c in data)
    if fmt == "claude":
        return sum(len(c["chat_messages"]) if isinstance(c.get("chat_messages"), list) else 1
                   for c in data)
    chats = [data] if "messages" in data else [
        c for key in ("chats", "left_chats") for c in data.get(key, {}).get("list", [])]
    return sum(len(c.get("messages", [])) for c in chats)


def _loads(path: Path) -> bool:
    try:
        json.loads(path.read_text("utf-8"))
        return True
    except ValueError:
        return False


ALL = [p for p in sorted(FIXTURES.iterdir()) if p.name not in ("corpus", "chatgpt_truncated.json")
       ] + CASES


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_every_fixture_accounts_for_every_message(path: Path) -> None:
    fmt = detect_format(path)
    stream = parse_export(path, tz=timezone.utc)
    stored = len(list(stream))
    report = stream.report()
    assert stored == report.imported
    assert report.imported + len(report.skipped) + sum(report.ignored.values()) \
        == _count_messages(path, fmt), (report.skipped, report.ignored)
