"""Quick ask (from the tray): one line, Enter, and the answer opens in Ask."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QVBoxLayout, QWidget


class QuickAskDialog(QDialog):
    asked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Engram — Quick ask")
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        self.setMinimumWidth(520)
        col = QVBoxLayout(self)
        label = QLabel("Ask about anything you saw, read or said:")
        self.field = QLineEdit()
        self.field.setPlaceholderText("e.g. what was the library Ana recommended?")
        col.addWidget(label)
        col.addWidget(self.field)
        self.field.returnPressed.connect(self._submit)

    def _submit(self) -> None:
        text = self.field.text().strip()
        if text:
            self.asked.emit(text)
            self.field.clear()
            self.accept()
