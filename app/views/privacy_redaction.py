"""Settings › Privacy › secrets: which filters run before anything is stored,
and the person's own words to remove (a client's name, a project).

Changes apply to what is captured from then on, in this process at once (the
pipeline and the screen source read the settings at each call). What is
already stored is not rewritten; "Find stored items" shows where a new word
already appears, so the person can forget those items.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox, QGridLayout, QHBoxLayout, QInputDialog, QLabel, QListWidget, QPushButton,
    QVBoxLayout, QWidget,
)

from app.views.common import hint
from core.redact import KIND_LABELS, KINDS


class RedactionPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        settings = ctx.engine.settings
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(QLabel("Remove before anything is stored (text, titles, and the "
                             "matching words painted over in screenshots):"))
        grid = QGridLayout()
        off = set(settings.get("redact_off") or [])
        self.kinds: dict[str, QCheckBox] = {}
        for n, kind in enumerate(KINDS):
            box = QCheckBox(KIND_LABELS[kind])
            box.setChecked(kind not in off)
            box.toggled.connect(lambda _on: self._save_kinds())
            grid.addWidget(box, n // 2, n % 2)
            self.kinds[kind] = box
        col.addLayout(grid)
        self.warning = hint("")
        col.addWidget(self.warning)

        col.addWidget(QLabel("Also remove these words and names (whole words, any case):"))
        row = QHBoxLayout()
        self.terms = QListWidget()
        self.terms.setMaximumHeight(90)
        for term in settings.get("redact_terms") or []:
            self.terms.addItem(str(term))
        row.addWidget(self.terms, 1)
        buttons = QVBoxLayout()
        self.add_term = QPushButton("Add…")
        self.remove_term = QPushButton("Remove")
        self.find_term = QPushButton("Find stored items")
        self.find_term.setToolTip("Search what is already stored for this word, "
                                  "to forget those items")
        for b in (self.add_term, self.remove_term, self.find_term):
            buttons.addWidget(b)
        buttons.addStretch(1)
        row.addLayout(buttons)
        col.addLayout(row)
        col.addWidget(hint("Changes apply to what is captured from now on; what is already "
                           "stored stays as it was stored."))
        self.add_term.clicked.connect(self.on_add_term)
        self.remove_term.clicked.connect(self.on_remove_term)
        self.find_term.clicked.connect(self.on_find_term)
        self.terms.currentRowChanged.connect(lambda _r: self._update_buttons())
        self._update_buttons()
        self._show_warning()

    def off_kinds(self) -> list[str]:
        return [k for k in KINDS if not self.kinds[k].isChecked()]

    def term_list(self) -> list[str]:
        return [self.terms.item(i).text() for i in range(self.terms.count())]

    def _save_kinds(self) -> None:
        self.ctx.engine.settings.set("redact_off", self.off_kinds())
        self._show_warning()

    def _show_warning(self) -> None:
        off = self.off_kinds()
        self.warning.setText(
            "" if not off else
            "Not removed from now on: " + ", ".join(KIND_LABELS[k].split(" (")[0].lower()
                                                    for k in off)
            + ". They will be stored (encrypted) as they appear.")
        self.warning.setVisible(bool(off))

    def add(self, term: str) -> bool:
        term = " ".join(term.split())
        if not term or term.lower() in {t.lower() for t in self.term_list()}:
            return False
        self.terms.addItem(term)
        self.terms.setCurrentRow(self.terms.count() - 1)
        self.ctx.engine.settings.set("redact_terms", self.term_list())
        self._update_buttons()
        return True

    def on_add_term(self) -> None:
        term, ok = QInputDialog.getText(self, "Remove a word or name",
                                        "Word or name to remove from everything captured:")
        if ok:
            self.add(term)

    def on_remove_term(self) -> None:
        row = self.terms.currentRow()
        if row < 0:
            return
        self.terms.takeItem(row)
        self.ctx.engine.settings.set("redact_terms", self.term_list())
        self._update_buttons()

    def on_find_term(self) -> None:
        item = self.terms.currentItem()
        if item is None:
            return
        self.ctx.nav.search_for.emit(item.text())  # opens Search with it

    def _update_buttons(self) -> None:
        has = self.terms.currentItem() is not None
        self.remove_term.setEnabled(has)
        self.find_term.setEnabled(has)
