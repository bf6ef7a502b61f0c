"""Settings › Privacy › retention: keep captures for so long, within so much disk.

The person picks an age and a budget, which sources expire, and whether what
Engram learned from expired captures stays. Nothing is forgotten by changing
a menu: "Save and apply" first counts what would go now and asks, then saves
the settings and forgets in the background (``core.retention.apply``). From
then on the engine's ``RetentionRunner`` applies them every hour. Current
usage is measured from the store and shown with the budget as a bar.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton,
    QVBoxLayout, QWidget,
)

from app.tasks import run_in_background
from app.views.common import confirm, hint
from core import retention, timefmt
from core.retention import RetentionPolicy
from core.units import format_bytes

AGES = (("Forever", 0), ("1 week", 7), ("2 weeks", 14), ("30 days", 30), ("90 days", 90),
        ("6 months", 182), ("1 year", 365), ("2 years", 730))
BUDGETS_MB = (("No limit", 0), ("1 GB", 1024), ("2 GB", 2048), ("5 GB", 5 * 1024),
              ("10 GB", 10 * 1024), ("20 GB", 20 * 1024), ("50 GB", 50 * 1024),
              ("100 GB", 100 * 1024))
SCOPES = (("screen", "Screen captures"), ("chat", "Imported chats"),
          ("note", "Notes and what you told Engram"))
SOURCE_NAMES = {"screen": "screen captures", "chat": "chat messages", "note": "notes",
                "file": "file passages"}
NO_SCOPE = "Choose at least one kind of capture for this to apply to."
SOURCE_NAME = {"screen": "screen capture", "chat": "chat message", "note": "note",
               "file": "file passage"}


def count_of(source: str, n: int) -> str:
    names = SOURCE_NAME if n == 1 else SOURCE_NAMES
    return f"{n:,} {names.get(source, source)}"


def _combo(choices: tuple[tuple[str, int], ...], current: int, unit: str) -> QComboBox:
    box = QComboBox()
    box.setProperty("unit", unit)
    for label, value in choices:
        box.addItem(label, value)
    _select(box, current)
    return box


def _select(box: QComboBox, value: int) -> None:
    index = box.findData(value)
    if index < 0:  # a value set by hand or by `engram retention`
        box.addItem(f"{value:,} {box.property('unit')}", value)
        index = box.count() - 1
    box.setCurrentIndex(index)


class RetentionPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        policy = RetentionPolicy.from_settings(ctx.engine.settings)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.age = _combo(AGES, policy.days, "days")
        form.addRow("Keep captures for", self.age)
        self.budget = _combo(BUDGETS_MB, policy.budget_bytes // retention.MB, "MB")
        form.addRow("Disk budget", self.budget)
        scope_row = QHBoxLayout()
        self.scopes: dict[str, QCheckBox] = {}
        for source, label in SCOPES:
            box = QCheckBox(label)
            box.setChecked(source in policy.sources)
            scope_row.addWidget(box)
            self.scopes[source] = box
        scope_row.addStretch(1)
        form.addRow("Applies to", scope_row)
        self.keep_memories = QCheckBox("Keep what Engram learned from them (memories)")
        self.keep_memories.setChecked(policy.keep_memories)
        form.addRow("", self.keep_memories)
        col.addLayout(form)
        col.addWidget(hint("Indexed files stay as long as their folder is watched: they are "
                           "copies of files on your disk. Over the budget, the oldest captures "
                           "go first."))
        row = QHBoxLayout()
        self.apply_button = QPushButton("Save and apply")
        self.apply_button.setEnabled(False)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setEnabled(False)
        row.addWidget(self.apply_button)
        row.addWidget(self.revert_button)
        row.addStretch(1)
        col.addLayout(row)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setVisible(False)
        col.addWidget(self.bar)
        self.usage = QLabel("Measuring…")
        self.usage.setWordWrap(True)
        col.addWidget(self.usage)
        self.result = QLabel()
        self.result.setObjectName("hint")
        self.result.setWordWrap(True)
        col.addWidget(self.result)
        for w in (self.age, self.budget):
            w.currentIndexChanged.connect(lambda _i: self._changed())
        for w in (*self.scopes.values(), self.keep_memories):
            w.toggled.connect(lambda _on: self._changed())
        self.apply_button.clicked.connect(self.on_apply)
        self.revert_button.clicked.connect(self.revert)
        self._busy = False

    # -- state --------------------------------------------------------------------------------
    def chosen(self) -> RetentionPolicy:
        return RetentionPolicy(
            days=int(self.age.currentData()),
            budget_bytes=int(self.budget.currentData()) * retention.MB,
            sources=tuple(s for s, _ in SCOPES if self.scopes[s].isChecked()),
            keep_memories=self.keep_memories.isChecked())

    def saved(self) -> RetentionPolicy:
        return RetentionPolicy.from_settings(self.ctx.engine.settings)

    def _changed(self) -> None:
        chosen = self.chosen()
        dirty = chosen != self.saved()
        self.apply_button.setEnabled(dirty and not self._busy)
        self.revert_button.setEnabled(dirty and not self._busy)
        if self._busy:
            return
        if dirty and not chosen.sources and (chosen.days or chosen.budget_bytes):
            self.result.setText(NO_SCOPE)
        elif self.result.text() == NO_SCOPE:
            self.result.clear()

    def revert(self) -> None:
        policy = self.saved()
        _select(self.age, policy.days)
        _select(self.budget, policy.budget_bytes // retention.MB)
        for source, box in self.scopes.items():
            box.setChecked(source in policy.sources)
        self.keep_memories.setChecked(policy.keep_memories)
        self._changed()

    def save(self, policy: RetentionPolicy) -> None:
        settings = self.ctx.engine.settings
        settings.set("retention_days", policy.days)
        settings.set("retention_budget_mb", policy.budget_bytes // retention.MB)
        settings.set("retention_sources", list(policy.sources))
        settings.set("retention_keep_memories", policy.keep_memories)

    # -- usage --------------------------------------------------------------------------------
    def refresh(self) -> None:
        engine = self.ctx.engine
        paths = engine.paths

        def read() -> retention.Usage:
            return retention.measure(engine.store.reader(), engine.store.path,
                                     backups_dir=paths.backups_dir, models_dir=paths.models_dir)

        run_in_background(read, self.show_usage, lambda exc: self.usage.setText(
            f"Could not measure the disk use: {exc}"), owner=self)

    def show_usage(self, usage: retention.Usage) -> None:
        policy = self.saved()
        lines = [f"Engram's data uses <b>{format_bytes(usage.used_bytes)}</b>"
                 f" (screenshots {format_bytes(usage.image_bytes)})"
                 + (f", plus {format_bytes(usage.free_bytes)} of free space inside the file "
                    "that new captures reuse" if usage.free_bytes > 1024 * 1024 else "")
                 + f". Database file: {format_bytes(usage.file_bytes)}."]
        extras = []
        if usage.backups_bytes:
            extras.append(f"backups from upgrades {format_bytes(usage.backups_bytes)}")
        if usage.models_bytes:
            extras.append(f"models {format_bytes(usage.models_bytes)} (not in the budget)")
        if extras:
            lines.append("Also in the data folder: " + ", ".join(extras) + ".")
        if usage.items:
            lines.append("Stored: " + ", ".join(
                f"{count_of(s, n)}" + (f" (since {_day(usage.oldest[s])})"
                                       if s in usage.oldest else "")
                for s, n in sorted(usage.items.items(), key=lambda kv: -kv[1])) + ".")
        runner = self.ctx.engine.retention
        if runner is not None and runner.last_error:
            lines.append(f"<span style='color:#b00020'>The last automatic run failed: "
                         f"{runner.last_error}</span>")
        elif runner is not None and runner.last is not None and runner.last.at is not None:
            lines.append(f"Last checked {timefmt.clock(runner.last.at)}: "
                         f"{runner.last.describe()}.")
        self.usage.setText("<br>".join(lines))
        if policy.budget_bytes:
            self.bar.setVisible(True)
            self.bar.setRange(0, 1000)
            self.bar.setValue(min(1000, int(1000 * usage.used_bytes / policy.budget_bytes)))
            self.bar.setFormat(f"{format_bytes(usage.used_bytes)} of "
                               f"{format_bytes(policy.budget_bytes)} budget")
        else:
            self.bar.setVisible(False)

    # -- applying -----------------------------------------------------------------------------
    def on_apply(self) -> None:
        policy = self.chosen()
        store = self.ctx.engine.store
        self._set_busy(True, "Counting what this would forget…")
        run_in_background(lambda: retention.preview(store.reader(), policy),
                          lambda p: self._confirm(policy, p),
                          lambda exc: self._set_busy(False, f"Could not count: {exc}"), owner=self)

    def _confirm(self, policy: RetentionPolicy, preview: retention.Preview) -> None:
        if preview.total:
            parts = []
            if preview.expired:
                parts.append(f"{preview.expired:,} older than {self.age.currentText()}")
            if preview.over_budget:
                parts.append(f"about {preview.over_budget:,} more of the oldest to fit "
                             f"{self.budget.currentText()}")
            what = ", ".join(SOURCE_NAMES[s] for s in policy.sources)
            held = "text, screenshots" if "screen" in policy.sources else "text"
            text = (f"This forgets {' and '.join(parts)} ({what}) now: their {held} "
                    "and index entries. "
                    + ("Memories learned from them stay. " if policy.keep_memories else
                       "Memories learned only from them go too. ")
                    + "This cannot be undone.")
            if not confirm(self, "Forget old captures?", text,
                           f"Forget {preview.total:,} items"):
                self._set_busy(False, "Not changed.")
                return
        self.save(policy)
        note = ("" if preview.budget_reachable else
                " Even without every capture that expires Engram's data is over the "
                "budget, so none is forgotten for it: choose a larger budget or more kinds.")
        if not preview.total:
            self._set_busy(False, "Saved. Nothing is past keeping now; Engram checks every "
                                  "hour." + note)
            self.refresh()
            return
        self._set_busy(True, "Forgetting…")
        pipeline = self.ctx.engine.pipeline

        def done(report: retention.RetentionReport) -> None:
            self._set_busy(False, f"Saved: {report.describe()}.")  # says if over budget
            if report.removed_ids:
                self.ctx.nav.data_changed.emit(report.changes)
            self.refresh()

        run_in_background(lambda: retention.apply(pipeline, policy), done,
                          lambda exc: self._set_busy(False, f"Saved, but forgetting failed: "
                                                            f"{exc}"), owner=self)

    def _set_busy(self, busy: bool, message: str) -> None:
        self._busy = busy
        self.result.setText(message)
        for w in (self.age, self.budget, *self.scopes.values(), self.keep_memories):
            w.setEnabled(not busy)
        self._changed()


def _day(t: datetime) -> str:
    return timefmt.full_date(t)
