"""A day's activity as a picture: 24 bars of minutes, stacked by app, with a legend.

Painted with QPainter from a ``DayActivity`` (computed off-thread); colours
are stable per label (hashed), so "Firefox" is the same colour every day.
Clicking a bar selects that hour; hovering shows its breakdown.
"""
from __future__ import annotations

import hashlib

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from core import timefmt
from core.activity import OTHER_LABEL, DayActivity
from core.units import plural
from app.views.common import minutes_text

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f")
OTHER_COLOR = "#9a9a9a"
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 24
LEGEND_H = 22


def preferred_index(label: str) -> int:
    digest = hashlib.blake2b(label.lower().encode(), digest_size=2).digest()
    return int.from_bytes(digest, "big") % len(PALETTE)


def label_colors(labels: tuple[str, ...]) -> dict[str, QColor]:
    """A distinct colour per label of one day, each label's own colour when free.

    Hashing alone gives "Firefox" the same colour every day but lets two labels
    collide; so a label takes its hashed colour, or the next one not yet taken
    (labels are in legend order, busiest first, so the busiest keep theirs).
    """
    taken: set[int] = set()
    out: dict[str, QColor] = {}
    for label in labels:
        if label == OTHER_LABEL:
            out[label] = QColor(OTHER_COLOR)
            continue
        n = preferred_index(label)
        for step in range(len(PALETTE)):
            if (n + step) % len(PALETTE) not in taken:
                n = (n + step) % len(PALETTE)
                break
        taken.add(n)
        out[label] = QColor(PALETTE[n])
    return out


# Nice y-axis steps, in minutes: the smallest that fits the busiest hour in ≤ 4 steps.
STEPS_MINUTES = (5, 10, 15, 20, 30)


class ActivityChart(QWidget):
    hour_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.activity: DayActivity | None = None
        self.colors: dict[str, QColor] = {}
        self.selected_hour: int | None = None
        self.setMouseTracking(True)
        self.setMinimumHeight(170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAccessibleName("Activity per hour")

    def sizeHint(self) -> QSize:
        return QSize(720, 210)

    def set_activity(self, activity: DayActivity | None) -> None:
        self.activity = activity
        self.colors = label_colors(activity.labels) if activity else {}
        self.selected_hour = None
        self.update()

    def color(self, label: str) -> QColor:
        return self.colors.get(label, QColor(OTHER_COLOR))

    def select_hour(self, hour: int | None) -> None:
        self.selected_hour = hour
        self.update()

    # -- geometry -----------------------------------------------------------------------------
    def plot_rect(self) -> QRectF:
        return QRectF(LEFT, TOP, max(10, self.width() - LEFT - RIGHT),
                      max(10, self.height() - TOP - BOTTOM - LEGEND_H))

    def axis(self) -> tuple[float, int]:
        """(step in seconds, number of steps) of the y axis."""
        peak = max((self.activity.total(h) for h in range(24)), default=0.0) \
            if self.activity else 0.0
        for minutes in STEPS_MINUTES:
            steps = max(1, -(-int(peak) // (minutes * 60)))
            if steps <= 4:
                return minutes * 60.0, steps
        return 900.0, 4  # an hour holds at most 60 minutes

    def scale_max(self) -> float:
        """Top of the y axis, in seconds."""
        step, steps = self.axis()
        return step * steps

    def bar_rect(self, hour: int) -> QRectF:
        """The full-height slot of ``hour`` (the bar fills it from the bottom)."""
        plot = self.plot_rect()
        slot = plot.width() / 24
        return QRectF(plot.x() + hour * slot + slot * 0.12, plot.y(), slot * 0.76, plot.height())

    def segments(self, hour: int) -> list[tuple[str, QRectF]]:
        """The painted rectangle of each label in ``hour``'s bar, bottom up."""
        if self.activity is None:
            return []
        slot = self.bar_rect(hour)
        top = self.scale_max()
        y = slot.bottom()
        out = []
        for label, seconds in self.activity.hours[hour]:
            h = slot.height() * min(seconds, top) / top
            if h <= 0:
                continue
            h = max(h, 1.5)  # a few seconds still shows as a sliver
            out.append((label, QRectF(slot.x(), y - h, slot.width(), h)))
            y -= h
        return out

    def hour_at(self, x: float) -> int | None:
        plot = self.plot_rect()
        if not plot.left() <= x < plot.right():
            return None
        return int((x - plot.x()) / (plot.width() / 24))

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        dim = pal.color(QPalette.ColorRole.PlaceholderText)
        grid = QColor(text)
        grid.setAlphaF(0.12)
        plot = self.plot_rect()
        fm = QFontMetrics(self.font())
        step, steps = self.axis()
        top = step * steps
        # Grid lines with minute labels.
        for i in range(steps + 1):
            y = plot.bottom() - plot.height() * i / steps
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(dim)
            painter.drawText(QRectF(0, y - fm.height() / 2, LEFT - 6, fm.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"{top * i / steps / 60:.0f}m")
        for hour in range(0, 24, 3):
            slot = self.bar_rect(hour)
            painter.drawText(QRectF(slot.center().x() - 20, plot.bottom() + 2, 40, BOTTOM - 4),
                             Qt.AlignmentFlag.AlignCenter, timefmt.hour_label(hour))
        if self.selected_hour is not None:
            sel = QColor(pal.color(QPalette.ColorRole.Highlight))
            sel.setAlphaF(0.18)
            slot = self.bar_rect(self.selected_hour)
            painter.fillRect(slot.adjusted(-3, 0, 3, 0), sel)
        if self.activity is None or self.activity.empty:
            painter.setPen(dim)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter,
                             "No activity recorded this day" if self.activity else "Loading…")
            return
        painter.setPen(Qt.PenStyle.NoPen)
        for hour in range(24):
            for label, rect in self.segments(hour):
                painter.setBrush(self.color(label))
                painter.drawRect(rect)
        self._paint_legend(painter, fm, text)

    def _paint_legend(self, painter: QPainter, fm: QFontMetrics, text: QColor) -> None:
        assert self.activity is not None
        x = float(LEFT)
        y = self.height() - LEGEND_H + 4
        for label in self.activity.labels:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.color(label))
            painter.drawRoundedRect(QRectF(x, y + 3, 10, 10), 2, 2)
            painter.setPen(text)
            shown = fm.elidedText(label, Qt.TextElideMode.ElideRight, 140)
            width = fm.horizontalAdvance(shown)
            painter.drawText(QRectF(x + 14, y, width + 2, 16),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown)
            x += 14 + width + 16
            if x > self.width() - 60:
                break

    # -- interaction --------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        hour = self.hour_at(event.position().x())
        if hour is None or self.activity is None or not self.activity.hours[hour]:
            QToolTip.hideText()
            return
        lines = [f"<b>{timefmt.hour_span(hour)}</b> · "
                 f"{plural(self.activity.counts[hour], 'item')}"]
        for label, seconds in self.activity.hours[hour]:
            lines.append(f"{label}: {minutes_text(seconds)}")
        QToolTip.showText(event.globalPosition().toPoint(), "<br>".join(lines), self)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt name
        hour = self.hour_at(event.position().x())
        if hour is not None:
            self.select_hour(hour)
            self.hour_clicked.emit(hour)
