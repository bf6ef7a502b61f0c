"""Search: a debounced box, filters, ranked results, and the detail of the one picked.

Each keystroke restarts a 200 ms timer; when it fires, the query runs on a
worker. Every search carries a generation number and only the newest one's
results are shown, so a slow early query can never overwrite a later one.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QLabel, QLineEdit, QListView, QSplitter, QStackedWidget, QVBoxLayout, QWidget,
)

from core.activity import distinct_apps
from app.models.search_results import SearchResultsModel
from app.tasks import Debouncer, run_in_background
from app.views.common import EmptyState, image_from_bytes
from app.views.hit_delegate import HitDelegate
from app.views.hit_detail import HitDetail
from app.views.search_filters import FiltersBar
from app.windows.context import AppContext
from core.records import SearchFilters, SearchHit
from core.store import events as event_rows

DEBOUNCE_MS = 200
RESULTS = 50


class SearchView(QWidget):
    title = "Search"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.generation = 0
        self.last_query = ""
        self.searching = False
        layout = QVBoxLayout(self)
        self.box = QLineEdit()
        self.box.setObjectName("searchBox")
        self.box.setPlaceholderText("Search everything you've seen, read or said…  (Ctrl+K)")
        self.box.setClearButtonEnabled(True)
        self.box.installEventFilter(self)
        layout.addWidget(self.box)
        self.filters = FiltersBar()
        layout.addWidget(self.filters)
        self.status = QLabel()
        self.status.setObjectName("hint")
        layout.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.stack = QStackedWidget()
        self.empty = EmptyState("Search your memory", "")
        self.results = QListView()
        self.results.setObjectName("results")
        self.model = SearchResultsModel(self)
        self.results.setModel(self.model)
        self.results.setItemDelegate(HitDelegate(self.results))
        self.results.setUniformItemSizes(True)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.results.installEventFilter(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.results)
        self.detail = HitDetail(ctx)
        split.addWidget(self.stack)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([460, 640])
        layout.addWidget(split, 1)
        self.debounce = Debouncer(DEBOUNCE_MS, self.run_search, self)
        self.box.textChanged.connect(self.debounce.poke)
        self.box.returnPressed.connect(self.debounce.flush)
        self.filters.changed.connect(self.run_search)
        self.results.selectionModel().currentChanged.connect(self.on_current_changed)
        self.results.activated.connect(self.on_activated)
        ctx.nav.data_changed.connect(lambda _c: self.refresh_after_change())
        self._show_intro()

    # -- view protocol ------------------------------------------------------------------------
    def activate(self) -> None:
        self._load_apps()
        if not self.model.rowCount() and not self.box.text():
            self._show_intro()

    def focus_search(self) -> None:
        self.box.setFocus()
        self.box.selectAll()

    def clear(self) -> None:
        """Esc: clear the query, the filters and the detail."""
        self.box.clear()
        self.filters.reset()
        self.detail.clear()
        self.generation += 1
        self.model.clear()
        self._show_intro()
        self.box.setFocus()

    def set_query(self, text: str) -> None:
        self.box.setText(text)
        self.debounce.flush()

    # -- searching ----------------------------------------------------------------------------
    def run_search(self) -> None:
        query = self.box.text().strip()
        self.generation += 1
        generation = self.generation
        if not query:
            self.model.clear()
            self.detail.clear()
            self._show_intro()
            return
        filters = self.filters.filters()
        retriever = self.ctx.engine.retriever
        self.searching = True
        self.status.setText("Searching…")

        def done(hits: list[SearchHit]) -> None:
            if generation != self.generation:
                return  # superseded by a newer query: drop
            self.searching = False
            self.show_results(query, hits, filters)

        def failed(exc: BaseException) -> None:
            if generation == self.generation:
                self.searching = False
                self.status.setText("Search failed.")
                from app.dialogs.errors import present_error

                present_error(exc, self)

        run_in_background(lambda: retriever.search(query, filters, k=RESULTS), done, failed,
                          owner=self)

    def show_results(self, query: str, hits: list[SearchHit], filters: SearchFilters) -> None:
        self.last_query = query
        self.model.set_hits(hits, query)
        if not hits:
            self.empty.set_text(f"No matches for “{query}”",
                                "Try fewer or other words" +
                                (", or loosen the filters." if self.filters.active() else ".") +
                                "<br>Search matches words and meaning across your screen, "
                                "files, chats and notes.")
            self.stack.setCurrentWidget(self.empty)
            self.status.setText("")
            self.detail.clear()
            return
        self.stack.setCurrentWidget(self.results)
        # The real number shown; a full page says it is the best ones, not all there are.
        self.status.setText(f"The best {len(hits)} results" if len(hits) >= RESULTS else
                            f"{len(hits)} result{'s' if len(hits) != 1 else ''}")
        self.results.selectionModel().setCurrentIndex(
            self.model.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._load_thumbnails()

    def refresh_after_change(self) -> None:
        if self.box.text().strip():
            self.run_search()

    def _load_thumbnails(self) -> None:
        ids = self.model.needing_thumbnails()
        if not ids:
            return
        generation = self.generation
        store = self.ctx.engine.store

        def load() -> list[tuple[int, object]]:
            db = store.reader()
            out = []
            for event_id in ids:
                found = event_rows.image(db, event_id)
                image = image_from_bytes(found[1]) if found else None
                if image is not None:
                    small = image.scaled(192, 120, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)
                    out.append((event_id, small))
            return out

        def done(images: list[tuple[int, object]]) -> None:
            if generation == self.generation:
                for event_id, image in images:
                    self.model.set_thumbnail(event_id, image)

        run_in_background(load, done, owner=self)

    def _load_apps(self) -> None:
        store = self.ctx.engine.store
        run_in_background(lambda: distinct_apps(store.reader()), self.filters.set_apps, owner=self)

    def _show_intro(self) -> None:
        self.empty.set_text(
            "Search your memory",
            "Type a few words — a name, a phrase you read, what a file was about.<br>"
            "Results come from your screen, files, chats and notes, best first. "
            "<br><br>↑ ↓ to move through results, Enter to open, Esc to clear.")
        self.stack.setCurrentWidget(self.empty)
        self.status.setText("")

    # -- results ------------------------------------------------------------------------------
    def on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        hit = self.model.hit(current.row()) if current.isValid() else None
        if hit is not None:
            self.detail.show_hit(hit, self.last_query)

    def on_activated(self, index: QModelIndex) -> None:
        hit = self.model.hit(index.row())
        if hit is None:
            return
        if hit.source == "file" and hit.provenance.path:
            self.detail.on_open_file()

    def open_event(self, event_id: int) -> None:
        self.detail.show_event(event_id)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if obj is self.box and key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown) \
                    and self.model.rowCount():
                self.results.setFocus()
                if not self.results.currentIndex().isValid():
                    self.results.setCurrentIndex(self.model.index(0, 0))
                return True
            if obj is self.results and key == Qt.Key.Key_Up \
                    and self.results.currentIndex().row() <= 0:
                self.box.setFocus()
                return True
        return super().eventFilter(obj, event)
