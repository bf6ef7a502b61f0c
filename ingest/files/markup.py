"""Readers for text-based files: Markdown, HTML and CSV (after decoding).

Each takes the decoded text and returns blocks, plus a title where the format
has one. Pure functions over strings; no file access.
"""
from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from ingest.files.blocks import Block, Outline

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TITLE = re.compile(r"^title:\s*(.+?)\s*$", re.I)
CSV_MAX_ROWS = 10_000
CSV_MAX_CELL = 500


def markdown_blocks(text: str) -> tuple[list[Block], str | None]:
    """Markdown as heading, paragraph and code blocks; title from front matter or H1."""
    lines = text.splitlines()
    title: str | None = None
    start = 0
    if lines and lines[0].strip() == "---":  # YAML front matter: metadata, not prose
        for end in range(1, min(len(lines), 200)):
            if lines[end].strip() in ("---", "..."):
                for line in lines[1:end]:
                    found = _TITLE.match(line)
                    if found:
                        title = found.group(1).strip("\"'")
                start = end + 1
                break
    outline = Outline()
    blocks: list[Block] = []
    para: list[str] = []
    fence: str | None = None
    code: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("paragraph", "\n".join(para), outline.path))
            para.clear()

    for line in lines[start:]:
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                if any(c.strip() for c in code):
                    blocks.append(Block("code", "\n".join(code), outline.path))
                fence, code = None, []
            else:
                code.append(line)
            continue
        opened = _FENCE.match(line)
        if opened:  # fence lines are markup; the code between them is the content
            flush()
            fence, code = opened.group(1), []
            continue
        atx = _ATX.match(line)
        setext = _SETEXT.match(line) if para else None
        if atx and atx.group(2):
            flush()
            _heading(blocks, outline, len(atx.group(1)), atx.group(2))
        elif setext and (setext.group(1)[0] == "=" or len(para) == 1):
            heading_text = " ".join(p.strip() for p in para)
            para.clear()
            _heading(blocks, outline, 1 if setext.group(1)[0] == "=" else 2, heading_text)
        elif _RULE.match(line):  # a horizontal rule separates, it is not text
            flush()
        elif line.strip():
            para.append(line.rstrip())
        else:
            flush()
    flush()
    if fence is not None and any(c.strip() for c in code):  # unclosed fence: keep it
        blocks.append(Block("code", "\n".join(code), outline.path))
    if title is None:
        title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return blocks, title


def _heading(blocks: list[Block], outline: Outline, level: int, text: str) -> None:
    text = text.strip()
    blocks.append(Block("heading", text, outline.enter(level, text), level=level))


