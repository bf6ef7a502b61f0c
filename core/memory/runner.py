"""Background consolidation for the desktop app and the daemon.

A daemon thread wakes every ``poll_seconds``; when events are waiting and
capture has been quiet for ``idle_seconds`` (or a backlog of ``backlog``
events built up), it consolidates one batch at a time, checking ``stop``
between batches. Each batch is one short write transaction and the model runs
at background priority, so capture and search never wait on it for long.
``on_done`` hears about every batch that changed something (views refresh
once from the report).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable

from core.errors import ModelError
from core.memory import rows
from core.memory.consolidate import MODEL_BATCH, Extractor, consolidate, fill_vectors
from core.memory.types import ConsolidationReport
from core.progress import Cancel

log = logging.getLogger(__name__)

RULES_BATCH = 100  # one short write transaction per wake-up


BACKGROUND_NICE = 10


def lower_priority(nice: int = BACKGROUND_NICE) -> bool:
    """Lower the calling thread's CPU priority (Linux: niceness is per thread), so the rule
    builder running in it gives way to capture and the UI. The chat model runs on its own
    thread, shared with Ask, so it is not niced: background generation gives way by
    preemption instead (``core.models.runtime``). False where the platform cannot."""
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        return True
    except (AttributeError, OSError):
        return False


class ConsolidationRunner:
    """Runs consolidation in the background until ``stop()``."""

    def __init__(self, engine: Any, *, extractor: Extractor | None = None,
                 poll_seconds: float = 15.0, idle_seconds: float = 30.0, backlog: int = 500,
                 batch_size: int | None = None,
                 on_done: Callable[[ConsolidationReport], None] | None = None) -> None:
        self.engine = engine
        self.extractor = extractor
        self.poll_seconds = poll_seconds
        self.idle_seconds = idle_seconds
        self.backlog = backlog
        self.batch_size = batch_size
        self.on_done = on_done
        self._stop = Cancel()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="memory-consolidation",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.cancel()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def due(self) -> bool:
        """Events are waiting and capture is quiet (or the backlog is large)."""
        db = self.engine.store.reader()
        pending = rows.pending_events(db)
        if not pending:
            return False
        if pending >= self.backlog:
            return True
        newest = db.execute("SELECT max(stored_at) FROM events").fetchall()[0][0] or 0.0
        return time.time() - float(newest) >= self.idle_seconds

    def run_once(self) -> ConsolidationReport | None:
        """One batch, if due; the report, or None when nothing was due."""
        if not self.due():
            fill_vectors(self.engine, limit=256)
            return None
        # Rules alone: 100 events a batch; with a model, the batch its extractor reads.
        batch = self.batch_size or (int(getattr(self.extractor, "batch_size", MODEL_BATCH))
                                    if self.extractor is not None else RULES_BATCH)
        return consolidate(self.engine, cancel=self._stop, extractor=self.extractor,
                           batch_size=batch, max_batches=1)

    def _run(self) -> None:
        lower_priority()
        backoff = self.poll_seconds
        while not self._stop.cancelled:
            try:
                report = self.run_once()
                self.last_error = None
                backoff = self.poll_seconds
            except ModelError as exc:
                # No model output this round (model missing, out of memory …): the
                # batch stays unprocessed and is retried later, less often.
                self.last_error = str(exc)
                log.warning("memory consolidation: %s", exc)
                report, backoff = None, min(backoff * 2, 600.0)
            except Exception as exc:  # keep the thread alive; say why in status
                self.last_error = str(exc)
                log.exception("memory consolidation failed")
                report, backoff = None, min(backoff * 2, 600.0)
            if report is not None and report.events and self.on_done is not None:
                self.on_done(report)
            if report is not None and report.pending and not report.cancelled:
                continue  # more waiting: next batch right away
            self._stop.wait(backoff)
