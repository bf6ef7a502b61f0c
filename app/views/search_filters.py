"""The filter row under the search box: source, app, memory type, time."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QWidget

from core.activity import local_day_bounds
from core.records import MEMORY_TYPES, SearchFilters, to_utc

SOURCES = (("Everything", ""), ("Screen", "screen"), ("Files", "file"), ("Chats", "chat"),
           ("Notes", "note"))
RANGES = ("Any time", "Today", "Yesterday", "Last 7 days", "Last 30 days", "Between…")


class FiltersBar(QWidget):
    """Emits ``changed`` whenever a filter changes; ``filters()`` reads them."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.source = QComboBox()
        self.source.setAccessibleName("Source")
        for label, value in SOURCES:
            self.source.addItem(label, value)
        self.app = QComboBox()
        self.app.setAccessibleName("App")
        self.app.addItem("All apps", "")
        self.memory = QComboBox()
        self.memory.setAccessibleName("Memory type")
        self.memory.addItem("Events and memories", "")
        for kind in MEMORY_TYPES:
            self.memory.addItem(f"{kind.capitalize()} memories", kind)
        self.when = QComboBox()
        self.when.setAccessibleName("Time")
        self.when.addItems(RANGES)
        self.since = QDateEdit(QDate.currentDate().addDays(-7))
        self.until = QDateEdit(QDate.currentDate())
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy")
            edit.setVisible(False)
            edit.dateChanged.connect(self.changed)
        self.and_label = QLabel("and")
        self.and_label.setVisible(False)
        for widget in (self.source, self.app, self.memory, self.when):
            row.addWidget(widget)
            widget.currentIndexChanged.connect(self.changed)
        row.addWidget(self.since)
        row.addWidget(self.and_label)
        row.addWidget(self.until)
        row.addStretch(1)
        self.when.currentIndexChanged.connect(self._range_changed)

    def set_apps(self, apps: list[str]) -> None:
        current = self.app.currentData()
        self.app.blockSignals(True)
        self.app.clear()
        self.app.addItem("All apps", "")
        for name in apps:
            self.app.addItem(name, name)
        found = self.app.findData(current)
        self.app.setCurrentIndex(max(0, found))
        self.app.blockSignals(False)

    def reset(self) -> None:
        for combo in (self.source, self.app, self.memory, self.when):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self._range_changed()

    def _range_changed(self) -> None:
        custom = self.when.currentIndex() == RANGES.index("Between…")
        for widget in (self.since, self.and_label, self.until):
            widget.setVisible(custom)

    def filters(self, today: date | None = None) -> SearchFilters:
        today = today or date.today()
        since = until = None
        choice = RANGES[self.when.currentIndex()]
        if choice == "Today":
            since, until = local_day_bounds(today)
        elif choice == "Yesterday":
            since, until = local_day_bounds(today - timedelta(days=1))
        elif choice == "Last 7 days":
            since = local_day_bounds(today - timedelta(days=6))[0]
        elif choice == "Last 30 days":
            since = local_day_bounds(today - timedelta(days=29))[0]
        elif choice == "Between…":
            a, b = self.since.date().toPython(), self.until.date().toPython()
            if a > b:
                a, b = b, a
            since, until = local_day_bounds(a)[0], local_day_bounds(b)[1]
        source = self.source.currentData() or ""
        app = self.app.currentData() or ""
        memory = self.memory.currentData() or ""
        return SearchFilters(
            since=to_utc(since) if isinstance(since, datetime) else None,
            until=to_utc(until) if isinstance(until, datetime) else None,
            sources=(source,) if source else (), apps=(app,) if app else (),
            memory_types=(memory,) if memory else (),
            # A memory type asks for memories only; a source or app narrows to events.
            include_events=not memory,
            include_memories=not (source or app),
        )

    def active(self) -> bool:
        return any(c.currentIndex() for c in (self.source, self.app, self.memory, self.when))
