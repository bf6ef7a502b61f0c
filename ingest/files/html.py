"""HTML as a person reads it: the page's main content, not its navigation.

One streaming pass collects the visible text as blocks, each remembering
whether it sat inside the main content (``<main>``, ``<article>``,
``role="main"``), inside page furniture (``<nav>``, ``<aside>``, page-level
``<header>``/``<footer>``, landmark roles, or an element whose class or id
names a menu, sidebar, breadcrumb, cookie banner, share bar …), and how much of
it was link text. Then:

- a page with main content keeps that (when it holds a fair share of the text:
  a page whose only ``<article>`` is a comment box keeps its body instead);
- otherwise the furniture and link lists (mostly-link blocks) are dropped;
- a page that is nothing but furniture keeps everything rather than nothing.

The title (``<title>``, else the first heading) is kept. Scripts, styles and
hidden elements are never text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from lxml import etree

from ingest.files.blocks import Block, Outline

__all__ = ["html_blocks"]

_BOILER_WORDS = re.compile(
    r"(?:^|[\s_-])(nav|navbar|navigation|menu|menubar|breadcrumbs?|sidebar|side-bar|"
    r"footer|masthead|cookie|cookies|consent|banner|share|sharing|social|related|"
    r"advert|advertisement|ads|promo|newsletter|subscribe|skip-link|pagination|pager|"
    r"toolbar|topbar|site-header|site-footer)(?:$|[\s_-])", re.I)
_BOILER_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu",
                 "menubar"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}
_MAIN_SHARE = 0.25    # main content must hold this share of the page's prose to be chosen
_LINK_LIST = 0.7      # a block with this share of link text is a menu, outside main content


@dataclass
class _Piece:
    block: Block
    main: bool
    boiler: bool
    links: float


class _HtmlText:
    """Collects the visible text of an HTML page as blocks, with where they sat.

    Fed start tags, text and end tags in document order by ``_walk`` over the
    tree libxml2's HTML parser builds (linear on any input and forgiving of
    broken markup, where Python's own parser is quadratic on some garbage).
    """

    SKIPPED = {"script", "style", "noscript", "template", "svg", "iframe", "object",
               "canvas", "math", "select", "button"}
    BREAKS = {"p", "div", "section", "article", "main", "header", "footer", "nav", "aside",
              "li", "ul", "ol", "dl", "dt", "dd", "table", "thead", "tbody", "tr",
              "blockquote", "figure", "figcaption", "form", "fieldset", "address", "hr",
              "body", "html", "details", "summary", "caption"}
    HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}

    def __init__(self) -> None:
        self.pieces: list[_Piece] = []
        self.title: str | None = None
        self.outline = Outline()
        self._buffer: list[str] = []
        self._link_chars = 0
        self._skip: tuple[str, int] | None = None  # (tag, nesting depth) being hidden
        # Open regions: [kind ("main" | "boiler"), tag, depth of that tag inside it]
        self._regions: list[list] = []
        self._in_title = False
        self._title: list[str] = []
        self._pre = 0
        self._heading: int | None = None
        self._anchor = 0

    # -- regions ----------------------------------------------------------------------
    def _region(self, tag: str, values: dict[str, str | None]) -> str | None:
        role = (values.get("role") or "").lower()
        if tag in ("main", "article") or role in ("main", "article"):
            return "main"
        in_main = any(r[0] == "main" for r in self._regions)
        if tag in ("nav", "aside") or role in _BOILER_ROLES:
            return "boiler"
        if tag in ("header", "footer") and not in_main:
            return "boiler"
        marks = f"{values.get('class') or ''} {values.get('id') or ''}"
        if not in_main and marks.strip() and _BOILER_WORDS.search(marks):
            return "boiler"
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip is not None:
            if tag == self._skip[0]:
                self._skip = (tag, self._skip[1] + 1)
            return
        values = dict(attrs)
        hidden = ("hidden" in values or values.get("aria-hidden") == "true"
                  or re.search(r"display\s*:\s*none", values.get("style") or "") is not None)
        if tag in self.SKIPPED or (hidden and tag not in _VOID):
            self._skip = (tag, 1)
            return
        if tag not in _VOID:
            for region in self._regions:
                if region[1] == tag:
                    region[2] += 1
            kind = self._region(tag, values)
            if kind is not None:
                self._flush()
                self._regions.append([kind, tag, 1])
        if tag == "title":
            self._in_title = True
        elif tag in self.HEADINGS:
            self._flush()
            self._heading = self.HEADINGS[tag]
        elif tag == "pre":
            self._flush()
            self._pre += 1
        elif tag == "a":
            self._anchor += 1
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
            self._link_chars = 0
            if text:
                self._add(Block("heading", text, self.outline.enter(self._heading, text),
                                level=self._heading), 0.0)
            self._heading = None
        elif tag == "pre" and self._pre:
            code = "".join(self._buffer).strip("\n")
            self._buffer.clear()
            self._link_chars = 0
            self._pre -= 1
            if code.strip():
                self._add(Block("code", code, self.outline.path), 0.0)
        elif tag == "a" and self._anchor:
            self._anchor -= 1
        elif tag in self.BREAKS:
            self._flush()
        self._close_region(tag)

    def _close_region(self, tag: str) -> None:
        for index in range(len(self._regions) - 1, -1, -1):
            region = self._regions[index]
            if region[1] == tag:
                region[2] -= 1
                if region[2] == 0:
                    self._flush()
                    del self._regions[index]
                return

    def handle_data(self, data: str) -> None:
        if self._skip is not None:
            return
        if self._in_title:
            self._title.append(data)
        elif self._pre:
            self._buffer.append(data)
        else:  # source line breaks are spaces; only <br> (a "\n" here) breaks a line
            text = re.sub(r"\s+", " ", data)
            self._buffer.append(text)
            if self._anchor:
                self._link_chars += len(text.strip())

    def _flush(self) -> None:
        if self._pre or self._heading is not None:
            return
        lines = [" ".join(part.split()) for part in "".join(self._buffer).split("\n")]
        self._buffer.clear()
        text = "\n".join(line for line in lines if line)
        links, self._link_chars = self._link_chars, 0
        if text:
            self._add(Block("paragraph", text, self.outline.path),
                      min(1.0, links / max(1, len(text.replace(" ", "")))))

    def _add(self, block: Block, links: float) -> None:
        self.pieces.append(_Piece(block, any(r[0] == "main" for r in self._regions),
                                  any(r[0] == "boiler" for r in self._regions), links))

    def close(self) -> None:
        self._pre = 0
        self._heading = None
        self._flush()


def html_blocks(text: str) -> tuple[list[Block], str | None]:
    """The main visible text of an HTML document (see the module docstring) and its title."""
    parser = _HtmlText()
    _walk(text, parser)
    parser.close()
    pieces = parser.pieces
    body = [p for p in pieces if not p.boiler and p.links < _LINK_LIST]
    main = [p for p in pieces if p.main and not (p.boiler and p.links >= _LINK_LIST)]
    size = lambda chosen: sum(len(p.block.text) for p in chosen)  # noqa: E731
    if main and size(main) >= _MAIN_SHARE * size(body):
        chosen = main
    else:
        chosen = body or pieces
    blocks = _rebased([p.block for p in chosen])
    first_heading = next((p.block.text for p in pieces if p.block.kind == "heading"), None)
    return blocks, parser.title or first_heading


_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True,
                           no_network=True, recover=True)


def _walk(text: str, sink: _HtmlText) -> None:
    """Parse ``text`` and replay it into ``sink`` as start/data/end events,
    with an explicit stack (no recursion limit on deeply nested pages)."""
    if not text.strip():
        return
    try:
        root = etree.fromstring(text.encode("utf-8", "replace"), _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return
    if root is None:
        return
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        element, closing = stack.pop()
        if closing:
            sink.handle_endtag(element.tag)  # type: ignore[attr-defined]
            if element.tail:  # type: ignore[attr-defined]
                sink.handle_data(element.tail)  # type: ignore[attr-defined]
            continue
        tag = element.tag  # type: ignore[attr-defined]
        if not isinstance(tag, str):  # an entity or a leftover comment
            if element.tail:  # type: ignore[attr-defined]
                sink.handle_data(element.tail)  # type: ignore[attr-defined]
            continue
        sink.handle_starttag(tag.lower(), [(k.lower(), v) for k, v in element.items()])  # type: ignore[attr-defined]
        if element.text:  # type: ignore[attr-defined]
            sink.handle_data(element.text)  # type: ignore[attr-defined]
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))  # type: ignore[call-overload]


def _rebased(blocks: list[Block]) -> list[Block]:
    """Heading paths recomputed over the kept blocks only (a dropped sidebar's
    headings must not stay in the path of the article's paragraphs)."""
    outline = Outline()
    out: list[Block] = []
    for block in blocks:
        if block.kind == "heading":
            out.append(Block("heading", block.text, outline.enter(block.level, block.text),
                             level=block.level))
        else:
            out.append(Block(block.kind, block.text, outline.path, block.page, block.level))
    return out
