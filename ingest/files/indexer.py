"""Keep the store in step with a folder's documents, incrementally.

``FileIndexer.scan(folder)`` walks a folder (ignore patterns, size limit),
reads only what changed since the last scan and stores each file as chunks.
A file's state (size, mtime, indexed or skipped and why) lives in the
encrypted store's ``files`` table; its chunks are events whose external id is
the chunk's identity (path + position + content hash). So:

- an unchanged file costs a stat;
- a changed file is re-read and diffed against its stored chunks: identical
  chunks stay, a chunk that only shifted position is re-identified in place
  (no re-embedding), new text is added and text that disappeared is forgotten;
- a moved file keeps its events (and whatever was built from them) under the
  new path; a deleted file is forgotten like ``engram forget`` forgets.

Every problem with one file (encrypted PDF, corrupt DOCX, permission denied,
vanished mid-read, binary, too large) becomes a recorded reason, never an
exception that stops the scan.
"""
from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path
from typing import Iterable, Protocol, Sequence

from core.config import Settings
from core.progress import Cancel, Progress, ProgressFn
from core.records import (FILE_SOURCE, Changes, FileEvent, FileState, Observation, Relocate,
                          Relocation, Retract, SinkItem, from_epoch)
from ingest.base import Sink
from ingest.files.chunk import HEADING_SEPARATOR, Chunk, chunk, external_id
from ingest.files.extract import Extracted, Skipped, extract
from ingest.files.ignore import is_ignored, with_defaults
from ingest.files.report import (FileOutcome, IndexOptions, ScanReport, shown_path,
                                 special_kind)

log = logging.getLogger(__name__)



class FileBookLike(Protocol):
    """What the indexer remembers per file, kept for it by the pipeline (core.filebook)."""

    @property
    def own_folder(self) -> Path: ...
    def get(self, path: str) -> FileState | None: ...
    def under(self, folder: str) -> dict[str, FileState]: ...
    def events_of(self, path: str) -> list[FileEvent]: ...
    def events_under(self, folder: str) -> list[FileEvent]: ...
    def event_counts_under(self, folder: str) -> dict[str, int]: ...
    def record(self, states: Iterable[FileState], gone: Iterable[str] = ()) -> None: ...
    def rename(self, moves: Iterable[tuple[str, str]]) -> None: ...


class IndexTarget(Protocol):
    """Where indexing goes: a sink for typed items and the file book (the pipeline fits)."""

    files: FileBookLike

    def take(self, items: Sequence[SinkItem]) -> Changes: ...

# Reasons that say nothing about the file's content: retried at every scan,
# and the file's stored chunks are kept meanwhile.
_TRANSIENT = ("permission denied", "file vanished", "cannot read")
# Flush accumulated work to the store at about this size (one embedding batch).
_FLUSH_CHUNKS = 128
_FLUSH_FILES = 256

__all__ = ["FileIndexer", "FileOutcome", "IndexOptions", "ScanReport", "options_from_settings"]


def options_from_settings(settings: Settings) -> IndexOptions:
    """Ignore patterns (defaults + the person's own) and the size limit, from settings."""
    extra = settings.get("file_ignore_patterns") or []
    max_mb = float(settings.get("file_max_mb") or 20)
    data_kb = settings.get("file_data_max_kb")
    return IndexOptions(patterns=with_defaults(extra), max_bytes=int(max_mb * 1024 * 1024),
                        ignore_hidden=bool(settings.get("file_ignore_hidden", True)),
                        data_max_bytes=int(float(256 if data_kb is None else data_kb) * 1024))


def is_transient(reason: str | None) -> bool:
    return bool(reason) and reason.startswith(_TRANSIENT)  # type: ignore[union-attr]


def rebased_id(old_external_id: str, new_path: str) -> str:
    """The external id a chunk gets when its file moves (position and hash stay)."""
    tail = old_external_id.rsplit("#", 1)[1]
    return f"file:{new_path}#{tail}"


def _hash_of(ext: str | None) -> str | None:
    if not ext or "#" not in ext:
        return None
    return ext.rsplit("#", 1)[1].partition(":")[2] or None


class _Batch:
    """Work gathered across files and written together: one embedding batch."""

    def __init__(self) -> None:
        self.observations: list[Observation] = []
        self.relocations: list[Relocation] = []
        self.replaced: list[int] = []  # chunks of changed files: no index scrub needed
        self.deleted: list[int] = []   # chunks of deleted files: scrubbed like a forget
        self.states: list[FileState] = []
        self.gone: list[str] = []
        self.files = 0

    def __len__(self) -> int:
        return self.files


