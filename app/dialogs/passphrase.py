"""Asking for the passphrase: a dialog, and the bridge that lets a worker thread ask.

``core.keys.load_key`` runs its Argon2 derivation (≈0.3 s) and its own retry
loop ("Wrong passphrase, try again") on whatever thread opens the engine. The
app opens the engine off the UI thread, so the ``ask(prompt, confirm)``
callback it hands the engine is a ``PassphraseAsker``: called on the worker, it
asks the main thread to show the dialog and waits for the answer.
"""
from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication, QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget,
)


class PassphraseDialog(QDialog):
    """One passphrase, or a new one typed twice (strong enough: ``core.keys``'s rule);
    never returns an empty one. With ``current``, the present passphrase is asked first
    and checked by ``current(text) -> bool`` (off the UI thread) before the dialog closes."""

    def __init__(self, prompt: str, *, confirm: bool = False, error: str = "",
                 current: Callable[[str], bool] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unlock Engram" if not confirm else "Choose a passphrase")
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        self.prompt = QLabel(prompt)
        self.prompt.setWordWrap(True)
        layout.addWidget(self.prompt)
        self.error = QLabel(error)
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        self.error.setVisible(bool(error))
        layout.addWidget(self.error)
        self.check_current = current
        self.current: QLineEdit | None = None
        if current is not None:
            self.current = _password_field("Current passphrase")
            self.current.setAccessibleName("Current passphrase")
            layout.addWidget(self.current)
        self.field = _password_field("New passphrase" if current is not None else "Passphrase")
        layout.addWidget(self.field)
        self.again: QLineEdit | None = None
        if confirm:
            self.again = _password_field("The same passphrase again")
            layout.addWidget(self.again)
            note = QLabel("There is no way to recover the passphrase: without it, the "
                          "database cannot be read, by anyone.")
            note.setWordWrap(True)
            note.setObjectName("hint")
            layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            "Unlock" if not confirm else "Set passphrase")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        (self.current or self.field).setFocus()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(True)

    def passphrase(self) -> str:
        return self.field.text()

    def accept(self) -> None:
        if self.current is not None and not self.current.text():
            self.show_error("Type your current passphrase first.")
            self.current.setFocus()
            return
        if not self.field.text():
            self.show_error("Type the passphrase first.")
            return
        if self.again is not None:
            from core.keys import passphrase_problem

            problem = passphrase_problem(self.field.text())
            if problem:
                self.show_error(problem)
                self.field.selectAll()
                self.field.setFocus()
                return
            if self.again.text() != self.field.text():
                self.show_error("The two passphrases differ.")
                self.again.selectAll()
                self.again.setFocus()
                return
        if self.current is not None and self.check_current is not None:
            self._check_current(self.current.text(), self.check_current)
            return
        super().accept()

    def _check_current(self, text: str, check: Callable[[str], bool]) -> None:
        from app.tasks import run_in_background

        self.ok.setEnabled(False)
        self.show_error("Checking your current passphrase…")

        def done(right: bool) -> None:
            self.ok.setEnabled(True)
            if right:
                QDialog.accept(self)
                return
            assert self.current is not None
            self.show_error("That is not your current passphrase. Nothing was changed.")
            self.current.selectAll()
            self.current.setFocus()

        run_in_background(lambda: check(text), done,
                          lambda exc: (self.ok.setEnabled(True), self.show_error(str(exc))),
                          owner=self)


def _password_field(placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(placeholder)
    reveal = QAction("Show", field)
    reveal.setCheckable(True)
    reveal.setIcon(QApplication.style().standardIcon(
        QApplication.style().StandardPixmap.SP_FileDialogContentsView))
    reveal.toggled.connect(lambda on: field.setEchoMode(
        QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
    field.addAction(reveal, QLineEdit.ActionPosition.TrailingPosition)
    return field


class PassphraseAsker(QObject):
    """``ask(prompt, confirm) -> str | None`` callable from any thread.

    The dialog is shown on the main thread (non-modal ``open()``, so the app's
    event loop keeps running and tests can fill it in); the calling worker
    waits for the answer. ``asked`` tells the UI a dialog is up.
    """

    asked = Signal(object)  # the PassphraseDialog, once shown
    _request = Signal(object)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__()
        self._parent = parent_widget
        self._request.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self.dialog: PassphraseDialog | None = None
        self._closed = False

    def __call__(self, prompt: str, confirm: bool) -> str | None:
        if self._closed:
            return None
        pending = _Pending(prompt, confirm)
        self._request.emit(pending)
        pending.event.wait()
        return pending.answer

    def close(self) -> None:
        """Cancel any open question (the app is quitting)."""
        self._closed = True
        if self.dialog is not None:
            self.dialog.reject()

    @Slot(object)
    def _show(self, pending: "_Pending") -> None:
        if self._closed:
            pending.finish(None)
            return
        # load_key re-asks with this prompt after a wrong passphrase.
        wrong = pending.prompt.lower().startswith("wrong passphrase")
        dialog = PassphraseDialog(
            "Passphrase for Engram's encrypted database" if wrong else pending.prompt,
            confirm=pending.confirm,
            error="That passphrase does not unlock the database. Try again." if wrong else "",
            parent=self._parent)
        self.dialog = dialog

        def done(result: int) -> None:
            self.dialog = None
            accepted = result == QDialog.DialogCode.Accepted
            pending.finish(dialog.passphrase() if accepted else None)
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()
        self.asked.emit(dialog)


class _Pending:
    def __init__(self, prompt: str, confirm: bool) -> None:
        self.prompt, self.confirm = prompt, confirm
        self.answer: str | None = None
        self.event = threading.Event()

    def finish(self, answer: str | None) -> None:
        self.answer = answer
        self.event.set()
