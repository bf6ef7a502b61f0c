"""The unlocked app: a sidebar of views, the capture bar, the jobs bar.

Views are built once the engine is open (they all need it) and refreshed
lazily: ``activate()`` runs when a view is shown, ``clear()`` on Esc.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
    QStackedWidget, QVBoxLayout, QWidget,
)

from app.models.jobs import JobList, JobRole
from app.views.ask import AskView
from app.views.memories import MemoriesView
from app.views.search import SearchView
from app.views.settings import SettingsView
from app.views.sources import SourcesView
from app.views.timeline import TimelineView
from app.windows.context import VIEW_ORDER, AppContext
from app.windows.icons import nav_icon


class JobsBar(QWidget):
    """The newest running job with its progress and Cancel; "+N more" for the rest."""

    def __init__(self, jobs: JobList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 0, 6, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setFlat(True)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        row.addWidget(self.cancel)
        self.cancel.clicked.connect(self.on_cancel)
        for signal in (jobs.rowsInserted, jobs.rowsRemoved, jobs.dataChanged, jobs.modelReset):
            signal.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args: object) -> None:
        n = self.jobs.rowCount()
        self.setVisible(n > 0)
        if not n:
            return
        index = self.jobs.index(n - 1, 0)
        more = f"  (+{n - 1} more)" if n > 1 else ""
        self.label.setText(f"{index.data(JobRole.Title)} — {index.data(JobRole.Label)}{more}")
        fraction = index.data(JobRole.Fraction)
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))

    def on_cancel(self) -> None:
        n = self.jobs.rowCount()
        if n:
            self.jobs.index(n - 1, 0).data(JobRole.Task).cancel()


class Shell(QWidget):
    view_changed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(170)
        self.nav.setIconSize(QSize(18, 18))
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        outer.addWidget(self.nav)
        right = QVBoxLayout()
        right.setContentsMargins(8, 6, 8, 4)
        bar = QHBoxLayout()
        self.capture_label = QLabel()
        self.capture_label.setObjectName("captureBar")
        self.capture_label.setWordWrap(True)
        self.resume = QPushButton("Resume")
        bar.addWidget(self.capture_label, 1)
        bar.addWidget(self.resume)
        right.addLayout(bar)
        self.stack = QStackedWidget()
        right.addWidget(self.stack, 1)
        outer.addLayout(right, 1)
        self.views = {
            "ask": AskView(ctx), "search": SearchView(ctx), "timeline": TimelineView(ctx),
            "memories": MemoriesView(ctx), "sources": SourcesView(ctx),
            "settings": SettingsView(ctx),
        }
        for n, name in enumerate(VIEW_ORDER):
            view = self.views[name]
            self.stack.addWidget(view)
            item = QListWidgetItem(view.title)
            item.setToolTip(f"{view.title} (Ctrl+{n + 1})")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.nav.addItem(item)
        self._paint_icons()
        self.nav.currentRowChanged.connect(self._on_row)
        self.resume.clicked.connect(ctx.capture.resume)
        ctx.capture.changed.connect(self.show_capture)
        ctx.nav.show_view.connect(self.show_view)
        ctx.nav.open_event.connect(self._open_event)
        ctx.nav.search_for.connect(self._search_for)
        ctx.nav.show_in_timeline.connect(self._show_in_timeline)
        self.show_capture()

    def _paint_icons(self) -> None:
        text_color = self.palette().color(QPalette.ColorRole.WindowText)
        selected_color = self.palette().color(QPalette.ColorRole.HighlightedText)
        for n, name in enumerate(VIEW_ORDER):
            self.nav.item(n).setIcon(nav_icon(name, text_color, selected_color))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.PaletteChange:  # light ↔ dark: redraw the icons
            self._paint_icons()
        super().changeEvent(event)

    def current(self) -> str:
        item = self.nav.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else "search"

    def show_view(self, name: str) -> None:
        if name in VIEW_ORDER:
            self.nav.setCurrentRow(VIEW_ORDER.index(name))

    def _on_row(self, row: int) -> None:
        if not 0 <= row < len(VIEW_ORDER):
            return
        name = VIEW_ORDER[row]
        view = self.views[name]
        self.stack.setCurrentWidget(view)
        view.activate()
        if name == "search":
            view.focus_search()
        self.view_changed.emit(name)

    def clear_current(self) -> None:
        self.views[self.current()].clear()

    def _open_event(self, event_id: int) -> None:
        self.show_view("search")
        self.views["search"].open_event(event_id)

    def _show_in_timeline(self, event_id: int, when: object) -> None:
        self.show_view("timeline")
        self.views["timeline"].show_moment(event_id, when)

    def _search_for(self, text: str) -> None:
        self.show_view("search")
        self.views["search"].set_query(text)

    def show_capture(self) -> None:
        from html import escape

        from app.tray import STATE_COLORS

        snap = self.ctx.capture.snapshot()
        color = STATE_COLORS.get(snap.state, STATE_COLORS["idle"])
        text = f"<span style='color: {color}'>●</span> {escape(snap.summary())}"
        if not self.ctx.tray_available and snap.mode == "local":
            text += " <span style='color: gray'>· No system tray on this desktop: capture " \
                    "runs while this window is open, or without a window with " \
                    "<code>engram daemon</code>.</span>"
        self.capture_label.setText(text)
        self.resume.setVisible(snap.paused)
