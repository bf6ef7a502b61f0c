"""Which window is in front: app, title, pid, geometry — one interface, a backend per OS.

Backends:

- **X11** (python-xlib): EWMH ``_NET_ACTIVE_WINDOW``; without a window manager
  (a bare Xvfb) that property is absent, so the focused window
  (``GetInputFocus``, or the top-level under the pointer when focus is
  PointerRoot) stands in for it. Title from ``_NET_WM_NAME`` then ``WM_NAME``;
  app from ``WM_CLASS`` (class part), else the process name; pid from
  ``_NET_WM_PID``, else the X-Resource extension (Xvfb and Xorg have it).
- **Windows** (ctypes, :mod:`.windows`) and **macOS** (Quartz, else
  ``osascript``, :mod:`.macos`): not runnable on this Linux box.
- **Null**: no usable display (Wayland without XWayland, no ``DISPLAY``);
  ``active_window()`` returns None and ``backend_status()`` says why.

Browser URLs are not exposed by X11 (nor by Windows without UI Automation):
``url`` is filled only when a browser's title *is* a URL (a page without a
<title>), otherwise None. macOS can ask Safari/Chrome by AppleScript (opt-in).

An X connection is not thread-safe: the module-level helpers keep one backend
per thread.
"""
from __future__ import annotations

import os
import sys
import threading

from ingest.screen.window.base import (
    BackendStatus, NullBackend, WindowBackend, WindowInfo, process_name, url_from_title,
)
from ingest.screen.window.x11 import X11Backend

__all__ = ["BackendStatus", "NullBackend", "WindowBackend", "WindowInfo", "X11Backend",
           "active_window", "backend_status", "create_backend", "list_windows",
           "process_name", "reset_backend", "url_from_title"]


def create_backend(display: str | None = None) -> WindowBackend:
    """The best backend for this session, or a NullBackend saying why none works."""
    if sys.platform == "win32":
        from ingest.screen.window.windows import WindowsBackend
        return WindowsBackend()
    if sys.platform == "darwin":
        from ingest.screen.window.macos import MacBackend
        return MacBackend()
    display = display or os.environ.get("DISPLAY")
    wayland = bool(os.environ.get("WAYLAND_DISPLAY")) or \
        os.environ.get("XDG_SESSION_TYPE") == "wayland"
    if not display:
        return NullBackend("Wayland: active window unknown" if wayland
                           else "No display (DISPLAY is not set): active window unknown")
    try:
        return X11Backend(display)
    except ImportError:
        return NullBackend("python-xlib is not installed: active window unknown")
    except Exception as exc:  # Xlib raises several unrelated types on connect
        return NullBackend(f"Cannot connect to X display {display}: {exc}")


_local = threading.local()


def _backend() -> WindowBackend:
    backend = getattr(_local, "backend", None)
    if backend is None:
        backend = _local.backend = create_backend()
    return backend


def reset_backend() -> None:
    """Forget this thread's backend (after DISPLAY changed, or the X server went away)."""
    backend = getattr(_local, "backend", None)
    if isinstance(backend, X11Backend):
        backend.close()
    _local.backend = None


def active_window() -> WindowInfo | None:
    """The window in front on this desktop, or None when unknown."""
    try:
        return _backend().active_window()
    except ConnectionError:
        reset_backend()  # X server restarted: reconnect on the next call
        return None


def list_windows() -> tuple[WindowInfo, ...]:
    """All top-level application windows the backend can see."""
    try:
        return _backend().list_windows()
    except ConnectionError:
        reset_backend()
        return ()


def backend_status() -> BackendStatus:
    """Which backend is in use and whether it can know the active window."""
    return _backend().status()
