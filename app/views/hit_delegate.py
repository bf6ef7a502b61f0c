"""Paints one search result: thumbnail or source icon, title and time, where it came
from, and two lines of snippet with the matched words in bold.

Every piece of text is laid out first (``HitDelegate.layout``) and only then
painted, so a test can measure each piece with ``QFontMetrics`` against the rect
it was given: titles and places are elided, the time is never cut, the snippet
wraps on words and ends in "…" on its last line, and the row is exactly as tall
as its content needs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.models.search_results import HitRole
from app.views.source_icons import source_icon
from core.snippets import MARK_CLOSE, MARK_OPEN

THUMB_W, THUMB_H = 96, 60
ICON = 28
PAD = 10
GAP = 12  # between the title and the time
SNIPPET_LINES = 2
ELLIPSIS = "…"

Run = tuple[str, bool]  # text, bold


@dataclass(frozen=True)
class Piece:
    """One run of text at a place in the row; ``runs`` are drawn left to right."""

    role: str
    rect: QRect
    runs: tuple[Run, ...]
    font: QFont
    bold_font: QFont

    def width(self) -> int:
        return run_width(self.runs, QFontMetrics(self.font), QFontMetrics(self.bold_font))


@dataclass(frozen=True)
class RowLayout:
    thumb: QRect
    pieces: tuple[Piece, ...]


def run_width(runs: tuple[Run, ...] | list[Run], fm: QFontMetrics, bold: QFontMetrics) -> int:
    return sum((bold if b else fm).horizontalAdvance(t) for t, b in runs)


def marked_runs(snippet: str) -> list[Run]:
    """The engine's «marked» snippet as runs of plain and bold text, on one line."""
    flat = " ".join(snippet.split())
    runs: list[Run] = []
    for n, part in enumerate(re.split(f"{re.escape(MARK_OPEN)}|{re.escape(MARK_CLOSE)}", flat)):
        if part:
            runs.append((part, n % 2 == 1))
    return runs


