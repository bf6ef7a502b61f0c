"""Memories: what Engram believes, by type — edit, delete, pin; sources and history; undo.

Every change goes through the engine's memory service (``core.memory.service``,
the same calls as `engram memories …`): it is recorded in the memory's history,
so the person can undo any of them from the History list, and it reaches every
view through one ``data_changed``.
"""
from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QInputDialog, QLabel, QListView, QListWidget, QListWidgetItem,
    QPlainTextEdit, QProgressBar, QPushButton, QSplitter, QStackedWidget, QTabBar, QVBoxLayout,
    QWidget,
)

from app.models.memories import MemoryListModel, MemoryRole
from app.models.search_results import SOURCE_NAMES
from app.tasks import Job, run_in_background, run_op
from app.views.common import EmptyState, confirm, heading
from app.views.memory_words import change_text, evidence_text, plural
from app.windows.context import AppContext
from core import timefmt
from core.memory.service import MemoryDetails, MemoryItem
from core.memory.types import ConsolidationReport
from core.records import MEMORY_TYPES, Changes

TYPE_HELP = {
    "core": "Stable facts about you — your name, the people in your life, your projects "
            "and preferences. Always given to the chat model.",
    "episodic": "What happened and when: work sessions, conversations, stretches of editing.",
    "semantic": "Facts learned about people, things, places and projects.",
    "procedural": "How to do things: steps and commands seen in terminals, docs or chats.",
}


