"""What every active-window backend answers with, and the helpers they share."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from ingest.screen.frame import Rect


@dataclass(frozen=True)
class WindowInfo:
    """One top-level window as the OS describes it; any field may be unknown."""

    app: str | None
    title: str | None
    pid: int | None = None
    window_id: int | None = None
    geometry: Rect | None = None
    url: str | None = None
    process: str | None = None  # executable name, when known (e.g. "keepassxc")


@dataclass(frozen=True)
class BackendStatus:
    """Which backend answers ``active_window()``, and why it may not know."""

    name: str
    ok: bool
    reason: str


class WindowBackend(Protocol):
    """One OS's way to know the window in front."""

    name: str

    def active_window(self) -> WindowInfo | None: ...

    def list_windows(self) -> tuple[WindowInfo, ...]:
        """Visible windows, bottom to top (the last one is in front)."""
        ...

    def status(self) -> BackendStatus: ...


class NullBackend:
    """Used when no backend works: knows no windows, and says why."""

    name = "none"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def active_window(self) -> WindowInfo | None:
        return None

    def list_windows(self) -> tuple[WindowInfo, ...]:
        return ()

    def status(self) -> BackendStatus:
        return BackendStatus(self.name, False, self.reason)


_BROWSERS = re.compile(r"(?i)firefox|chrom|brave|edge|opera|vivaldi|safari|librewolf|epiphany")
_URL_TITLE = re.compile(r"^(?P<url>https?://\S+|file:///\S+)(?:\s+[-—–]\s+[^/]*)?$")


def url_from_title(app: str | None, title: str | None) -> str | None:
    """A browser window's URL when its title obviously is one, else None."""
    if not app or not title or not _BROWSERS.search(app):
        return None
    m = _URL_TITLE.match(title.strip())
    return m["url"] if m else None


def process_name(pid: int | None) -> str | None:
    """The executable name of a local process (Linux /proc), or None."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as fh:
            return fh.read().strip() or None
    except OSError:
        return None
