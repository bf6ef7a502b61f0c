"""Readers for text-based files: Markdown, HTML and CSV (after decoding).

Each takes the decoded text and returns blocks, plus a title where the format
has one. Pure functions over strings; no file access.
"""
from __future__ import annotations

import csv
import html
import io
import re

from ingest.files.blocks import Block, Outline
from ingest.files.html import html_blocks

__all__ = ["csv_blocks", "html_blocks", "markdown_blocks", "render_inline"]

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TITLE = re.compile(r"^title\s*[:=]\s*(.+?)\s*$", re.I)
CSV_MAX_ROWS = 10_000
CSV_MAX_CELL = 500


def markdown_blocks(text: str) -> tuple[list[Block], str | None]:
    """Markdown as its rendered text: heading, paragraph and code blocks.

    Markup is what the reader does not see: link targets, emphasis marks,
    bullets, table rules, raw HTML tags (their text is kept, script, style and
    comments are not) and template tags (Liquid/Jinja/Hugo ``{{ }}``, ``{% %}``,
    ``{# #}``) are dropped; fenced code stays as written. Title from front
    matter (YAML or TOML), else the first level-1 heading.
    """
    lines = text.splitlines()
    title: str | None = None
    start = 0
    if lines and lines[0].strip() in ("---", "+++"):  # front matter: metadata, not prose
        closing = ("---", "...") if lines[0].strip() == "---" else ("+++",)
        for end in range(1, min(len(lines), 200)):
            if lines[end].strip() in closing:
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
    hidden: re.Pattern[str] | None = None  # the end of a multi-line comment, script, tag

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
        if hidden is not None:
            found = hidden.search(line)
            if found is None:
                continue
            line, hidden = line[found.end():], None
            if not line.strip():
                continue
        opened = _FENCE.match(line)
        if opened:  # fence lines are markup; the code between them is the content
            flush()
            fence, code = opened.group(1), []
            continue
        line, hidden = _unhide(line)
        atx = _ATX.match(line)
        setext = _SETEXT.match(line) if para else None
        if atx and atx.group(2):
            flush()
            _heading(blocks, outline, len(atx.group(1)), render_inline(atx.group(2)))
        elif setext and (setext.group(1)[0] == "=" or len(para) == 1):
            heading_text = " ".join(p.strip() for p in para)
            para.clear()
            _heading(blocks, outline, 1 if setext.group(1)[0] == "=" else 2, heading_text)
        elif _TABLE_RULE.match(line) and para:
            continue  # the rule under a table's header row
        elif _RULE.match(line) or _REF_DEF.match(line):
            flush()  # rules and link definitions are not text
        elif line.strip():
            rendered = render_inline(_line_markers(line)).strip()
            if rendered:
                para.append(rendered)
            elif _HTML_TAG.search(line):
                flush()  # a line of block-level HTML tags separates paragraphs
        else:
            flush()
    flush()
    if fence is not None and any(c.strip() for c in code):  # unclosed fence: keep it
        blocks.append(Block("code", "\n".join(code), outline.path))
    if title is None:
        title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return [b for b in blocks if b.text.strip()], title


# Constructs that hide what they enclose (comments, scripts, template tags), and
# what ends each. Scanned left to right once (no backtracking regex over a
# hostile 40 KB line of "{%{%{%").
_OPEN = re.compile(r"<!--|<script\b|<style\b|\{%-?\s*comment\s*-?%\}|\{\{|\{%|\{#(?=\s)", re.I)
_CLOSE = {"<!--": re.compile(r"-->"), "<script": re.compile(r"</script\s*>", re.I),
          "<style": re.compile(r"</style\s*>", re.I),
          "comment": re.compile(r"\{%-?\s*endcomment\s*-?%\}"),
          "{{": re.compile(r"\}\}"), "{%": re.compile(r"%\}"), "{#": re.compile(r"#\}")}
