"""The fixture corpus: every export in tests/fixtures/chats/corpus has its
expected messages written beside it (``<name>.expected.json``: speaker, time in
UTC, text — all read with ``tz=UTC``), and what was left out, per reason.

Each file is compared exactly, and its report must account for every message
the file holds: stored + skipped + left out = ``total``, counted by hand.
"""
from __future__ import annotations

import json
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
