"""Readers for binary document formats: PDF (pypdf), DOCX (python-docx), ODT.

Each takes the file's bytes (already read once, within the size limit) and
returns ``Extracted`` or ``Skipped`` with a reason. These parsers run on files
Engram did not write and that may be damaged or hostile, so each one turns any
exception from its library into ``Skipped("unreadable …")``: one bad file must
never stop a folder scan, and the reason is shown to the person.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from ingest.files.blocks import Block, Extracted, Outline, Skipped
from ingest.files.pdf import pdf, pdf_paragraphs

__all__ = ["docx", "odt", "pdf", "pdf_paragraphs"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML and legacy .doc
_HEADING_STYLE = re.compile(r"^Heading (\d)$")


def _reason(exc: BaseException) -> str:
    """Only the exception's type: parser messages quote document content."""
    return type(exc).__name__


# ── DOCX ──────────────────────────────────────────────────────────────────────

def docx(path: Path, data: bytes) -> Extracted | Skipped:
    """Paragraphs and tables in document order; "Heading n" styles give headings."""
    if data.startswith(_OLE_MAGIC):
        return Skipped(path, "encrypted or legacy Word file")
    try:
        from docx import Document
        from docx.table import Table

        document = Document(io.BytesIO(data))
        outline = Outline()
        blocks: list[Block] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = [_row_text([cell.text for cell in row.cells]) for row in item.rows]
                text = "\n".join(row for row in rows if row)
                if text:
                    blocks.append(Block("table", text, outline.path))
                continue
            text = item.text.strip()
            if not text:
                continue
            style = item.style.name if item.style is not None else ""
            level = 0 if style == "Title" else _heading_level(style)
            if level is not None:
                blocks.append(Block("heading", text, outline.enter(level, text), level=level))
            else:
                blocks.append(Block("paragraph", text, outline.path))
        title = document.core_properties.title or None
    except Exception as exc:  # damaged zip, missing parts, bad XML
        return Skipped(path, f"unreadable DOCX ({_reason(exc)})")
    if not blocks:
        return Skipped(path, "no text in this document")
    return Extracted(path, "docx", tuple(blocks), title=title)


def _heading_level(style: str) -> int | None:
    found = _HEADING_STYLE.match(style)
    return int(found.group(1)) if found else None


def _row_text(cells: list[str]) -> str:
    """A table row as "a | b"; merged cells repeat their text, so drop repeats."""
    kept: list[str] = []
    for cell in cells:
        cell = " ".join(cell.split())
        if not kept or cell != kept[-1]:
            kept.append(cell)
    return " | ".join(cell for cell in kept if cell)


# ── ODT ───────────────────────────────────────────────────────────────────────

_NS = {"office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
       "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
       "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
       "dc": "http://purl.org/dc/elements/1.1/"}


def _tag(prefix: str, name: str) -> str:
    return f"{{{_NS[prefix]}}}{name}"


def odt(path: Path, data: bytes) -> Extracted | Skipped:
    """Headings, paragraphs, lists and tables from an OpenDocument text file.

    Parsed with ElementTree: Python's expat refuses entity-expansion bombs.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "META-INF/manifest.xml" in names and \
                    b"encryption-data" in archive.read("META-INF/manifest.xml"):
                return Skipped(path, "encrypted ODT")
            content = ElementTree.fromstring(archive.read("content.xml"))
            meta = ElementTree.fromstring(archive.read("meta.xml")) if "meta.xml" in names else None
        body = content.find(f"{_tag('office', 'body')}/{_tag('office', 'text')}")
        if body is None:
            return Skipped(path, "unreadable ODT (no text body)")
        blocks: list[Block] = []
        _odt_walk(body, Outline(), blocks)
    except Exception as exc:
        return Skipped(path, f"unreadable ODT ({_reason(exc)})")
    title_element = meta.find(f".//{_tag('dc', 'title')}") if meta is not None else None
    title = (title_element.text or "").strip() or None if title_element is not None else None
    if not blocks:
        return Skipped(path, "no text in this document")
    return Extracted(path, "odt", tuple(blocks), title=title)


def _odt_walk(element: ElementTree.Element, outline: Outline, blocks: list[Block]) -> None:
    for child in element:
        if child.tag == _tag("text", "h"):
            text = _odt_inline(child).strip()
            if text:
                level = int(child.get(_tag("text", "outline-level"), "1") or 1)
                blocks.append(Block("heading", text, outline.enter(level, text), level=level))
        elif child.tag == _tag("text", "p"):
            text = _odt_inline(child).strip()
            if text:
                blocks.append(Block("paragraph", text, outline.path))
        elif child.tag == _tag("table", "table"):
            rows = [_row_text([" ".join(_odt_inline(p) for p in cell.iter(_tag("text", "p")))
                               for cell in row.iter(_tag("table", "table-cell"))])
                    for row in child.iter(_tag("table", "table-row"))]
            text = "\n".join(row for row in rows if row)
            if text:
                blocks.append(Block("table", text, outline.path))
        else:  # lists, list items, sections: containers of the above
            _odt_walk(child, outline, blocks)


def _odt_inline(element: ElementTree.Element) -> str:
    """The text of a paragraph, with ODF's encoded spaces, tabs and breaks."""
    pieces = [element.text or ""]
    for child in element:
        if child.tag == _tag("text", "s"):
            pieces.append(" " * int(child.get(_tag("text", "c"), "1") or 1))
        elif child.tag == _tag("text", "tab"):
            pieces.append("\t")
        elif child.tag == _tag("text", "line-break"):
            pieces.append("\n")
        elif child.tag in (_tag("text", "note"), _tag("office", "annotation")):
            pass  # footnotes and comments are not the body text
        else:
            pieces.append(_odt_inline(child))
        pieces.append(child.tail or "")
    return "".join(pieces)
