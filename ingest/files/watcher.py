"""Watched folders: watchdog keeps the index of each folder current.

``FolderWatcher`` is a capture source (``ingest.base.Source``). It first
catches up with each folder (a scan: only what changed since last time is
read), then follows watchdog's events:

- a file written (``closed`` after a write on Linux; ``created`` /
  ``modified`` / ``attrib`` elsewhere, after a longer quiet time) is indexed
  once it has been quiet for a moment, so a file written in many small writes
  is read once;
- a moved file or folder keeps its stored items under the new path;
- a deleted file is forgotten after a short delay: editors that save by
  renaming the old file away and writing a new one get a re-index (unchanged
  chunks kept) instead of a forget and re-add;
- a move out of the watched folders arrives as a delete.

watchdog's other events (opened, closed without writing, a folder "modified"
after each change inside it) are filtered when the watch is scheduled.
While capture is paused, changes wait and are applied on resume: a watched
folder mirrors the folder. The list of folders is re-read from settings every
few seconds, so `engram watch add/remove` reach a running daemon.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Sequence

from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileAttribEvent,
                             FileClosedEvent, FileCreatedEvent, FileDeletedEvent,
                             FileModifiedEvent, FileMovedEvent, FileSystemEvent,
                             FileSystemEventHandler)
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from core.config import Settings
from core.progress import Progress
from ingest.base import Control, Sink
from ingest.files.indexer import FileIndexer, IndexTarget, options_from_settings
from ingest.files.report import FileOutcome, IndexOptions, ScanReport

log = logging.getLogger(__name__)

Op = Literal["index", "delete", "scan"]
Activity = Callable[[FileOutcome], None]
_WANTED = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileAttribEvent,
           FileDeletedEvent, FileMovedEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent]


@dataclass(frozen=True)
class Timing:
    """How long a path must stay quiet before it is acted on, in seconds."""

    closed: float = 0.3    # a write finished (Linux tells us)
    # Created / modified without a close event (other systems, files moved in).
    # Longer than ``deleted`` + 0.5 s: watchdog reports the other half of a move
    # it could not pair half a second late, and ``pair_moves`` needs both.
    settle: float = 2.0
    deleted: float = 1.0   # long enough for a save-by-rename to bring the file back
    folders: float = 2.0   # how often the list of watched folders is re-read
    rescan: float = 300.0  # folders that could not be watched are re-scanned this often


class _Handler(FileSystemEventHandler):
    """Runs on watchdog's thread: only hands events over, never touches the store."""

    def __init__(self, root: Path, events: "queue.Queue[tuple[Path, FileSystemEvent]]") -> None:
        self.root = root
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.events.put((self.root, event))


class FolderWatcher:
    """A source that keeps watched folders indexed (see the module docstring)."""

    name = "files"

    def __init__(self, target: IndexTarget, options: IndexOptions,
                 folders: Callable[[], Sequence[Path]], *, timing: Timing = Timing(),
                 on_activity: Activity | None = None) -> None:
        self.target = target
        self.options = options
        self.folders = folders
        self.timing = timing
        self.on_activity = on_activity
        self._lock = threading.Lock()
        self._state = "starting"
        self._totals = ScanReport("")
        self._unwatchable: dict[Path, str] = {}

    @classmethod
    def from_settings(cls, target: IndexTarget, settings: Settings, *,
                      on_activity: Activity | None = None) -> "FolderWatcher":
        """Folders, ignore patterns and size limit from settings (re-read while running)."""

        def folders() -> list[Path]:
            settings.reload()
            return [Path(p) for p in settings.get("watched_folders") or []]

        return cls(target, options_from_settings(settings), folders, on_activity=on_activity)

    # -- Source -----------------------------------------------------------------------------
    def describe(self) -> str:
        """What the watcher is doing, in one line."""
        with self._lock:
            t = self._totals
            line = (f"{self._state}; {t.indexed} files indexed, {t.removed} forgotten, "
                    f"{t.skipped} skipped")
            if self._unwatchable:
                line += "; not watched (re-scanned every few minutes): " + ", ".join(
                    f"{p} ({why})" for p, why in self._unwatchable.items())
            return line

    def run(self, sink: Sink, control: Control) -> None:
        """Catch up with every folder, then follow changes until ``control.stopping``."""
        indexer = FileIndexer(self.target, self.options, sink=sink)
        events: "queue.Queue[tuple[Path, FileSystemEvent]]" = queue.Queue()
        observer = Observer()
        observer.start()
        run = _Run(self, indexer, observer, events, control)
        try:
            run.loop()
        finally:
            observer.stop()
            observer.join(timeout=10)
            self._set_state("stopped")

    # -- bookkeeping (called by _Run) ---------------------------------------------------------
    def _set_state(self, state: str) -> None:
        with self._lock:
            self._state = state

    def _record(self, report: ScanReport) -> None:
        with self._lock:
            self._totals.merge(ScanReport("", indexed=report.indexed, skipped=len(
                [o for o in report.outcomes if o.action == "skipped"]), removed=report.removed))
        if self.on_activity is not None:
            for outcome in report.outcomes:
                self.on_activity(outcome)


