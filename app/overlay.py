"""The floating search/ask overlay the global hotkey opens over whatever is on screen.

One line: type and the best hits appear below (the same debounced search as
the Search view, newest query wins); ↓/↑ pick one, Enter opens it in Engram,
Ctrl+Enter asks the line as a question, Esc closes. It closes as well when the
person clicks elsewhere, like a launcher.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QCursor, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QLineEdit, QListView, QPushButton, QVBoxLayout, QWidget,
)

from app.models.search_results import SearchResultsModel
from app.tasks import Debouncer, run_in_background
from app.views.common import image_from_bytes
from app.views.hit_delegate import HitDelegate
from app.windows.context import AppContext
from core.records import SearchFilters, SearchHit
from core.store import events as event_rows

RESULTS = 8
WIDTH = 680


class Overlay(QWidget):
    """``open_hit(SearchHit, query)`` and ``ask(text)`` say what the person chose."""

    open_hit = Signal(object, str)
    ask = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *,
                 close_on_deactivate: bool = True) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("overlay")
        self.setWindowTitle("Engram — search or ask")
        self.ctx = ctx
        self.close_on_deactivate = close_on_deactivate
        self.generation = 0
        self.query = ""
        self.setFixedWidth(WIDTH)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame = QFrame()
        frame.setObjectName("overlayFrame")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        outer.addWidget(frame)
        col = QVBoxLayout(frame)
        col.setContentsMargins(12, 12, 12, 10)
        self.box = QLineEdit()
        self.box.setObjectName("overlayBox")
        self.box.setPlaceholderText("Search your memory, or ask a question…")
        self.box.setClearButtonEnabled(True)
        font = self.box.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.box.setFont(font)
        self.box.installEventFilter(self)
        col.addWidget(self.box)
        self.results = QListView()
        self.model = SearchResultsModel(self)
        self.results.setModel(self.model)
        self.results.setItemDelegate(HitDelegate(self.results))
        self.results.setUniformItemSizes(True)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.installEventFilter(self)
        self.results.setVisible(False)
        col.addWidget(self.results)
        row = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.ask_button = QPushButton("Ask Engram")
        self.ask_button.setToolTip("Ask this as a question (Ctrl+Enter)")
        self.ask_button.setEnabled(False)
        row.addWidget(self.status, 1)
        row.addWidget(self.ask_button)
        col.addLayout(row)
        self.debounce = Debouncer(150, self.run_search, self)
        self.box.textChanged.connect(self.on_text)
        self.ask_button.clicked.connect(self.on_ask)
        self.results.activated.connect(self.on_activated)
        self.results.clicked.connect(self.on_activated)
        self._hint()

    # -- showing ------------------------------------------------------------------------------
    def popup(self) -> None:
        """Show over the screen holding the mouse pointer, upper third, ready to type."""
        screen = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        self.adjustSize()
        if screen is not None:
            area = screen.availableGeometry()
            self.move(QPoint(area.x() + (area.width() - self.width()) // 2,
                             area.y() + area.height() // 5))
        self.show()
        self.raise_()
        self.activateWindow()
        self.box.setFocus()
        self.box.selectAll()

    def dismiss(self) -> None:
        self.generation += 1  # a search still running lands nowhere
        self.hide()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.ActivationChange and self.close_on_deactivate \
                and self.isVisible() and not self.isActiveWindow():
            self.dismiss()
        super().changeEvent(event)

    # -- searching ----------------------------------------------------------------------------
    def on_text(self, text: str) -> None:
        self.ask_button.setEnabled(bool(text.strip()))
        self.debounce.poke()

    def run_search(self) -> None:
        query = self.box.text().strip()
        self.generation += 1
        generation = self.generation
        if not query:
            self.model.clear()
            self.results.setVisible(False)
            self._hint()
            self.adjustSize()
            return
        retriever = self.ctx.engine.retriever
        self.status.setText("Searching…")

        def done(hits: list[SearchHit]) -> None:
            if generation == self.generation:
                self.show_hits(query, hits)

        def failed(exc: BaseException) -> None:
            if generation == self.generation:
                self.status.setText(f"Search failed: {exc}")

        run_in_background(lambda: retriever.search(query, SearchFilters(), k=RESULTS), done,
                          failed, owner=self)

    def show_hits(self, query: str, hits: list[SearchHit]) -> None:
        self.query = query
        self.model.set_hits(hits, query)
        self.results.setVisible(bool(hits))
        if hits:
            self.results.setCurrentIndex(self.model.index(0, 0))
            rows = min(len(hits), 5)
            self.results.setFixedHeight(rows * self.results.sizeHintForRow(0) + 4)
            self.status.setText("Enter opens · Ctrl+Enter asks · Esc closes")
            self._load_thumbnails()
        else:
            self.status.setText(f"Nothing found for “{query}” — Ctrl+Enter to ask instead.")
        self.adjustSize()

    def _load_thumbnails(self) -> None:
        ids = self.model.needing_thumbnails()
        if not ids:
            return
        generation, store = self.generation, self.ctx.engine.store

        def load() -> list[tuple[int, object]]:
            db, out = store.reader(), []
            for event_id in ids:
                found = event_rows.image(db, event_id)
                image = image_from_bytes(found[1]) if found else None
                if image is not None:
                    out.append((event_id, image.scaled(
                        192, 120, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)))
            return out

        def done(images: list[tuple[int, object]]) -> None:
            if generation == self.generation:
                for event_id, image in images:
                    self.model.set_thumbnail(event_id, image)

        run_in_background(load, done, owner=self)

    def _hint(self) -> None:
        self.status.setText("Type to search · Ctrl+Enter asks · Esc closes")

    # -- choosing -----------------------------------------------------------------------------
    def on_activated(self, index: QModelIndex) -> None:
        hit = self.model.hit(index.row())
        if hit is not None:
            self.dismiss()
            self.open_hit.emit(hit, self.query)

    def on_ask(self) -> None:
        text = self.box.text().strip()
        if text:
            self.dismiss()
            self.ask.emit(text)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(obj, event)
        key, mods = event.key(), event.modifiers()
        if key == Qt.Key.Key_Escape:
            self.dismiss()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if mods & Qt.KeyboardModifier.ControlModifier:
                self.on_ask()
            elif self.results.isVisible() and self.results.currentIndex().isValid():
                self.on_activated(self.results.currentIndex())
            else:
                self.debounce.flush()  # Enter before the results: search now
            return True
        if obj is self.box and key == Qt.Key.Key_Down and self.results.isVisible():
            self.results.setFocus()
            return True
        if obj is self.results and key == Qt.Key.Key_Up \
                and self.results.currentIndex().row() <= 0:
            self.box.setFocus()
            return True
        return super().eventFilter(obj, event)
