"""One worker thread per source; pause/resume for all; bounded restarts.

A source that raises is restarted after a short backoff, up to ``max_restarts``
times within ``restart_window`` seconds; after that it is marked failed with
its reason and stays stopped until the person restarts capture. Pause is global
("pause capture" in the tray), optionally until a time, after which capture
resumes by itself.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Callable, Sequence

from core.records import utcnow
from ingest.base import CaptureStatus, Control, Sink, Source, SourceStatus, State

log = logging.getLogger(__name__)

Listener = Callable[[], None]


class _Worker:
    def __init__(self, source: Source, sink: Sink, supervisor: "Supervisor") -> None:
        self.source = source
        self.control = Control()
        self.state: State = "starting"
        self.error: str | None = None
        self.restarts = 0
        self._sink = sink
        self._supervisor = supervisor
        self._failures: list[float] = []
        self.thread = threading.Thread(target=self._run, name=f"source-{source.name}",
                                       daemon=True)

    def _run(self) -> None:
        sup = self._supervisor
        while not self.control.stopping:
            self._set("paused" if self.control.paused else "running")
            try:
                self.source.run(self._sink, self.control)
                if self.control.stopping:
                    break
                # A source that returns on its own has nothing more to do.
                self._set("stopped")
                return
            except Exception as exc:  # a crashed source must not take the others down
                log.exception("source %s crashed", self.source.name)
                now = time.monotonic()
                self._failures = [t for t in self._failures if now - t < sup.restart_window]
                self._failures.append(now)
                self.error = f"{type(exc).__name__}: {exc}"
                if len(self._failures) > sup.max_restarts:
                    self._set("failed")
                    return
                self.restarts += 1
                self._set("starting")
                self.control.wait(sup.backoff * len(self._failures))
        self._set("stopped")

    def _set(self, state: State) -> None:
        if state != self.state:
            self.state = state
            self._supervisor._changed()


class Supervisor:
    """Runs sources, pauses and resumes them, reports their status."""

    def __init__(self, sources: Sequence[Source], sink: Sink, *, max_restarts: int = 3,
                 restart_window: float = 300.0, backoff: float = 2.0) -> None:
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.backoff = backoff
        self._workers = [_Worker(s, sink, self) for s in sources]
        self._paused_until: datetime | None = None
        self._paused = False
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        for worker in self._workers:
            worker.thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask every source to stop (each flushes what it holds) and wait for them."""
        if self._timer:
            self._timer.cancel()
        for worker in self._workers:
            worker.control.stop()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            if worker.thread.is_alive():
                worker.thread.join(max(0.0, deadline - time.monotonic()))

    # -- pause ----------------------------------------------------------------------
    def pause(self, duration: timedelta | None = None) -> None:
        """Pause every source; with ``duration``, resume by itself afterwards."""
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            self._paused = True
            self._paused_until = utcnow() + duration if duration else None
            if duration:
                self._timer = threading.Timer(duration.total_seconds(), self.resume)
                self._timer.daemon = True
                self._timer.start()
        for worker in self._workers:
            worker.control.pause()
            if worker.state == "running":
                worker._set("paused")
        self._changed()

    def resume(self) -> None:
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            self._paused = False
            self._paused_until = None
        for worker in self._workers:
            worker.control.resume()
            if worker.state == "paused":
                worker._set("running")
        self._changed()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def paused_until(self) -> datetime | None:
        return self._paused_until

    # -- status -----------------------------------------------------------------------
    def statuses(self) -> list[SourceStatus]:
        out = []
        for w in self._workers:
            try:
                detail = w.source.describe()
            except Exception:  # describing must never break a status display
                detail = ""
            out.append(SourceStatus(name=w.source.name, state=w.state, detail=detail,
                                    restarts=w.restarts, error=w.error,
                                    paused_until=self._paused_until))
        return out

    def status(self) -> CaptureStatus:
        """Paused or not, and every source's state (what the control channel reports)."""
        return CaptureStatus(self._paused, self._paused_until, tuple(self.statuses()))

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener()`` (from any thread) whenever a state changes."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("status listener failed")
