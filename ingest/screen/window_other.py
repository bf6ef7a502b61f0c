"""Active-window backends for Windows and macOS (not runnable on the Linux test box).

Kept apart from :mod:`ingest.screen.window` so the X11 code stays readable; both
follow the same ``WindowBackend`` interface and import their OS modules lazily.

Windows: ``GetForegroundWindow`` + ``GetWindowTextW``; the process name comes
from ``QueryFullProcessImageNameW`` with ``PROCESS_QUERY_LIMITED_INFORMATION``,
which (unlike psapi's ``GetModuleBaseNameW``) also works for elevated processes.
UWP apps show up as ``ApplicationFrameHost``: their title is still right.

macOS: Quartz ``CGWindowListCopyWindowInfo`` (pyobjc) lists on-screen windows
front to back; the first normal-layer window is the active one. Titles need the
Screen Recording permission, which capture needs anyway. AppKit's
``frontmostApplication`` is avoided: without a running NSRunLoop it goes stale.
Without pyobjc, ``osascript`` asks System Events (needs Accessibility).
"""
from __future__ import annotations

import os
import subprocess
from typing import Any

from ingest.screen.frame import Rect
from ingest.screen.window import BackendStatus, WindowInfo, url_from_title


class WindowsBackend:
    name = "windows"

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        # Typed as Any: WinDLL/WINFUNCTYPE exist only in Windows builds of ctypes.
        self._ct: Any = ctypes
        self._wt = wintypes
        self._user32 = self._ct.WinDLL("user32", use_last_error=True)
        self._kernel32 = self._ct.WinDLL("kernel32", use_last_error=True)
        u, k = self._user32, self._kernel32
        u.GetForegroundWindow.restype = wintypes.HWND
        u.GetWindowTextLengthW.argtypes = [wintypes.HWND]
        u.GetWindowTextW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
        u.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
        u.GetWindowRect.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.RECT)]
        u.IsWindowVisible.argtypes = [wintypes.HWND]
        k.OpenProcess.restype = wintypes.HANDLE
        k.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
        k.QueryFullProcessImageNameW.argtypes = [
            wintypes.HANDLE, wintypes.DWORD, wintypes.LPWSTR, ctypes.POINTER(wintypes.DWORD)]
        k.CloseHandle.argtypes = [wintypes.HANDLE]
        self._enum_proc = self._ct.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)

    def status(self) -> BackendStatus:
        return BackendStatus(self.name, True, "Windows: foreground window")

    def _process(self, pid: int) -> str | None:
        handle = self._kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return None
        try:
            size = self._wt.DWORD(32768)
            buf = self._ct.create_unicode_buffer(size.value)
            if not self._kernel32.QueryFullProcessImageNameW(handle, 0, buf, self._ct.byref(size)):
                return None
            return os.path.basename(str(buf.value))
        finally:
            self._kernel32.CloseHandle(handle)

    def _info(self, hwnd: Any) -> WindowInfo:
        u = self._user32
        n = u.GetWindowTextLengthW(hwnd)
        buf = self._ct.create_unicode_buffer(n + 1)
        u.GetWindowTextW(hwnd, buf, n + 1)
        pid = self._wt.DWORD()
        u.GetWindowThreadProcessId(hwnd, self._ct.byref(pid))
        exe = self._process(pid.value) if pid.value else None
        app = exe[:-4] if exe and exe.lower().endswith(".exe") else exe
        r = self._wt.RECT()
        geometry = None
        if u.GetWindowRect(hwnd, self._ct.byref(r)):
            geometry = Rect(r.left, r.top, r.right - r.left, r.bottom - r.top)
        return WindowInfo(app=app, title=buf.value or None, pid=pid.value or None,
                          window_id=int(hwnd) if hwnd else None, geometry=geometry,
                          url=url_from_title(app, buf.value), process=exe)

    def active_window(self) -> WindowInfo | None:
        hwnd = self._user32.GetForegroundWindow()
        return self._info(hwnd) if hwnd else None

    def list_windows(self) -> tuple[WindowInfo, ...]:
        found: list[Any] = []

        def collect(hwnd: Any, _lparam: Any) -> bool:
            if self._user32.IsWindowVisible(hwnd) and self._user32.GetWindowTextLengthW(hwnd):
                found.append(hwnd)
            return True

        self._user32.EnumWindows(self._enum_proc(collect), 0)
        return tuple(self._info(h) for h in found)


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
        return tuple(self._from_quartz(w) for w in self._windows())
