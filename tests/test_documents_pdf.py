"""PDFs read the way a person sees them: ligatures, columns, broken text layers,
CJK, forms — with poppler's pdftotext where installed and with pypdf alone."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ingest.files import pdf as pdf_module
from ingest.files.blocks import Extracted, Skipped
from ingest.files.extract import extract
from ingest.files.pdf import reading_order
from ingest.files.quality import text_problem
from tests import pdfs

HAVE_POPPLER = shutil.which("pdftotext") is not None
needs_poppler = pytest.mark.skipif(not HAVE_POPPLER, reason="poppler-utils not installed")


@pytest.fixture(params=["poppler", "pypdf"])
def extractor(request, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every PDF test runs with pdftotext (when installed) and with pypdf alone."""
    if request.param == "poppler" and not HAVE_POPPLER:
        pytest.skip("poppler-utils not installed")
    if request.param == "pypdf":
        monkeypatch.setattr(pdf_module, "pdftotext_pages", lambda data, pages: None)
    return request.param


def read(tmp_path: Path, name: str, data: bytes) -> Extracted | Skipped:
    path = tmp_path / name
    path.write_bytes(data)
    return extract(path, max_bytes=50 << 20)


def text_of(result: Extracted | Skipped) -> str:
    assert isinstance(result, Extracted), result
    return result.text


def test_ligatures_are_stored_as_plain_letters(tmp_path: Path, extractor: str) -> None:
    text = text_of(read(tmp_path, "lig.pdf", pdfs.ligature_pdf()))
    assert "The misfits were efficient and fluent in the office." in text
    assert not re.search("[\ufb00-\ufb06]", text)


def test_three_columns_are_read_in_order_without_glued_words(tmp_path: Path,
                                                             extractor: str) -> None:
    text = " ".join(text_of(read(tmp_path, "tax.pdf", pdfs.three_column_pdf())).split())
    starts = [text.index(word) for word in ("Instructions", "Alpha paragraph", "Alpha ends",
                                            "Bravo paragraph", "Bravo ends",
                                            "Charlie paragraph", "Charlie ends")]
    assert starts == sorted(starts)
    for column in pdfs.COLUMNS:  # each column's words, in order, with nothing between
        assert " ".join(column.split()) in text


def test_a_glyph_name_page_falls_back_to_poppler(tmp_path: Path) -> None:
    if not HAVE_POPPLER:
        pytest.skip("poppler-utils not installed")
    result = read(tmp_path, "report.pdf", pdfs.glyph_name_pdf(recoverable=True))
    assert "Quarterly harbour revenue rose sharply" in text_of(result)
    assert "/g" not in text_of(result) and result.notes == ()


@pytest.mark.parametrize("recoverable", [False, True])
def test_an_unreadable_page_is_left_out_with_a_note(tmp_path: Path, extractor: str,
                                                    recoverable: bool) -> None:
    if recoverable and extractor == "poppler":
        pytest.skip("poppler recovers this one (previous test)")
    result = read(tmp_path, "report.pdf", pdfs.glyph_name_pdf(recoverable=recoverable))
    assert isinstance(result, Extracted)
    assert [b.page for b in result.blocks] == [1, 3]
    assert "lighthouses" in result.text and "ferries" in result.text
    assert len(result.notes) == 1
    assert result.notes[0].startswith("page 2: no readable text layer (")


def test_a_pdf_with_no_readable_page_is_skipped_with_that_reason(tmp_path: Path,
                                                                 extractor: str) -> None:
    one_page = pdfs.build_pdf([pdfs._lines("F2", [bytes(range(1, 25))] * 4)],
                              {"F2": pdfs._glyph_font([f"g{n}" for n in range(3, 40)])})
    result = read(tmp_path, "glyphs.pdf", one_page)
    assert isinstance(result, Skipped)
    assert result.reason.startswith("no readable text layer (")


