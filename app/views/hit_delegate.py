"""Paints one search result: thumbnail, title, where/when, snippet with matches in bold."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QFont, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.models.search_results import HitRole

THUMB_W, THUMB_H = 96, 60
PAD = 8
ROW_H = THUMB_H + 2 * PAD + 14
SOURCE_GLYPH = {"screen": "▣", "file": "▤", "chat": "◉", "note": "✎", "assistant": "?"}


class HitDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(max(option.rect.width(), 320), ROW_H)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        style = option.widget.style() if option.widget else None
        if style is not None:
            # The selection/hover background, drawn by the style (follows the theme).
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            opt.text = ""
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter,
                                option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        text_color = pal.color(QPalette.ColorRole.HighlightedText if selected
                               else QPalette.ColorRole.Text)
        dim = pal.color(QPalette.ColorRole.HighlightedText if selected
                        else QPalette.ColorRole.PlaceholderText)
        r = option.rect
        thumb_rect = QRectF(r.x() + PAD, r.y() + PAD, THUMB_W, THUMB_H)
        image = index.data(HitRole.Thumbnail)
        source = index.data(HitRole.Source) or ""
        if image is not None and not image.isNull():
            scaled = image.size().scaled(THUMB_W, THUMB_H, Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(thumb_rect.x() + (THUMB_W - scaled.width()) / 2,
                            thumb_rect.y() + (THUMB_H - scaled.height()) / 2,
                            scaled.width(), scaled.height())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, image)
        else:
            painter.setPen(dim)
            glyph_font = QFont(option.font)
            glyph_font.setPointSizeF(option.font.pointSizeF() * 2)
            painter.setFont(glyph_font)
            painter.drawText(thumb_rect, Qt.AlignmentFlag.AlignCenter,
                             SOURCE_GLYPH.get(source, "•"))
        x = thumb_rect.right() + PAD
        width = r.right() - x - PAD
        title_font = QFont(option.font)
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.setPen(text_color)
        fm = painter.fontMetrics()
        title = fm.elidedText(index.data(HitRole.Title) or "", Qt.TextElideMode.ElideRight,
                              int(width * 0.7))
        painter.drawText(QRectF(x, r.y() + PAD, width, fm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        painter.setFont(option.font)
        painter.setPen(dim)
        when = index.data(HitRole.When) or ""
        painter.drawText(QRectF(x, r.y() + PAD, width, fm.height()),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when)
        fm2 = painter.fontMetrics()
        where = fm2.elidedText(index.data(HitRole.Where) or "", Qt.TextElideMode.ElideMiddle,
                               int(width))
        y = r.y() + PAD + fm.height() + 2
        painter.drawText(QRectF(x, y, width, fm2.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, where)
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(0)
        doc.setTextWidth(width)
        doc.setHtml(index.data(HitRole.SnippetHtml) or "")
        y += fm2.height() + 4
        clip = QRectF(0, 0, width, r.bottom() - y - 2)
        painter.translate(x, y)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette.setColor(QPalette.ColorRole.Text, text_color)
        ctx.clip = clip
        painter.setClipRect(clip)
        doc.documentLayout().draw(painter, ctx)
        painter.restore()
