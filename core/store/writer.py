"""The one writer: a thread that owns the only write connection.

All writes go through one queue; each job runs in ``BEGIN IMMEDIATE`` …
``COMMIT`` (rolled back on any exception, so a failed job leaves nothing half
written). Readers use their own connections and never wait on this thread.
"""
from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Callable, TypeVar

import apsw

from core.store.db import translate_error

R = TypeVar("R")
WriteJob = Callable[[apsw.Connection], R]

log = logging.getLogger(__name__)
_STOP = object()


class Writer:
    """Runs write jobs, one transaction each, on a dedicated thread."""

    def __init__(self, connection: apsw.Connection, path: Path) -> None:
        self._conn = connection
        self._path = path
        self._queue: "queue.Queue[object]" = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def submit(self, job: "WriteJob[R]") -> "Future[R]":
        if self._closed:
            raise RuntimeError("the store is closed")
        fut: Future[R] = Future()
        self._queue.put((job, fut))
        return fut

    def run(self, job: "WriteJob[R]") -> R:
        """Run ``job`` in a write transaction and return its result."""
        if threading.current_thread() is self._thread:
            return job(self._conn)  # nested: already inside the transaction
        return self.submit(job).result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        conn = self._conn
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            job, fut = item  # type: ignore[misc]
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = job(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except apsw.Error:
                        log.exception("rollback failed")
                fut.set_exception(translate_error(exc, self._path))
            else:
                fut.set_result(result)
        try:
            # Fold the WAL back into the main file so a closed store is one file.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except apsw.Error:
            log.debug("checkpoint at close failed (another process holds the store)")
        conn.close()
