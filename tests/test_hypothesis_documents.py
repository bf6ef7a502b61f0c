"""Property tests for the document extractors: garbage, truncated and mutated
files, huge fields, deep nesting, invalid UTF-8. Whatever the bytes, ``extract``
returns Extracted or Skipped (never raises) within the profile's deadline, and
its text chunks cleanly. Profiles: tests/conftest.py (``--hypothesis-profile=long``)."""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from hypothesis import given, note
from hypothesis import strategies as st

from core.textnorm import normalize_text
from ingest.files.blocks import Extracted, Skipped
from ingest.files.chunk import chunk
from ingest.files.extract import extract
from ingest.files.markup import csv_blocks, markdown_blocks
from ingest.files.html import html_blocks
from ingest.files.quality import text_problem, text_score
from tests import office_docs, pdfs

_DIR = Path(tempfile.mkdtemp(prefix="engram-hypothesis-"))
SUFFIXES = [".pdf", ".docx", ".odt", ".fodt", ".html", ".md", ".csv", ".json", ".txt", ".js",
            ".xml", ""]


def _valid(kind: str) -> bytes:
    if kind == "pdf":
        return pdfs.three_column_pdf()
    if kind == "form":
        return pdfs.form_pdf()
    path = _DIR / f"valid.{kind}"
    (office_docs.write_docx if kind == "docx" else office_docs.write_odt)(path)
    return path.read_bytes()


VALID = {kind: _valid(kind) for kind in ("pdf", "form", "docx", "odt")}


def check(name: str, data: bytes) -> Extracted | Skipped:
    path = _DIR / name
    path.write_bytes(data)
    note(f"{name}: {len(data)} bytes")
    result = extract(path, max_bytes=8 << 20, data_max_bytes=64 << 10)
    assert isinstance(result, (Extracted, Skipped))
    if isinstance(result, Extracted):
        assert result.blocks
        for piece in chunk(result):
            assert piece.text.strip() and len(piece.text) <= 1500
            assert normalize_text(piece.text) == piece.text
    else:
        assert result.reason and "\n" not in result.reason
    return result


@given(st.binary(max_size=4096), st.sampled_from(SUFFIXES))
def test_random_bytes_under_any_name(data: bytes, suffix: str) -> None:
    check(f"random{suffix}", data)


@given(st.sampled_from(sorted(VALID)), st.data())
def test_truncated_and_mutated_documents(kind: str, data: st.DataObject) -> None:
    original = VALID[kind]
    cut = data.draw(st.integers(0, len(original)), label="cut")
    mutated = bytearray(original[:cut] if data.draw(st.booleans(), label="truncate")
                        else original)
    for _ in range(data.draw(st.integers(0, 8), label="flips")):
        if mutated:
            at = data.draw(st.integers(0, len(mutated) - 1))
            mutated[at] = data.draw(st.integers(0, 255))
    suffix = ".pdf" if kind in ("pdf", "form") else f".{kind}"
    check(f"mutated{suffix}", bytes(mutated))


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buf.getvalue()


@given(st.sampled_from(["word/document.xml", "word/footnotes.xml", "word/comments.xml",
                        "word/styles.xml", "word/_rels/document.xml.rels", "_rels/.rels",
                        "word/header1.xml"]),
       st.one_of(st.binary(max_size=2000),
                 st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
                 st.integers(1, 3000).map(lambda n: b"<a>" * n + b"</a>" * n)))
def test_docx_with_a_hostile_part(part: str, content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(VALID["docx"])) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[part] = content
    check("hostile.docx", _zip(parts))


@given(st.sampled_from(["content.xml", "styles.xml", "meta.xml", "META-INF/manifest.xml"]),
       st.one_of(st.binary(max_size=2000),
                 st.integers(1, 3000).map(lambda n: b"<a>" * n + b"</a>" * n)))
def test_odt_with_a_hostile_part(part: str, content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(VALID["odt"])) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[part] = content
    check("hostile.odt", _zip(parts))


@given(st.sampled_from([".html", ".md", ".csv", ".txt", ".fodt"]),
       st.sampled_from(["<div>", "<p>", "<a href=x>", "[", "*", "{{", "{%", "<!--", "> ",
                        "|", '"', "\\", "`", "\ufb01", "\x00", "\udcff"]),
       st.integers(1, 20_000))
def test_huge_fields_and_deep_nesting(suffix: str, unit: str, count: int) -> None:
    check(f"huge{suffix}", (unit * count).encode("utf-8", "surrogateescape"))


@given(st.text(max_size=3000))
def test_markup_readers_take_any_text(text: str) -> None:
    for blocks, _ in (markdown_blocks(text), html_blocks(text)):
        assert all(b.text.strip() for b in blocks)
    csv_blocks(text)


@given(st.text(max_size=2000))
def test_normalisation_is_idempotent_and_quality_gate_total(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert text_problem(text) in (None, "glyph names instead of text", "private-use characters",
                                  "control characters", "mojibake")
    text_score(text)
