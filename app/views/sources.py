"""Sources: what Engram captures, how it is doing, and what it must never capture.

Settings are written at once (``engine.settings``); screen settings take
effect by restarting capture (debounced), since a running screen source reads
its settings when it starts. Folders are re-read by the running watcher.
"""
from __future__ import annotations

import re

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QInputDialog, QLabel,
    QListWidget, QListWidgetItem, QMenu, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from app.tasks import run_in_background
from app.views.chat_import import ChatImportPanel
from app.views.common import hint, wrap_rows
from app.views.folders import FoldersPanel
from app.windows.context import AppContext

INTERVALS = ((2, "every 2 seconds"), (3, "every 3 seconds"), (5, "every 5 seconds"),
             (10, "every 10 seconds"), (30, "every 30 seconds"))
STATE_TEXT = {"running": "running", "starting": "starting", "paused": "paused",
              "failed": "stopped after errors", "stopped": "stopped"}


def running_apps() -> list[str]:
    """Apps with a window open now (worker thread: X11 calls can be slow)."""
    from ingest.screen.window import list_windows

    names = {w.app or w.process for w in list_windows()}
    return sorted(n for n in names if n and "engram" not in n.lower())


class SourcesView(QWidget):
    title = "Sources"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.stored_files: int | None = None
        settings = ctx.engine.settings
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        col = QVBoxLayout(body)

        # -- capture status --
        status_box = QGroupBox("Capture")
        scol = QVBoxLayout(status_box)
        self.summary = QLabel()
        self.summary.setObjectName("heading")
        self.summary.setWordWrap(True)
        scol.addWidget(self.summary)
        self.source_list = wrap_rows(QListWidget())
        self.source_list.setMaximumHeight(110)
        scol.addWidget(self.source_list)
        prow = QHBoxLayout()
        self.pause15 = QPushButton("Pause 15 min")
        self.pause60 = QPushButton("Pause 1 hour")
        self.pause_any = QPushButton("Pause until resumed")
        self.resume = QPushButton("Resume")
        for w in (self.pause15, self.pause60, self.pause_any, self.resume):
            prow.addWidget(w)
        prow.addStretch(1)
        scol.addLayout(prow)
        if not ctx.tray_available:
            scol.addWidget(hint("There is no system tray on this desktop: capture runs while "
                                "this window is open (closing it quits Engram). To capture "
                                "without a window, run `engram daemon`."))
        col.addWidget(status_box)

        # -- screen --
        screen_box = QGroupBox("Screen")
        form = QFormLayout(screen_box)
        self.screen_on = QCheckBox("Read the text on screen (OCR of the active window)")
        self.screen_on.setChecked(bool(settings.get("screen_capture", True)))
        form.addRow(self.screen_on)
        self.interval = QComboBox()
        for seconds, label in INTERVALS:
            self.interval.addItem(label, seconds)
        current = float(settings.get("screen_interval_seconds", 3) or 3)
        self.interval.setCurrentIndex(min(range(len(INTERVALS)),
                                          key=lambda i: abs(INTERVALS[i][0] - current)))
        form.addRow("Look", self.interval)
        self.full_frames = QCheckBox("Keep full-size screenshots of the active window "
                                     "instead of a whole-screen viewing image (more disk)")
        self.full_frames.setChecked(bool(settings.get("screen_keep_full_frames", False)))
        form.addRow(self.full_frames)
        form.addRow(hint("Never captured: password managers, private/incognito windows, "
                         "and Engram itself. Secrets (card numbers, keys, passwords, codes) "
                         "are removed from text and painted over in thumbnails."))
        self.apps = self._pattern_list("screen_excluded_apps")
        self.add_app = QPushButton("Exclude an app…")
        self.remove_app = QPushButton("Remove")
        form.addRow("Excluded apps", self._with_buttons(self.apps, self.add_app,
                                                         self.remove_app))
        self.titles = self._pattern_list("screen_excluded_titles")
        self.add_title = QPushButton("Exclude titles containing…")
        self.remove_title = QPushButton("Remove")
        form.addRow("Excluded window titles", self._with_buttons(self.titles, self.add_title,
                                                                  self.remove_title))
        col.addWidget(screen_box)

        # -- folders and chats --
        folders_box = QGroupBox("Watched folders")
        fcol = QVBoxLayout(folders_box)
        self.folders = FoldersPanel(ctx, self.schedule_restart)
        fcol.addWidget(self.folders)
        col.addWidget(folders_box)
        chats_box = QGroupBox("Chats")
        ccol = QVBoxLayout(chats_box)
        self.chats = ChatImportPanel(ctx)
        ccol.addWidget(self.chats)
        col.addWidget(chats_box)
        col.addStretch(1)

        self._restart = QTimer(self)
        self._restart.setSingleShot(True)
        self._restart.setInterval(800)
        self._restart.timeout.connect(self._do_restart)
        self.pause15.clicked.connect(lambda: ctx.capture.pause(15))
        self.pause60.clicked.connect(lambda: ctx.capture.pause(60))
        self.pause_any.clicked.connect(lambda: ctx.capture.pause(None))
        self.resume.clicked.connect(ctx.capture.resume)
        self.screen_on.toggled.connect(lambda on: self._set("screen_capture", on))
        self.full_frames.toggled.connect(lambda on: self._set("screen_keep_full_frames", on))
        self.interval.currentIndexChanged.connect(
            lambda _i: self._set("screen_interval_seconds", self.interval.currentData()))
        self.add_app.clicked.connect(self.on_add_app)
        self.remove_app.clicked.connect(lambda: self._remove_selected(self.apps,
                                                                      "screen_excluded_apps"))
        self.add_title.clicked.connect(self.on_add_title)
        self.remove_title.clicked.connect(
            lambda: self._remove_selected(self.titles, "screen_excluded_titles"))
        ctx.capture.changed.connect(self.show_capture)
        for signal in (ctx.nav.captured, ctx.nav.settings_changed, ctx.nav.data_changed):
            signal.connect(self.on_changed_elsewhere)
        # "Never record this app" (tray, a moment) or the CLI changed the exclusions.
        ctx.nav.settings_changed.connect(self.show_patterns)
        self.show_capture()

    # -- view protocol ------------------------------------------------------------------------
    def activate(self) -> None:
        self.show_capture()
        self.refresh_stored()

    def refresh_stored(self) -> None:
        """What is in the store, whoever put it there (this view, the CLI, capture)."""
        from core.store.files import summary

        self.folders.refresh()
        self.chats.refresh()
        engine = self.ctx.engine

        def done(indexed: int) -> None:
            self.stored_files = indexed
            self.show_capture()

        run_in_background(lambda: summary(engine.store.reader(), examples=0).indexed, done,
                          owner=self)

    def on_changed_elsewhere(self, *_args: object) -> None:
        if self.isVisible():
            self.refresh_stored()

    def clear(self) -> None:
        pass

    # -- capture status -----------------------------------------------------------------------
    def show_capture(self) -> None:
        snap = self.ctx.capture.snapshot()
        self.summary.setText(snap.summary())
        self.source_list.clear()
        for s in snap.sources:
            text = f"{s.name}: {STATE_TEXT.get(s.state, s.state)}"
            detail = s.detail
            if s.name == "files" and self.stored_files is not None:
                # The watcher counts this session's work; the person asks what is indexed.
                detail = re.sub(r"\b\d+ files indexed", f"{self.stored_files} files indexed",
                                detail or "")
            if detail:
                text += f" — {detail}"
            if s.error and s.state == "failed":
                text += f" — last error: {s.error}"
            item = QListWidgetItem(text)
            item.setToolTip(text)
            self.source_list.addItem(item)
        if not snap.sources:
            self.source_list.addItem(QListWidgetItem(
                "No source is capturing. Switch on the screen or add a folder below."))
        self.resume.setEnabled(snap.paused)
        for w in (self.pause15, self.pause60, self.pause_any):
            w.setEnabled(snap.mode != "off")

    # -- settings -----------------------------------------------------------------------------
    def _set(self, key: str, value: object) -> None:
        self.ctx.engine.settings.set(key, value)
        self.schedule_restart()

    def schedule_restart(self) -> None:
        self._restart.start()

    def _do_restart(self) -> None:
        restart = getattr(self.ctx, "restart_capture", None)
        if restart is not None:
            restart()

    def show_patterns(self) -> None:
        for listing, key in ((self.apps, "screen_excluded_apps"),
                             (self.titles, "screen_excluded_titles")):
            listing.clear()
            for value in self.ctx.engine.settings.get(key) or []:
                listing.addItem(str(value))

    def _pattern_list(self, key: str) -> QListWidget:
        widget = QListWidget()
        widget.setMaximumHeight(90)
        for value in self.ctx.engine.settings.get(key) or []:
            widget.addItem(str(value))
        return widget

    @staticmethod
    def _with_buttons(listing: QListWidget, *buttons: QPushButton) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(listing, 1)
        bcol = QVBoxLayout()
        for b in buttons:
            bcol.addWidget(b)
        bcol.addStretch(1)
        row.addLayout(bcol)
        return box

    def _add_pattern(self, listing: QListWidget, key: str, value: str) -> None:
        value = value.strip()
        values = [str(v) for v in self.ctx.engine.settings.get(key) or []]
        if not value or value in values:
            return
        values.append(value)
        listing.addItem(value)
        self._set(key, values)

    def _remove_selected(self, listing: QListWidget, key: str) -> None:
        item = listing.currentItem()
        if item is None:
            return
        values = [v for v in self.ctx.engine.settings.get(key) or [] if str(v) != item.text()]
        listing.takeItem(listing.row(item))
        self._set(key, values)

    def on_add_app(self) -> None:
        """A menu of the apps with windows open now, plus "type a name"."""
        def show(apps: list[str]) -> None:
            menu = QMenu(self)
            for app in apps:
                menu.addAction(app, lambda a=app: self._add_pattern(
                    self.apps, "screen_excluded_apps", a))
            if apps:
                menu.addSeparator()
            menu.addAction("Type a name…", self._type_app)
            menu.popup(self.add_app.mapToGlobal(self.add_app.rect().bottomLeft()))

        run_in_background(running_apps, show, lambda _e: show([]), owner=self)

    def _type_app(self) -> None:
        name, ok = QInputDialog.getText(self, "Exclude an app", "App name (e.g. Signal):")
        if ok:
            self._add_pattern(self.apps, "screen_excluded_apps", name)

    def on_add_title(self) -> None:
        text, ok = QInputDialog.getText(
            self, "Exclude window titles",
            "Don't capture windows whose title contains (e.g. “Bank”, “Medical”):")
        if ok:
            self._add_pattern(self.titles, "screen_excluded_titles", text)
