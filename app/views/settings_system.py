"""Settings → Security (passphrase, lock), Start at login, Data folder.

Start at login uses the platform's own mechanism (``app/autostart.py``: an XDG
autostart entry, a LaunchAgent, the Run key); the session starts Engram in the tray.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from app.autostart import (  # noqa: F401 — autostart_path: re-exported for callers
    autostart_enabled, autostart_path, autostart_status, set_autostart,
)
from app.dialogs.passphrase import PassphraseDialog
from app.tasks import run_in_background
from app.views.common import hint, human_size


def measure_usage(engine: Any) -> Any:
    """Where the disk space goes (``core.retention.Usage``), on a worker: the one
    measurement every Settings page shows."""
    from core import retention

    paths = engine.paths
    return retention.measure(engine.store.reader(), engine.store.path,
                             backups_dir=paths.backups_dir, models_dir=paths.models_dir)


class SecurityPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.dialog: PassphraseDialog | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.key = QLabel(f"The whole database is encrypted (ChaCha20-Poly1305); its key "
                          f"comes from {ctx.engine.key.detail}.")
        self.key.setWordWrap(True)
        col.addWidget(self.key)
        row = QHBoxLayout()
        self.change = QPushButton("Set a new passphrase…" if ctx.engine.key.backend == "keyring"
                                  else "Change passphrase…")
        self.lock = QPushButton("Lock now")
        row.addWidget(self.change)
        row.addWidget(self.lock)
        row.addStretch(1)
        col.addLayout(row)
        col.addWidget(hint("Changing the passphrase re-encrypts the database (and its "
                           "backups); capture pauses for that moment. Locking closes the "
                           "database and stops capture until you unlock again."))
        # Other AI tools reach the memory through `engram mcp`, read-only unless allowed here.
        self.mcp_writes = QCheckBox("Let other AI tools add notes (engram mcp's remember tool)")
        self.mcp_writes.setChecked(bool(ctx.engine.settings.get("mcp_allow_writes", False)))
        col.addWidget(self.mcp_writes)
        col.addWidget(hint("Tools you connect with `engram mcp` can always search and read; "
                           "what they get from your captures is marked as quoted data."))
        self.mcp_writes.toggled.connect(
            lambda on: ctx.engine.settings.set("mcp_allow_writes", bool(on)))
        self.change.clicked.connect(self.on_change)
        self.lock.clicked.connect(lambda: ctx.lock() if ctx.lock else None)

    def on_change(self) -> None:
        engine = self.ctx.engine
        current = None
        if engine.key.backend == "passphrase":  # a keyring key has no passphrase to ask for
            from core.keys import passphrase_unlocks

            paths = engine.paths
            current = lambda text: passphrase_unlocks(paths, text)  # noqa: E731
        if self.dialog is not None:
            self.dialog.deleteLater()
        dialog = PassphraseDialog("Choose the new passphrase. Engram will ask for it every "
                                  "time it starts.", confirm=True, current=current, parent=self)
        dialog.setWindowTitle("Change passphrase")

        def done(result: int) -> None:
            if result and self.ctx.change_passphrase:
                self.ctx.change_passphrase(dialog.passphrase())
            dialog.hide()  # deleted with the panel, or when the next one opens (below)

        dialog.finished.connect(done)
        dialog.open()
        self.dialog = dialog


class StartupPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.at_login = QCheckBox("Start Engram when I log in (in the tray)")
        self.at_login.setChecked(autostart_enabled())
        col.addWidget(self.at_login)
        self.where = hint("")
        col.addWidget(self.where)
        col.addWidget(hint("The theme follows your system's light or dark setting."))
        self.at_login.toggled.connect(self.on_toggled)
        self._describe()

    def on_toggled(self, on: bool) -> None:
        set_autostart(on, self.ctx.engine.paths.data_dir)
        self._describe()

    def _describe(self) -> None:
        status = autostart_status()
        self.where.setText(f"Written as {status.where}" if status.enabled
                           else f"Turning this on writes {status.where}")


class DataPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        paths = ctx.engine.paths
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        folder_row = QHBoxLayout()
        self.folder = QLabel(str(paths.data_dir))
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        open_folder = QPushButton("Open")
        open_folder.clicked.connect(lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(paths.data_dir))))
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(open_folder)
        form.addRow("Data folder", folder_row)
        self.size = QLabel("…")
        form.addRow("Database", self.size)
        self.items = QLabel("…")
        self.items.setWordWrap(True)
        form.addRow("Stored", self.items)
        export_row = QHBoxLayout()
        self.export = QPushButton("Export…")
        self.export.setToolTip("Write a plain, unencrypted copy of everything to a folder")
        self.export_result = QLabel()
        self.export_result.setWordWrap(True)
        self.export_result.setObjectName("hint")
        export_row.addWidget(self.export)
        export_row.addWidget(self.export_result, 1)
        form.addRow("Export", export_row)
        self.export.clicked.connect(self.on_export)
        self.export_task = None
        form.addRow(hint("To move Engram's data, quit it, move the folder, and start it with "
                         "ENGRAM_HOME (or --data-dir) pointing there. `engram export` writes "
                         "a plain copy of everything."))

    def on_export(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        from app.views.common import confirm

        parent = QFileDialog.getExistingDirectory(self, "Export into which folder?",
                                                  str(Path.home()))
        if not parent:
            return
        out = _export_into(Path(parent))
        if confirm(self, "Export everything?",
                   f"Engram writes an UNENCRYPTED copy of everything it holds to {out}. "
                   "Anyone who can read that folder can read your memories.", "Export"):
            self.start_export(out)

    def start_export(self, out: Path) -> Any:
        engine = self.ctx.engine
        self.export.setEnabled(False)
        self.export_result.setText(f"Exporting to {out}…")

        def done(summary: Any) -> None:
            self.export_task = None
            self.export.setEnabled(True)
            c = summary.counts
            self.export_result.setText(f"Exported {c['events']:,} items, {c['memories']:,} "
                                       f"memories and {c['threads']:,} conversations to {out}.")

        def failed(exc: BaseException) -> None:
            self.export_task = None
            self.export.setEnabled(True)
            self.export_result.setText(f"The export failed: {exc}")

        def progressed(p: Any) -> None:
            if p.total:
                self.export_result.setText(f"Exporting to {out}… {p.done:,} of {p.total:,}")

        self.export_task = run_in_background(lambda job: export_everything(engine, out, job),
                                             done, failed, progress=progressed, owner=self)
        self.ctx.jobs.add("Exporting everything", self.export_task)
        return self.export_task

    def refresh(self) -> None:
        engine = self.ctx.engine
        run_in_background(lambda: measure_usage(engine), self.show_usage, owner=self)

    def show_usage(self, usage: Any) -> None:
        """``core.retention.Usage``: the same figures Privacy › retention shows."""
        self.size.setText(f"{human_size(usage.used_bytes)} used · database file "
                          f"{human_size(usage.file_bytes)} ({self.ctx.engine.paths.db_path.name})")
        counts = usage.items
        total = sum(counts.values())
        self.items.setText(f"{total:,} items" + (": " + ", ".join(
            f"{n:,} {source}" for source, n in sorted(counts.items())) if counts else ""))


def _export_into(parent: Path) -> Path:
    """A new folder inside ``parent`` for an export (never an existing one)."""
    from datetime import date

    base = parent / f"Engram export {date.today():%Y-%m-%d}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name} ({n})")
    return out


def export_everything(engine: Any, out: Path, job: Any) -> Any:
    """`engram export` from the app: the same core function, on a worker."""
    from core.portability import export_store

    settings = engine.settings
    return export_store(engine.store, out, settings=settings.changed(),
                        models={"embedding_model": settings.get("embedding_model"),
                                "chat_model": settings.get("chat_model")},
                        progress=job.progress)
