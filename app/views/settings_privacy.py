"""Settings → Privacy: secrets filters, retention, and forgetting a time range or an app.

The first two are their own panels (``privacy_redaction``, ``privacy_retention``).
Forgetting goes through ``pipeline.forget`` (the same path as `engram forget`):
the items, their keyword index entries, vectors and screenshots. The count is
shown before anything is deleted.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QComboBox, QDateTimeEdit, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from core.activity import distinct_apps
from core.units import plural
from app.tasks import run_in_background, run_op
from app.views.common import confirm, heading, hint
from app.views.privacy_redaction import RedactionPanel
from app.views.privacy_retention import RetentionPanel
from core.records import Changes, to_utc
from core.store import events as event_rows


def ids_in_range(engine: Any, since: datetime, until: datetime,
                 source: str | None) -> list[int]:
    return event_rows.select_ids(engine.store.reader(), since=since, until=until, source=source)


def ids_of_app(engine: Any, app: str) -> list[int]:
    return event_rows.select_ids(engine.store.reader(), app=app)


class PrivacyPanel(QWidget):
    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(heading("Secrets"))
        self.redaction = RedactionPanel(ctx)
        col.addWidget(self.redaction)
        col.addWidget(hint("Screen capture never reads password managers or private browser "
                           "windows (see Sources for your own exclusions)."))
        col.addSpacing(12)
        col.addWidget(heading("Keeping"))
        self.retention = RetentionPanel(ctx)
        col.addWidget(self.retention)
        col.addSpacing(12)
        col.addWidget(heading("Forgetting"))
        form = QFormLayout()
        now = QDateTime.currentDateTime()
        self.since = QDateTimeEdit(now.addSecs(-3600))
        self.until = QDateTimeEdit(now)
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy HH:mm")
        self.range_source = QComboBox()
        for label, value in (("everything", ""), ("screen only", "screen"),
                             ("files only", "file"), ("chats only", "chat"),
                             ("notes only", "note")):
            self.range_source.addItem(label, value)
        range_row = QHBoxLayout()
        range_row.addWidget(self.since)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.until)
        range_row.addWidget(self.range_source)
        self.forget_range = QPushButton("Forget…")
        range_row.addWidget(self.forget_range)
        range_row.addStretch(1)
        form.addRow("Forget a time range", range_row)
        app_row = QHBoxLayout()
        self.app = QComboBox()
        self.app.setMinimumWidth(200)
        self.forget_app = QPushButton("Forget…")
        app_row.addWidget(self.app)
        app_row.addWidget(self.forget_app)
        app_row.addStretch(1)
        form.addRow("Forget everything from an app", app_row)
        col.addLayout(form)
        self.result = QLabel()
        self.result.setObjectName("hint")
        col.addWidget(self.result)
        self.forget_range.clicked.connect(self.on_forget_range)
        self.forget_app.clicked.connect(self.on_forget_app)

    def refresh(self, usage: bool = True) -> None:
        if usage:  # Settings measures the disk use once for all its pages
            self.retention.refresh()
        store = self.ctx.engine.store

        def show(apps: list[str]) -> None:
            self.app.clear()
            for name in apps:
                self.app.addItem(name)
            self.forget_app.setEnabled(bool(apps))

        run_in_background(lambda: distinct_apps(store.reader()), show, owner=self)

    def on_forget_range(self) -> None:
        since = to_utc(self.since.dateTime().toPython())
        until = to_utc(self.until.dateTime().toPython())
        if since >= until:
            self.result.setText("The start must be before the end.")
            return
        source = self.range_source.currentData() or None
        engine = self.ctx.engine
        what = f"between {self.since.text()} and {self.until.text()}"
        run_in_background(lambda: ids_in_range(engine, since, until, source),
                          lambda ids: self._confirm_and_forget(ids, what), owner=self)

    def on_forget_app(self) -> None:
        app = self.app.currentText()
        if not app:
            return
        engine = self.ctx.engine
        run_in_background(lambda: ids_of_app(engine, app),
                          lambda ids: self._confirm_and_forget(ids, f"from {app}"), owner=self)

    def _confirm_and_forget(self, ids: list[int], what: str) -> None:
        if not ids:
            self.result.setText(f"Nothing is stored {what}.")
            return
        if not confirm(self, "Forget for good?",
                       f"Forget {plural(len(ids), 'item')} {what}: their text, screenshots and index "
                       "entries. This cannot be undone.", f"Forget {len(ids)} items"):
            return
        pipeline = self.ctx.engine.pipeline

        def done(changes: Changes) -> None:
            self.result.setText(f"Forgot {plural(len(changes.removed), 'item')} {what}.")
            self.refresh()

        run_op(self, self.ctx.nav, lambda: pipeline.forget(ids), done)