_HTML_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_REF_DEF = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s*\S+")
_BULLET = re.compile(r"^(\s*)(?:>\s?)*\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?)?")
_ADMONITION = re.compile(r"^\s*(?:!!!|\?\?\?\+?|:::+)\s*[\w-]*\s*")
_ATTRIBUTES = re.compile(r"\{[:#.][^}\n]{0,200}\}")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_CODE_SPAN = re.compile(r"(`{1,10})([^\n]{1,1000}?)\1")
_IMAGE = re.compile(r"!\[([^\]\n]{0,200})\]\((?:[^()\n]|\([^()\n]{0,200}\)){0,1000}\)")
_LINK = re.compile(r"\[([^\]\n]{1,200})\]\((?:[^()\n]|\([^()\n]{0,200}\)){0,1000}\)")
_REF_LINK = re.compile(r"\[([^\]\n]{1,200})\]\[[^\]\n]{0,200}\]")
_FOOTNOTE_DEF = re.compile(r"^ {0,3}\[\^[^\]]+\]:\s*")
_FOOTNOTE = re.compile(r"\[\^[^\]\n]{1,50}\](?!:)")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]{1,2000})>")
_EMPHASIS = (re.compile(r"(?<![\w*])(\*{1,3})(?=[^\s*])([^\n]{1,300}?)(?<=\S)\1(?![\w*])"),
             re.compile(r"(?<![\w])(_{1,3})(?=[^\s_])([^\n]{1,300}?)(?<=\S)\1(?!\w)"),
             re.compile(r"(~~)(?=\S)([^\n]{1,300}?)(?<=\S)\1"))


def _unhide(line: str) -> tuple[str, re.Pattern[str] | None]:
    """``line`` without comments, scripts and template tags; and, when one of
    them is left open at the end of the line, the pattern that will close it."""
    kept: list[str] = []
    position = 0
    while True:
        found = _OPEN.search(line, position)
        if found is None:
            kept.append(line[position:])
            return "".join(kept), None
        kept.append(line[position:found.start()])
        opener = found.group().lower()
        key = "comment" if opener.startswith("{%") and "comment" in opener else opener[:7] \
            if opener.startswith("<s") else opener[:4] if opener.startswith("<!") else opener[:2]
        closer = _CLOSE[key]
        end = closer.search(line, found.end())
        if end is None:
            return "".join(kept), closer
        position = end.end()


def _line_markers(line: str) -> str:
    """A line without its block markers: bullets, task boxes, quote marks, admonitions."""
    if _ADMONITION.match(line):
        line = _ADMONITION.sub("", line).strip().strip("\"'")
    line = _FOOTNOTE_DEF.sub("", line)
    found = _BULLET.match(line)
    line = found.group(1) + line[found.end():] if found and found.end() else line
    if line.lstrip().startswith("|"):  # a table row: cells between pipes
        line = " | ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
    return line


def render_inline(text: str) -> str:
    """Inline Markdown as the reader sees it: link and image text, no emphasis
    marks, no HTML tags or template tags; code spans keep their content."""
    escaped: dict[str, str] = {}

    def protect(found: re.Match[str]) -> str:
        key = chr(0xF0000 + len(escaped))
        escaped[key] = found.group(1) if found.group(0).startswith("\\") else found.group(2)
        return key

    text = _ESCAPED.sub(protect, text)
    text = _CODE_SPAN.sub(protect, text)
    text = _unhide(text)[0]
    text = _ATTRIBUTES.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _FOOTNOTE.sub("", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    for pattern in _EMPHASIS:
        for _ in range(3):  # nested emphasis: ***a** b*
            text, count = pattern.subn(r"\2", text)
            if not count:
                break
    text = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", html.unescape(text))  # where tags were
    for key, value in escaped.items():
        text = text.replace(key, value)
    return text


def _heading(blocks: list[Block], outline: Outline, level: int, text: str) -> None:
    text = text.strip()
    blocks.append(Block("heading", text, outline.enter(level, text), level=level))


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
