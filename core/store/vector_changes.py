"""A short log of vector changes, so in-memory indexes in any process can catch up.

Vectors live in sqlite-vec tables; a search process may also hold them in RAM
(``vector_index``). Another process (the CLI adding a note or forgetting an
item while the desktop app runs) changes the table behind its back, and a
virtual table can carry no triggers. So every vector write appends
``(collection, space, item)`` here in the same transaction, and forgetting an
event logs ``space_id = NULL`` (every space) through a trigger on ``events``.
An index remembers the last ``seq`` it applied and reads only what came after.

Only ids are logged, never content. The log keeps the newest ``KEEP`` entries;
an index that fell further behind (its last seq was pruned) reloads in full.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import apsw

KEEP = 200_000
# Prune on roughly every PRUNE_EVERY-th logged change, not on every write.
PRUNE_EVERY = 10_000


@dataclass(frozen=True)
class ChangeBatch:
    """What changed after a given seq: ids written, ids removed (in log order)."""

    last_seq: int
    put: tuple[int, ...]
    removed: tuple[int, ...]
    complete: bool  # False: entries the caller needed were pruned; reload in full


def record_put(db: apsw.Connection, collection: str, space_id: int,
               ids: Sequence[int]) -> None:
    """Log that vectors of ``ids`` were (re)written in a space (writer connection)."""
    if not ids:
        return
    db.executemany(
        "INSERT INTO vector_changes(collection, space_id, item_id) VALUES (?, ?, ?)",
        ((collection, space_id, int(i)) for i in ids))
    last = db.last_insert_rowid()
    if last // PRUNE_EVERY != (last - len(ids)) // PRUNE_EVERY:
        db.execute("DELETE FROM vector_changes WHERE seq <= ?", (last - KEEP,))


def last_seq(db: apsw.Connection) -> int:
    """The newest logged seq (0 for an empty log). One index lookup."""
    row = db.execute("SELECT max(seq) FROM vector_changes").fetchall()[0][0]
    return int(row or 0)


def since(db: apsw.Connection, collection: str, space_id: int, after: int) -> ChangeBatch:
    """Changes to ``collection`` in ``space_id`` logged after seq ``after``.

    An id both written and removed ends up in whichever list its last entry
    says, so applying ``put`` then ``removed`` gives the final state.
    """
    # Fix the end first: anything committed later has a larger seq and is read
    # next time, so the separate statements below need no common snapshot.
    end = last_seq(db)
    state: dict[int, bool] = {}
    for space, item in db.execute(
            "SELECT space_id, item_id FROM vector_changes "
            "WHERE seq > ? AND seq <= ? AND collection = ? "
            "AND (space_id IS NULL OR space_id = ?) ORDER BY seq",
            (after, end, collection, space_id)):
        state.pop(item, None)  # re-insert so dict order follows the latest entry
        state[item] = space is not None
    # Pruning removes a prefix and seqs are never reused (AUTOINCREMENT): if the
    # oldest entry left is still at most after + 1, nothing we needed was pruned.
    first = db.execute("SELECT min(seq) FROM vector_changes").fetchall()[0][0]
    complete = end <= after or (first is not None and int(first) <= after + 1)
    return ChangeBatch(
        last_seq=max(end, after),
        put=tuple(i for i, alive in state.items() if alive),
        removed=tuple(i for i, alive in state.items() if not alive),
        complete=complete,
    )
