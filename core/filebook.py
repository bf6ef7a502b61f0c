"""The folder indexer's bookkeeping, as the pipeline lends it to a source.

The indexer (``ingest/files``) never touches the store: it asks this book what
it remembers about a file (size, mtime, why it was skipped) and which chunks of
it are stored, and records what it saw. Events themselves only change through
the pipeline (``Pipeline.take``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import apsw

from core.records import FileEvent, FileState
from core.store import Store
from core.store import files as file_rows


class FileBook:
    """Per-file state over one store, for the folder indexer and watcher."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def own_folder(self) -> Path:
        """Engram's own data folder: never indexed, even inside a watched folder."""
        return Path(self._store.path).parent.resolve()

    def get(self, path: str) -> FileState | None:
        return file_rows.get(self._store.reader(), path)

    def under(self, folder: str) -> dict[str, FileState]:
        return file_rows.under(self._store.reader(), folder)

    def events_of(self, path: str) -> list[FileEvent]:
        """The stored chunks of one file."""
        return file_rows.events_of(self._store.reader(), path)

    def events_under(self, folder: str) -> list[FileEvent]:
        return file_rows.events_under(self._store.reader(), folder)

    def event_counts_under(self, folder: str) -> dict[str, int]:
        """Stored chunks per file path under ``folder``."""
        return file_rows.event_counts_under(self._store.reader(), folder)

    def record(self, states: Iterable[FileState], gone: Iterable[str] = ()) -> None:
        """Remember how files were seen, and forget the state of ``gone`` ones (one write)."""
        states, gone = list(states), list(gone)
        if not states and not gone:
            return

        def write(db: apsw.Connection) -> None:
            file_rows.remove(db, gone)
            file_rows.put(db, states)

        self._store.write(write)

    def rename(self, moves: Iterable[tuple[str, str]]) -> None:
        """Carry file states over to new paths (a moved file or folder)."""
        moves = list(moves)
        self._store.write(lambda db: file_rows.rename(db, moves))
