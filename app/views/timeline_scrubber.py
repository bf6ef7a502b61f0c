"""A slider over the day's screenshots, like Rewind/Recall: drag to move through time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QSlider, QToolButton, QVBoxLayout, QWidget

from app.views.common import ElidedLabel
from core import timefmt


@dataclass(frozen=True)
class Moment:
    event_id: int
    time: datetime
    label: str
    title: str
    has_image: bool


class Scrubber(QWidget):
    """Emits ``moment_changed(Moment)`` (debounced) as the slider moves."""

    moment_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.moments: list[Moment] = []
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.prev = QToolButton()
        self.prev.setText("◀")
        self.prev.setToolTip("Previous moment")
        self.next = QToolButton()
        self.next.setText("▶")
        self.next.setToolTip("Next moment")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName("Moments of the day")
        self.slider.setPageStep(10)
        row.addWidget(self.prev)
        row.addWidget(self.slider, 1)
        row.addWidget(self.next)
        col.addLayout(row)
        self.caption = ElidedLabel()
        self.caption.setObjectName("hint")
        col.addWidget(self.caption)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(80)
        self._debounce.timeout.connect(self._emit)
        self.slider.valueChanged.connect(self._moved)
        self.prev.clicked.connect(lambda: self.slider.setValue(self.slider.value() - 1))
        self.next.clicked.connect(lambda: self.slider.setValue(self.slider.value() + 1))
        self.set_moments([])

    def set_moments(self, moments: list[Moment]) -> None:
        self.moments = moments
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(moments) - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        enabled = bool(moments)
        for widget in (self.slider, self.prev, self.next):
            widget.setEnabled(enabled)
        self._caption()

    def current(self) -> Moment | None:
        i = self.slider.value()
        return self.moments[i] if 0 <= i < len(self.moments) else None

    def jump_to_event(self, event_id: int) -> bool:
        for i, m in enumerate(self.moments):
            if m.event_id == event_id:
                self.slider.setValue(i)
                self._debounce.stop()
                self._emit()
                return True
        return False

    def jump_to_time(self, moment: datetime) -> None:
        if not self.moments:
            return
        best = min(range(len(self.moments)),
                   key=lambda i: abs((self.moments[i].time - moment).total_seconds()))
        self.slider.setValue(best)

    def _moved(self, _value: int) -> None:
        self._caption()
        self._debounce.start()

    def _emit(self) -> None:
        moment = self.current()
        if moment is not None:
            self.moment_changed.emit(moment)

    def _caption(self) -> None:
        moment = self.current()
        if moment is None:
            self.caption.setText("No screenshots this day.")
            return
        n = len(self.moments)
        self.caption.setText(f"{timefmt.clock(moment.time, seconds=True)} · {moment.label} — "
                             f"{moment.title}   ({self.slider.value() + 1} of {n})")