class MemoriesView(QWidget):
    title = "Memories"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.details: MemoryDetails | None = None
        self._generation = 0
        col = QVBoxLayout(self)
        top = QHBoxLayout()
        self.tabs = QTabBar()
        for kind in MEMORY_TYPES:
            self.tabs.addTab(kind.capitalize())
        self.show_all = QCheckBox("Show faded and replaced")
        self.add_button = QPushButton("Add a memory…")
        self.build = QPushButton("Build memories now")
        self.build.setToolTip("Turn what was captured since last time into memories "
                              "(it also happens by itself in the background).")
        top.addWidget(self.tabs)
        top.addStretch(1)
        top.addWidget(self.show_all)
        top.addWidget(self.build)
        top.addWidget(self.add_button)
        col.addLayout(top)
        build_row = QHBoxLayout()
        self.build_status = QLabel()
        self.build_status.setObjectName("hint")
        self.build_progress = QProgressBar()
        self.build_progress.setVisible(False)
        self.build_progress.setMaximumWidth(260)
        self.build_cancel = QPushButton("Cancel")
        self.build_cancel.setVisible(False)
        build_row.addWidget(self.build_status, 1)
        build_row.addWidget(self.build_progress)
        build_row.addWidget(self.build_cancel)
        col.addLayout(build_row)
        self.build_task = None
        self._last_build = ""  # what the last "Build memories now" did
        self.help = QLabel()
        self.help.setObjectName("hint")
        self.help.setWordWrap(True)
        col.addWidget(self.help)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.list_stack = QStackedWidget()
        self.empty = EmptyState("Nothing here yet", "")
        self.list = QListView()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSpacing(3)
        self.model = MemoryListModel(self)
        self.list.setModel(self.model)
        self.list_stack.addWidget(self.empty)
        self.list_stack.addWidget(self.list)
        split.addWidget(self.list_stack)
        split.addWidget(self._detail_pane())
        split.setSizes([480, 620])
        col.addWidget(split, 1)
        self.tabs.currentChanged.connect(lambda _i: self.reload())
        self.show_all.toggled.connect(lambda _on: self.reload())
        self.add_button.clicked.connect(self.on_add)
        self.build.clicked.connect(self.on_build)
        self.build_cancel.clicked.connect(
            lambda: self.build_task.cancel() if self.build_task else None)
        self.list.selectionModel().currentChanged.connect(self.on_current)
        ctx.nav.data_changed.connect(lambda _c: self.reload() if self._loaded else None)
        self._loaded = False

    def _detail_pane(self) -> QWidget:
        pane = QWidget()
        col = QVBoxLayout(pane)
        col.setContentsMargins(8, 0, 0, 0)
        self.meta = QLabel()
        self.meta.setObjectName("hint")
        self.meta.setWordWrap(True)
        col.addWidget(self.meta)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Select a memory to see and correct it.")
        self.editor.setMaximumHeight(140)
        col.addWidget(self.editor)
        row = QHBoxLayout()
        self.save = QPushButton("Save correction")
        self.pin = QPushButton("Pin")
        self.pin.setToolTip("Pinned memories never fade")
        self.delete = QPushButton("Delete…")
        for w in (self.save, self.pin, self.delete):
            row.addWidget(w)
        row.addStretch(1)
        col.addLayout(row)
        col.addWidget(heading("Sources"))
        self.sources = QListWidget()
        self.sources.setWordWrap(True)  # long source text wraps: no sideways scrolling
        self.sources.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        col.addWidget(self.sources, 1)
        col.addWidget(heading("History"))
        self.history = QListWidget()
        self.history.setWordWrap(True)
        self.history.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        col.addWidget(self.history, 1)
        self.undo = QPushButton("Undo this change")
        col.addWidget(self.undo)
        self.save.clicked.connect(self.on_save)
        self.pin.clicked.connect(self.on_pin)
        self.delete.clicked.connect(self.on_delete)
        self.undo.clicked.connect(self.on_undo)
        self.sources.itemActivated.connect(self.on_source)
        self.sources.itemClicked.connect(self.on_source)
        self.history.currentItemChanged.connect(lambda *_: self._buttons())
        self._show_details(None)
        return pane

    # -- view protocol ------------------------------------------------------------------------
    def activate(self) -> None:
        if not self._loaded:
            self._loaded = True
            self.reload()

    def clear(self) -> None:
        self.list.clearSelection()
        self._show_details(None)

    def memory_type(self) -> str:
        return MEMORY_TYPES[max(0, self.tabs.currentIndex())]

    # -- loading ------------------------------------------------------------------------------
    def reload(self, select: int | None = None) -> None:
        self._generation += 1
        generation = self._generation
        kind, everything = self.memory_type(), self.show_all.isChecked()
        memories = self.ctx.engine.memories
        self.help.setText(TYPE_HELP[kind])
        current = select if select is not None else (
            self.details.item.id if self.details else None)

        def load() -> tuple[list[MemoryItem], dict[str, int], int]:
            return memories.list(kind, include_all=everything), memories.counts(), \
                memories.pending()

        def done(result: tuple[list[MemoryItem], dict[str, int], int]) -> None:
            if generation != self._generation:
                return
            items, counts, waiting = result
            if self.build_task is None:
                left = (f"{plural(waiting, 'captured item')} not yet turned into memories."
                        if waiting else "Memories are up to date with what was captured.")
                self.build_status.setText(f"{self._last_build} {left}".strip())
            for n, t in enumerate(MEMORY_TYPES):
                self.tabs.setTabText(n, f"{t.capitalize()} ({counts.get(t, 0)})")
            self.model.set_items(items)
            if not items:
                self.empty.set_text(f"No {kind} memories yet",
                                    "Engram builds memories from what it captures, in the "
                                    "background. Import a chat or let it capture a while." if
                                    kind != "core" else "Add what Engram should always know "
                                    "about you with “Add a memory…”, or tell it in Ask "
                                    "(“remember that …”).")
                self.list_stack.setCurrentWidget(self.empty)
                self._show_details(None)
                return
            self.list_stack.setCurrentWidget(self.list)
            row = self.model.row_of(current) if current is not None else -1
            # Something is always open on the right: the memory shown before, else the first.
            self.list.setCurrentIndex(self.model.index(max(row, 0), 0))

        run_in_background(load, done, owner=self)

    def on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = current.data(MemoryRole.Item) if current.isValid() else None
        if item is None:
            return
        self.load_details(item.id)

    def load_details(self, memory_id: int) -> None:
        memories = self.ctx.engine.memories
        run_in_background(lambda: memories.details(memory_id), self._show_details, owner=self)

    def _show_details(self, details: MemoryDetails | None) -> None:
        self.details = details
        self.sources.clear()
        self.history.clear()
        if details is None:
            self.meta.setText("")
            self.editor.setPlainText("")
            self._buttons()
            return
        m = details.item.memory
        lines = [f"<b>{html.escape(m.title)}</b> · {m.type.capitalize()} memory #{m.id}",
                 f"Strength {details.item.strength:.0%}" + (" (faded)" if details.item.weak
                                                            else "")
                 + f" · {evidence_text(len(m.sources), m.origin)}"]
        if m.type == "episodic":
            lines.append(timefmt.span(m.started_at, m.ended_at))
        if details.replaced_by is not None:
            lines.append(f"Replaced by #{details.replaced_by.id}: "
                         f"{html.escape(details.replaced_by.text)}")
        self.meta.setText("<br>".join(lines))
        self.editor.setPlainText(m.text)
        for e in details.sources:
            item = QListWidgetItem(f"{timefmt.moment(e.started_at)} · {SOURCE_NAMES.get(e.source, e.source)}"
                                   f"{' · ' + e.app if e.app else ''} — "
                                   f"{(e.title or e.text)[:80]}")
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            self.sources.addItem(item)
        if not details.sources:
            self.sources.addItem(QListWidgetItem(
                "Written by you — nothing captured stands behind it." if m.origin == "person"
                else "Its captured sources have been forgotten."))
        for c in reversed(details.history):
            undone = " (undone)" if c.undone_by else ""
            item = QListWidgetItem(f"{timefmt.moment(c.at)} · "
                                   f"{change_text(c.action, c.actor, c.note or '')}{undone}")
            item.setData(Qt.ItemDataRole.UserRole, c.change_id)
            item.setData(Qt.ItemDataRole.UserRole + 1, bool(c.undone_by or c.scrubbed))
            self.history.addItem(item)
        self._buttons()

    def _buttons(self) -> None:
        has = self.details is not None
        self.save.setEnabled(has)
        self.delete.setEnabled(has)
        self.pin.setEnabled(has)
        if has:
            self.pin.setText("Unpin" if self.details.item.memory.pinned else "Pin")
        item = self.history.currentItem()
        self.undo.setEnabled(item is not None and not item.data(Qt.ItemDataRole.UserRole + 1))

    # -- changes ------------------------------------------------------------------------------
    def _changed(self, memory_id: int | None = None) -> None:
        self.reload(select=memory_id)
        if memory_id is not None:
            self.load_details(memory_id)

    def on_save(self) -> None:
        if self.details is None:
            return
        memory_id, text = self.details.item.id, self.editor.toPlainText()
        memories = self.ctx.engine.memories
        run_op(self, self.ctx.nav, lambda: memories.edit(memory_id, text),
               lambda _e: self._changed(memory_id))

    def on_pin(self) -> None:
        if self.details is None:
            return
        m = self.details.item.memory
        memories = self.ctx.engine.memories
        run_op(self, self.ctx.nav, lambda: memories.pin(m.id, not m.pinned),
               lambda _e: self._changed(m.id))

    def on_delete(self) -> None:
        if self.details is None:
            return
        m = self.details.item.memory
        if not confirm(self, "Delete memory?", f"Delete “{m.title}”? You can undo this from "
                       "its history until something else changes it.", "Delete"):
            return
        memories = self.ctx.engine.memories
        run_op(self, self.ctx.nav, lambda: memories.delete(m.id),
               lambda _e: self._show_details(None))

    def on_undo(self) -> None:
        item = self.history.currentItem()
        if item is None or self.details is None:
            return
        change_id, memory_id = item.data(Qt.ItemDataRole.UserRole), self.details.item.id
        memories = self.ctx.engine.memories
        run_op(self, self.ctx.nav, lambda: memories.undo(change_id),
               lambda _e: self._changed(memory_id))

    def on_add(self) -> None:
        kind = self.memory_type()
        text, ok = QInputDialog.getMultiLineText(
            self, "Add a memory", f"What should Engram remember ({kind})?")
        if ok and text.strip():
            memories = self.ctx.engine.memories
            run_op(self, self.ctx.nav, lambda: memories.add(text, kind),
                   lambda e: self._changed(e.memory_id))

    def on_build(self) -> None:
        """Consolidate now, with progress and Cancel (a long job like any other)."""
        if self.build_task is not None:
            return
        engine = self.ctx.engine
        self.build.setEnabled(False)
        self.build_progress.setRange(0, 0)
        self.build_progress.setVisible(True)
        self.build_cancel.setVisible(True)
        self.build_status.setText("Building memories…")

        def progress(p) -> None:
            if p.total:
                self.build_progress.setRange(0, p.total)
                self.build_progress.setValue(p.done)

        def finished(report) -> None:
            self._built()
            added = sum(report.count(t).added for t in MEMORY_TYPES)
            verb = "Stopped after" if report.cancelled else "Read"
            self._last_build = (f"{verb} {plural(report.events, 'item')}: "
                                f"{plural(added, 'new memory', 'new memories')}, "
                                f"{report.total('merged')} merged, "
                                f"{report.total('superseded')} superseded.")
            self.build_status.setText(self._last_build)
            self.ctx.nav.data_changed.emit(Changes())  # new memories: every view refreshes

        def failed(exc: BaseException) -> None:
            self._built()
            self.build_status.setText("Building memories failed.")
            from app.dialogs.errors import present_error

            present_error(exc, self)

        def build(job: Job) -> ConsolidationReport:
            return engine.memories.build(
                extractor=engine.memory_extractor(), cancel=job.cancel,
                progress=lambda p: job.report(p.done, p.total, "items"))

        self.build_task = run_in_background(build, finished, failed, progress=progress,
                                            owner=self)
        self.ctx.jobs.add("Building memories", self.build_task)

    def _built(self) -> None:
        self.build_task = None
        self.build.setEnabled(True)
        self.build_progress.setVisible(False)
        self.build_cancel.setVisible(False)

    def on_source(self, item: QListWidgetItem) -> None:
        event_id = item.data(Qt.ItemDataRole.UserRole)
        if event_id:
            self.ctx.nav.open_event.emit(event_id)
            self.ctx.nav.show_view.emit("search")
