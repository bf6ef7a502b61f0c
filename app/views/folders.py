"""Watched folders: add (indexed at once, with progress and Cancel), remove, status per folder.

The folder list lives in settings (``watched_folders``), where the running
watcher re-reads it every few seconds; the first scan of a new folder runs
here so the person sees it happen. Status per folder comes from the indexer's
own bookkeeping (``core.store.files.summary``): files indexed, files skipped
and why.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout, QWidget,
)

from app.tasks import Job, Task, run_in_background
from core.progress import Progress

SETTING = "watched_folders"


@dataclass(frozen=True)
class FolderStatus:
    folder: str
    exists: bool
    indexed: int
    skipped: int
    problems: tuple[tuple[str, str], ...]
    notes: tuple[tuple[str, str], ...] = ()  # indexed in part: (path, what was left out)
    watched: bool = True  # False: indexed once (`engram index`), not kept current


def folder_statuses(engine: Any, folders: list[str]) -> list[FolderStatus]:
    from core.store import files as file_rows

    db = engine.store.reader()
    out = []
    for folder in folders:
        s = file_rows.summary(db, folder=folder, examples=20)
        out.append(FolderStatus(folder, Path(folder).is_dir(), s.indexed, s.skipped,
                                tuple(s.problems), tuple(s.notes)))
    for folder, indexed in file_rows.indexed_folders(db, folders):
        out.append(FolderStatus(folder, Path(folder).is_dir(), indexed, 0, (), (),
                                watched=False))
    return out


def scan_folder(engine: Any, folder: Path, root: Path, job: Job) -> Any:
    from ingest.files.indexer import FileIndexer, options_from_settings

    indexer = FileIndexer(engine.pipeline, options_from_settings(engine.settings))
    return indexer.scan(folder, root=root, progress=job.progress, cancel=job.cancel)


def forget_folder(engine: Any, folder: str) -> int:
    from ingest.files.indexer import FileIndexer, options_from_settings

    indexer = FileIndexer(engine.pipeline, options_from_settings(engine.settings))
    return indexer.forget_files([folder], folder=folder).chunks_removed


def ask_remove(parent: QWidget, folder: str) -> str | None:
    """"keep", "forget" or None (cancel). Tests replace this function."""
    box = QMessageBox(QMessageBox.Icon.Question, "Stop watching?",
                      f"Stop watching {folder}?", QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText("What was indexed from it can stay searchable, or be forgotten.")
    keep = box.addButton("Stop watching", QMessageBox.ButtonRole.AcceptRole)
    forget = box.addButton("Stop and forget its items", QMessageBox.ButtonRole.DestructiveRole)
    box.exec()
    clicked = box.clickedButton()
    return "keep" if clicked is keep else "forget" if clicked is forget else None


class FoldersPanel(QWidget):
    def __init__(self, ctx: Any, on_folders_changed: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.on_folders_changed = on_folders_changed
        self.task: Task | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        intro = QLabel("Documents in these folders (text, Markdown, PDF, Word, code…) are "
                       "indexed and kept current while Engram runs.")
        intro.setWordWrap(True)
        col.addWidget(intro)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Folder", "Status"])
        self.tree.setColumnWidth(0, 380)
        self.tree.setMinimumHeight(120)
        col.addWidget(self.tree)
        row = QHBoxLayout()
        self.add = QPushButton("Add folder…")
        self.remove = QPushButton("Remove")
        self.rescan = QPushButton("Re-scan")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setVisible(False)
        for w in (self.add, self.remove, self.rescan):
            row.addWidget(w)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        col.addLayout(row)
        self.result = QLabel()
        self.result.setObjectName("hint")
        self.result.setWordWrap(True)
        col.addWidget(self.result)
        self.add.clicked.connect(self.on_add)
        self.remove.clicked.connect(self.on_remove)
        self.rescan.clicked.connect(self.on_rescan)
        self.cancel.clicked.connect(lambda: self.task.cancel() if self.task else None)

    def folders(self) -> list[str]:
        return [str(f) for f in self.ctx.engine.settings.get(SETTING) or []]

    def refresh(self) -> None:
        engine, folders = self.ctx.engine, self.folders()
        # Reads overlap (one when a scan starts, one when it ends): only the newest shows.
        self._reads = getattr(self, "_reads", 0) + 1
        read = self._reads

        def done(statuses: list[FolderStatus]) -> None:
            if read == self._reads:
                self._show(statuses)

        run_in_background(lambda: folder_statuses(engine, folders), done, owner=self)

    def _show(self, statuses: list[FolderStatus]) -> None:
        self.tree.clear()
        if not statuses:
            item = QTreeWidgetItem(["No folders yet", "Add one to index its documents"])
            item.setDisabled(True)
            self.tree.addTopLevelItem(item)
        for s in statuses:
            state = (f"{s.indexed} files indexed, {s.skipped} skipped" if s.exists
                     else "folder missing — not watched until it is back")
            if not s.watched:
                state = (f"{s.indexed} files indexed once — not kept current "
                         "(add it to watch it)")
            item = QTreeWidgetItem([s.folder, state])
            if s.watched:  # Remove and Re-scan act on watched folders
                item.setData(0, 256, s.folder)
            for path, reason in s.problems:
                item.addChild(QTreeWidgetItem([path, reason]))
            for path, note in s.notes:
                item.addChild(QTreeWidgetItem([path, f"partly read: {note}"]))
            self.tree.addTopLevelItem(item)
        has = any(s.watched for s in statuses)
        self.remove.setEnabled(has)
        self.rescan.setEnabled(has)

    def selected_folder(self) -> str | None:
        item = self.tree.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        folder = item.data(0, 256) if item is not None else None
        if folder is None and len(self.folders()) == 1:
            return self.folders()[0]
        return folder

    # -- actions ------------------------------------------------------------------------------
    def on_add(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Watch a folder", str(Path.home()))
        if path:
            self.add_folder(Path(path))

    def add_folder(self, folder: Path) -> Task | None:
        folder = folder.expanduser().resolve()
        paths = self.ctx.engine.paths
        if folder == paths.data_dir or paths.data_dir in folder.parents:
            self.result.setText("That is Engram's own data folder; choose another.")
            return None
        current = [Path(f) for f in self.folders()]
        outer = next((f for f in current if folder == f or f in folder.parents), None)
        if outer is None:
            kept = [f for f in current if folder not in f.parents]
            self.ctx.engine.settings.set(SETTING, [str(f) for f in kept + [folder]])
            self.on_folders_changed()
        return self.start_scan(folder, outer or folder)

    def on_rescan(self) -> None:
        folder = self.selected_folder()
        if folder:
            self.start_scan(Path(folder), Path(folder))

    def start_scan(self, folder: Path, root: Path) -> Task:
        engine = self.ctx.engine
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel.setVisible(True)
        self.result.setText(f"Indexing {folder}…")
        self.task = run_in_background(lambda job: scan_folder(engine, folder, root, job),
                                      self._scanned, self._failed, progress=self._progress,
                                      owner=self)
        self.ctx.jobs.add(f"Indexing {folder.name}", self.task)
        self.refresh()
        return self.task

    def _progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)

    def _scanned(self, report: Any) -> None:
        from core.records import Changes

        self._idle()
        verb = "Stopped indexing" if report.cancelled else "Indexed"
        self.result.setText(f"{verb} {report.folder}: {report.files} files — {report.indexed} "
                            f"read, {report.unchanged} unchanged, {report.skipped} skipped.")
        self.refresh()
        if report.chunks_added or report.chunks_removed:
            self.ctx.nav.data_changed.emit(Changes())

    def _failed(self, exc: BaseException) -> None:
        self._idle()
        self.result.setText("Indexing failed.")
        from app.dialogs.errors import present_error

        present_error(exc, self)

    def _idle(self) -> None:
        self.task = None
        self.progress.setVisible(False)
        self.cancel.setVisible(False)

    def on_remove(self) -> None:
        folder = self.selected_folder()
        if folder is None:
            return
        choice = ask_remove(self, folder)
        if choice is None:
            return
        self.ctx.engine.settings.set(SETTING, [f for f in self.folders() if f != folder])
        self.on_folders_changed()
        if choice == "forget":
            engine = self.ctx.engine
            run_in_background(lambda: forget_folder(engine, folder),
                              lambda n: (self.result.setText(
                                  f"No longer watching {folder}; forgot {n} items from it."),
                                  self.refresh()), owner=self)
        else:
            self.result.setText(f"No longer watching {folder}; what was indexed stays "
                                "searchable.")
            self.refresh()