@pytest.mark.parametrize("vertical", [False, True])
def test_japanese_text_comes_through(tmp_path: Path, extractor: str, vertical: bool) -> None:
    text = text_of(read(tmp_path, "jp.pdf", pdfs.cjk_pdf(vertical=vertical)))
    assert "日本語の" in text and "港の灯台について書きました。" in text
    assert " " not in text.split("日本語")[1][:10]  # wrapped CJK lines join without spaces


def test_form_field_values_are_indexed(tmp_path: Path, extractor: str) -> None:
    result = read(tmp_path, "form.pdf", pdfs.form_pdf())
    assert isinstance(result, Extracted)
    form = [b for b in result.blocks if b.heading == ("Form fields",) and b.kind == "table"]
    assert form and form[0].text.splitlines() == ["Applicant name: Zanzibar Quokka",
                                                  "newsletter: yes"]


def test_reading_order_leaves_single_columns_and_tables_alone() -> None:
    prose = "\n".join(["A single column of ordinary prose that wraps onto the next line"] * 8)
    assert reading_order(prose) is None
    table = "\n".join(f"Item {n}        {n * 3} kg        {n * 7} EUR" for n in range(10))
    assert reading_order(table) is None


@pytest.mark.parametrize("garbage, why", [
    ("/g152/g135/g12/g99/g100/g3/g4/g77/g8/g9", "glyph names instead of text"),
    ("\ue000\ue013\ue044\ue021 \ue002\ue011\ue0ff\ue010\ue001\ue002\ue003\ue004", "private-use characters"),
    ("\x05\x14\x06\x11\x13\x16\x03\x07\x0e\x15\x12\x0f\x08\x10", "control characters"),
    ("SchÃ¶ne GrÃ¼ÃŸe aus MÃ¼nchen, wir haben Ã¼ber alles gesprochen", "mojibake"),
    ("ÆüËÜ¸ì¤ÎÊ¸½ñ¤Ç¤¹¡£Åìµþ¤Ç²ñµÄ¤¬¤¢¤ê¤Þ¤·¤¿", "mojibake"),
])
def test_quality_gate_names_garbage(garbage: str, why: str) -> None:
    assert text_problem(garbage) == why


@pytest.mark.parametrize("fine", [
    "Größe der Straße über Äpfel und Öl für München",
    "Příliš žluťoučký kůň úpěl ďábelské ódy",
    "Tiếng Việt có dấu là một ngôn ngữ đẹp và phong phú",
    "日本語の文書です。東京で会議がありました。",
    "Contents ........................................ 12",
    "Température: 25 °C, prix: 30 € «très bien» © 2024 — ½ litre",
    "Съешь же ещё этих мягких французских булок, да выпей чаю",
    "مرحبا بكم في محرك البحث الخاص بكم",
    "x = 3; y = f(x) + 2 * (a[i] - b[j]) / 7;",
])
def test_quality_gate_accepts_real_text(fine: str) -> None:
    assert text_problem(fine) is None


def test_pdfs_through_the_cli_search_and_status(cli, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "paper.pdf").write_bytes(pdfs.ligature_pdf())
    (docs / "jp.pdf").write_bytes(pdfs.cjk_pdf())
    (docs / "report.pdf").write_bytes(pdfs.glyph_name_pdf(recoverable=False))
    indexed = json.loads(cli("index", str(docs), "--json").stdout)
    assert indexed["indexed"] == 3
    assert indexed["notes"] == [{"path": str(docs / "report.pdf"),
                                 "note": indexed["notes"][0]["note"]}]
    assert indexed["notes"][0]["note"].startswith("page 2: no readable text layer")
    for query, name in (("misfits", "paper.pdf"), ("efficient", "paper.pdf"),
                        ("日本語", "jp.pdf"), ("lighthouses", "report.pdf")):
        results = json.loads(cli("search", query, "--json").stdout)["results"]
        assert results and Path(results[0]["path"]).name == name, (query, results[:1])
    status = cli("status").stdout
    assert "partly read" in status and "page 2: no readable text layer" in status
