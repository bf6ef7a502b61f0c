"""A day's episodes (or, until memories exist, sessions grouped by app and gaps)."""
from __future__ import annotations

from enum import IntEnum
from typing import Any, Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from core import timefmt
from core.activity import Episode


class EpisodeRole(IntEnum):
    Episode = Qt.ItemDataRole.UserRole + 1
    Span = Qt.ItemDataRole.UserRole + 2
    Label = Qt.ItemDataRole.UserRole + 3


def span_text(e: Episode) -> str:
    return timefmt.span(e.start, e.end, with_day=False)


class EpisodeListModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Episode] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        e = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            n = len(e.event_ids)
            title = e.title or e.label
            # Memory titles often lead with the app already ("Firefox: Tenacity docs").
            head = title if title.lower().startswith(e.label.lower()) else f"{e.label} — {title}"
            return f"{span_text(e)}  {head}  ({n} item{'s' if n != 1 else ''})"
        if role == Qt.ItemDataRole.ToolTipRole:
            return e.summary or e.title
        if role == EpisodeRole.Episode:
            return e
        if role == EpisodeRole.Span:
            return span_text(e)
        if role == EpisodeRole.Label:
            return e.label
        return None

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names.update({EpisodeRole.Episode: b"episode", EpisodeRole.Span: b"span",
                      EpisodeRole.Label: b"label"})
        return names

    def set_episodes(self, episodes: Sequence[Episode]) -> None:
        self.beginResetModel()
        self._rows = list(episodes)
        self.endResetModel()

    def episode(self, row: int) -> Episode | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None
