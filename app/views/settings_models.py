"""Settings → Models: the catalog, downloads (progress, Cancel), importing a .gguf, roles.

Everything goes through ``core.models.catalog`` / ``install`` (the same code as
`engram models ...`). A download can be cancelled and resumes next time.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
    QTableView, QVBoxLayout, QWidget,
)

from app.models.models_table import ModelsTableModel
from app.tasks import Job, Task, run_in_background
from core.progress import Progress
from app.views import ask_adapter


def list_rows(engine: Any) -> tuple[list[Any], str]:
    from core.models import catalog

    rows = catalog.list_models(engine.paths, engine.settings)
    _ok, status = catalog.chat_model_status(engine.paths, engine.settings)
    return rows, status


def gui_status(status: str, rows: list[Any]) -> str:
    """The catalog's sentence speaks CLI; here the same facts, in this window's terms."""
    in_use = [r for r in rows if r.role == "chat" and r.in_use]
    if in_use:
        trust = in_use[0].trust
        if trust is not None and trust.label:  # too small, or failed its self-check on load
            why = f" ({trust.reason})" if trust.reason else ""
            return (f"Chat model in use: {in_use[0].title} — {trust.label} to write memories"
                    f"{why}: memories are built by rules unless turned on anyway.")
        return f"Chat model in use: {in_use[0].title}. It writes answers and memories."
    if any(r.role == "chat" and r.installed for r in rows):
        return ("No chat model is selected: pick an installed one below and click Use. "
                "Until then answers quote your best matching sources.")
    return ("No chat model yet — Engram works without one: memories are built by rules and "
            "answers quote your best matching sources. For written answers, pick a model "
            "below (★ recommended) and click Download, or import a .gguf file.")


class ModelsPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.task: Task | None = None
        self.downloading: str | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel()
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        self.table = QTableView()
        self.model = ModelsTableModel(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(160)
        col.addWidget(self.table)
        row = QHBoxLayout()
        self.download = QPushButton("Download")
        self.use = QPushButton("Use")
        self.remove = QPushButton("Remove")
        self.import_button = QPushButton("Import a .gguf…")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setVisible(False)
        for w in (self.download, self.use, self.remove, self.import_button):
            row.addWidget(w)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        col.addLayout(row)
        self.note = QLabel(f"Models are kept in {ctx.engine.paths.models_dir}. They run on this "
                           "computer; nothing you captured is ever sent anywhere.")
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        col.addWidget(self.note)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._buttons())
        self.download.clicked.connect(self.on_download)
        self.use.clicked.connect(self.on_use)
        self.remove.clicked.connect(self.on_remove)
        self.import_button.clicked.connect(self.on_import)
        self.cancel.clicked.connect(self.on_cancel)
        self._buttons()

    def refresh(self) -> None:
        engine = self.ctx.engine

        def done(result: tuple[list[Any], str]) -> None:
            rows, status = result
            selected = self.selected()
            self.model.set_rows(rows)
            self.fit_rows()
            self.status.setText(gui_status(status, rows))
            self.status.setToolTip(status)
            if selected is not None:
                for n, r in enumerate(rows):
                    if r.name == selected.name:
                        self.table.selectRow(n)
            self._buttons()

        run_in_background(lambda: list_rows(engine), done, owner=self)

    def fit_rows(self) -> None:
        """Tall enough for every row: the table sits on its own page, which scrolls."""
        table = self.table
        table.resizeRowsToContents()
        rows = sum(table.rowHeight(r) for r in range(self.model.rowCount()))
        frame = 2 * table.frameWidth()
        bar = table.horizontalScrollBar().sizeHint().height()
        height = table.horizontalHeader().height() + rows + frame + bar
        table.setMinimumHeight(max(160, height))
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def selected(self) -> Any | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.row(rows[0].row()) if rows else None

    def _buttons(self) -> None:
        row = self.selected()
        busy = self.task is not None
        self.download.setEnabled(bool(row) and not busy and not row.installed
                                 and row.source == "catalog")
        self.use.setEnabled(bool(row) and row.installed and not row.in_use)
        self.remove.setEnabled(bool(row) and not busy and (row.installed or row.partial_bytes)
                               and row.source != "builtin")
        self.import_button.setEnabled(not busy)

    # -- actions ------------------------------------------------------------------------------
    def on_download(self) -> None:
        row = self.selected()
        if row is None:
            return
        from core.models import install

        engine, name = self.ctx.engine, row.name
        self.downloading = name

        def pull(job: Job) -> Any:
            return install.pull(engine.paths, engine.settings, name,
                                progress=lambda p: job.report(p.done, p.total, "bytes"),
                                cancel=job.cancel)

        self._busy(True, f"Downloading {row.title}…")
        self.task = run_in_background(pull, self._installed, self._failed,
                                      progress=self._progress, owner=self)
        self.ctx.jobs.add(f"Downloading {row.title}", self.task)
        self.model.set_downloading(name, None)

    def on_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", str(Path.home()),
                                              "GGUF models (*.gguf)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> Task:
        from core.models import install
        from core.models.runtime import probe_loadable

        engine = self.ctx.engine

        def add(job: Job) -> Any:
            return install.add_local(engine.paths, engine.settings, path,
                                     progress=lambda p: job.report(p.done, p.total, "bytes"),
                                     check_loads=probe_loadable)

        self._busy(True, f"Copying {path.name}…")
        self.task = run_in_background(add, self._installed, self._failed,
                                      progress=self._progress, owner=self)
        self.ctx.jobs.add(f"Importing {path.name}", self.task)
        return self.task

    def on_cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def on_use(self) -> None:
        row = self.selected()
        if row is None:
            return
        from core.models import install

        engine = self.ctx.engine
        run_in_background(lambda: install.use(engine.paths, engine.settings, row.name, row.role),
                          lambda _m: self._roles_changed(row.role), owner=self)

    def on_remove(self) -> None:
        row = self.selected()
        if row is None:
            return
        from app.views.common import confirm
        from core.models import install

        if not confirm(self, "Remove model?", f"Delete {row.title} from this computer?",
                       "Remove"):
            return
        engine = self.ctx.engine
        run_in_background(lambda: install.remove(engine.paths, engine.settings, row.name),
                          lambda _r: self._roles_changed(row.role), owner=self)

    # -- results ------------------------------------------------------------------------------
    def _progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * p.done / p.total))
        if self.downloading:
            self.model.set_downloading(self.downloading, p.fraction)

    def _installed(self, result: tuple[Any, bool]) -> None:
        model, now_in_use = result
        self._busy(False)
        self.status.setText(f"{model.name} is installed" +
                            (f" and now used for {model.role}." if now_in_use else "."))
        self._roles_changed(model.role)

    def _failed(self, exc: BaseException) -> None:
        from core.errors import Cancelled

        self._busy(False)
        if isinstance(exc, Cancelled):
            self.status.setText("Download stopped; it resumes where it left off next time.")
        else:
            from app.dialogs.errors import present_error

            present_error(exc, self)
        self.refresh()

    def _roles_changed(self, role: str) -> None:
        if role == "chat":
            ask_adapter.reset_asker(self.ctx.engine)
        self.refresh()

    def _busy(self, busy: bool, text: str = "") -> None:
        if not busy:
            self.task = None
            if self.downloading:
                self.model.set_downloading(self.downloading, None, active=False)
            self.downloading = None
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)
        self.cancel.setVisible(busy)
        if text:
            self.status.setText(text)
        self._buttons()
