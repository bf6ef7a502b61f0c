"""Retention: how long captures are kept, and how much disk Engram may use.

The person sets (Settings › Privacy, or `engram retention`):

- ``retention_days``: captures older than this are forgotten (0: kept forever);
- ``retention_budget_mb``: when the database holds more than this, the oldest
  captures are forgotten until it fits (0: no budget);
- ``retention_sources``: which sources expire (default: the screen only —
  indexed files mirror files on disk and stay while their folder is watched;
  chats and notes expire only when listed);
- ``retention_keep_memories``: whether what Engram learned from expired
  captures stays (default) or goes with them.

Expiring goes through ``Pipeline.forget``, like the person's own forget: text,
keyword index entries, vectors and screenshots; at the end the keyword index
is merged (no expired words left in its pages) and freed pages are given back
to the file system (stores created with incremental auto-vacuum), so the file
on disk really shrinks.

Usage is measured from SQLite's page counts: "in use" is what the data
takes, "free" is space inside the file that new data reuses first.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import apsw

from core.progress import Cancel
from core.records import Changes, to_epoch, utcnow
from core.units import format_bytes

log = logging.getLogger(__name__)

# Files are not among them: an indexed file mirrors a file on disk and stays
# while its folder is watched (expiring it would only make the indexer's
# per-file state lie).
SOURCES = ("screen", "chat", "note")
DEFAULT_SOURCES = ("screen",)
MB = 1024 * 1024
# What one item costs beyond its text and picture: row, indexes, vectors (int8
# and float), keyword postings. Measured ≈ 2 KB/item at 1M (bench_search).
ITEM_OVERHEAD_BYTES = 2048
BATCH = 1000
# One apply at a time in a process (the periodic runner, "Apply now", the CLI).
_APPLY_LOCK = threading.Lock()


@dataclass(frozen=True)
class RetentionPolicy:
    days: int = 0
    budget_bytes: int = 0
    sources: tuple[str, ...] = DEFAULT_SOURCES
    keep_memories: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> RetentionPolicy:
        """Read the ``retention_*`` settings; malformed values mean "off", never an error."""
        def whole(key: str) -> int:
            try:
                return max(0, int(settings.get(key) or 0))
            except (TypeError, ValueError):
                log.warning("setting %s is not a whole number; ignoring it", key)
                return 0

        raw = settings.get("retention_sources")
        sources = tuple(s for s in SOURCES if s in raw) if isinstance(raw, list) else DEFAULT_SOURCES
        keep = settings.get("retention_keep_memories")
        if isinstance(keep, str):  # a hand-edited file: "false", "no", "0"
            keep = keep.strip().lower() not in ("false", "no", "0", "off")
        return cls(days=whole("retention_days"), budget_bytes=whole("retention_budget_mb") * MB,
                   sources=sources, keep_memories=True if keep is None else bool(keep))

    @property
    def active(self) -> bool:
        return bool(self.sources) and (self.days > 0 or self.budget_bytes > 0)

    def cutoff(self, now: datetime) -> datetime | None:
        return now - timedelta(days=self.days) if self.days > 0 else None


@dataclass(frozen=True)
class Usage:
    """Where the disk space goes, measured now."""

    file_bytes: int          # the database file and its write-ahead log
    used_bytes: int          # pages holding data
    free_bytes: int          # pages inside the file that new data reuses
    image_bytes: int         # screenshots (thumbnails and any full frames)
    items: Mapping[str, int] = field(default_factory=dict)  # per source
    oldest: Mapping[str, datetime] = field(default_factory=dict)  # per source
    backups_bytes: int = 0   # encrypted copies taken before upgrades
    models_bytes: int = 0    # GGUF models (not part of the budget)

    def to_dict(self) -> dict[str, Any]:
        return {"file_bytes": self.file_bytes, "used_bytes": self.used_bytes,
                "free_bytes": self.free_bytes, "image_bytes": self.image_bytes,
                "items": dict(self.items),
                "oldest": {k: v.isoformat() for k, v in self.oldest.items()},
                "backups_bytes": self.backups_bytes, "models_bytes": self.models_bytes}


@dataclass(frozen=True)
class Preview:
    """What applying a policy now would forget."""

    expired: int             # older than the keep-for age
    over_budget: int         # the oldest of the rest, to fit the budget (estimate)
    budget_reachable: bool   # False when even forgetting every item in scope leaves it over

    @property
    def total(self) -> int:
        return self.expired + self.over_budget


@dataclass(frozen=True)
class RetentionReport:
    expired: int = 0
    over_budget: int = 0
    freed_bytes: int = 0
    still_over_budget: bool = False
    budget_unreachable: bool = False  # the sources in scope alone could not fit it
    at: datetime | None = None
    removed_ids: tuple[int, ...] = ()  # so views can drop what they show

    @property
    def removed(self) -> int:
        return self.expired + self.over_budget

    @property
    def changes(self) -> Changes:
        """What the run changed, for the views to refresh from."""
        return Changes(removed=self.removed_ids)

    def describe(self) -> str:
        if not self.removed:
            text = "nothing to forget"
        else:
            parts = []
            if self.expired:
                parts.append(f"{self.expired:,} past the keep-for age")
            if self.over_budget:
                parts.append(f"{self.over_budget:,} to fit the disk budget")
            text = "forgot " + " and ".join(parts)
            if self.freed_bytes > 0:
                text += f"; {format_bytes(self.freed_bytes)} given back to the disk"
        if self.budget_unreachable:
            text += ("; over the disk budget even without every capture that expires, so "
                     "none was forgotten for it — choose a larger budget or more kinds")
        elif self.still_over_budget:
            text += "; still a little over the disk budget (the next run goes on)"
        return text


# -- measuring -------------------------------------------------------------------------

def pages(db: apsw.Connection) -> tuple[int, int]:
    """(used, free) bytes of the database, from its page counts."""
    size = db.execute("PRAGMA page_size").fetchall()[0][0]
    count = db.execute("PRAGMA page_count").fetchall()[0][0]
    free = db.execute("PRAGMA freelist_count").fetchall()[0][0]
    return (count - free) * size, free * size


def _folder_bytes(folder: Path, pattern: str = "*") -> int:
    total = 0
    try:
        for p in folder.glob(pattern):
            try:
                if p.is_file():
                    total += p.stat().st_size
            except OSError:
                continue
    except OSError:
        return 0
    return total


def measure(db: apsw.Connection, db_path: Path, *, backups_dir: Path | None = None,
            models_dir: Path | None = None) -> Usage:
    used, free = pages(db)
    file_bytes = _file_bytes(db_path)
    # length() of a blob reads its size from the record header, not the blob.
    image_bytes = db.execute(
        "SELECT coalesce(sum(length(data) + coalesce(length(full_data), 0)), 0) "
        "FROM event_images").fetchall()[0][0]
    items: dict[str, int] = {}
    oldest: dict[str, datetime] = {}
    for source, n, first in db.execute(
            "SELECT source, count(*), min(started_at) FROM events GROUP BY source"):
        items[source] = n
        oldest[source] = datetime.fromtimestamp(first).astimezone()
    return Usage(file_bytes=file_bytes, used_bytes=used, free_bytes=free,
                 image_bytes=int(image_bytes), items=items, oldest=oldest,
                 backups_bytes=_folder_bytes(backups_dir) if backups_dir else 0,
                 models_bytes=_folder_bytes(models_dir, "*.gguf") if models_dir else 0)


# -- choosing what goes -----------------------------------------------------------------

# What an item takes, estimated from what is stored with it (bytes, not characters).
_SIZE = ("length(CAST(e.text AS BLOB)) + coalesce(length(e.meta), 0) "
         "+ coalesce(length(i.data), 0) + coalesce(length(i.full_data), 0)")


def _scope(sources: Sequence[str]) -> tuple[str, list[Any]]:
    return f"e.source IN ({','.join('?' * len(sources))})", list(sources)


def expired_ids(db: apsw.Connection, policy: RetentionPolicy, now: datetime) -> list[int]:
    """Items in scope that ended before the keep-for cutoff, oldest first."""
    cutoff = policy.cutoff(now)
    if cutoff is None or not policy.sources:
        return []
    where, params = _scope(policy.sources)
    return [r[0] for r in db.execute(
        f"SELECT id FROM events e WHERE {where} AND ended_at < ? ORDER BY started_at, id",
        [*params, to_epoch(cutoff)])]


def oldest_by_size(db: apsw.Connection, policy: RetentionPolicy, need: int, *,
                   kept_from: datetime | None = None) -> tuple[list[int], int]:
    """The oldest items in scope whose estimated size adds up to ``need`` bytes.

    ``kept_from``: only items that end at or after it (older ones expire by age
    anyway). Returns (ids, estimated bytes); fewer bytes than asked means the
    scope ran out before the budget was reached.
    """
    where, params = _scope(policy.sources)
    if kept_from is not None:
        where += " AND e.ended_at >= ?"
        params.append(to_epoch(kept_from))
    ids: list[int] = []
    total = 0
    after: tuple[float, int] = (-1e300, -1)
    while total < need:
        rows = db.execute(
            f"SELECT e.id, e.started_at, {_SIZE} "
            f"FROM events e LEFT JOIN event_images i ON i.event_id = e.id "
            f"WHERE {where} AND (e.started_at, e.id) > (?, ?) "
            f"ORDER BY e.started_at, e.id LIMIT ?",
            [*params, *after, BATCH]).fetchall()
        if not rows:
            break
        for event_id, started, size in rows:
            ids.append(event_id)
            total += int(size or 0) + ITEM_OVERHEAD_BYTES
            if total >= need:
                break
        after = (rows[-1][1], rows[-1][0])
    return ids, total


def preview(db: apsw.Connection, policy: RetentionPolicy, *, now: datetime | None = None
            ) -> Preview:
    """How many items applying ``policy`` now would forget (the budget part estimated).

    A budget that forgetting every item in scope would not reach forgets
    nothing (``budget_reachable`` False): emptying the screen history every
    hour because indexed files alone fill the budget helps nobody.
    """
    if not policy.active:
        return Preview(0, 0, True)
    now = now or utcnow()
    expired = expired_ids(db, policy, now)
    over, reachable = 0, True
    if policy.budget_bytes:
        used, _free = pages(db)
        excess = used - _estimated_sizes(db, expired) - policy.budget_bytes
        if excess > 0:
            ids, got = oldest_by_size(db, policy, excess, kept_from=policy.cutoff(now))
            reachable = got >= excess
            over = len(ids) if reachable else 0
    return Preview(len(expired), over, reachable)


def _estimated_sizes(db: apsw.Connection, ids: Sequence[int]) -> int:
    total = 0
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        marks = ",".join("?" * len(chunk))
        total += db.execute(
            f"SELECT coalesce(sum({_SIZE}), 0) FROM events e LEFT JOIN event_images i ON i.event_id = e.id "
            f"WHERE e.id IN ({marks})", chunk).fetchall()[0][0]
        total += ITEM_OVERHEAD_BYTES * len(chunk)
    return total


# -- applying -----------------------------------------------------------------------------

def apply(pipeline: Any, policy: RetentionPolicy, *, now: datetime | None = None,
          cancel: Cancel | None = None) -> RetentionReport:
    """Forget what the policy says is past keeping; return what was done.

    Runs in batches, each its own transaction, so capture and search go on in
    between and a stop (or a crash) leaves every batch either done or not.
    """
    now = now or utcnow()
    if not policy.active:
        return RetentionReport(at=now)
    with _APPLY_LOCK:
        return _apply(pipeline, policy, now, cancel or Cancel())


def _apply(pipeline: Any, policy: RetentionPolicy, now: datetime,
           cancel: Cancel) -> RetentionReport:
    store = pipeline.store
    db = store.reader()
    before = _file_bytes(store.path)
    gone: list[int] = []
    for batch in _batches(expired_ids(db, policy, now)):
        if cancel.cancelled:
            break
        gone += pipeline.forget(batch, scrub=False,
                                keep_memories=policy.keep_memories).removed
    expired = len(gone)
    compacted = False
    if expired and not cancel.cancelled:
        store.compact()
        compacted = True
    over_budget, still_over, unreachable = 0, False, False
    if policy.budget_bytes:
        # Estimate, forget, compact, measure again: the keyword index only
        # shrinks when merged, so measuring before compacting would over-delete.
        for _round in range(6):
            if cancel.cancelled:
                break
            excess = pages(store.reader())[0] - policy.budget_bytes
            if excess <= 0:
                break
            ids, got = oldest_by_size(store.reader(), policy, excess)
            if got < excess:  # even all of them would not do: forget none (see preview)
                still_over = unreachable = True
                break
            for batch in _batches(ids):
                if cancel.cancelled:
                    break
                removed = pipeline.forget(batch, scrub=False,
                                          keep_memories=policy.keep_memories).removed
                gone += removed
                over_budget += len(removed)
            if cancel.cancelled:
                break
            store.compact()
            compacted = True
        else:
            still_over = pages(store.reader())[0] > policy.budget_bytes
    if not compacted and not cancel.cancelled and _reclaimable(store):
        store.compact(merge_index=False)  # space freed since, e.g. by re-indexed files
    freed = before - _file_bytes(store.path)
    report = RetentionReport(expired=expired, over_budget=over_budget, freed_bytes=max(0, freed),
                             still_over_budget=still_over, budget_unreachable=unreachable,
                             at=now, removed_ids=tuple(gone))
    if report.removed:
        log.info("retention: %s", report.describe())
    return report


def _reclaimable(store: Any) -> bool:
    """Free pages an incremental-vacuum store could give back to the disk."""
    db = store.reader()
    return (db.execute("PRAGMA auto_vacuum").fetchall()[0][0] == 2
            and db.execute("PRAGMA freelist_count").fetchall()[0][0] > 0)


def _batches(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i:i + BATCH]) for i in range(0, len(ids), BATCH)]


def _file_bytes(path: Path) -> int:
    return sum(os.stat(f"{path}{s}").st_size for s in ("", "-wal") if os.path.exists(f"{path}{s}"))


class RetentionRunner:
    """Applies the person's retention settings in the background: shortly after
    start, then every ``interval`` seconds, and at once when ``run_now`` asks.

    Settings are re-read before each run, so a change made in another process
    (the CLI, the desktop app while a daemon captures) takes effect too.
    """

    def __init__(self, pipeline: Any, settings: Any, *, interval: float = 3600.0,
                 first_delay: float = 120.0,
                 on_done: Callable[[RetentionReport], None] | None = None) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.interval = interval
        self.first_delay = first_delay
        self.on_done = on_done
        self.last: RetentionReport | None = None
        self.last_error: str | None = None
        self._stop = Cancel()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.cancel()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def run_now(self) -> None:
        self._wake.set()

    def run_once(self) -> RetentionReport:
        reload = getattr(self.settings, "reload", None)
        if reload is not None:
            reload()
        report = apply(self.pipeline, RetentionPolicy.from_settings(self.settings),
                       cancel=self._stop)
        self.last, self.last_error = report, None
        return report

    def _run(self) -> None:
        delay = self.first_delay
        while not self._stop.cancelled:
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.cancelled:
                break
            delay = self.interval
            try:
                report = self.run_once()
            except Exception as exc:  # a full disk, a locked store: say so, try again later
                self.last_error = str(exc) or type(exc).__name__
                log.warning("retention: %s", self.last_error, exc_info=True)
                continue
            if self.on_done is not None and report.removed:
                try:
                    self.on_done(report)
                except Exception:
                    log.exception("retention: on_done failed")


__all__ = ["RetentionPolicy", "RetentionRunner", "RetentionReport", "Preview", "Usage", "apply",
           "expired_ids", "format_bytes", "measure", "preview"]