class _Run:
    """One run of the watcher: its watches, pending paths and the loop over them."""

    def __init__(self, watcher: FolderWatcher, indexer: FileIndexer, observer: Observer,
                 events: "queue.Queue[tuple[Path, FileSystemEvent]]", control: Control) -> None:
        self.w = watcher
        self.indexer = indexer
        self.observer = observer
        self.events = events
        self.control = control
        self.watches: dict[Path, ObservedWatch | None] = {}
        self.pending: dict[str, tuple[Op, float, Path]] = {}
        self.next_rescan: dict[Path, float] = {}

    def loop(self) -> None:
        timing, control = self.w.timing, self.control
        next_folders = 0.0
        while not control.stopping:
            now = time.monotonic()
            if now >= next_folders:
                self.sync_folders()
                next_folders = time.monotonic() + timing.folders
            due = min([t for _, t, _ in self.pending.values()] + [next_folders])
            try:
                root, event = self.events.get(timeout=max(0.05, min(1.0, due - now)))
                self.take(root, event)
                while True:  # drain what arrived meanwhile, in order
                    root, event = self.events.get_nowait()
                    self.take(root, event)
            except queue.Empty:
                pass
            if control.paused:
                self.w._set_state("paused")
                continue
            self.w._set_state("watching")
            self.process_due()
            self.rescan_unwatched()

    # -- folders ------------------------------------------------------------------------------
    def sync_folders(self) -> None:
        wanted = {p.expanduser().resolve() for p in self.w.folders()}
        for root in [r for r in self.watches if r not in wanted]:
            self.unschedule(root)
            del self.watches[root]
            self.w._unwatchable.pop(root, None)
            self.pending = {p: v for p, v in self.pending.items() if v[2] != root}
        for root in sorted(wanted - set(self.watches)):
            self.watches[root] = self.schedule(root)
            self.catch_up(root)

    def schedule(self, root: Path) -> ObservedWatch | None:
        try:
            watch = self.observer.schedule(_Handler(root, self.events), str(root),
                                           recursive=True, event_filter=_WANTED)
        except OSError as exc:  # missing folder, inotify watch limit reached
            self.w._unwatchable[root] = exc.strerror or str(exc)
            self.next_rescan[root] = time.monotonic() + self.w.timing.rescan
            log.warning("cannot watch a folder (%s); it is re-scanned periodically", exc)
            return None
        self.w._unwatchable.pop(root, None)
        return watch

    def unschedule(self, root: Path) -> None:
        watch = self.watches.get(root)
        self.watches[root] = None
        if watch is not None:
            try:
                self.observer.unschedule(watch)
            except KeyError:  # its emitter already stopped (the folder went away)
                pass

    def between_files(self, _progress: Progress) -> None:
        """Reported before each file: while capture is paused, the indexing waits here."""
        self.control.wait_while_paused()

    def catch_up(self, root: Path) -> None:
        self.w._set_state(f"scanning {root}")
        self.w._record(self.indexer.scan(root, cancel=self.control.cancel,
                                         progress=self.between_files))

    def rescan_unwatched(self) -> None:
        now = time.monotonic()
        for root, due in list(self.next_rescan.items()):
            if root in self.watches and self.watches[root] is None and now >= due:
                self.next_rescan[root] = now + self.w.timing.rescan
                if self.watches[root] is None and root.is_dir():
                    self.watches[root] = self.schedule(root)
                self.catch_up(root)

    # -- events -------------------------------------------------------------------------------
    def inside(self, root: Path, path: str) -> bool:
        if not path:
            return False
        try:
            return not self.indexer.ignored(Path(path), root)
        except ValueError:  # not under this root
            return False

    def want(self, path: str, op: Op, delay: float, root: Path) -> None:
        due = time.monotonic() + delay
        current = self.pending.get(path)
        if current is not None and current[0] == "scan" and op == "index":
            op = "scan"
        self.pending[path] = (op, due, root)

    def take(self, root: Path, event: FileSystemEvent) -> None:
        if root not in self.watches:
            return  # a folder removed from watching a moment ago
        timing = self.w.timing
        src = str(event.src_path)
        if isinstance(event, (FileMovedEvent, DirMovedEvent)):
            self.moved(root, src, str(event.dest_path), event.is_directory)
            return
        if Path(src) == root:  # the watched folder itself went away: keep its index
            self.unschedule(root)
            self.w._unwatchable[root] = "folder missing"
            self.next_rescan[root] = time.monotonic() + timing.rescan
            return
        if not self.inside(root, src):
            return
        if isinstance(event, (FileDeletedEvent, DirDeletedEvent)):
            self.want(src, "delete", timing.deleted, root)
        elif isinstance(event, DirCreatedEvent):
            self.want(src, "scan", timing.settle, root)
        elif isinstance(event, FileClosedEvent):
            self.want(src, "index", timing.closed, root)
        else:  # created, modified, attrib
            self.want(src, "index", timing.settle, root)

    def moved(self, root: Path, src: str, dest: str, is_dir: bool) -> None:
        timing = self.w.timing
        src_in, dest_in = self.inside(root, src), self.inside(root, dest)
        if src_in and dest_in:
            self.pending.pop(src, None)
            self.pending.pop(dest, None)  # e.g. a delete of the file this one replaces
            self.w._record(self.indexer.move(src, dest, root=root))
        elif src_in:  # moved away or renamed to an ignored name (an editor's backup~)
            self.want(src, "delete", timing.deleted, root)
        elif dest_in:
            self.want(dest, "scan" if is_dir else "index", timing.closed, root)

    def process_due(self) -> None:
        now = time.monotonic()
        due = sorted((p, v) for p, v in self.pending.items() if v[1] <= now)
        if not due:
            return
        for path, _ in due:
            del self.pending[path]
        due = self.pair_moves(due)
        by_root: dict[Path, dict[Op, list[str]]] = {}
        for path, (op, _, root) in due:
            by_root.setdefault(root, {}).setdefault(op, []).append(path)
        for root, ops in by_root.items():
            if not root.is_dir():  # unmounted or deleted: keep its index until it is back
                continue
            report = ScanReport(str(root))
            if ops.get("delete"):
                report.merge(self.indexer.forget_files(ops["delete"], folder=str(root)))
            if ops.get("index"):
                report.merge(self.indexer.index_files(
                    [Path(p) for p in ops["index"]], folder=str(root), cancel=self.control.cancel,
                    progress=self.between_files))
            for folder in ops.get("scan", []):
                report.merge(self.indexer.scan(Path(folder), root=root, cancel=self.control.cancel,
                                               progress=self.between_files))
            self.w._record(report)

    def pair_moves(self, due: list[tuple[str, tuple[Op, float, Path]]]
                   ) -> list[tuple[str, tuple[Op, float, Path]]]:
        """Treat "deleted here, created there" as a move when it is the same file.

        watchdog reports a move as a delete plus a create when the destination
        folder was created a moment before (its watch was not in place yet). A
        rename keeps size and mtime to the nanosecond, so a deleted file's stored
        state matching a new, unknown file's stat is taken as the same file.
        """
        deletes = [(p, v) for p, v in due if v[0] == "delete"]
        if not deletes and not any(v[0] == "index" for _, v in due):
            return due
        waiting = [(p, v) for p, v in self.pending.items()]
        book = self.indexer.book
        gone: dict[tuple[int, int], tuple[str, Path]] = {}
        for path, (op, _, root) in deletes + [(p, v) for p, v in waiting if v[0] == "delete"]:
            state = book.get(path)
            if state is not None and not os.path.exists(path):
                gone[(state.size, state.mtime_ns)] = (path, root)
        if not gone:
            return due
        used: set[str] = set()
        for path, (op, _, root) in [(p, v) for p, v in due + waiting if v[0] == "index"]:
            try:
                info = os.stat(path)
            except OSError:
                continue
            match = gone.pop((info.st_size, info.st_mtime_ns), None)
            if match is None or book.get(path) is not None:
                continue
            src, src_root = match
            used.update((src, path))
            self.pending.pop(src, None)
            self.pending.pop(path, None)
            self.w._record(self.indexer.move(src, path, root=root))
        return [(p, v) for p, v in due if p not in used]
