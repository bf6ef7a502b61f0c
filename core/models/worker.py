"""One thread owns one model; everything else sends it jobs.

llama.cpp contexts are not safe to share between threads, and a model is large,
so each model (the embedder, the chat model) lives on a ``ModelThread``: a
daemon thread that loads the model lazily on first use, runs submitted jobs in
priority order (interactive before background, FIFO within a priority), and
unloads the model after an idle period to give its memory back.

Long background jobs should call ``interactive_waiting()`` between steps (e.g.
between generated tokens) and stop early when it returns True, so a person never
waits behind background work.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Callable, Generic, TypeVar

M = TypeVar("M")
R = TypeVar("R")

INTERACTIVE = 0
BACKGROUND = 10

log = logging.getLogger(__name__)

_STOP = object()


class ModelThread(Generic[M]):
    """A thread that owns a lazily loaded model and runs jobs against it."""

    def __init__(
        self,
        name: str,
        load: Callable[[], M],
        *,
        unload: Callable[[M], None] | None = None,
        idle_unload_seconds: float | None = None,
    ) -> None:
        self.name = name
        self._load = load
        self._unload = unload
        self._idle_unload = idle_unload_seconds
        self._queue: queue.PriorityQueue[tuple[int, int, object]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._model: M | None = None
        self._interactive_pending = 0
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"model-{name}", daemon=True)
        self._thread.start()

    # -- public -----------------------------------------------------------------
    def submit(self, job: Callable[[M], R], *, priority: int = BACKGROUND) -> "Future[R]":
        """Queue ``job(model)``; the returned future has its result or exception."""
        fut: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"model thread {self.name} is closed")
            if priority <= INTERACTIVE:
                self._interactive_pending += 1
        self._queue.put((priority, next(self._seq), (job, fut, priority)))
        return fut

    def call(self, job: Callable[[M], R], *, priority: int = BACKGROUND,
             timeout: float | None = None) -> R:
        """Run ``job`` on the model thread and wait for its result."""
        if threading.current_thread() is self._thread:
            # Re-entrant call from a job already on this thread: run inline.
            return job(self._ensure_loaded())
        return self.submit(job, priority=priority).result(timeout)

    def queued(self) -> int:
        """Jobs waiting (not counting the one running)."""
        return self._queue.qsize()

    def interactive_waiting(self) -> bool:
        """True while an interactive job is queued (background work should yield)."""
        return self._interactive_pending > 0

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def unload_now(self) -> None:
        """Drop the model (it reloads on the next job)."""
        self._queue.put((INTERACTIVE, next(self._seq), "unload"))

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put((1 << 30, next(self._seq), _STOP))
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    # -- thread -----------------------------------------------------------------
    def _ensure_loaded(self) -> M:
        if self._model is None:
            started = time.perf_counter()
            self._model = self._load()
            log.debug("model %s loaded in %.2fs", self.name, time.perf_counter() - started)
        return self._model

    def _drop(self) -> None:
        if self._model is not None:
            model, self._model = self._model, None
            if self._unload is not None:
                try:
                    self._unload(model)
                except Exception:  # unloading must never kill the thread
                    log.exception("unloading model %s failed", self.name)
            log.debug("model %s unloaded", self.name)

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._idle_unload)
            except queue.Empty:
                self._drop()  # idle for long enough: give the memory back
                continue
            _prio, _seq, payload = item
            if payload is _STOP:
                self._drop()
                return
            if payload == "unload":
                self._drop()
                continue
            job, fut, priority = payload  # type: ignore[misc]
            if priority <= INTERACTIVE:
                with self._lock:
                    self._interactive_pending -= 1
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                result = job(self._ensure_loaded())
            except BaseException as exc:  # delivered to the caller, never swallowed
                fut.set_exception(exc)
            else:
                fut.set_result(result)
