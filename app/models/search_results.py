"""Search hits as a list model: one row per ``SearchHit``, custom roles for the delegate."""
from __future__ import annotations

import html
import re
from datetime import datetime
from enum import IntEnum
from typing import Any, Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QImage

from core import timefmt
from core.records import SearchHit
from core.retrieval import MARK_CLOSE, MARK_OPEN

SOURCE_NAMES = {"screen": "Screen", "file": "File", "chat": "Chat", "note": "Note",
                "assistant": "Ask"}


class HitRole(IntEnum):
    Hit = Qt.ItemDataRole.UserRole + 1
    Title = Qt.ItemDataRole.UserRole + 2
    SnippetHtml = Qt.ItemDataRole.UserRole + 3
    When = Qt.ItemDataRole.UserRole + 4
    Source = Qt.ItemDataRole.UserRole + 5
    Thumbnail = Qt.ItemDataRole.UserRole + 6
    Where = Qt.ItemDataRole.UserRole + 7
    HitId = Qt.ItemDataRole.UserRole + 8


def marked_to_html(text: str) -> str:
    """The engine's «matched» marks as bold, everything else escaped."""
    escaped = html.escape(text, quote=False)
    return (escaped.replace(html.escape(MARK_OPEN), "<b>").replace(MARK_OPEN, "<b>")
            .replace(MARK_CLOSE, "</b>"))


def highlight_words_html(text: str, words: Sequence[str]) -> str:
    """``text`` escaped, with each of ``words`` (and words starting with them) in bold."""
    escaped = html.escape(text, quote=False)
    words = [w for w in words if w]
    if not words:
        return escaped
    pattern = re.compile(r"\b(" + "|".join(re.escape(html.escape(w)) for w in words) + r")\w*",
                         re.IGNORECASE)
    return pattern.sub(lambda m: f"<b>{m.group(0)}</b>", escaped)


def marked_words(snippet: str) -> list[str]:
    """The words the engine marked in a snippet, lower-case, in order, once each."""
    found = re.findall(re.escape(MARK_OPEN) + r"(.*?)" + re.escape(MARK_CLOSE), snippet)
    return list(dict.fromkeys(w.lower() for w in found if w.strip()))


def when_text(moment: datetime, now: datetime | None = None) -> str:
    """When a hit happened, as every view writes it (``core.timefmt``)."""
    return timefmt.moment(moment, now=now)


def where_text(hit: SearchHit) -> str:
    p = hit.provenance
    if hit.kind == "memory":
        return f"{(hit.memory_type or 'memory').capitalize()} memory"
    parts = [SOURCE_NAMES.get(hit.source, hit.source.capitalize())]
    if p.app:
        parts.append(p.app)
    if p.path:
        parts.append(p.path)
    elif p.url:
        parts.append(p.url)
    elif p.thread and hit.source == "chat":
        parts.append(p.thread)
    return " · ".join(parts)


class SearchResultsModel(QAbstractListModel):
    """Rows of hits; thumbnails arrive later (loaded off-thread) via ``set_thumbnail``."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []
        self._thumbs: dict[int, QImage] = {}
        self.query = ""

    # -- Qt -----------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid() or not (
                0 <= index.row() < len(self._hits)):
            return None
        hit = self._hits[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, HitRole.Title):
            return hit.title or "(untitled)"
        if role == Qt.ItemDataRole.ToolTipRole:
            return where_text(hit)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{hit.title}. {where_text(hit)}. {when_text(hit.time)}"
        if role == HitRole.Hit:
            return hit
        if role == HitRole.HitId:
            return hit.id
        if role == HitRole.SnippetHtml:
            return marked_to_html(hit.snippet)
        if role == HitRole.When:
            return when_text(hit.time)
        if role == HitRole.Source:
            return hit.source
        if role == HitRole.Where:
            return where_text(hit)
        if role == HitRole.Thumbnail:
            return self._thumbs.get(hit.id) if hit.kind == "event" else None
        return None

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names.update({HitRole.Hit: b"hit", HitRole.Title: b"title",
                      HitRole.SnippetHtml: b"snippetHtml", HitRole.When: b"when",
                      HitRole.Source: b"source", HitRole.Thumbnail: b"thumbnail",
                      HitRole.Where: b"where", HitRole.HitId: b"hitId"})
        return names

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren

    # -- updates (main thread) ------------------------------------------------------------
    def set_hits(self, hits: Sequence[SearchHit], query: str = "") -> None:
        """Replace every row at once: one reset per search, never row-by-row churn."""
        self.beginResetModel()
        self._hits = list(hits)
        self.query = query
        keep = {h.id for h in self._hits}
        self._thumbs = {k: v for k, v in self._thumbs.items() if k in keep}
        self.endResetModel()

    def clear(self) -> None:
        self.set_hits([])

    def hit(self, row: int) -> SearchHit | None:
        return self._hits[row] if 0 <= row < len(self._hits) else None

    def hits(self) -> list[SearchHit]:
        return list(self._hits)

    def needing_thumbnails(self) -> list[int]:
        return [h.id for h in self._hits
                if h.kind == "event" and h.has_image and h.id not in self._thumbs]

    def set_thumbnail(self, event_id: int, image: QImage) -> None:
        self._thumbs[event_id] = image
        for row, hit in enumerate(self._hits):
            if hit.id == event_id and hit.kind == "event":
                index = self.index(row, 0)
                self.dataChanged.emit(index, index, [HitRole.Thumbnail])
