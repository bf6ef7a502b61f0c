"""Word processor documents: DOCX (Transitional and Strict OOXML) and ODT.

Everything a person sees in their word processor is read: the body in order
(headings, paragraphs, tables, text boxes and shapes, content controls), then
once per document the headers and footers (identical ones once), footnotes,
endnotes and comments, each under its own heading ("Footnotes", "Comments")
so a search hit says where the words were. Deleted tracked changes, field
codes and generated indexes are not text a person reads, and are left out.

Both formats are zip archives of XML, parsed here directly with a parser that
resolves no entities and fetches nothing; each part is read within a size
limit, so a zip bomb ends as a reason, not as memory.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from posixpath import dirname, join, normpath
from typing import Iterable

from lxml import etree

from ingest.files.blocks import Block, Extracted, Outline, Skipped

__all__ = ["docx", "odt", "fodt"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML and legacy .doc
PART_LIMIT = 64 << 20  # uncompressed bytes of one XML part
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, recover=False, remove_comments=True,
                          remove_pis=True)

# Strict OOXML is the same document with other namespace names.
_STRICT = ((b"http://purl.oclc.org/ooxml/wordprocessingml/main",
            b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"),
           (b"http://purl.oclc.org/ooxml/officeDocument/relationships",
            b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
           (b"http://purl.oclc.org/ooxml/drawingml/main",
            b"http://schemas.openxmlformats.org/drawingml/2006/main"))
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_HEADING_NAME = re.compile(r"^heading\s*(\d)$", re.I)


class _TooLarge(Exception):
    pass


def _reason(exc: BaseException) -> str:
    """Only the exception's type: parser messages quote document content."""
    return "part too large" if isinstance(exc, _TooLarge) else type(exc).__name__


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > PART_LIMIT:
        raise _TooLarge(name)
    with archive.open(info) as handle:
        data = handle.read(PART_LIMIT + 1)
    if len(data) > PART_LIMIT:  # the directory lied about the size
        raise _TooLarge(name)
    return data


def _xml(data: bytes) -> etree._Element:
    for strict, transitional in _STRICT:
        data = data.replace(strict, transitional)
    return etree.fromstring(data, _PARSER)


def _row_text(cells: list[str]) -> str:
    """A table row as "a | b"; merged cells repeat their text, so drop repeats."""
    kept: list[str] = []
    for cell in cells:
        cell = " ".join(cell.split())
        if not kept or cell != kept[-1]:
            kept.append(cell)
    return " | ".join(cell for cell in kept if cell)


def _section(blocks: list[Block], title: str, texts: Iterable[str]) -> None:
    texts = [t for t in texts if t.strip()]
    if texts:
        heading = (title,)
        blocks.append(Block("heading", title, heading, level=1))
        blocks.extend(Block("paragraph", text, heading) for text in texts)


# ── DOCX ──────────────────────────────────────────────────────────────────────

