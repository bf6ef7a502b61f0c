"""The Windows backend (ctypes; not runnable on the Linux test box).

``GetForegroundWindow`` + ``GetWindowTextW``; the process name comes from
``QueryFullProcessImageNameW`` with ``PROCESS_QUERY_LIMITED_INFORMATION``,
which (unlike psapi's ``GetModuleBaseNameW``) also works for elevated processes.
UWP apps show up as ``ApplicationFrameHost``: their title is still right.
"""
from __future__ import annotations

import os
from typing import Any

from ingest.screen.frame import Rect
from ingest.screen.window.base import BackendStatus, WindowInfo, url_from_title


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
        # EnumWindows walks the Z order from the top; the interface is bottom to top.
        return tuple(self._info(h) for h in reversed(found))
