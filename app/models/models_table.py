"""The model catalog merged with what is installed, as a table (Settings → Models)."""
from __future__ import annotations

from enum import IntEnum
from typing import Any, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

COLUMNS = ("Model", "For", "Size", "Status", "Licence")


class ModelRole(IntEnum):
    Row = Qt.ItemDataRole.UserRole + 1
    Name = Qt.ItemDataRole.UserRole + 2


def _size(n: int | None) -> str:
    if not n:
        return "–"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def status_text(row: Any, downloading: dict[str, float | None]) -> str:
    if row.name in downloading:
        frac = downloading[row.name]
        return f"downloading {frac * 100:.0f}%" if frac is not None else "downloading…"
    if row.in_use:
        return "in use"
    if row.installed:
        return "installed"
    if row.source == "builtin":
        return "not generated yet"
    if row.partial_bytes and row.size_bytes:
        return f"paused at {row.partial_bytes * 100 // row.size_bytes}%"
    return "available"


class ModelsTableModel(QAbstractTableModel):
    """Rows are ``core.models.catalog.ModelRow``s (frozen), plus download progress."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self._downloading: dict[str, float | None] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(COLUMNS)):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        if role == ModelRole.Row:
            return row
        if role == ModelRole.Name:
            return row.name
        if role == Qt.ItemDataRole.DisplayRole:
            col = index.column()
            if col == 0:
                star = " ★" if row.recommended and not row.installed else ""
                return f"{row.title}{star}"
            if col == 1:
                return "chat" if row.role == "chat" else "search"
            if col == 2:
                return _size(row.size_bytes)
            if col == 3:
                return status_text(row, self._downloading)
            if col == 4:
                return row.license or "–"
        if role == Qt.ItemDataRole.ToolTipRole:
            use = ("writes answers and memories" if row.role == "chat"
                   else "turns text into vectors for search")
            return f"{row.name}: {use}" + (f"\n{row.path}" if row.path else "")
        if role == Qt.ItemDataRole.FontRole and row.in_use:
            from PySide6.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        return None

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, n: int) -> Any | None:
        return self._rows[n] if 0 <= n < len(self._rows) else None

    def set_downloading(self, name: str, fraction: float | None, active: bool = True) -> None:
        if active:
            self._downloading[name] = fraction
        else:
            self._downloading.pop(name, None)
        for n, row in enumerate(self._rows):
            if row.name == name:
                index = self.index(n, 3)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
