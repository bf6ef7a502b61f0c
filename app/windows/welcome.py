"""First run: what Engram captures, where it keeps it, which sources to start, the key.

Nothing is created until "Start Engram": then the choices go into settings,
the key is set up (OS keyring when a secure one works, else the passphrase
typed here) and the engine opens.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from app.tasks import run_in_background
from app.views.common import wrap_rows


@dataclass(frozen=True)
class FirstRunChoices:
    screen: bool
    folders: tuple[str, ...]
    chat_export: str | None
    key: str                 # "keyring" or "passphrase"
    passphrase: str | None


class WelcomePage(QWidget):
    started = Signal(object)   # FirstRunChoices
    quit_requested = Signal()

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.keyring_ok: bool | None = None
        self.chat_export: str | None = None
        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll)
        body = QWidget()
        body.setMaximumWidth(760)
        holder = QWidget()
        hl = QHBoxLayout(holder)
        hl.addStretch(1)
        hl.addWidget(body, 4)
        hl.addStretch(1)
        scroll.setWidget(holder)
        col = QVBoxLayout(body)
        title = QLabel("Welcome to Engram")
        title.setObjectName("welcomeTitle")
        col.addWidget(title)
        intro = QLabel(
            "Engram remembers what you see and work on, so you can find it again and ask "
            "about it: “what was the library Ana recommended?”, “where is the tax PDF?”."
            "<br><br><b>What it captures</b> — the text of the window in front (read from "
            "the screen every few seconds, with a small thumbnail), documents in folders you "
            "choose, and chat exports you import. Never password managers or private "
            "browser windows; secrets like card numbers, passwords and keys are removed "
            "before anything is stored. You can pause it any time."
            f"<br><br><b>Where it is kept</b> — in one encrypted database in "
            f"<code>{data_dir}</code>, on this computer only. No account, no cloud: "
            "nothing leaves this machine except a model download you start yourself.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(intro)

        sources = QGroupBox("Start with")
        scol = QVBoxLayout(sources)
        self.screen = QCheckBox("Read the text on my screen")
        self.screen.setChecked(True)
        scol.addWidget(self.screen)
        scol.addWidget(QLabel("Folders to keep indexed (documents, notes, code):"))
        frow = QHBoxLayout()
        self.folders = wrap_rows(QListWidget())
        self.folders.setMaximumHeight(80)
        fbuttons = QVBoxLayout()
        self.add_folder = QPushButton("Add folder…")
        self.remove_folder = QPushButton("Remove")
        fbuttons.addWidget(self.add_folder)
        fbuttons.addWidget(self.remove_folder)
        fbuttons.addStretch(1)
        frow.addWidget(self.folders, 1)
        frow.addLayout(fbuttons)
        scol.addLayout(frow)
        crow = QHBoxLayout()
        self.chat_button = QPushButton("Import a chat export…")
        self.chat_label = QLabel("(optional: ChatGPT, Claude, WhatsApp, Telegram, Slack)")
        self.chat_label.setObjectName("hint")
        crow.addWidget(self.chat_button)
        crow.addWidget(self.chat_label, 1)
        scol.addLayout(crow)
        col.addWidget(sources)

        key = QGroupBox("Protecting the database")
        kform = QFormLayout(key)
        self.key_status = QLabel("Checking for a secure keyring…")
        self.key_status.setWordWrap(True)
        kform.addRow(self.key_status)
        self.use_passphrase = QCheckBox("Use a passphrase instead of the keyring")
        self.use_passphrase.setVisible(False)
        kform.addRow(self.use_passphrase)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("Passphrase")
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        self.again.setPlaceholderText("The same passphrase again")
        kform.addRow("Passphrase", self.passphrase)
        kform.addRow("Again", self.again)
        self.pass_note = QLabel("There is no way to recover it: without the passphrase the "
                                "database cannot be read, by anyone.")
        self.pass_note.setObjectName("hint")
        self.pass_note.setWordWrap(True)
        kform.addRow(self.pass_note)
        col.addWidget(key)

        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        col.addWidget(self.error)
        brow = QHBoxLayout()
        brow.addStretch(1)
        self.quit = QPushButton("Quit")
        self.start = QPushButton("Start Engram")
        self.start.setDefault(True)
        brow.addWidget(self.quit)
        brow.addWidget(self.start)
        col.addLayout(brow)
        col.addStretch(1)

        self.add_folder.clicked.connect(self.on_add_folder)
        self.remove_folder.clicked.connect(
            lambda: self.folders.takeItem(self.folders.currentRow()))
        self.chat_button.clicked.connect(self.on_chat)
        self.use_passphrase.toggled.connect(lambda _on: self._key_fields())
        self.start.clicked.connect(self.on_start)
        self.quit.clicked.connect(self.quit_requested)
        self._key_fields()
        self._probe_keyring()

    def _probe_keyring(self) -> None:
        from core.keys import secure_keyring_available

        def done(result: tuple[bool, str]) -> None:
            ok, why = result
            self.keyring_ok = ok
            if ok:
                self.key_status.setText(f"The key will be random and kept in your OS keyring "
                                        f"({why}); Engram unlocks by itself when you log in.")
                self.use_passphrase.setVisible(True)
            else:
                self.key_status.setText("No secure OS keyring is available here, so the key "
                                        "comes from a passphrase you choose. Engram asks for "
                                        "it when it starts.")
            self._key_fields()

        run_in_background(secure_keyring_available, done,
                          lambda exc: done((False, str(exc))), owner=self)

    def _key_fields(self) -> None:
        wants = self.keyring_ok is False or self.use_passphrase.isChecked()
        for w in (self.passphrase, self.again, self.pass_note):
            w.setEnabled(wants)
        self.start.setEnabled(self.keyring_ok is not None)

    def on_add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Keep a folder indexed", str(Path.home()))
        if path and not self.folders.findItems(path, Qt.MatchFlag.MatchExactly):
            self.folders.addItem(path)

    def on_chat(self) -> None:
        from app.views.chat_import import FILTER

        path, _ = QFileDialog.getOpenFileName(self, "Import a chat export", str(Path.home()),
                                              FILTER)
        if path:
            self.chat_export = path
            self.chat_label.setText(Path(path).name + " — imported once Engram starts")

    def choices(self) -> FirstRunChoices | None:
        wants_pass = self.keyring_ok is False or self.use_passphrase.isChecked()
        if wants_pass:
            if not self.passphrase.text():
                self.error.setText("Choose a passphrase.")
                return None
            from core.keys import passphrase_problem

            problem = passphrase_problem(self.passphrase.text())
            if problem:
                self.error.setText(problem)
                return None
            if self.passphrase.text() != self.again.text():
                self.error.setText("The two passphrases differ.")
                return None
        self.error.setText("")
        folders = tuple(self.folders.item(i).text() for i in range(self.folders.count()))
        return FirstRunChoices(self.screen.isChecked(), folders, self.chat_export,
                               "passphrase" if wants_pass else "keyring",
                               self.passphrase.text() if wants_pass else None)

    def on_start(self) -> None:
        choices = self.choices()
        if choices is not None:
            self.start.setEnabled(False)
            self.started.emit(choices)

    def failed(self, message: str) -> None:
        self.error.setText(message)
        self.start.setEnabled(True)
