"""The one place errors become something a person sees.

``EngramError`` (wrong passphrase, a file Engram can't read, disk full) → a
readable message, with the hint under "Show details". Anything else is a bug:
a dialog with a report the person can copy (traceback, versions), and the app
keeps running — an exception in one slot must not lose what is open or stored.

Nothing here writes to disk: a traceback can quote captured text, and no
plaintext copy of captured content may land in a file (DESIGN: privacy).
"""
from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication, QDialog, QDialogButtonBox, QLabel, QMessageBox, QPlainTextEdit, QPushButton,
    QVBoxLayout, QWidget,
)

from core.errors import Cancelled, EngramError

log = logging.getLogger(__name__)


def report_text(exc: BaseException) -> str:
    """A bug report: what failed, where, and on what."""
    tb = getattr(exc, "__traceback_text__", None) or "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__))
    from PySide6 import __version__ as pyside

    return (f"Engram crash report\n"
            f"Python {platform.python_version()} on {platform.platform()}\n"
            f"PySide6 {pyside}\n\n{tb}")


class CrashDialog(QDialog):
    """An unexpected error: what to do now, and a report to copy."""

    def __init__(self, exc: BaseException, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Engram hit a bug")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(640, 420)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>Something went wrong: {type(exc).__name__}.</b><br>"
            "Engram is still running and nothing stored was lost. If it happens again, "
            "copy the report below into a bug report (check it first: it may quote text "
            "from your screen or files).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.report = QPlainTextEdit(report_text(exc))
        self.report.setReadOnly(True)
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout.addWidget(self.report, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy report")
        copy.clicked.connect(self.copy_report)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)

    @Slot()
    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report.toPlainText())


class ErrorPresenter(QObject):
    """Shows errors; ``presented`` lets tests (and the status bar) see what was shown."""

    presented = Signal(str, str)  # kind ("error" | "bug"), message
    _from_thread = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._from_thread.connect(self.present)
        self.open_dialogs: list[QDialog] = []

    def present_threadsafe(self, exc: BaseException) -> None:
        self._from_thread.emit(exc)

    @Slot(object)
    def present(self, exc: BaseException, parent: QWidget | None = None) -> None:
        if isinstance(exc, Cancelled):
            return
        # The top-level window, not the view: a view may go away (lock) while it shows.
        parent = (parent.window() if parent is not None else None) or \
            QApplication.activeWindow()
        if isinstance(exc, EngramError):
            box = QMessageBox(QMessageBox.Icon.Warning, "Engram", exc.message,
                              QMessageBox.StandardButton.Ok, parent)
            if exc.hint:
                box.setInformativeText(exc.hint)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog: QDialog = box
            kind, message = "error", exc.message
        else:
            log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
            dialog = CrashDialog(exc, parent)
            kind, message = "bug", f"{type(exc).__name__}: {exc}"
        # Non-modal open(): never a nested event loop, so a burst of errors can't stack
        # blocking dialogs, and tests are never stuck on one.
        self.open_dialogs.append(dialog)
        dialog.finished.connect(lambda _=0, d=dialog: self._forget(d))
        dialog.destroyed.connect(lambda _=None, d=dialog: self._forget(d))
        dialog.open()
        self.presented.emit(kind, message)

    def _forget(self, dialog: QDialog) -> None:
        if dialog in self.open_dialogs:
            self.open_dialogs.remove(dialog)

    def close_all(self) -> None:
        from shiboken6 import isValid

        for dialog in list(self.open_dialogs):
            if isValid(dialog):
                dialog.close()
        self.open_dialogs.clear()


_presenter: ErrorPresenter | None = None


def presenter() -> ErrorPresenter:
    global _presenter
    if _presenter is None:
        _presenter = ErrorPresenter()
    return _presenter


def present_error(exc: BaseException, parent: QWidget | None = None) -> None:
    """Show ``exc`` to the person (main thread only; see ``present_threadsafe``)."""
    presenter().present(exc, parent)


def install_excepthook() -> None:
    """Uncaught exceptions (in slots, in plain threads) → the crash dialog, app alive."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        text = "".join(traceback.format_exception(kind, exc, tb))
        exc.__traceback_text__ = text  # type: ignore[attr-defined]
        if threading.current_thread() is threading.main_thread():
            # Deferred: Qt may be in the middle of a virtual call that raised.
            QTimer.singleShot(0, lambda: presenter().present(exc))
        else:
            presenter().present_threadsafe(exc)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            hook(args.exc_type, args.exc_value, args.exc_traceback)

    presenter()  # created on the main thread, so cross-thread emits queue to it
    sys.excepthook = hook
    threading.excepthook = thread_hook
