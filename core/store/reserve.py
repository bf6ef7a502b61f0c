"""Room to delete in: a small reserve file next to the store, and the disk-full error.

On a full disk SQLite cannot even delete: a forget writes the changed pages to
the write-ahead log first, and opening a store in WAL mode creates its shared
memory file. So Engram keeps ``reserve.bin`` (a few MB of zeros) in its data
folder and gives a part of it back to the file system when a forget, a retention
run or a compaction hits a full disk, then tries once more — a few deletions in a
row can each make room; when there is room again the reserve is re-created.
Ordinary writes (capture, imports) never use it.
"""
from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

from core.errors import DiskFull
from core.units import format_bytes

log = logging.getLogger(__name__)

RESERVE_NAME = "reserve.bin"
RESERVE_BYTES = 8 * 1024 * 1024
RELEASE_STEP = 2 * 1024 * 1024
# Below this much free space a failed open or write is taken to be a full disk.
NEARLY_FULL_BYTES = 1024 * 1024
_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def free_bytes(folder: Path) -> int | None:
    """Free space on the drive holding ``folder`` (or its nearest existing parent)."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def nearly_full(folder: Path) -> bool:
    free = free_bytes(folder)
    return free is not None and free < NEARLY_FULL_BYTES


def is_full_oserror(exc: BaseException) -> bool:
    """An OSError that means "no space left" (or over quota)."""
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


def disk_full(folder: Path) -> DiskFull:
    """The one message for a full disk: one line, the free space, what to do."""
    free = free_bytes(folder)
    shown = format_bytes(free) if free is not None else "unknown"
    return DiskFull(
        f"The disk holding {folder} is full ({shown} free); nothing was changed and "
        "what was stored before is intact. Free some space on it, or make room inside "
        "Engram with `engram forget` or `engram retention --apply`, then try again.")


class Reserve:
    """The reserve file of one data folder."""

    def __init__(self, folder: Path, size: int = RESERVE_BYTES,
                 step: int = RELEASE_STEP) -> None:
        self.path = folder / RESERVE_NAME
        self.size = size
        self.step = step

    def _current(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    @property
    def present(self) -> bool:
        """Whether any of the reserve is left to give back."""
        return self._current() > 0

    @property
    def full(self) -> bool:
        return self._current() >= self.size

    def ensure(self) -> bool:
        """Create (or top up) the reserve if the disk has room for it twice over;
        return whether it is whole. Never fails."""
        if self.full:
            return True
        free = free_bytes(self.path.parent)
        if free is None or free < 3 * self.size:
            return False
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                # Blocks really allocated (not a sparse file): they are what is given back.
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(fd, 0, self.size)
                else:  # pragma: no cover - macOS, Windows
                    block = b"\0" * (1024 * 1024)
                    for _ in range(self.size // len(block)):
                        os.write(fd, block)
                os.fsync(fd)
            finally:
                os.close(fd)
            return True
        except OSError as exc:
            log.info("no reserve file in %s: %s", self.path.parent, exc)
            self.release()
            return False

    def release(self) -> bool:
        """Give a part (``step``) of the reserve back to the file system; return
        whether there was any to give."""
        current = self._current()
        if current <= 0:
            return False
        left = max(0, current - self.step)
        try:
            if left:
                os.truncate(self.path, left)
            else:
                self.path.unlink()
        except OSError as exc:
            log.warning("could not shrink the reserve file %s: %s", self.path, exc)
            return False
        log.warning("disk full: gave back %s of Engram's reserve in %s to make room",
                    format_bytes(current - left), self.path.parent)
        return True