class _HtmlText(HTMLParser):
    """Collects the visible text of an HTML page as blocks."""

    SKIPPED = {"script", "style", "noscript", "template", "svg", "iframe", "object",
               "canvas", "math", "select"}
    BREAKS = {"p", "div", "section", "article", "main", "header", "footer", "nav", "aside",
              "li", "ul", "ol", "dl", "dt", "dd", "table", "thead", "tbody", "tr",
              "blockquote", "figure", "figcaption", "form", "fieldset", "address", "hr",
              "body", "html", "details", "summary", "caption"}
    HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title: str | None = None
        self.outline = Outline()
        self._buffer: list[str] = []
        self._skip: tuple[str, int] | None = None  # (tag, nesting depth) being hidden
        self._in_title = False
        self._title: list[str] = []
        self._pre = 0
        self._heading: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip is not None:
            if tag == self._skip[0]:
                self._skip = (tag, self._skip[1] + 1)
            return
        values = dict(attrs)
        hidden = ("hidden" in values or values.get("aria-hidden") == "true"
                  or re.search(r"display\s*:\s*none", values.get("style") or "") is not None)
        if tag in self.SKIPPED or (hidden and tag not in ("br", "hr", "img", "input")):
            self._skip = (tag, 1)
        elif tag == "title":
            self._in_title = True
        elif tag in self.HEADINGS:
            self._flush()
            self._heading = self.HEADINGS[tag]
        elif tag == "pre":
            self._flush()
            self._pre += 1
        elif tag == "br":
            self._buffer.append("\n")
        elif tag in ("td", "th") and self._buffer and "".join(self._buffer).strip():
            self._buffer.append(" | ")
        elif tag in self.BREAKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skip is not None:
            if tag == self._skip[0]:
                depth = self._skip[1] - 1
                self._skip = (tag, depth) if depth else None
            return
        if tag == "title":
            self._in_title = False
            self.title = " ".join("".join(self._title).split()) or None
        elif tag in self.HEADINGS and self._heading is not None:
            text = " ".join("".join(self._buffer).split())
            self._buffer.clear()
            if text:
                self.blocks.append(Block("heading", text, self.outline.enter(self._heading, text),
                                         level=self._heading))
            self._heading = None
        elif tag == "pre" and self._pre:
            code = "".join(self._buffer).strip("\n")
            self._buffer.clear()
            self._pre -= 1
            if code.strip():
                self.blocks.append(Block("code", code, self.outline.path))
        elif tag in self.BREAKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip is not None:
            return
        if self._in_title:
            self._title.append(data)
        elif self._pre:
            self._buffer.append(data)
        else:  # source line breaks are spaces; only <br> (a "\n" here) breaks a line
            self._buffer.append(re.sub(r"\s+", " ", data))

    def _flush(self) -> None:
        if self._pre or self._heading is not None:
            return
        lines = [" ".join(part.split()) for part in "".join(self._buffer).split("\n")]
        self._buffer.clear()
        text = "\n".join(line for line in lines if line)
        if text:
            self.blocks.append(Block("paragraph", text, self.outline.path))

    def close(self) -> None:
        super().close()
        self._pre = 0
        self._heading = None
        self._flush()


def html_blocks(text: str) -> tuple[list[Block], str | None]:
    """The visible text of an HTML document: headings, paragraphs, preformatted code."""
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    title = parser.title or next((b.text for b in parser.blocks if b.kind == "heading"), None)
    return parser.blocks, title


def csv_blocks(text: str, *, tab_separated: bool = False) -> tuple[list[Block], list[str]]:
    """Rows as text lines ("Header: value; …" when the first row is a header).

    At most ``CSV_MAX_ROWS`` rows and ``CSV_MAX_CELL`` characters per cell are
    kept (a CSV is rarely read as prose; this bounds the cost of a huge one).
    Returns the blocks and notes about what was cut.
    """
    sample = text[:8192]
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel_tab if tab_separated else csv.excel
    if not tab_separated:
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            pass  # not enough signal: keep plain commas
    notes: list[str] = []
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            if len(rows) >= CSV_MAX_ROWS:
                notes.append(f"only the first {CSV_MAX_ROWS} rows were read")
                break
            cells = [cell.strip()[:CSV_MAX_CELL] for cell in row]
            if any(cells):
                rows.append(cells)
    except csv.Error as exc:
        notes.append(f"stopped at a malformed row ({exc})")
    if not rows:
        return [], notes
    header = rows[0] if len(rows) > 1 and _looks_like_header(rows[0]) else None
    lines = [" | ".join(header)] if header else []
    for row in rows[1:] if header else rows:
        if header:
            lines.append("; ".join(f"{name}: {value}" for name, value in zip(header, row)
                                   if value) or " | ".join(row))
        else:
            lines.append(" | ".join(row))
    return [Block("table", "\n".join(lines))], notes


def _looks_like_header(row: list[str]) -> bool:
    """Names, not data: every cell filled, distinct, and not a number."""
    def numeric(cell: str) -> bool:
        try:
            float(cell.replace(",", "."))
            return True
        except ValueError:
            return False
    return all(row) and len(set(row)) == len(row) and not any(numeric(c) for c in row)
