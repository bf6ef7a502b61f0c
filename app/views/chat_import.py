"""Importing a chat export: pick a file, watch it go in, cancel any time, read the summary.

``import_chats`` is the Qt-free job (it runs on a worker): the export is read
(and validated, so a broken file stops before anything is written) by
``ingest.chats.parse_export`` and handed to ``pipeline.submit`` in batches;
between batches it reports progress and honours Cancel. What was stored
before a cancel stays stored — re-importing the same export later adds only
what is missing (stable message ids).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from app.tasks import Job, Task, run_in_background
from core.progress import Progress
from core.records import Changes

BATCH = 64
FILTER = ("Chat exports (*.zip *.json *.jsonl *.ndjson *.txt);;All files (*)")


@dataclass(frozen=True)
class ImportSummary:
    path: str
    format: str
    messages: int            # read from the export
    added: int               # new in the store
    already: int             # stored before
    skipped: tuple[tuple[str, str], ...]
    ignored: tuple[tuple[str, int], ...]
    cancelled: bool
    changes: Changes

    def text(self) -> str:
        name = Path(self.path).name
        head = (f"Stopped importing {name}: " if self.cancelled
                else f"Imported {name} ({self.format} export): ")
        lines = [head + f"{self.added} new messages, {self.already} already present."]
        if self.cancelled:
            lines.append("What was imported stays; import the file again to finish.")
        if self.skipped:
            lines.append(f"{len(self.skipped)} could not be read, e.g. "
                         f"{self.skipped[0][0]}: {self.skipped[0][1]}")
        if self.ignored:
            lines.append("Left out on purpose: " + ", ".join(
                f"{n} × {why}" for why, n in self.ignored))
        return "\n".join(lines)


def import_chats(pipeline: Any, path: Path, job: Job, *,
                 parse: Callable[..., Any] | None = None) -> ImportSummary:
    """Import one export; stops between batches when ``job`` is cancelled."""
    if parse is None:
        from ingest.chats import parse_export as parse
    stream = parse(path)
    changes = Changes()
    cancelled = False
    with stream:
        items = iter(stream)
        read = 0
        job.report(0, None, "reading")
        while True:
            if job.cancel.cancelled:
                cancelled = True
                break
            batch = list(islice(items, BATCH))
            if not batch:
                break
            changes = changes + pipeline.submit(batch)
            read += len(batch)
            if job.cancel.cancelled:
                cancelled = True
                break
            job.report(read, None, "messages")
    report = stream.report()
    return ImportSummary(
        path=str(path), format=report.format, messages=report.imported,
        added=len(changes.added), already=changes.duplicates,
        skipped=tuple((s.where, s.describe()) for s in report.skipped),
        ignored=tuple(sorted(report.ignored.items())), cancelled=cancelled, changes=changes)


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
        self.choose.clicked.connect(self.on_choose)
        self.cancel.clicked.connect(self.on_cancel)

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
        self.task = run_in_background(lambda job: import_chats(pipeline, path, job),
                                      self.on_done, self.on_error, progress=self.on_progress,
                                      owner=self)
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
