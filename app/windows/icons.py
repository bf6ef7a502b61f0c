"""The sidebar's icons, drawn with QPainter (no icon font or theme is needed).

Simple line drawings on a 24-unit grid, in the palette's text colour, so they
follow light and dark themes.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap


def nav_icon(name: str, color: QColor, selected: QColor | None = None,
             size: int = 20) -> QIcon:
    icon = QIcon()
    for scale in (1, 2):
        icon.addPixmap(_draw(name, color, size * scale))
        if selected is not None:  # on the highlighted row, in the highlight's text colour
            icon.addPixmap(_draw(name, selected, size * scale), QIcon.Mode.Selected)
    return icon


def _draw(name: str, color: QColor, px: int) -> QPixmap:
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(px / 24.0, px / 24.0)
    pen = QPen(color, 1.8)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    DRAW.get(name, _dot)(p)
    p.end()
    return pixmap


def _ask(p: QPainter) -> None:  # a speech bubble
    path = QPainterPath()
    path.addRoundedRect(QRectF(3, 4, 18, 12), 4, 4)
    p.drawPath(path)
    p.drawPolyline([QPointF(8, 16), QPointF(7, 21), QPointF(12, 16)])


def _search(p: QPainter) -> None:  # a magnifier
    p.drawEllipse(QRectF(4, 4, 11, 11))
    p.drawLine(QPointF(13.5, 13.5), QPointF(20, 20))


def _timeline(p: QPainter) -> None:  # a clock
    p.drawEllipse(QRectF(3.5, 3.5, 17, 17))
    p.drawPolyline([QPointF(12, 7.5), QPointF(12, 12), QPointF(15.5, 14)])


def _memories(p: QPainter) -> None:  # stacked cards
    p.drawRoundedRect(QRectF(4, 9, 16, 11), 2, 2)
    p.drawLine(QPointF(6, 6), QPointF(18, 6))
    p.drawLine(QPointF(8, 3.5), QPointF(16, 3.5))


def _sources(p: QPainter) -> None:  # an inbox tray with an arrow in
    p.drawPolyline([QPointF(3, 13), QPointF(3, 20), QPointF(21, 20), QPointF(21, 13)])
    p.drawPolyline([QPointF(3, 13), QPointF(8, 13), QPointF(9.5, 16), QPointF(14.5, 16),
                    QPointF(16, 13), QPointF(21, 13)])
    p.drawLine(QPointF(12, 3), QPointF(12, 11))
    p.drawPolyline([QPointF(8.5, 7.5), QPointF(12, 11), QPointF(15.5, 7.5)])


def _settings(p: QPainter) -> None:  # sliders
    for y, knob in ((6, 15), (12, 8), (18, 13)):
        p.drawLine(QPointF(3, y), QPointF(21, y))
        p.save()
        p.setBrush(p.pen().color())
        p.drawEllipse(QPointF(knob, y), 2.2, 2.2)
        p.restore()


def _dot(p: QPainter) -> None:
    p.drawEllipse(QPointF(12, 12), 3, 3)


DRAW = {"ask": _ask, "search": _search, "timeline": _timeline, "memories": _memories,
        "sources": _sources, "settings": _settings}