class FileIndexer:
    """Indexes files by handing typed items to a sink: it never writes to the store.

    ``target`` gives the sink (``take``) and the per-file book; ``sink`` replaces
    the sink (the watcher passes the one its supervisor gave it).
    """

    def __init__(self, target: IndexTarget, options: IndexOptions = IndexOptions(),
                 *, sink: Sink | None = None) -> None:
        self.book = target.files
        self.options = options
        self._take = sink or target.take
        # Engram's own folder (the store, its WAL, backups) is never indexed,
        # even inside a watched folder: it would index itself as it writes.
        self._own = str(self.book.own_folder)

    def ignored(self, path: Path, root: Path) -> bool:
        """Whether a scan of ``root`` leaves ``path`` out (patterns, hidden, Engram's own data).

        Raises ``ValueError`` when ``path`` is not inside ``root``.
        """
        text = str(path)
        if text == self._own or text.startswith(self._own + os.sep):
            return True
        opts = self.options
        return is_ignored(path, root, opts.patterns, ignore_hidden=opts.ignore_hidden)

    # -- whole folders ------------------------------------------------------------------
    def scan(self, folder: Path, *, root: Path | None = None, progress: ProgressFn | None = None,
             cancel: Cancel | None = None) -> ScanReport:
        """Bring the store in line with ``folder`` (absolute, resolved); return what changed.

        ``root`` is the watched folder ``folder`` lies in (default: itself):
        ignore patterns are relative to it. Files that disappeared since the
        last scan are forgotten, except inside sub-folders that could not be
        listed this time. ``cancel`` is checked between files; a cancelled
        scan keeps what it did and forgets nothing.
        """
        started = time.monotonic()
        report = ScanReport(str(folder))
        if not folder.is_dir():
            report.problems.append((str(folder), "folder not found"))
            return report
        paths, unlisted = self._walk(folder, root or folder, report)
        known = self.book.under(str(folder))
        present = self.book.event_counts_under(str(folder))
        # Chunks stored without a file state (a crash between the two writes)
        # still belong to a file that may be gone.
        orphans = set(present) - set(known)
        batch = _Batch()
        total = len(paths)
        for n, path in enumerate(paths):
            if progress is not None:
                progress(Progress(n, total, str(path)))
            if cancel is not None and cancel.cancelled:
                report.cancelled = True
                break
            key = str(path)
            orphans.discard(key)
            self._check(path, known.pop(key, None), present.get(key, 0), batch, report)
            if len(batch.observations) >= _FLUSH_CHUNKS or len(batch) >= _FLUSH_FILES:
                self._apply(batch, report)
                batch = _Batch()
        if not report.cancelled:
            # Not found this time, unless inside a folder that could not be listed
            # (it may hold them still) or being such a folder (its problem row).
            gone = [p for p in sorted(set(known) | orphans) if p not in unlisted
                    and not any(p.startswith(u + os.sep) for u in unlisted)]
            folders = {p for p in gone if p in known and (known[p].problem or "").endswith(
                "(folder)")}  # a folder's old problem: it can be listed again
            batch.gone += folders
            self._forget_files([p for p in gone if p not in folders], batch, report)
            batch.states += [FileState(u, 0, 0, "skipped", f"{why} (folder)")
                             for u, why in unlisted.items()]
        self._apply(batch, report)
        if progress is not None and not report.cancelled:
            progress(Progress(total, total))
        report.seconds = time.monotonic() - started
        return report

    def _walk(self, folder: Path, root: Path,
              report: ScanReport) -> tuple[list[Path], dict[str, str]]:
        """Every file to consider, sorted; and the sub-folders that could not be
        listed, with why."""
        found: list[Path] = []
        unlisted: dict[str, str] = {}

        def on_error(exc: OSError) -> None:
            where = str(exc.filename or folder).rstrip(os.sep)
            reason = "permission denied" if isinstance(exc, PermissionError) else \
                f"cannot list folder: {exc.strerror or exc}"
            unlisted[where] = reason
            report.problems.append((where, f"{reason} (folder)"))

        # The walk never enters an ignored folder, so a file's own name is all
        # that is left to check (a stat per ancestor per file adds up), unless a
        # pattern names a path.
        anchored = any("/" in p.rstrip("/") for p in self.options.patterns)
        for dirpath, dirnames, filenames in os.walk(folder, onerror=on_error):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not self.ignored(here / d, root))
            base = root if anchored else here
            for name in filenames:
                path = here / name
                if not self.ignored(path, base):
                    found.append(path)
        found.sort()
        return found, unlisted

    # -- single files (the watcher) -------------------------------------------------------
    def index_files(self, paths: Sequence[Path], *, cancel: Cancel | None = None,
                    progress: ProgressFn | None = None, folder: str = "") -> ScanReport:
        """Re-check these files: index what changed, forget the ones that are gone."""
        started = time.monotonic()
        report = ScanReport(folder)
        batch = _Batch()
        for n, path in enumerate(paths):
            if progress is not None:
                progress(Progress(n, len(paths), str(path)))
            if cancel is not None and cancel.cancelled:
                report.cancelled = True
                break
            key = str(path)
            present = len(self.book.events_of(key))
            self._check(path, self.book.get(key), present, batch, report)
            if len(batch.observations) >= _FLUSH_CHUNKS or len(batch) >= _FLUSH_FILES:
                self._apply(batch, report)
                batch = _Batch()
        self._apply(batch, report)
        report.seconds = time.monotonic() - started
        return report

    def forget_files(self, paths: Iterable[str], *, folder: str = "") -> ScanReport:
        """Forget deleted files (and, for a folder path, everything inside it)."""
        report = ScanReport(folder)
        batch = _Batch()
        self._forget_files(list(paths), batch, report)
        self._apply(batch, report)
        return report

    def move(self, src: str, dest: str, *, root: Path | None = None) -> ScanReport:
        """A file or folder was moved or renamed inside the indexed folders.

        Stored chunks keep their events under the new path. If something was
        already indexed at ``dest`` (a save that writes a temporary file and
        renames it over the original), ``dest`` is re-indexed against its own
        chunks instead, so its unchanged chunks stay, and ``src`` is forgotten.
        """
        report = ScanReport(dest)
        book = self.book
        moved = book.events_of(src)
        states = {src: s} if (s := book.get(src)) else {}
        prefix_moves = []
        if not moved and not states:  # a folder, or something never indexed
            moved = book.events_under(src)
            states = book.under(src)
            prefix_moves = [(p, dest + p[len(src):]) for p in states]
        if not moved and not states:
            return self._reindex(Path(dest), root, report)
        pairs = prefix_moves or [(src, dest)]
        pairs += sorted({(e.path, dest + e.path[len(src):]) for e in moved} - set(pairs))
        taken = {new for _, new in pairs if book.events_of(new) or book.get(new)}
        relocations: list[Relocation] = []
        for ev in moved:
            new_path = dest + ev.path[len(src):]
            if new_path in taken or ev.external_id is None:
                continue
            relocations.append(Relocation(
                ev.id, new_path, rebased_id(ev.external_id, new_path),
                _retitle(ev.title, Path(ev.path).name, Path(new_path).name), ev.meta))
        if relocations:
            self._take([Relocate(tuple(relocations))])
        book.rename([(a, b) for a, b in pairs if b not in taken])
        report.relocated += len(relocations)
        report.outcomes.append(FileOutcome(src, "moved", kept=len(relocations), dest=dest))
        if taken:
            old = [a for a, b in pairs if b in taken]
            report.merge(self.forget_files(old))
        # Catch a file that also changed, or files that arrived with a moved folder.
        return report.merge(self._reindex(Path(dest), root, ScanReport(dest)))

    def _reindex(self, dest: Path, root: Path | None, report: ScanReport) -> ScanReport:
        if dest.is_dir():
            return report.merge(self.scan(dest, root=root))
        return report.merge(self.index_files([dest]))

    # -- one file -------------------------------------------------------------------------
    def _check(self, path: Path, state: FileState | None, present: int,
               batch: _Batch, report: ScanReport) -> None:
        key = str(path)
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:  # cannot be stored faithfully: reported, not recorded
            report.skipped += 1
            report.problems.append((shown_path(key), "file name is not valid UTF-8"))
            return
        try:
            info = os.stat(path)
        except FileNotFoundError:
            if state is not None or present:
                self._forget_files([key], batch, report)
            return
        except OSError as exc:
            info = None
            reason = "permission denied" if isinstance(exc, PermissionError) else \
                f"cannot read ({exc.strerror or exc})"
        if info is not None:
            if not stat.S_ISREG(info.st_mode):  # never opened: a FIFO would block a read
                if not stat.S_ISDIR(info.st_mode):
                    batch.files += 1
                    self._skip(key, f"not a regular file ({special_kind(info.st_mode)})",
                               info.st_size, info.st_mtime_ns, batch, report)
                return
            if self._unchanged(state, info, present):
                if state is not None and state.status == "skipped":
                    report.skipped += 1
                    report.problems.append((key, state.problem or "unknown"))
                else:
                    report.unchanged += 1
                return
            result = extract(path, max_bytes=self.options.max_bytes,
                             data_max_bytes=self.options.data_max_bytes)
            report.bytes_read += info.st_size
        else:
            result = Skipped(path, reason)
        batch.files += 1
        size, mtime_ns = (info.st_size, info.st_mtime_ns) if info else (0, 0)
        if isinstance(result, Skipped):
            self._skip(key, result.reason, size, mtime_ns, batch, report)
        else:
            self._diff(key, result, chunk(result), size, mtime_ns, batch, report)

    def _unchanged(self, state: FileState | None, info: os.stat_result,
                   present: int) -> bool:
        if state is None or state.size != info.st_size or state.mtime_ns != info.st_mtime_ns:
            return False
        if state.status == "skipped":
            problem = state.problem or ""
            if problem.startswith("larger than") and info.st_size <= self.options.max_bytes:
                return False  # the limit was raised since
            return not is_transient(problem)
        # Every chunk forgotten by hand while the file stayed: read it again.
        return present > 0 or state.chunks == 0

    def _skip(self, key: str, reason: str, size: int, mtime_ns: int, batch: _Batch,
              report: ScanReport) -> None:
        removed = 0
        if not is_transient(reason):
            # The file changed into something unreadable: its old text is stale.
            old = [e.id for e in self.book.events_of(key)]
            batch.replaced += old
            removed = len(old)
        batch.states.append(FileState(key, size, mtime_ns, "skipped", reason))
        report.skipped += 1
        report.chunks_removed += removed
        report.problems.append((key, reason))
        report.outcomes.append(FileOutcome(key, "skipped", removed=removed, reason=reason))

    def _diff(self, key: str, extracted: Extracted, chunks: list[Chunk], size: int,
              mtime_ns: int, batch: _Batch, report: ScanReport) -> None:
        path = Path(key)
        old = self.book.events_of(key)
        by_ext = {e.external_id: e for e in old}
        spare: dict[str, list[FileEvent]] = {}
        wanted = {external_id(path, c) for c in chunks}
        for e in old:
            if e.external_id not in wanted:
                spare.setdefault(_hash_of(e.external_id) or "", []).append(e)
        captured = from_epoch(mtime_ns / 1e9)
        added = kept = 0
        for piece in chunks:
            ext = external_id(path, piece)
            meta = {"chunk": piece.index, "kind": extracted.kind}
            if piece.page is not None:
                meta["page"] = piece.page
            if ext in by_ext:
                kept += 1
                continue
            candidates = spare.get(piece.content_hash)
            if candidates:  # same text at a new position: keep the event, rename it
                same_title = [c for c in candidates if c.title == piece.title]
                event = (same_title or candidates)[0]
                candidates.remove(event)
                batch.relocations.append(Relocation(event.id, key, ext, piece.title, meta))
                kept += 1
                continue
            # Headings travel in the title (redacted like text), not in meta.
            batch.observations.append(Observation(
                source=FILE_SOURCE, captured_at=captured, text=piece.text,
                title=piece.title, path=key, external_id=ext, meta=meta))
            added += 1
        gone = [e.id for events in spare.values() for e in events]
        batch.replaced += gone
        # Notes (a page without a readable text layer) are the indexed file's "problem".
        batch.states.append(FileState(key, size, mtime_ns, "indexed",
                                                "; ".join(extracted.notes) or None,
                                                kind=extracted.kind, chunks=len(chunks)))
        report.indexed += 1
        report.chunks_added += added
        report.chunks_kept += kept
        report.chunks_removed += len(gone)
        report.outcomes.append(FileOutcome(key, "indexed", added=added, kept=kept,
                                           removed=len(gone),
                                           reason="; ".join(extracted.notes) or None))

    def _forget_files(self, paths: list[str], batch: _Batch, report: ScanReport) -> None:
        if not paths:
            return
        for key in paths:
            events = self.book.events_of(key)
            files = [key] if events or self.book.get(key) is not None else []
            if not files:  # a folder: everything inside it
                events = self.book.events_under(key)
                files = list(self.book.under(key))
                files += sorted({e.path for e in events} - set(files))
            if not files:
                continue
            batch.deleted += [e.id for e in events]
            batch.gone += files
            report.removed += len(files)
            report.chunks_removed += len(events)
            report.outcomes.append(FileOutcome(key, "removed", removed=len(events)))

    # -- writing --------------------------------------------------------------------------
    def _apply(self, batch: _Batch, report: ScanReport) -> None:
        """Store a batch: chunks first, file states last, so a crash in between
        only means the next scan redoes (cheaply) what was not recorded."""
        items: list[SinkItem] = list(batch.observations)
        if batch.relocations:
            items.append(Relocate(tuple(batch.relocations)))
            report.relocated += len(batch.relocations)
        if batch.replaced:
            items.append(Retract(tuple(batch.replaced), scrub=False))
        if batch.deleted:
            items.append(Retract(tuple(batch.deleted)))
        if items:
            self._take(items)
        self.book.record(batch.states, batch.gone)


def _retitle(title: str | None, old_name: str, new_name: str) -> str | None:
    """A chunk title ("name › heading") after its file was renamed."""
    if title is None or old_name == new_name:
        return title
    if title == old_name:
        return new_name
    if title.startswith(old_name + HEADING_SEPARATOR):
        return new_name + title[len(old_name):]
    return title
