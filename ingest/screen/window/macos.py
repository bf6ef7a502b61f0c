"""The macOS backend (Quartz via pyobjc, else ``osascript``; not runnable here).

Quartz ``CGWindowListCopyWindowInfo`` lists on-screen windows front to back;
the first normal-layer window is the active one. Titles need the Screen
Recording permission, which capture needs anyway. AppKit's
``frontmostApplication`` is avoided: without a running NSRunLoop it goes stale.
Without pyobjc, ``osascript`` asks System Events (needs Accessibility).
"""
from __future__ import annotations

import subprocess
from typing import Any

from ingest.screen.frame import Rect
from ingest.screen.window.base import BackendStatus, WindowInfo, url_from_title


_OSASCRIPT_FRONT = """
tell application "System Events"
    set p to first application process whose frontmost is true
    set t to ""
    try
        set t to name of front window of p
    end try
    return (name of p) & linefeed & (unix id of p) & linefeed & t
end tell
"""
_MAC_URL_SCRIPTS = {
    "Safari": 'tell application "Safari" to return URL of front document',
    "Google Chrome": 'tell application "Google Chrome" to return URL of active tab of front window',
    "Brave Browser": 'tell application "Brave Browser" to return URL of active tab of front window',
    "Microsoft Edge": 'tell application "Microsoft Edge" to return URL of active tab of front window',
}


def _osascript(script: str) -> str | None:
    try:
        done = subprocess.run(["osascript", "-e", script], capture_output=True, text=True,
                              timeout=2, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.rstrip("\n") if done.returncode == 0 else None


class MacBackend:
    """Quartz window list when pyobjc is present, else AppleScript.

    ``fetch_browser_urls`` asks Safari/Chrome/Brave/Edge for the front tab's URL;
    off by default because macOS then prompts for Automation permission.
    """

    name = "macos"

    def __init__(self, fetch_browser_urls: bool = False) -> None:
        self.fetch_browser_urls = fetch_browser_urls
        try:
            import Quartz  # type: ignore[import-not-found, unused-ignore]
            self._quartz: Any = Quartz
        except ImportError:
            self._quartz = None

    def status(self) -> BackendStatus:
        how = "Quartz window list" if self._quartz else "osascript (needs Accessibility)"
        return BackendStatus(self.name, True, f"macOS: {how}")

    def _windows(self) -> list[dict[str, Any]]:
        q = self._quartz
        opts = q.kCGWindowListOptionOnScreenOnly | q.kCGWindowListExcludeDesktopElements
        infos = q.CGWindowListCopyWindowInfo(opts, q.kCGNullWindowID) or []
        return [dict(w) for w in infos if w.get("kCGWindowLayer", 1) == 0]

    def _from_quartz(self, w: dict[str, Any]) -> WindowInfo:
        b = w.get("kCGWindowBounds") or {}
        geometry = Rect(int(b.get("X", 0)), int(b.get("Y", 0)),
                        int(b.get("Width", 0)), int(b.get("Height", 0))) if b else None
        app, title = w.get("kCGWindowOwnerName"), w.get("kCGWindowName") or None
        return WindowInfo(app=app, title=title, pid=w.get("kCGWindowOwnerPID"),
                          window_id=w.get("kCGWindowNumber"), geometry=geometry,
                          url=self._url(app, title), process=app)

    def _url(self, app: str | None, title: str | None) -> str | None:
        if self.fetch_browser_urls and app in _MAC_URL_SCRIPTS:
            return _osascript(_MAC_URL_SCRIPTS[app])
        return url_from_title(app, title)

    def active_window(self) -> WindowInfo | None:
        if self._quartz is not None:
            wins = self._windows()
            return self._from_quartz(wins[0]) if wins else None
        out = _osascript(_OSASCRIPT_FRONT)
        if not out:
            return None
        app, pid, title = (out.split("\n", 2) + ["", ""])[:3]
        return WindowInfo(app=app or None, title=title or None,
                          pid=int(pid) if pid.strip().isdigit() else None,
                          url=self._url(app, title), process=app or None)

    def list_windows(self) -> tuple[WindowInfo, ...]:
        if self._quartz is None:
            front = self.active_window()
            return (front,) if front else ()
        # Quartz lists front to back; the interface is bottom to top.
        return tuple(reversed([self._from_quartz(w) for w in self._windows()]))
