"""Keyword ranking over ``events_fts`` (FTS5 bm25) with a bounded cost.

FTS5 computes bm25 for every row matching the query before it can return the
best ``LIMIT``, at ≈1.5 µs a row here: a word in 75% of a million items costs
≈0.5 s, a word in 1.3% ≈25 ms. What bounds it (measured in
``tests/benchmarks/bench_search.py``):

* Count matches first, only up to ``window`` (≈1 ms): most queries have fewer
  and are ranked exactly as before.
* Otherwise, leave out words with more than ``window`` matches when rarer ones
  remain. bm25's IDF makes such words worth little (none at all above 50%,
  where FTS5 clamps IDF to ~0), and the rare words still find the items.
* If every word is that common, require all of them (AND).
* If the chosen expression still matches more than ``window`` items, rank only
  the ``window`` most recent of them (a rowid floor, which FTS5 seeks to
  directly): recent items are the likelier target of a vague query.
* A deadline stops anything that still runs away (a narrow filter over a very
  common word walks many rows); the keyword list is then empty, not wrong.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

import apsw

log = logging.getLogger(__name__)

WINDOW = 12_000
DEADLINE_S = 0.3
_BM25 = "bm25(events_fts, 2.0, 1.0, 0.5)"  # title counts double, people half


def match_expression(words: Sequence[str], op: str = "OR") -> str | None:
    """An FTS5 MATCH expression of ``words`` as quoted phrases (never FTS operators)."""
    phrases = [_phrase(w) for w in words if w]
    return f" {op} ".join(phrases) if phrases else None


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def count_upto(db: apsw.Connection, expr: str, cap: int) -> int:
    """How many rows match ``expr``, counting no further than ``cap``."""
    return db.execute("SELECT count(*) FROM (SELECT rowid FROM events_fts "
                      "WHERE events_fts MATCH ? LIMIT ?)", (expr, cap)).fetchall()[0][0]


def rank(db: apsw.Connection, words: Sequence[str], where: str, params: Sequence,
         limit: int, *, window: int = WINDOW, deadline_s: float = DEADLINE_S) -> list[int]:
    """Ids of events matching ``words`` (and ``where`` on alias ``e``), best first."""
    full = match_expression(words)
    if full is None:
        return []
    try:
        with _deadline(db, deadline_s):
            expr, floor = _plan(db, words, full, where, params, window)
            found = _ranked(db, expr, floor, where, params, limit)
            if not found and expr != full:  # no item holds every common word
                floor = _floor(db, full, where, params, window)
                found = _ranked(db, full, floor, where, params, limit)
            return found
    except apsw.InterruptError:
        log.warning("keyword search passed its %.0f ms deadline; meaning results only",
                    deadline_s * 1000)
        return []


def _plan(db: apsw.Connection, words: Sequence[str], full: str, where: str,
          params: Sequence, window: int) -> tuple[str, int | None]:
    """The expression to rank and the lowest rowid to consider (None: all)."""
    if count_upto(db, full, window + 1) <= window:
        return full, None
    counts = {w: count_upto(db, _phrase(w), window + 1) for w in words}
    rare = [w for w in words if counts[w] <= window]
    if rare and sum(counts[w] for w in rare) <= window:
        return str(match_expression(rare)), None
    expr = match_expression(rare) if rare else match_expression(words, "AND")
    return str(expr), _floor(db, str(expr), where, params, window)


def _floor(db: apsw.Connection, expr: str, where: str, params: Sequence,
           window: int) -> int | None:
    """The rowid of the ``window``-th most recent match (None if there are fewer)."""
    if where == "1":
        sql = ("SELECT rowid FROM events_fts WHERE events_fts MATCH ? "
               "ORDER BY rowid DESC LIMIT 1 OFFSET ?")
        rows = db.execute(sql, (expr, window)).fetchall()
    else:
        sql = ("SELECT f.rowid FROM events_fts f JOIN events e ON e.id = f.rowid "
               f"WHERE events_fts MATCH ? AND {where} ORDER BY f.rowid DESC LIMIT 1 OFFSET ?")
        rows = db.execute(sql, (expr, *params, window)).fetchall()
    return int(rows[0][0]) if rows else None


def _ranked(db: apsw.Connection, expr: str, floor: int | None, where: str,
            params: Sequence, limit: int) -> list[int]:
    floor_sql = "" if floor is None else " AND f.rowid >= ?"
    floor_arg = () if floor is None else (floor,)
    if where == "1":  # no filter: skip the per-row join with events
        sql = (f"SELECT f.rowid FROM events_fts f WHERE events_fts MATCH ?{floor_sql} "
               f"ORDER BY {_BM25} LIMIT ?")
        args: tuple = (expr, *floor_arg, limit)
    else:
        sql = ("SELECT f.rowid FROM events_fts f JOIN events e ON e.id = f.rowid "
               f"WHERE events_fts MATCH ?{floor_sql} AND {where} ORDER BY {_BM25} LIMIT ?")
        args = (expr, *floor_arg, *params, limit)
    return [r[0] for r in db.execute(sql, args)]


@contextmanager
def _deadline(db: apsw.Connection, seconds: float) -> Iterator[None]:
    end = time.monotonic() + seconds
    # Checked every few thousand VM steps (≈1 ms); the id keeps other handlers intact.
    db.set_progress_handler(lambda: time.monotonic() > end, 4000, id=_deadline)
    try:
        yield
    finally:
        db.set_progress_handler(None, id=_deadline)
