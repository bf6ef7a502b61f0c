"""The store: one encrypted file, one writer thread, a read connection per thread."""
from __future__ import annotations

import logging
import threading
import time
import weakref
from pathlib import Path
from typing import Callable, TypeVar

import apsw

from core.errors import DiskFull, StoreError
from core.store.db import connect, translate_error
from core.store.migrations import migrate
from core.store.reserve import Reserve
from core.store.writer import Writer

R = TypeVar("R")
log = logging.getLogger(__name__)


class Store:
    """Owns the database file while open.

    ``write(job)`` runs ``job(conn)`` in one transaction on the writer thread;
    ``reader()`` gives the calling thread its own read-only connection, so
    searches never wait for writes (WAL).
    """

    def __init__(self, path: Path, hexkey: str, *, backups_dir: Path,
                 reserve: Reserve | None = None, make_room: bool = False) -> None:
        """``reserve``: the data folder's reserve file, given back when a deletion
        (or, with ``make_room``, opening the store to delete) meets a full disk."""
        self.path = path
        self._hexkey = hexkey
        self.reserve = reserve
        while True:
            try:
                conn = self._open_writer(backups_dir)
                break
            except DiskFull:
                if not (make_room and reserve is not None and reserve.release()):
                    raise
        self._writer = Writer(conn, path)
        self._local = threading.local()
        self._readers: list[apsw.Connection] = []  # every open read connection
        self._idle: list[apsw.Connection] = []  # handed back by threads whose state ended
        self._readers_lock = threading.Lock()
        self._closed = False

    def _open_writer(self, backups_dir: Path) -> apsw.Connection:
        conn = connect(self.path, self._hexkey, writer=True)
        try:
            self.applied_migrations = migrate(conn, hexkey=self._hexkey, db_path=self.path,
                                              backups_dir=backups_dir)
        except BaseException as exc:
            conn.close()
            translated = translate_error(exc, self.path)
            if translated is not exc:
                raise translated from exc
            raise
        return conn

    def write(self, job: Callable[[apsw.Connection], R]) -> R:
        return self._writer.run(job)

    def with_room(self, work: Callable[[], R]) -> R:
        """Run ``work`` (a deletion); while it meets a full disk, give back a part of
        the reserve file and try again, until the reserve is used up. The reserve is
        topped up again when there is room."""
        while True:
            try:
                result = work()
                break
            except DiskFull:
                if self.reserve is None or not self.reserve.release():
                    raise
        if self.reserve is not None:
            self.reserve.ensure()
        return result

    def reader(self) -> apsw.Connection:
        """The calling thread's read connection (opened, or taken over, on first use).

        A thread's Python state can end while the thread lives on: a Qt pool thread
        loses its thread-locals after every task. Each task then opened a connection
        of its own and the old one stayed open until the store closed (the desktop
        app held 18 after a minute, their page caches filling SQLite's soft heap
        limit, so searches read from a 2 MB cache). Now a connection whose thread
        state ended goes back to an idle list, and the next new thread takes it,
        warm page cache included.
        """
        if self._closed:
            raise StoreError("The store is closed.")
        held = getattr(self._local, "held", None)
        if held is None:
            conn = self._take_idle() or self._open_reader()
            held = self._local.held = _Held(conn)
            weakref.finalize(held, self._give_back, conn)
        return held.conn

    def _open_reader(self) -> apsw.Connection:
        conn = connect(self.path, self._hexkey)
        with self._readers_lock:
            self._readers.append(conn)
        return conn

    def _take_idle(self) -> apsw.Connection | None:
        while True:
            with self._readers_lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if not conn.in_transaction:
                return conn
            # Left inside a transaction (it would pin an old snapshot): closed instead.
            with self._readers_lock:
                if conn in self._readers:
                    self._readers.remove(conn)
            _close_reader(conn)

    def _give_back(self, conn: apsw.Connection) -> None:
        """A thread's state ended (its thread-locals went): its connection is idle."""
        with self._readers_lock:
            if not self._closed and conn in self._readers:
                self._idle.append(conn)

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def compact(self, *, merge_index: bool = True) -> None:
        """After forgetting: merge the keyword index so forgotten words leave its
        pages, give free pages back to the file system (stores created with
        incremental auto-vacuum; older ones reuse them for new data), and fold
        the write-ahead log into the file."""
        if merge_index:
            try:
                self.with_room(lambda: self.write(lambda db: db.execute(
                    "INSERT INTO events_fts(events_fts) VALUES ('optimize')")))
            except DiskFull:  # the merge writes a whole new index first: later, with room
                log.warning("keyword index not merged after forgetting: the disk is full")
        self.with_room(lambda: self.write(
            lambda db: db.execute("PRAGMA incremental_vacuum").fetchall()))
        try:
            # PASSIVE never blocks capture's writes. The log (which held every deleted
            # page) is cut back to journal_size_limit when a write starts it over: one
            # header-only write does that now rather than whenever capture next writes.
            self.reader().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.write(lambda db: db.execute(
                f"PRAGMA user_version={db.execute('PRAGMA user_version').fetchall()[0][0]}"))
        except apsw.Error:  # a busy reader: the next checkpoint folds it
            pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._readers_lock:
            readers, self._readers, self._idle = self._readers, [], []
        for conn in readers:
            _close_reader(conn)
        self._writer.close()


class _Held:
    """Holds a thread's read connection in its thread-locals; dropped with them."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: apsw.Connection) -> None:
        self.conn = conn


def _close_reader(conn: apsw.Connection, wait: float = 10.0) -> None:
    """Close a read connection that another thread may be using right now (a view's
    load, a search): its query is interrupted, then the connection closes. Left open,
    it would keep the file busy — changing the passphrase then failed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.close()
            return
        except apsw.ThreadingViolationError:
            conn.interrupt()  # safe from any thread; the query ends with InterruptError
            if time.monotonic() > deadline:
                log.warning("a read connection still busy after %.0f s was left open", wait)
                return
            time.sleep(0.005)
        except apsw.Error:
            return


def rekey(path: Path, old_hexkey: str, new_hexkey: str) -> None:
    """Re-encrypt the whole file with a new key. The store must not be open.

    SQLite3MC cannot rekey a WAL database, so the file is switched to a rollback
    journal for the rekey and back to WAL afterwards; a crash midway leaves the
    journal to roll the file back to the old key.
    """
    conn = connect(path, old_hexkey, writer=True)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchall()[0][0]
        if str(mode).lower() != "delete":
            raise StoreError("Engram is running elsewhere (desktop app or daemon); "
                             "quit it before changing the passphrase.")
        conn.execute(f"PRAGMA hexrekey='{new_hexkey}'")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