def docx(path: Path, data: bytes) -> Extracted | Skipped:
    """A Word document (DOCX/DOCM/DOTX, Transitional or Strict)."""
    if data.startswith(_OLE_MAGIC):
        return Skipped(path, "encrypted or legacy Word file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            blocks, title = _docx(archive)
    except Exception as exc:  # damaged zip, missing parts, bad XML
        return Skipped(path, f"unreadable DOCX ({_reason(exc)})")
    if not blocks:
        return Skipped(path, "no text in this document")
    return Extracted(path, "docx", tuple(blocks), title=title)


def _docx(archive: zipfile.ZipFile) -> tuple[list[Block], str | None]:
    names = set(archive.namelist())
    main = next((target for kind, target in _rels(archive, "_rels/.rels", "", names)
                 if kind == "officeDocument"), None) or "word/document.xml"
    if main not in names:
        raise KeyError("main document")
    parts = _rels(archive, join(dirname(main), "_rels", main.rsplit("/", 1)[-1] + ".rels"),
                  dirname(main), names)
    by_kind: dict[str, list[str]] = {}
    for kind, target in parts:
        if target in names:
            by_kind.setdefault(kind, []).append(target)
    styles = _docx_styles(_xml(_read_part(archive, by_kind["styles"][0]))) \
        if by_kind.get("styles") else {}
    reader = _DocxReader(styles)
    body = _xml(_read_part(archive, main)).find(f"{_W}body")
    if body is None:
        raise KeyError("document body")
    reader.container(body, Outline())
    blocks = reader.blocks
    for kind, title in (("header", "Header"), ("footer", "Footer")):
        seen: list[str] = []
        for part in sorted(by_kind.get(kind, [])):
            text = _DocxReader(styles).plain(_xml(_read_part(archive, part)))
            if text and text not in seen:  # first-page, even and default are often the same
                seen.append(text)
        _section(blocks, title, seen)
    for kind, title, tag in (("footnotes", "Footnotes", "footnote"),
                             ("endnotes", "Endnotes", "endnote")):
        for part in by_kind.get(kind, [])[:1]:
            notes = [n for n in _xml(_read_part(archive, part)).iter(f"{_W}{tag}")
                     if n.get(f"{_W}type") in (None, "normal")]
            _section(blocks, title, [f"[{n}] {_DocxReader(styles).plain(note)}"
                                     for n, note in enumerate(notes, 1)
                                     if _DocxReader(styles).plain(note)])
    for part in by_kind.get("comments", [])[:1]:
        comments = []
        for comment in _xml(_read_part(archive, part)).iter(f"{_W}comment"):
            text = _DocxReader(styles).plain(comment)
            if text:
                author = " ".join((comment.get(f"{_W}author") or "").split())
                comments.append(f"Comment by {author}: {text}" if author else f"Comment: {text}")
        _section(blocks, "Comments", comments)
    return blocks, _core_title(archive, names)


def _rels(archive: zipfile.ZipFile, name: str, base: str,
          names: set[str]) -> list[tuple[str, str]]:
    """(relationship kind, part name) pairs of a .rels part; kind is the type's last word."""
    if name not in names:
        return []
    out = []
    for rel in _xml(_read_part(archive, name)).iter(f"{_REL}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        target = target.lstrip("/") if target.startswith("/") else normpath(join(base, target))
        out.append(((rel.get("Type") or "").rsplit("/", 1)[-1], target))
    return out


def _docx_styles(root: etree._Element) -> dict[str, int]:
    """Paragraph style id → heading level (0 for Title), from names and outline levels."""
    named: dict[str, tuple[str, str | None, int | None]] = {}
    for style in root.iter(f"{_W}style"):
        style_id = style.get(f"{_W}styleId")
        if not style_id:
            continue
        name_el, based_el = style.find(f"{_W}name"), style.find(f"{_W}basedOn")
        outline = style.find(f"{_W}pPr/{_W}outlineLvl")
        level = outline.get(f"{_W}val") if outline is not None else None
        named[style_id] = (name_el.get(f"{_W}val", "") if name_el is not None else "",
                           based_el.get(f"{_W}val") if based_el is not None else None,
                           int(level) + 1 if level and level.isdigit() and int(level) < 9
                           else None)
    levels: dict[str, int] = {}
    for style_id in named:
        current: str | None = style_id
        for _ in range(8):  # follow basedOn a few steps; loops in broken files end here
            if current is None or current not in named:
                break
            name, based, level = named[current]
            if name.lower() == "title":
                levels[style_id] = 0
                break
            found = _HEADING_NAME.match(name)
            if found or level is not None:
                levels[style_id] = int(found.group(1)) if found else level  # type: ignore[assignment]
                break
            current = based
    return levels


def _core_title(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    if "docProps/core.xml" not in names:
        return None
    try:
        root = _xml(_read_part(archive, "docProps/core.xml"))
    except Exception:
        return None  # a broken metadata part only costs the title
    found = root.find("{http://purl.org/dc/elements/1.1/}title")
    return " ".join((found.text or "").split()) or None if found is not None else None


_SKIP = {f"{_W}{name}" for name in ("del", "delText", "instrText", "moveFrom", "rPr", "pPr",
                                     "sdtPr", "fldData", "rt", "tblPr", "trPr", "tcPr",
                                     "sectPr", "commentReference", "footnoteReference",
                                     "endnoteReference")}


class _DocxReader:
    """Walks WordprocessingML: body-level containers into blocks, runs into text."""

    def __init__(self, styles: dict[str, int]) -> None:
        self.styles = styles
        self.blocks: list[Block] = []

    def container(self, element: etree._Element, outline: Outline) -> None:
        """Paragraphs, tables and content controls of a body, cell or text box."""
        for child in element:
            tag = child.tag
            if tag == f"{_W}p":
                self._paragraph(child, outline)
            elif tag == f"{_W}tbl":
                self._table(child, outline)
            elif tag in (f"{_W}sdt", f"{_W}customXml", f"{_W}sdtContent", f"{_W}ins",
                         f"{_W}moveTo", f"{_W}smartTag"):
                self.container(child, outline)
            elif tag == f"{_MC}AlternateContent":
                chosen = _alternate(child)
                if chosen is not None:
                    self.container(chosen, outline)

    def plain(self, element: etree._Element) -> str:
        """All text of a header, footer, note or comment, paragraphs on their own lines."""
        inner = _DocxReader(self.styles)
        inner.container(element, Outline())
        return "\n".join(b.text for b in inner.blocks).strip()

    def _paragraph(self, paragraph: etree._Element, outline: Outline) -> None:
        pieces: list[str] = []
        boxes: list[etree._Element] = []
        _runs(paragraph, pieces, boxes)
        text = "".join(pieces).strip()
        if text:
            level = self._level(paragraph)
            if level is not None and len(text) <= 300:
                self.blocks.append(Block("heading", text, outline.enter(level, text),
                                         level=level))
            else:
                self.blocks.append(Block("paragraph", text, outline.path))
        for box in boxes:  # a text box's paragraphs follow the paragraph it is anchored to
            self.container(box, outline)

    def _level(self, paragraph: etree._Element) -> int | None:
        style = paragraph.find(f"{_W}pPr/{_W}pStyle")
        if style is not None and style.get(f"{_W}val") in self.styles:
            return self.styles[style.get(f"{_W}val")]  # type: ignore[index]
        outline = paragraph.find(f"{_W}pPr/{_W}outlineLvl")
        value = outline.get(f"{_W}val") if outline is not None else None
        return int(value) + 1 if value and value.isdigit() and int(value) < 9 else None

    def _table(self, table: etree._Element, outline: Outline) -> None:
        rows = []
        for row in table.iter(f"{_W}tr"):
            if _nearest_table(row) is not table:
                continue  # a nested table's row: read with its cell
            cells = [self.plain(cell).replace("\n", " ") for cell in _cells(row)]
            rows.append(_row_text(cells))
        text = "\n".join(row for row in rows if row)
        if text:
            self.blocks.append(Block("table", text, outline.path))


def _cells(row: etree._Element) -> Iterable[etree._Element]:
    """A row's cells, also those wrapped in content controls or custom XML."""
    for child in row:
        if child.tag == f"{_W}tc":
            yield child
        elif child.tag in (f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml"):
            yield from _cells(child)


def _nearest_table(element: etree._Element) -> etree._Element | None:
    parent = element.getparent()
    while parent is not None and parent.tag != f"{_W}tbl":
        parent = parent.getparent()
    return parent


def _alternate(element: etree._Element) -> etree._Element | None:
    """Markup compatibility: the first Choice (the modern form), else the Fallback;
    never both, or a text box would be read twice."""
    choice = element.find(f"{_MC}Choice")
    return choice if choice is not None else element.find(f"{_MC}Fallback")


def _runs(element: etree._Element, pieces: list[str], boxes: list[etree._Element]) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if tag == f"{_W}r" and _hidden(child):
            continue
        if tag == f"{_W}t" or tag == f"{_M}t":
            pieces.append(child.text or "")
        elif tag == f"{_W}tab":
            pieces.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr"):
            pieces.append("\n")
        elif tag == f"{_W}noBreakHyphen":
            pieces.append("-")
        elif tag == f"{_W}txbxContent":
            boxes.append(child)
        elif tag == f"{_MC}AlternateContent":
            chosen = _alternate(child)
            if chosen is not None:
                _runs(chosen, pieces, boxes)
        else:
            _runs(child, pieces, boxes)


def _hidden(run: etree._Element) -> bool:
    """A run formatted as hidden text (``w:vanish``): not shown, not printed."""
    vanish = run.find(f"{_W}rPr/{_W}vanish")
    return vanish is not None and vanish.get(f"{_W}val", "true") not in ("0", "false", "off")


# ── ODT ───────────────────────────────────────────────────────────────────────

_NS = {"office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
       "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
       "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
       "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
       "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
       "dc": "http://purl.org/dc/elements/1.1/"}


def _tag(prefix: str, name: str) -> str:
    return f"{{{_NS[prefix]}}}{name}"


_ODT_GENERATED = {_tag("text", n) for n in (
    "table-of-content", "illustration-index", "alphabetical-index", "bibliography",
    "object-index", "table-index", "user-index", "tracked-changes", "sequence-decls",
    "variable-decls", "user-field-decls")}
_MASTER_PARTS = {"header": ("header", "header-left", "header-first"),
                 "footer": ("footer", "footer-left", "footer-first")}


def odt(path: Path, data: bytes) -> Extracted | Skipped:
    """Headings, paragraphs, lists, tables, frames, notes, comments, headers and footers."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "META-INF/manifest.xml" in names and \
                    b"encryption-data" in _read_part(archive, "META-INF/manifest.xml"):
                return Skipped(path, "encrypted ODT")
            content = _xml(_read_part(archive, "content.xml"))
            styles = _xml(_read_part(archive, "styles.xml")) if "styles.xml" in names else None
            meta = _xml(_read_part(archive, "meta.xml")) if "meta.xml" in names else None
        return _odt_document(path, content, styles, meta)
    except Exception as exc:
        return Skipped(path, f"unreadable ODT ({_reason(exc)})")


def fodt(path: Path, text: str) -> Extracted | Skipped:
    """A flat OpenDocument text file (one XML document holding every part)."""
    try:
        root = _xml(text.encode("utf-8", "surrogatepass"))
        return _odt_document(path, root, root, root)
    except Exception as exc:
        return Skipped(path, f"unreadable ODT ({_reason(exc)})")


def _odt_document(path: Path, content: etree._Element, styles: etree._Element | None,
                  meta: etree._Element | None) -> Extracted | Skipped:
    body = content.find(f"{_tag('office', 'body')}/{_tag('office', 'text')}")
    if body is None:
        return Skipped(path, "unreadable ODT (no text body)")
    reader = _OdtReader()
    reader.walk(body, Outline())
    blocks = reader.blocks
    if styles is not None:
        for kind, title in (("header", "Header"), ("footer", "Footer")):
            seen: list[str] = []
            for page in styles.iter(_tag("style", "master-page")):
                for part in _MASTER_PARTS[kind]:
                    for element in page.findall(_tag("style", part)):
                        inner = _OdtReader()
                        inner.walk(element, Outline())
                        text = "\n".join(b.text for b in inner.blocks)
                        if text and text not in seen:
                            seen.append(text)
            _section(blocks, title, seen)
    _section(blocks, "Footnotes", reader.notes["footnote"])
    _section(blocks, "Endnotes", reader.notes["endnote"])
    _section(blocks, "Comments", reader.comments)
    title_element = meta.find(f".//{_tag('dc', 'title')}") if meta is not None else None
    title = (title_element.text or "").strip() or None if title_element is not None else None
    if not blocks:
        return Skipped(path, "no text in this document")
    return Extracted(path, "odt", tuple(blocks), title=title)


class _OdtReader:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.notes: dict[str, list[str]] = {"footnote": [], "endnote": []}
        self.comments: list[str] = []

    def walk(self, element: etree._Element, outline: Outline) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in _ODT_GENERATED:
                continue
            if tag in (_tag("text", "h"), _tag("text", "p")):
                frames: list[etree._Element] = []
                text = self.inline(child, frames).strip()
                if text and tag == _tag("text", "h"):
                    raw = child.get(_tag("text", "outline-level"), "1") or "1"
                    level = max(1, min(int(raw), 10)) if raw.isdigit() else 1
                    self.blocks.append(Block("heading", text, outline.enter(level, text),
                                             level=level))
                elif text:
                    self.blocks.append(Block("paragraph", text, outline.path))
                for frame in frames:  # text boxes anchored in this paragraph
                    self.walk(frame, outline)
            elif tag == _tag("table", "table"):
                self._table(child, outline)
            else:  # lists, sections, frames, text boxes: containers of the above
                self.walk(child, outline)

    def _table(self, table: etree._Element, outline: Outline) -> None:
        rows = []
        for row in table.iter(_tag("table", "table-row")):
            cells = []
            for cell in row.iter(_tag("table", "table-cell")):
                inner = _OdtReader()
                inner.walk(cell, Outline())
                cells.append(" ".join(b.text for b in inner.blocks))
                self._adopt(inner)
            rows.append(_row_text(cells))
        text = "\n".join(row for row in rows if row)
        if text:
            self.blocks.append(Block("table", text, outline.path))

    def _adopt(self, inner: "_OdtReader") -> None:
        for kind, texts in inner.notes.items():
            self.notes[kind] += texts
        self.comments += inner.comments

    def inline(self, element: etree._Element, frames: list[etree._Element]) -> str:
        """A paragraph's text, with ODF's encoded spaces, tabs and breaks; notes,
        comments and frames are collected, not run into the sentence."""
        pieces = [element.text or ""]
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                pass
            elif tag == _tag("text", "s"):
                count = child.get(_tag("text", "c"), "1") or "1"
                pieces.append(" " * min(int(count) if count.isdigit() else 1, 100))
            elif tag == _tag("text", "tab"):
                pieces.append("\t")
            elif tag == _tag("text", "line-break"):
                pieces.append("\n")
            elif tag == _tag("text", "note"):
                self._note(child)
            elif tag == _tag("office", "annotation"):
                self._comment(child)
            elif tag in (_tag("draw", "frame"), _tag("draw", "custom-shape"),
                         _tag("draw", "rect"), _tag("draw", "ellipse")):
                frames.append(child)
            elif tag not in (_tag("office", "annotation-end"), _tag("text", "note-citation")):
                pieces.append(self.inline(child, frames))
            pieces.append(child.tail or "")
        return "".join(pieces)

    def _note(self, note: etree._Element) -> None:
        kind = note.get(_tag("text", "note-class"), "footnote")
        body = note.find(_tag("text", "note-body"))
        citation = note.find(_tag("text", "note-citation"))
        if body is None:
            return
        inner = _OdtReader()
        inner.walk(body, Outline())
        text = " ".join(b.text for b in inner.blocks)
        self._adopt(inner)
        if text:
            mark = (citation.text or "").strip() if citation is not None else ""
            self.notes["endnote" if kind == "endnote" else "footnote"].append(
                f"[{mark}] {text}" if mark else text)

    def _comment(self, annotation: etree._Element) -> None:
        author = annotation.find(_tag("dc", "creator"))
        inner = _OdtReader()
        inner.walk(annotation, Outline())
        text = " ".join(b.text for b in inner.blocks)
        if text:
            name = " ".join((author.text or "").split()) if author is not None else ""
            self.comments.append(f"Comment by {name}: {text}" if name else f"Comment: {text}")

