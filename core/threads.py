"""Conversations with Engram (Ask), stored encrypted like everything else."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Sequence

from core.errors import NotFound
from core.records import from_epoch
from core.store import Store

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    id: int
    role: Role
    text: str
    citations: tuple[dict[str, Any], ...]
    time: datetime


@dataclass(frozen=True)
class Thread:
    id: int
    title: str
    created: datetime
    updated: datetime
    turns: tuple[Turn, ...] = ()


class Threads:
    """Create, extend, list and delete Ask threads."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, title: str) -> int:
        now = time.time()
        title = " ".join(title.split())[:80] or "Conversation"
        return self.store.write(lambda db: db.execute(
            "INSERT INTO threads(title, created_at, updated_at) VALUES (?, ?, ?) RETURNING id",
            (title, now, now)).fetchall()[0][0])

    def add_turn(self, thread_id: int, role: Role, text: str,
                 citations: Sequence[dict[str, Any]] = ()) -> int:
        now = time.time()

        def write(db) -> int:
            if not db.execute("SELECT 1 FROM threads WHERE id = ?", (thread_id,)).fetchall():
                raise NotFound(f"No conversation with id {thread_id}.")
            db.execute("UPDATE threads SET updated_at = ? WHERE id = ?", (now, thread_id))
            return db.execute(
                "INSERT INTO thread_turns(thread_id, role, text, citations, created_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (thread_id, role, text, json.dumps(list(citations), default=str), now),
            ).fetchall()[0][0]

        return self.store.write(write)

    def get(self, thread_id: int) -> Thread:
        db = self.store.reader()
        rows = db.execute("SELECT id, title, created_at, updated_at FROM threads WHERE id = ?",
                          (thread_id,)).fetchall()
        if not rows:
            raise NotFound(f"No conversation with id {thread_id}.",
                           hint="`engram threads list` shows them.")
        turns = tuple(
            Turn(id=r[0], role=r[1], text=r[2], citations=tuple(json.loads(r[3])),
                 time=from_epoch(r[4]))
            for r in db.execute("SELECT id, role, text, citations, created_at FROM thread_turns "
                                "WHERE thread_id = ? ORDER BY id", (thread_id,)))
        r = rows[0]
        return Thread(id=r[0], title=r[1], created=from_epoch(r[2]), updated=from_epoch(r[3]),
                      turns=turns)

    def list(self, limit: int = 100) -> list[Thread]:
        db = self.store.reader()
        return [Thread(id=r[0], title=r[1], created=from_epoch(r[2]), updated=from_epoch(r[3]))
                for r in db.execute("SELECT id, title, created_at, updated_at FROM threads "
                                    "ORDER BY updated_at DESC LIMIT ?", (limit,))]

    def delete(self, thread_id: int) -> None:
        deleted = self.store.write(lambda db: db.execute(
            "DELETE FROM threads WHERE id = ? RETURNING id", (thread_id,)).fetchall())
        if not deleted:
            raise NotFound(f"No conversation with id {thread_id}.")
