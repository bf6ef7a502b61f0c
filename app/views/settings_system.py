"""Settings → Security (passphrase, lock), Start at login, Data folder.

Start at login uses the platform's own mechanism (``app/autostart.py``: an XDG
autostart entry, a LaunchAgent, the Run key); the session starts Engram in the tray.
"""
from __future__ import annotations

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


class SecurityPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
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
        dialog = PassphraseDialog("Choose the new passphrase. Engram will ask for it every "
                                  "time it starts.", confirm=True, current=current, parent=self)
        dialog.setWindowTitle("Change passphrase")

        def done(result: int) -> None:
            if result and self.ctx.change_passphrase:
                self.ctx.change_passphrase(dialog.passphrase())
            dialog.deleteLater()

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
        form.addRow(hint("To move Engram's data, quit it, move the folder, and start it with "
                         "ENGRAM_HOME (or --data-dir) pointing there. `engram export` writes "
                         "a plain copy of everything."))

    def refresh(self) -> None:
        engine = self.ctx.engine

        def read() -> tuple[int, dict[str, int]]:
            from core.store import events as event_rows

            return engine.store.size_bytes(), event_rows.counts_by_source(engine.store.reader())

        def show(result: tuple[int, dict[str, int]]) -> None:
            size, counts = result
            self.size.setText(f"{human_size(size)} · {engine.paths.db_path.name}")
            total = sum(counts.values())
            self.items.setText(f"{total:,} items" + (": " + ", ".join(
                f"{n:,} {source}" for source, n in counts.items()) if counts else ""))

        run_in_background(read, show, owner=self)
