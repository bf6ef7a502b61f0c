"""Small widgets every view uses: empty states, a screenshot with highlights, confirms."""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QLabel, QMessageBox, QSizePolicy, QVBoxLayout, QWidget,
)

from core.units import format_bytes as human_size  # noqa: F401 - the views' name for it


def wrap_rows(view: QAbstractItemView) -> QAbstractItemView:
    """Long rows wrap inside the list's width instead of running off to a sideways
    scroll bar (titles, paths, statuses)."""
    view.setWordWrap(True)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return view


class ElidedLabel(QLabel):
    """One line of plain text that is cut with "…" when its space is short, instead of
    widening the layout around it; the whole text is its tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        self._full = text
        self.setToolTip(text if text else "")
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        super().setText(shown)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(0, super().minimumSizeHint().height())


class EmptyState(QFrame):
    """A centred "nothing here yet — here's how" panel."""

    def __init__(self, title: str, body: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        self.title = QLabel(title)
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.body = QLabel(body)
        self.body.setObjectName("emptyBody")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setOpenExternalLinks(False)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.title)
        outer.addWidget(self.body)
        outer.addStretch(2)

    def set_text(self, title: str, body: str = "") -> None:
        self.title.setText(title)
        self.body.setText(body)


class ScreenshotView(QWidget):
    """A stored screenshot, scaled to fit, with matched words boxed in highlight."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._boxes: list[tuple[float, float, float, float]] = []
        self._note = ""
        self.setMinimumSize(160, 100)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None, note: str = "") -> None:
        self._image = image if image is not None and not image.isNull() else None
        self._note = note
        self.update()

    def set_highlights(self, boxes: Sequence[tuple[float, float, float, float]]) -> None:
        self._boxes = list(boxes)
        self.update()

    @property
    def highlights(self) -> list[tuple[float, float, float, float]]:
        return list(self._boxes)

    def image(self) -> QImage | None:
        return self._image

    def sizeHint(self) -> QSize:
        if self._image is not None:
            return self._image.size().boundedTo(QSize(960, 600))
        return QSize(480, 300)

    def image_rect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        if self._image.width() <= self.width() and self._image.height() <= self.height():
            size = self._image.size()  # never blow a small thumbnail up past 1:1
        x = (self.width() - size.width()) / 2
        y = (self.height() - size.height()) / 2
        return QRectF(x, y, size.width(), size.height())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.clicked.emit()
        super().mouseReleaseEvent(event)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pal = self.palette()
        painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.AlternateBase))
        if self._image is None:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             self._note or "No screenshot")
            return
        target = self.image_rect()
        painter.drawImage(target, self._image)
        fill = QColor(255, 214, 0, 90)
        pen = QPen(QColor(230, 160, 0), 2)
        painter.setPen(pen)
        painter.setBrush(fill)
        for x, y, w, h in self._boxes:
            painter.drawRect(QRectF(target.x() + x * target.width() - 2,
                                    target.y() + y * target.height() - 2,
                                    w * target.width() + 4, h * target.height() + 4))


def image_from_bytes(data: bytes | None) -> QImage | None:
    """Decode stored image bytes (WebP/JPEG/PNG); QImage is safe off the UI thread."""
    if not data:
        return None
    image = QImage.fromData(data)
    return None if image.isNull() else image


def confirm(parent: QWidget | None, title: str, text: str, action: str) -> bool:
    """Ask before something that can't be undone. Tests replace this function."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text,
                      QMessageBox.StandardButton.Cancel, parent)
    go = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is go


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("heading")
    return label


def hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


def minutes_text(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return f"{seconds:.0f} s"
    if minutes < 60:
        return f"{minutes:.0f} min"
    return f"{minutes // 60:.0f} h {minutes % 60:02.0f} min"
