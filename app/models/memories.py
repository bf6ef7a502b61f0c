"""Memories of one type as a list model (the Memories view)."""
from __future__ import annotations

from enum import IntEnum
from typing import Any, Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from core import timefmt


class MemoryRole(IntEnum):
    Item = Qt.ItemDataRole.UserRole + 1
    MemoryId = Qt.ItemDataRole.UserRole + 2
    Strength = Qt.ItemDataRole.UserRole + 3
    Current = Qt.ItemDataRole.UserRole + 4


def memory_line(item: Any) -> str:
    m = item.memory
    text = m.text if m.type in ("core", "semantic") else m.title
    marks = []
    if m.pinned:
        marks.append("📌")
    if m.superseded_by is not None or m.valid_until is not None:
        marks.append("(replaced)")
    elif item.weak:
        marks.append("(faded)")
    if m.type == "episodic":
        text = f"{timefmt.moment(m.started_at)} · {text}"
    return " ".join([text] + marks)


class MemoryListModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[Any] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._items)):
            return None
        item = self._items[index.row()]
        m = item.memory
        if role == Qt.ItemDataRole.DisplayRole:
            return memory_line(item)
        if role == Qt.ItemDataRole.ToolTipRole:
            return m.text
        if role == Qt.ItemDataRole.FontRole and m.pinned:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and (item.weak or m.superseded_by):
            from PySide6.QtGui import QColor

            return QColor(128, 128, 128)
        if role == MemoryRole.Item:
            return item
        if role == MemoryRole.MemoryId:
            return m.id
        if role == MemoryRole.Strength:
            return item.strength
        if role == MemoryRole.Current:
            return m.superseded_by is None and m.valid_until is None
        return None

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names.update({MemoryRole.Item: b"item", MemoryRole.MemoryId: b"memoryId",
                      MemoryRole.Strength: b"strength", MemoryRole.Current: b"current"})
        return names

    def set_items(self, items: Sequence[Any]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def item(self, row: int) -> Any | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, memory_id: int) -> int:
        for n, item in enumerate(self._items):
            if item.memory.id == memory_id:
                return n
        return -1
