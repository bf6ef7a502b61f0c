"""One icon per kind of source and memory, from Material Design Icons (qtawesome).

An icon font paints at whatever size and device-pixel ratio it is asked for, so
the icons stay crisp at 2x. ``qtawesome`` is imported on first use (when the
first result row paints), not while the window opens.
"""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QColor, QIcon

SOURCE_ICONS = {
    "screen": "mdi6.monitor",
    "file": "mdi6.file-document-outline",
    "chat": "mdi6.message-text-outline",
    "note": "mdi6.note-edit-outline",
    "assistant": "mdi6.robot-outline",
}
MEMORY_ICONS = {
    "core": "mdi6.card-account-details-outline",
    "episodic": "mdi6.calendar-clock",
    "semantic": "mdi6.lightbulb-outline",
    "procedural": "mdi6.format-list-checks",
}
FALLBACK = "mdi6.circle-small"


def icon_name(source: str, memory_type: str | None = None) -> str:
    """The icon's name for a source kind, or for a memory type when there is one."""
    if memory_type:
        return MEMORY_ICONS.get(memory_type, "mdi6.brain")
    return SOURCE_ICONS.get(source, FALLBACK)


@lru_cache(maxsize=64)
def _icon(name: str, color: str) -> QIcon:
    import qtawesome

    return qtawesome.icon(name, color=QColor(color))


def source_icon(source: str, color: QColor | str, memory_type: str | None = None) -> QIcon:
    """The icon for ``source`` (or ``memory_type``) drawn in ``color``."""
    return _icon(icon_name(source, memory_type), QColor(color).name(QColor.NameFormat.HexArgb))
