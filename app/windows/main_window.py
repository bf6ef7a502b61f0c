"""The main window: the "Unlocking…" page, the welcome page, or the app itself.

The window is shown at once, before the engine is open, so the person never
waits on a blank screen; what it shows follows the controller's state.
Keyboard: Ctrl+K / Ctrl+F search, Ctrl+1…6 views, Esc clears, Ctrl+Q quits.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication, QHBoxLayout, QLabel, QMainWindow, QProgressBar, QPushButton, QStackedWidget,
    QVBoxLayout, QWidget,
)

from typing import TYPE_CHECKING

from app.windows.context import VIEW_ORDER

if TYPE_CHECKING:  # the views (and the engine's modules) load after the window shows
    from app.windows.shell import JobsBar, Shell

DEFAULT_SIZE = (1200, 780)


class LockedPage(QWidget):
    """"Unlocking…" while the engine opens; the reason and a retry when it didn't."""

    unlock_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.addStretch(2)
        self.title = QLabel("Engram")
        self.title.setObjectName("welcomeTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel("Unlocking…")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(260)
        self.busy.setTextVisible(False)
        row = QHBoxLayout()
        row.addStretch(1)
        self.unlock = QPushButton("Unlock")
        self.quit = QPushButton("Quit")
        row.addWidget(self.unlock)
        row.addWidget(self.quit)
        row.addStretch(1)
        for w in (self.title, self.message, self.error):
            col.addWidget(w)
        busy_row = QHBoxLayout()
        busy_row.addStretch(1)
        busy_row.addWidget(self.busy)
        busy_row.addStretch(1)
        col.addLayout(busy_row)
        col.addLayout(row)
        col.addStretch(3)
        self.unlock.clicked.connect(self.unlock_requested)
        self.quit.clicked.connect(self.quit_requested)
        self.set_busy("Unlocking…")

    def set_busy(self, text: str) -> None:
        self.message.setText(text)
        self.error.setText("")
        self.busy.setVisible(True)
        self.unlock.setVisible(False)
        self.quit.setVisible(False)

    def set_locked(self, message: str, error: str = "") -> None:
        self.message.setText(message)
        self.error.setText(error)
        self.busy.setVisible(False)
        self.unlock.setVisible(True)
        self.quit.setVisible(True)
        self.unlock.setFocus()


class MainWindow(QMainWindow):
    close_requested = Signal()   # the person closed the window (hide or quit is decided above)

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Engram")
        self.resize(*DEFAULT_SIZE)
        self.setMinimumSize(820, 560)
        self.pages = QStackedWidget()
        self.setCentralWidget(self.pages)
        self.locked = LockedPage()
        self.pages.addWidget(self.locked)
        self.shell: "Shell | None" = None
        self.jobs_bar: "JobsBar | None" = None
        self.allow_close = False
        self._shortcuts()

    def _shortcuts(self) -> None:
        def add(keys: str, slot) -> None:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

        add("Ctrl+K", self.focus_search)
        add("Ctrl+F", self.focus_search)
        for n, name in enumerate(VIEW_ORDER, 1):
            add(f"Ctrl+{n}", lambda name=name: self.show_view(name))
        add("Escape", self.on_escape)
        add("Ctrl+Q", self.close_requested_quit)

    # -- pages --------------------------------------------------------------------------------
    def show_locked(self) -> LockedPage:
        self.pages.setCurrentWidget(self.locked)
        self.setWindowTitle("Engram")
        return self.locked

    def show_page(self, page: QWidget) -> None:
        if self.pages.indexOf(page) < 0:
            self.pages.addWidget(page)
        self.pages.setCurrentWidget(page)

    def install_shell(self, shell: "Shell", jobs_bar: "JobsBar") -> None:
        self.remove_shell()
        self.shell, self.jobs_bar = shell, jobs_bar
        self.pages.addWidget(shell)
        self.pages.setCurrentWidget(shell)
        bar = self.statusBar()
        bar.addPermanentWidget(jobs_bar, 1)
        bar.setSizeGripEnabled(True)
        jobs = jobs_bar.jobs

        def follow(*_args: object) -> None:  # no empty strip under the views while idle
            bar.setVisible(jobs.rowCount() > 0)

        for signal in (jobs.rowsInserted, jobs.rowsRemoved, jobs.modelReset):
            signal.connect(follow)
        follow()
        shell.view_changed.connect(lambda name: self.setWindowTitle(
            f"Engram — {shell.views[name].title}"))

    def remove_shell(self) -> None:
        if self.shell is not None:
            self.pages.removeWidget(self.shell)
            self.shell.deleteLater()
            self.shell = None
        if self.jobs_bar is not None:
            self.statusBar().removeWidget(self.jobs_bar)
            self.jobs_bar.deleteLater()
            self.jobs_bar = None

    # -- keyboard -----------------------------------------------------------------------------
    def show_view(self, name: str) -> None:
        if self.shell is not None and self.pages.currentWidget() is self.shell:
            self.shell.show_view(name)

    def focus_search(self) -> None:
        if self.shell is not None:
            self.shell.show_view("search")
            self.shell.views["search"].focus_search()

    def on_escape(self) -> None:
        if self.shell is not None and self.pages.currentWidget() is self.shell:
            self.shell.clear_current()

    def close_requested_quit(self) -> None:
        self.allow_close = True
        self.close_requested.emit()

    def center_on_screen(self) -> None:
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            # A 1366x768 laptop: the window fits its screen instead of hanging off it.
            self.resize(min(self.width(), int(area.width() * 0.94)),
                        min(self.height(), int(area.height() * 0.9)))
            frame = self.frameGeometry()
            frame.moveCenter(area.center())
            self.move(frame.topLeft())

    def bring_forward(self) -> None:
        self.show()
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        if self.allow_close:
            event.accept()
            return
        event.ignore()
        self.close_requested.emit()
