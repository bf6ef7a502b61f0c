"""Long jobs in progress (imports, downloads, indexing) as a list model.

Each row is a titled ``Task`` with its latest progress; the status bar shows
them with a Cancel button, and a finished job leaves the list by itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.tasks import Task
from core.progress import Progress


class JobRole(IntEnum):
    Title = Qt.ItemDataRole.UserRole + 1
    Fraction = Qt.ItemDataRole.UserRole + 2  # float 0..1, or None when unknown
    Label = Qt.ItemDataRole.UserRole + 3
    Task = Qt.ItemDataRole.UserRole + 4


@dataclass
class _Row:
    title: str
    task: Task
    progress: Progress | None = None


class JobList(QAbstractListModel):
    job_added = Signal(object)  # the Task
    job_ended = Signal(object)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, JobRole.Title):
            return row.title
        if role == JobRole.Fraction:
            return row.progress.fraction if row.progress else None
        if role == JobRole.Label:
            return describe(row.progress)
        if role == JobRole.Task:
            return row.task
        return None

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names.update({JobRole.Title: b"title", JobRole.Fraction: b"fraction",
                      JobRole.Label: b"label", JobRole.Task: b"task"})
        return names

    def add(self, title: str, task: Task) -> Task:
        if task.done:
            return task
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(_Row(title, task))
        self.endInsertRows()
        # By number, not by closing over the task: a task → connection → task cycle
        # would leave its freeing to the garbage collector, on whatever thread.
        number = task.number
        task.progressed.connect(lambda p, n=number: self._progress(n, p))
        task.ended.connect(lambda n=number: self._remove(n))
        self.job_added.emit(task)
        return task

    def tasks(self) -> list[Task]:
        return [r.task for r in self._rows]

    def cancel_all(self) -> None:
        for row in self._rows:
            row.task.cancel()

    def _progress(self, number: int, progress: Progress) -> None:
        for n, row in enumerate(self._rows):
            if row.task.number == number:
                row.progress = progress
                index = self.index(n, 0)
                self.dataChanged.emit(index, index, [JobRole.Fraction, JobRole.Label])

    def _remove(self, number: int) -> None:
        for n, row in enumerate(self._rows):
            if row.task.number == number:
                self.beginRemoveRows(QModelIndex(), n, n)
                task = self._rows.pop(n).task
                self.endRemoveRows()
                self.job_ended.emit(task)
                return


def describe(progress: Progress | None) -> str:
    if progress is None:
        return "starting…"
    if progress.label == "bytes":  # downloads and copies report bytes
        from app.views.common import human_size

        done = human_size(progress.done)
        return f"{done} of {human_size(progress.total)}" if progress.total else done
    if progress.total:
        text = f"{progress.done:,} of {progress.total:,}"
    else:
        text = f"{progress.done:,}"
    return f"{text} · {progress.label}" if progress.label else text
