"""Importing a chat export: pick a file, watch it go in, cancel any time, read the summary.

The work is ``ingest.chats.importer.import_export`` on a worker, the same loop
as `engram import`: batches into ``pipeline.submit``, progress and Cancel between
them. What was stored before a cancel stays stored — re-importing the same
export later adds only what is missing (stable message ids).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar,
    QPushButton, QVBoxLayout, QWidget,
)

from app.tasks import Job, Task, run_in_background
from app.views.common import wrap_rows
from core.progress import Progress
from ingest.chats.importer import ImportSummary, import_export

BATCH = 64  # small batches: Cancel answers within a moment
FILTER = ("Chat exports (*.zip *.json *.jsonl *.ndjson *.txt);;All files (*)")


class ChatImportPanel(QWidget):
    """File button, progress, Cancel, summary. ``imported`` fires with the summary."""

    imported = Signal(object)

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.task: Task | None = None
        self.summary: ImportSummary | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        intro = QLabel("Import conversations exported from ChatGPT, Claude, WhatsApp, "
                       "Telegram or Slack (or a JSONL file). Importing the same export again "
                       "only adds what is new.")
        intro.setWordWrap(True)
        col.addWidget(intro)
        row = QHBoxLayout()
        self.choose = QPushButton("Import a chat export…")
        self.cancel = QPushButton("Cancel")
        self.cancel.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setTextVisible(True)
        row.addWidget(self.choose)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        col.addLayout(row)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setObjectName("hint")
        col.addWidget(self.result)
        # Every imported conversation, whichever way it came in (here or `engram import`).
        self.threads = wrap_rows(QListWidget())
        self.threads.setAccessibleName("Imported conversations")
        self.threads.setMaximumHeight(160)
        col.addWidget(self.threads)
        self.choose.clicked.connect(self.on_choose)
        self.cancel.clicked.connect(self.on_cancel)

    def refresh(self) -> None:
        from core.store.events import chat_threads

        engine = self.ctx.engine
        run_in_background(lambda: chat_threads(engine.store.reader()), self._show_threads,
                          owner=self)

    def _show_threads(self, threads: list) -> None:
        self.threads.clear()
        for app, thread, messages, first, last in threads:
            span = (f"{first.astimezone():%d %b %Y}" if first.date() == last.date() else
                    f"{first.astimezone():%d %b %Y} – {last.astimezone():%d %b %Y}")
            self.threads.addItem(QListWidgetItem(
                f"{app} · {thread} — {messages} message{'s' * (messages != 1)}, {span}"))
        if not threads:
            item = QListWidgetItem("No conversations imported yet")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.threads.addItem(item)

    def on_choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a chat export", str(Path.home()),
                                              FILTER)
        if path:
            self.start(Path(path))

    def start(self, path: Path) -> Task:
        pipeline = self.ctx.engine.pipeline
        self.summary = None
        self.result.setText("")
        self.progress.setRange(0, 0)  # busy until the first count arrives
        self.progress.setFormat(f"Reading {path.name}…")
        self._running(True)
        def work(job: Job) -> ImportSummary:
            return import_export(path, pipeline.submit, progress=job.progress,
                                 cancel=job.cancel, batch_size=BATCH)

        self.task = run_in_background(work, self.on_done, self.on_error,
                                      progress=self.on_progress, owner=self)
        self.ctx.jobs.add(f"Importing {path.name}", self.task)
        return self.task

    def on_progress(self, p: Progress) -> None:
        if p.label == "messages":
            self.progress.setFormat(f"{p.done:,} messages")

    def on_cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.progress.setFormat("Stopping after this batch…")

    def on_done(self, summary: ImportSummary) -> None:
        self.task = None
        self.summary = summary
        self._running(False)
        self.result.setText(summary.text())
        self.refresh()
        self.ctx.nav.data_changed.emit(summary.changes)
        self.imported.emit(summary)

    def on_error(self, exc: BaseException) -> None:
        self.task = None
        self._running(False)
        self.result.setText("The import failed; nothing more was written.")
        from app.dialogs.errors import present_error

        present_error(exc, self)

    def _running(self, running: bool) -> None:
        self.choose.setEnabled(not running)
        self.cancel.setVisible(running)
        self.progress.setVisible(running)
