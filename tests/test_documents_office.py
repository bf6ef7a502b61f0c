"""Every part of a DOCX/ODT a person sees in their word processor, once."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.files.blocks import Extracted
from ingest.files.extract import extract
from tests.office_docs import ODT_BODY, ODT_STYLES, write_docx, write_odt

EXPECTED = [
    ("heading", "Harbour report", ("Harbour report",)),
    ("paragraph", "The ferry schedule changed in March.", ("Harbour report",)),
    ("paragraph", "the harbour site", ("Harbour report",)),
    ("paragraph", "See the box.", ("Harbour report",)),
    ("paragraph", "Boxed zebrafish note", ("Harbour report",)),
    ("table", "Pier | Departures\nNorth | 14", ("Harbour report",)),
    ("paragraph", "Owner: quayside office", ("Harbour report",)),
    ("heading", "Header", ("Header",)),
    ("paragraph", "Lighthousekeeper quarterly", ("Header",)),
    ("heading", "Footer", ("Footer",)),
    ("paragraph", "Confidential draft footerword", ("Footer",)),
    ("heading", "Footnotes", ("Footnotes",)),
    ("paragraph", "[1] Footnote: timetables from the port authority", ("Footnotes",)),
    ("heading", "Endnotes", ("Endnotes",)),
    ("paragraph", "[1] Endnote: figures are provisional", ("Endnotes",)),
    ("heading", "Comments", ("Comments",)),
    ("paragraph", "Comment by Ana Lima: Check with the harbourmaster", ("Comments",)),
]


def read(path: Path) -> Extracted:
    result = extract(path, max_bytes=50 << 20)
    assert isinstance(result, Extracted), result
    return result


@pytest.mark.parametrize("strict", [False, True], ids=["transitional", "strict"])
def test_docx_every_part_once(tmp_path: Path, strict: bool) -> None:
    result = read(write_docx(tmp_path / "harbour.docx", strict=strict))
    assert result.kind == "docx" and result.title == "Harbour Q1"
    assert [(b.kind, b.text, b.heading) for b in result.blocks] == EXPECTED
    text = result.text
    # Deleted tracked changes and field codes are not what the person reads.
    assert "obsoletedword" not in text and "fieldcodeurl" not in text
    assert "hiddenrunword" not in text  # hidden text (w:vanish) is not shown in Word
    assert text.count("Lighthousekeeper") == 1 and text.count("zebrafish") == 1


def test_docx_whose_text_is_only_in_a_text_box(tmp_path: Path) -> None:
    result = read(write_docx(tmp_path / "box.docx", only_text_box=True))
    assert result.blocks[0].text == "Only inside a lonely textbox"


def test_odt_every_part_once(tmp_path: Path) -> None:
    result = read(write_odt(tmp_path / "harbour.odt"))
    assert [(b.kind, b.text) for b in result.blocks] == [
        ("heading", "Harbour report"),
        ("paragraph", "The ferry schedule changed in March. More text."),
        ("paragraph", "See the box."),
        ("paragraph", "Boxed zebrafish note"),
        ("heading", "Header"), ("paragraph", "Lighthousekeeper quarterly"),
        ("heading", "Footer"), ("paragraph", "Confidential draft footerword"),
        ("heading", "Footnotes"), ("paragraph", "[1] Timetables from the port authority."),
        ("heading", "Endnotes"), ("paragraph", "[i] Figures are provisional."),
        ("heading", "Comments"), ("paragraph", "Comment by Ana Lima: Check with the harbourmaster"),
    ]
    assert "obsoletedword" not in result.text and "....." not in result.text


def test_flat_odt_is_read(tmp_path: Path) -> None:
    content = ODT_BODY.replace("<office:document-content", "<office:document").replace(
        "</office:document-content>", "")
    styles = ODT_STYLES.split("<office:master-styles>")[1].split("</office:document-styles>")[0]
    flat = content.replace("<office:body>", f"<office:master-styles>{styles}<office:body>", 1)
    path = tmp_path / "flat.fodt"
    path.write_text(flat + "</office:document>", "utf-8")
    result = read(path)
    assert "Boxed zebrafish note" in result.text and "Lighthousekeeper" in result.text


def test_a_zip_bomb_part_is_a_reason_not_memory(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.files import office

    path = tmp_path / "bomb.docx"
    write_docx(path)
    # A part that inflates beyond the limit (here: a limit below the body's size).
    monkeypatch.setattr(office, "PART_LIMIT", 1000)
    result = extract(path, max_bytes=50 << 20)
    assert getattr(result, "reason", "").startswith("unreadable DOCX (part too large)")


def test_office_parts_are_found_through_the_cli(cli, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_docx(docs / "report.docx")
    write_docx(docs / "strict.docx", strict=True)
    write_odt(docs / "notes.odt")
    assert json.loads(cli("index", str(docs), "--json").stdout)["indexed"] == 3
    for word in ("harbourmaster", "footerword", "zebrafish", "Lighthousekeeper", "provisional"):
        results = json.loads(cli("search", word, "--json").stdout)["results"]
        names = {Path(r["path"]).name for r in results if word.lower() in r["snippet"].lower()}
        assert names == {"report.docx", "strict.docx", "notes.odt"}, (word, results)
