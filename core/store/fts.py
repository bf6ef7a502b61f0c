"""Keyword ranking over ``events_fts`` (FTS5 bm25) with a bounded cost.

FTS5 computes bm25 for every row matching the query before it can return the
best ``LIMIT``, at ≈1.5 µs a row here: a word in 75% of a million items costs
≈0.5 s, a word in 1.3% ≈25 ms. What bounds it (measured in
``tests/benchmarks/bench_search.py``):

* Count each word's matches, only up to ``window`` (≈1 ms): most queries
  have fewer in all and are ranked exactly as before.
* Otherwise, leave out words with more than ``window`` matches when rarer ones
  remain. bm25's IDF makes such words worth little (none at all above 50%,
  where FTS5 clamps IDF to ~0), and the rare words still find the items.
* If the rare words together still match more than ``window`` items, rank
  only the ``window`` most recent of those (a rowid floor FTS5 seeks to).
* If every word is that common, list the most recent items holding all of
  them (bm25 would rank by near-zero IDFs, at the highest cost).
* A time filter comes with the span of ids it can admit (from the in-memory
  index): FTS5 seeks to that span rather than walking every match.
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

WINDOW = 8_000
DEADLINE_S = 0.3
# Title counts double, people half; a chat message's neighbouring turns (the
# ``context`` column) little.
_BM25 = "bm25(events_fts, 2.0, 1.0, 0.5, 0.3)"


def match_expression(words: Sequence[str], op: str = "OR") -> str | None:
    """An FTS5 MATCH expression of ``words`` as quoted phrases (never FTS operators)."""
    phrases = [_phrase(w) for w in words if w]
    return f" {op} ".join(phrases) if phrases else None


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def count_upto(db: apsw.Connection, expr: str, cap: int,
               ids: tuple[int, int] | None = None) -> int:
    """Rows matching ``expr`` (within the id span ``ids``), counted no further than ``cap``."""
    span, args = _span("rowid", ids)
    return db.execute("SELECT count(*) FROM (SELECT rowid FROM events_fts "
                      f"WHERE events_fts MATCH ?{span} LIMIT ?)",
                      (expr, *args, cap)).fetchall()[0][0]


def rank(db: apsw.Connection, words: Sequence[str], where: str, params: Sequence,
         limit: int, *, ids: tuple[int, int] | None = None, window: int | None = None,
         deadline_s: float | None = None) -> list[int]:
    """Ids of events matching ``words`` (and ``where`` on alias ``e``), best first.

    ``ids`` is an optional (lowest, highest) id span known to hold every event
    ``where`` admits: FTS5 then seeks straight to it instead of walking matches
    outside a time filter.
    """
    if not words:
        return []
    window = WINDOW if window is None else window
    deadline_s = DEADLINE_S if deadline_s is None else deadline_s
    try:
        with _deadline(db, deadline_s):
            counts = {w: count_upto(db, _phrase(w), window + 1, ids) for w in words}
            rare = [w for w in words if counts[w] <= window]
            if sum(counts.values()) <= window:
                return _by_bm25(db, str(match_expression(words)), None, ids, where, params,
                                limit)
            if rare:
                expr = str(match_expression(rare))
                floor = None
                if sum(counts[w] for w in rare) > window:
                    floor = _floor(db, expr, ids, window)
                return _by_bm25(db, expr, floor, ids, where, params, limit)
            # Every word is in more than ``window`` items: bm25 would rank by
            # near-zero IDFs at a high cost; recency is cheaper and more useful.
            return (_by_recency(db, str(match_expression(words, "AND")), ids, where, params,
                                limit)
                    or _by_recency(db, str(match_expression(words)), ids, where, params,
                                   limit))
    except apsw.InterruptError:
        log.warning("keyword search passed its %.0f ms deadline; meaning results only",
                    deadline_s * 1000)
        return []


def _span(column: str, ids: tuple[int, int] | None) -> tuple[str, tuple]:
    if ids is None:
        return "", ()
    return f" AND {column} BETWEEN ? AND ?", (int(ids[0]), int(ids[1]))


def _floor(db: apsw.Connection, expr: str, ids: tuple[int, int] | None,
           window: int) -> int | None:
    """The rowid of the ``window``-th most recent match (None if there are fewer)."""
    span, args = _span("rowid", ids)
    rows = db.execute(f"SELECT rowid FROM events_fts WHERE events_fts MATCH ?{span} "
                      "ORDER BY rowid DESC LIMIT 1 OFFSET ?", (expr, *args, window)).fetchall()
    return int(rows[0][0]) if rows else None


def _select(expr: str, ids: tuple[int, int] | None, where: str, params: Sequence,
            floor: int | None = None) -> tuple[str, tuple]:
    """FROM/WHERE of a ranking query; joins events only when a filter needs it."""
    span, args = _span("f.rowid", ids)
    if floor is not None:
        span += " AND f.rowid >= ?"
        args += (floor,)
    if where == "1":
        return f"FROM events_fts f WHERE events_fts MATCH ?{span}", (expr, *args)
    return (f"FROM events_fts f JOIN events e ON e.id = f.rowid "
            f"WHERE events_fts MATCH ?{span} AND {where}", (expr, *args, *params))


def _by_bm25(db: apsw.Connection, expr: str, floor: int | None, ids: tuple[int, int] | None,
             where: str, params: Sequence, limit: int) -> list[int]:
    body, args = _select(expr, ids, where, params, floor)
    return [r[0] for r in db.execute(f"SELECT f.rowid {body} ORDER BY {_BM25} LIMIT ?",
                                     (*args, limit))]


def _by_recency(db: apsw.Connection, expr: str, ids: tuple[int, int] | None, where: str,
                params: Sequence, limit: int) -> list[int]:
    body, args = _select(expr, ids, where, params)
    return [r[0] for r in db.execute(f"SELECT f.rowid {body} ORDER BY f.rowid DESC LIMIT ?",
                                     (*args, limit))]


@contextmanager
def _deadline(db: apsw.Connection, seconds: float) -> Iterator[None]:
    end = time.monotonic() + seconds
    # Checked every few thousand VM steps (≈1 ms); the id keeps other handlers intact.
    db.set_progress_handler(lambda: time.monotonic() > end, 4000, id=_deadline)
    try:
        yield
    finally:
        db.set_progress_handler(None, id=_deadline)
