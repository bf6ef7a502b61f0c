"""The detail of one hit: the screenshot with matched words boxed, the file, the conversation.

Used by Search (the selected result), Timeline (a moment or a session item)
and Ask (a citation). Everything it shows is loaded off the UI thread; a newer
request supersedes one still loading.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QPushButton, QSplitter, QStackedWidget, QTextBrowser, QVBoxLayout,
    QWidget,
)
from PySide6.QtCore import Qt

from core import timefmt
from core.activity import conversation_around
from app.models.search_results import (
    SOURCE_NAMES, highlight_words_html, marked_words, when_text, where_text,
)
from app.tasks import run_in_background, run_op
from app.views import ocr_boxes
from app.views.common import EmptyState, ScreenshotView, confirm, image_from_bytes
from app.windows.context import AppContext
from core.records import Changes, Event, SearchHit
from core.retrieval import event_hit, query_terms
from core.store import events as event_rows


@dataclass(frozen=True)
class Loaded:
    """Everything the pane shows for one event, read on a worker."""

    event: Event | None
    image: QImage | None
    conversation: tuple[Event, ...] = ()


def load_details(engine, event_id: int, with_conversation: bool) -> Loaded:
    db = engine.store.reader()
    event = event_rows.get_many(db, [event_id]).get(event_id)
    if event is None:
        return Loaded(None, None)
    image = None
    if event.has_image:
        found = event_rows.image(db, event_id)
        image = image_from_bytes(found[1]) if found else None
    conversation: tuple[Event, ...] = ()
    if with_conversation and event.thread:
        conversation = tuple(conversation_around(db, event))
    return Loaded(event, image, conversation)


class HitDetail(QWidget):
    """Shows one hit; ``forgotten`` carries the ids after "Forget this item"."""

    forgotten = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *,
                 allow_forget: bool = True) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.allow_forget = allow_forget  # the timeline has its own delete buttons
        self.show_timeline_button = True  # not in the Timeline itself
        self.hit: SearchHit | None = None
        self.words: list[str] = []
        self.loaded: Loaded | None = None
        self._generation = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages)
        self.empty = EmptyState("Nothing selected",
                                "Pick a result to see where it came from.")
        self.pages.addWidget(self.empty)
        body = QWidget()
        self.pages.addWidget(body)
        col = QVBoxLayout(body)
        col.setContentsMargins(12, 8, 12, 8)
        self.title = QLabel()
        self.title.setObjectName("detailTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QLabel()
        self.meta.setObjectName("hint")
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.title)
        col.addWidget(self.meta)
        actions = QHBoxLayout()
        self.open_file = QPushButton("Open file")
        self.open_folder = QPushButton("Show in folder")
        self.open_link = QPushButton("Open link")
        self.in_timeline = QPushButton("Show in Timeline")
        self.in_timeline.setToolTip("See this moment in its day")
        self.forget = QPushButton("Forget this item…")
        for button in (self.open_file, self.open_folder, self.open_link, self.in_timeline):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.forget)
        col.addLayout(actions)
        self.open_file.clicked.connect(self.on_open_file)
        self.open_folder.clicked.connect(self.on_open_folder)
        self.open_link.clicked.connect(self.on_open_link)
        self.forget.clicked.connect(self.on_forget)
        self.in_timeline.clicked.connect(self.on_show_in_timeline)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.screenshot = ScreenshotView()
        self.screenshot.setToolTip("Click to see it full size")
        self.screenshot.setCursor(Qt.CursorShape.PointingHandCursor)
        self.screenshot.clicked.connect(self.on_open_moment)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.split.addWidget(self.screenshot)
        self.split.addWidget(self.text)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        col.addWidget(self.split, 1)
        self.clear()

    # -- what to show ------------------------------------------------------------------------
    def clear(self) -> None:
        self._generation += 1
        self.hit = None
        self.loaded = None
        self.pages.setCurrentWidget(self.empty)

    def show_event(self, event_id: int, words: Sequence[str] = ()) -> None:
        """Show a stored event by id (from the timeline or a citation)."""
        self._generation += 1
        generation = self._generation
        engine = self.ctx.engine

        def done(loaded: Loaded) -> None:
            if generation != self._generation:
                return
            if loaded.event is None:
                self.empty.set_text("This item is gone", "It was forgotten or deleted.")
                self.pages.setCurrentWidget(self.empty)
                return
            hit = event_hit(loaded.event, "", 0.0)
            self._present(hit, list(words), loaded)

        run_in_background(lambda: load_details(engine, event_id, True), done, owner=self)

    def show_hit(self, hit: SearchHit, query: str = "") -> None:
        words = marked_words(hit.snippet) or list(query_terms(query).words)
        self._generation += 1
        generation = self._generation
        self._present(hit, words, None)  # text and header at once; the rest follows
        if hit.kind != "event":
            return
        engine = self.ctx.engine
        wants_chat = hit.source == "chat"

        def done(loaded: Loaded) -> None:
            if generation == self._generation:
                self._present(hit, words, loaded)

        run_in_background(lambda: load_details(engine, hit.id, wants_chat), done, owner=self)

    # -- rendering ----------------------------------------------------------------------------
    def _present(self, hit: SearchHit, words: list[str], loaded: Loaded | None) -> None:
        self.hit, self.words, self.loaded = hit, words, loaded
        self.pages.setCurrentIndex(1)
        self.title.setText(html.escape(hit.title or "(untitled)", quote=False))
        when = when_text(hit.time)
        if hit.end_time and hit.end_time != hit.time:
            when = timefmt.span(hit.time, hit.end_time)
        self.meta.setText(f"{html.escape(where_text(hit))} · {when} · #{hit.id}")
        p = hit.provenance
        is_file = hit.source == "file" and bool(p.path)
        self.open_file.setVisible(is_file)
        self.open_folder.setVisible(is_file)
        self.open_link.setVisible(bool(p.url))
        self.forget.setVisible(hit.kind == "event" and self.allow_forget)
        self.in_timeline.setVisible(self.show_timeline_button)
        event = loaded.event if loaded else None
        show_shot = hit.source == "screen" or bool(loaded and loaded.image)
        self.screenshot.setVisible(show_shot)
        if show_shot:
            if loaded is None:
                self.screenshot.set_image(None, "Loading screenshot…")
            elif loaded.image is None:
                self.screenshot.set_image(None, "No screenshot was kept for this moment")
            else:
                self.screenshot.set_image(loaded.image)
                self.screenshot.set_highlights(
                    ocr_boxes.matching_boxes(event.meta, words, event.text) if event else [])
        if loaded and loaded.conversation and len(loaded.conversation) > 1:
            self.text.setHtml(self._conversation_html(loaded.conversation, hit.id, words))
            self._scroll_to_anchor()
        else:
            text = event.text if event else (hit.text or hit.snippet)
            body = highlight_words_html(text, words).replace("\n", "<br>")
            if is_file:
                body = f"<p><i>{html.escape(p.path or '')}</i></p>" + body
            self.text.setHtml(body)

    def _conversation_html(self, events: Sequence[Event], focus: int, words: list[str]) -> str:
        rows = []
        for e in events:
            who = html.escape(e.speaker or "someone")
            when = timefmt.moment(e.started_at)
            text = (highlight_words_html(e.text, words) if e.id == focus
                    else html.escape(e.text)).replace("\n", "<br>")
            style = ("background: rgba(255, 214, 0, 0.25); border-left: 3px solid #e0a000;"
                     if e.id == focus else "")
            anchor = '<a name="focus"></a>' if e.id == focus else ""
            rows.append(f'<div style="margin: 6px 0; padding: 4px 8px; {style}">{anchor}'
                        f'<b>{who}</b> <span style="color: gray">{when}</span><br>{text}</div>')
        thread = html.escape(events[0].thread or "")
        return f"<p><b>{thread}</b></p>" + "".join(rows)

    def _scroll_to_anchor(self) -> None:
        self.text.scrollToAnchor("focus")

    # -- actions ------------------------------------------------------------------------------
    def on_open_file(self) -> None:
        from app.views.open_external import open_file

        if self.hit and self.hit.provenance.path:
            self.could_not_open = open_file(self.hit.provenance.path, self)

    def on_open_folder(self) -> None:
        from app.views.open_external import show_in_folder

        if self.hit and self.hit.provenance.path:
            self.could_not_open = show_in_folder(self.hit.provenance.path, self)

    def on_open_link(self) -> None:
        if self.hit and self.hit.provenance.url:
            QDesktopServices.openUrl(QUrl(self.hit.provenance.url))

    def on_open_moment(self) -> None:
        """The screenshot, full size and zoomable, in the moment window."""
        from app.views.moment import open_moment

        if self.hit is not None and self.hit.kind == "event" and self.screenshot.image():
            open_moment(self.ctx, self.hit.id, self)

    def on_show_in_timeline(self) -> None:
        hit = self.hit
        if hit is not None:
            # A memory has no moment of its own: its day is shown (event id 0).
            self.ctx.nav.show_in_timeline.emit(hit.id if hit.kind == "event" else 0, hit.time)

    def on_forget(self) -> None:
        hit = self.hit
        if hit is None or hit.kind != "event":
            return
        kind = SOURCE_NAMES.get(hit.source, hit.source).lower()
        if not confirm(self, "Forget this item?",
                       f"Delete this {kind} item everywhere: its text, its place in the "
                       "search index and any screenshot. This cannot be undone.", "Forget"):
            return
        pipeline = self.ctx.engine.pipeline

        def done(changes: Changes) -> None:
            self.clear()
            self.forgotten.emit(list(changes.removed))

        run_op(self, self.ctx.nav, lambda: pipeline.forget([hit.id]), done)