def _fit_chars(text: str, room: int, fm: QFontMetrics) -> int:
    """How many leading characters of ``text`` fit in ``room`` pixels."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fm.horizontalAdvance(text[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


def wrap_runs(runs: list[Run], width: int, fm: QFontMetrics, bold: QFontMetrics,
              max_lines: int) -> list[list[Run]]:
    """Word-wrap ``runs`` into at most ``max_lines`` lines no wider than ``width``; text
    left over ends the last line in "…". A word longer than a line is broken."""
    tokens: list[Run] = [(w, b) for text, b in runs for w in re.findall(r"\S+\s*|\s+", text)]
    lines: list[list[Run]] = []
    i = 0
    while i < len(tokens) and len(lines) < max_lines:
        line: list[Run] = []
        used = 0
        while i < len(tokens):
            word, b = tokens[i]
            metrics = bold if b else fm
            w = metrics.horizontalAdvance(word.rstrip())
            if used + w <= width:
                line.append((word, b))
                used += metrics.horizontalAdvance(word)
                i += 1
                continue
            if not line:  # a word wider than the whole line: break it
                n = max(1, _fit_chars(word, width, metrics))
                line.append((word[:n], b))
                tokens[i] = (word[n:], b)
            break
        lines.append(line)
    if i < len(tokens) and lines:
        lines[-1] = _with_ellipsis(lines[-1], width, fm, bold)
    return [[(t.rstrip() if k == len(ln) - 1 else t, b) for k, (t, b) in enumerate(ln)]
            for ln in lines]


def _with_ellipsis(line: list[Run], width: int, fm: QFontMetrics,
                   bold: QFontMetrics) -> list[Run]:
    line = [(t, b) for t, b in line]
    room = width - fm.horizontalAdvance(ELLIPSIS)
    while line and run_width([(line[-1][0].rstrip(), line[-1][1])] + line[:-1], fm, bold) > room:
        text, b = line.pop()
        used = run_width(line, fm, bold)
        n = _fit_chars(text, room - used, bold if b else fm)
        if n > 0:
            line.append((text[:n], b))
            break
    if line:
        line[-1] = (line[-1][0].rstrip(), line[-1][1])
    return line + [(ELLIPSIS, False)]


class HitDelegate(QStyledItemDelegate):
    # -- geometry -------------------------------------------------------------------------
    @staticmethod
    def fonts(base: QFont) -> tuple[QFont, QFont, QFont]:
        """Title (bold), small (where/when), body (snippet)."""
        title = QFont(base)
        title.setBold(True)
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() * 0.92))
        return title, small, QFont(base)

    def row_height(self, base: QFont) -> int:
        title, small, body = self.fonts(base)
        text_h = (QFontMetrics(title).height() + 2 + QFontMetrics(small).height() + 4
                  + SNIPPET_LINES * QFontMetrics(body).lineSpacing())
        return 2 * PAD + max(THUMB_H, text_h)

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        # Width 0: the list makes rows as wide as its viewport, never wider (no
        # horizontal scroll bar); the height fits every line of the row.
        return QSize(0, self.row_height(option.font))

    def layout(self, rect: QRect, base: QFont,
               index: QModelIndex | QPersistentModelIndex) -> RowLayout:
        title_font, small_font, body_font = self.fonts(base)
        title_bold = QFont(title_font)
        body_bold = QFont(body_font)
        body_bold.setBold(True)
        tfm, sfm, bfm = QFontMetrics(title_font), QFontMetrics(small_font), \
            QFontMetrics(body_font)
        thumb = QRect(rect.x() + PAD, rect.y() + (rect.height() - THUMB_H) // 2,
                      THUMB_W, THUMB_H)
        x = thumb.right() + 1 + PAD
        width = max(0, rect.right() + 1 - PAD - x)
        y = rect.y() + PAD
        pieces: list[Piece] = []
        when = index.data(HitRole.When) or ""
        # +2: horizontalAdvance rounds, and elidedText elides text that fits to the pixel.
        when_w = min(sfm.horizontalAdvance(when) + 2, width)
        if when_w < sfm.horizontalAdvance(when) + 2:
            when = sfm.elidedText(when, Qt.TextElideMode.ElideRight, when_w)
        title_w = max(0, width - when_w - (GAP if when_w else 0))
        title = tfm.elidedText(index.data(HitRole.Title) or "", Qt.TextElideMode.ElideRight,
                               title_w)
        pieces.append(Piece("title", QRect(x, y, title_w, tfm.height()), ((title, False),),
                            title_font, title_bold))
        if when_w:
            # On the title's baseline: the smaller font sits lower in the same line.
            pieces.append(Piece("when", QRect(x + width - when_w, y + tfm.ascent() - sfm.ascent(),
                                              when_w, sfm.height()), ((when, False),),
                                small_font, small_font))
        y += tfm.height() + 2
        where = sfm.elidedText(index.data(HitRole.Where) or "", Qt.TextElideMode.ElideMiddle,
                               width)
        pieces.append(Piece("where", QRect(x, y, width, sfm.height()), ((where, False),),
                            small_font, small_font))
        y += sfm.height() + 4
        hit = index.data(HitRole.Hit)
        snippet = getattr(hit, "snippet", "") or ""
        lines = wrap_runs(marked_runs(snippet), width, bfm, QFontMetrics(body_bold),
                          SNIPPET_LINES)
        for n, line in enumerate(lines):
            pieces.append(Piece(f"snippet{n}", QRect(x, y, width, bfm.height()), tuple(line),
                                body_font, body_bold))
            y += bfm.lineSpacing()
        return RowLayout(thumb, tuple(pieces))

    # -- painting -------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        style = option.widget.style() if option.widget else None
        if style is not None:
            # The selection/hover background, drawn by the style (follows the theme).
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            opt.text = ""
            opt.icon = type(opt.icon)()
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter,
                                option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        text_color = pal.color(QPalette.ColorRole.HighlightedText if selected
                               else QPalette.ColorRole.Text)
        dim = QColor(text_color) if selected else pal.color(QPalette.ColorRole.PlaceholderText)
        if selected:
            dim.setAlphaF(0.8)
        row = self.layout(option.rect, option.font, index)
        self._paint_thumb(painter, row.thumb, index, pal, selected, dim)
        for piece in row.pieces:
            painter.setPen(dim if piece.role in ("when", "where") else text_color)
            x = piece.rect.x()
            for text, bold in piece.runs:
                font = piece.bold_font if bold else piece.font
                painter.setFont(font)
                w = QFontMetrics(font).horizontalAdvance(text)
                painter.drawText(QRect(x, piece.rect.y(), w + 1, piece.rect.height()),
                                 int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                                 | int(Qt.TextFlag.TextSingleLine), text)
                x += w
        painter.restore()

    def _paint_thumb(self, painter: QPainter, rect: QRect, index, pal: QPalette,
                     selected: bool, dim: QColor) -> None:
        image = index.data(HitRole.Thumbnail)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QPainterPath()
        frame.addRoundedRect(QRectF(rect), 6, 6)
        if image is not None and not image.isNull():
            scaled = image.size().scaled(rect.width(), rect.height(),
                                         Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(rect.x() + (rect.width() - scaled.width()) / 2,
                            rect.y() + (rect.height() - scaled.height()) / 2,
                            scaled.width(), scaled.height())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, image)
            return
        tint = QColor(pal.color(QPalette.ColorRole.HighlightedText if selected
                                else QPalette.ColorRole.Highlight))
        tint.setAlphaF(0.14)
        painter.fillPath(frame, tint)
        hit = index.data(HitRole.Hit)
        source = index.data(HitRole.Source) or ""
        icon = source_icon(source, text_or(dim, selected, pal),
                           getattr(hit, "memory_type", None) if getattr(hit, "kind", "")
                           == "memory" else None)
        icon_rect = QRect(rect.center().x() - ICON // 2 + 1, rect.center().y() - ICON // 2 + 1,
                          ICON, ICON)
        icon.paint(painter, icon_rect)


def text_or(dim: QColor, selected: bool, pal: QPalette) -> QColor:
    """The icon's colour: the accent on a plain row, the selection's text when selected."""
    return dim if selected else pal.color(QPalette.ColorRole.Highlight)
