"""Which window is in front: app, title, pid, geometry — one interface, a backend per OS.

Backends:

- **X11** (python-xlib): EWMH ``_NET_ACTIVE_WINDOW``; without a window manager
  (a bare Xvfb) that property is absent, so the focused window
  (``GetInputFocus``, or the top-level under the pointer when focus is
  PointerRoot) stands in for it. Title from ``_NET_WM_NAME`` then ``WM_NAME``;
  app from ``WM_CLASS`` (class part), else the process name; pid from
  ``_NET_WM_PID``, else the X-Resource extension (Xvfb and Xorg have it).
- **Windows** (ctypes) and **macOS** (AppKit/Quartz, else ``osascript``): in
  :mod:`ingest.screen.window_other`; not runnable on this Linux box.
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
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any, Protocol

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
    name: str

    def active_window(self) -> WindowInfo | None: ...

    def list_windows(self) -> tuple[WindowInfo, ...]: ...

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


def _xid(value: Any) -> int:
    """python-xlib gives a Window object, or a bare int for None/PointerRoot."""
    return value if isinstance(value, int) else int(value.id)


def process_name(pid: int | None) -> str | None:
    """The executable name of a local process (Linux /proc), or None."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


class X11Backend:
    """EWMH/ICCCM over python-xlib. One instance per thread."""

    name = "x11"

    def __init__(self, display: str | None = None) -> None:
        from Xlib import X, display as xdisplay, error as xerror

        self._X, self._xerror = X, xerror
        self._display_name = display or os.environ.get("DISPLAY")
        self._d = xdisplay.Display(self._display_name)
        self._root = self._d.screen().root
        atom = self._d.intern_atom
        self._active = atom("_NET_ACTIVE_WINDOW")
        self._net_name = atom("_NET_WM_NAME")
        self._utf8 = atom("UTF8_STRING")
        self._net_pid = atom("_NET_WM_PID")
        self._client_list = atom("_NET_CLIENT_LIST")
        self._has_res = self._d.has_extension("X-Resource")
        self._ewmh = self._prop(self._root, self._active) is not None

    def close(self) -> None:
        self._d.close()

    def status(self) -> BackendStatus:
        wayland = bool(os.environ.get("WAYLAND_DISPLAY"))
        if wayland:
            reason = "Wayland session: only X11 (XWayland) windows are visible"
        elif self._ewmh:
            reason = f"X11 {self._display_name}: window manager reports the active window"
        else:
            reason = f"X11 {self._display_name}: no window manager, using the focused window"
        return BackendStatus(self.name, True, reason)

    # -- low-level helpers (X errors mean the window vanished meanwhile) --------

    def _prop(self, win: Any, atom: int, kind: int | None = None) -> Any:
        try:
            p = win.get_full_property(atom, self._X.AnyPropertyType if kind is None else kind)
        except self._xerror.XError:
            return None
        return p.value if p is not None else None

    def _title(self, win: Any) -> str | None:
        raw = self._prop(win, self._net_name, self._utf8)
        if raw is not None:
            return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        try:
            name = win.get_wm_name()
        except self._xerror.XError:
            return None
        if isinstance(name, bytes):
            return name.decode("latin-1")
        return name or None

    def _wm_class(self, win: Any) -> tuple[str, str] | None:
        try:
            value = win.get_wm_class()
        except self._xerror.XError:
            return None
        return (str(value[0]), str(value[1])) if value else None

    def _pid(self, win: Any) -> int | None:
        value = self._prop(win, self._net_pid)
        if value is not None and len(value):
            return int(value[0])
        if not self._has_res:
            return None
        from Xlib.ext import res

        try:
            reply = self._d.res_query_client_ids(
                [{"client": win.id, "mask": res.LocalClientPIDMask}])
        except self._xerror.XError:
            return None
        for cid in reply.ids:
            if cid.spec.mask & res.LocalClientPIDMask and cid.value:
                return int(cid.value[0])
        return None

    def _geometry(self, win: Any) -> Rect | None:
        try:
            g = win.get_geometry()
            origin = self._root.translate_coords(win, 0, 0)
        except self._xerror.XError:
            return None
        return Rect(int(origin.x), int(origin.y), int(g.width), int(g.height))

    def _client(self, wid: int) -> Any | None:
        """The client window at or above ``wid`` (focus may sit on a toolkit child).

        Falls back to the top-level ancestor when no window up the tree has WM_CLASS.
        """
        win = self._d.create_resource_object("window", wid)
        top = None
        while win is not None and win.id != self._root.id:
            if self._wm_class(win) is not None:
                return win
            top = win
            try:
                win = win.query_tree().parent
            except self._xerror.XError:
                return None
        return top

    def _info(self, win: Any) -> WindowInfo:
        wm_class = self._wm_class(win)
        pid = self._pid(win)
        proc = process_name(pid)
        app = wm_class[1] if wm_class and wm_class[1] else proc
        title = self._title(win)
        return WindowInfo(app=app, title=title, pid=pid, window_id=int(win.id),
                          geometry=self._geometry(win), url=url_from_title(app, title),
                          process=proc)

    # -- the interface ----------------------------------------------------------

    def active_window(self) -> WindowInfo | None:
        """The window the person is working in, or None when nothing has focus.

        Raises ConnectionError when the X server went away.
        """
        try:
            return self._active_window()
        except self._xerror.ConnectionClosedError as exc:
            raise ConnectionError(f"X display {self._display_name} closed: {exc}") from exc

    def list_windows(self) -> tuple[WindowInfo, ...]:
        """Client windows on screen (EWMH client list, else top-levels with WM_CLASS).

        Minimised (unmapped) windows are left out: callers use this for what
        can be seen, e.g. to black out excluded windows in a capture.
        """
        try:
            return self._list_windows()
        except self._xerror.ConnectionClosedError as exc:
            raise ConnectionError(f"X display {self._display_name} closed: {exc}") from exc

    def _active_window(self) -> WindowInfo | None:
        value = self._prop(self._root, self._active)
        if value is not None and len(value) and value[0]:
            wid = int(value[0])
        else:
            wid = _xid(self._d.get_input_focus().focus)
            if wid == self._X.PointerRoot:
                # Focus follows the pointer: the top-level under it has the keyboard.
                wid = _xid(self._root.query_pointer().child)
            if wid in (self._X.NONE, self._root.id):
                return None
        win = self._client(wid)
        return self._info(win) if win is not None else None

    def _viewable(self, win: Any) -> bool:
        try:
            return win.get_attributes().map_state == self._X.IsViewable
        except self._xerror.XError:
            return False  # gone meanwhile

    def _list_windows(self) -> tuple[WindowInfo, ...]:
        ids = self._prop(self._root, self._client_list)
        if ids is not None:
            # The client list includes minimised windows: only those on screen count.
            wins = [w for w in (self._d.create_resource_object("window", int(i)) for i in ids)
                    if self._viewable(w)]
        else:
            wins = [c for c in self._root.query_tree().children
                    if self._viewable(c) and self._wm_class(c) is not None]
        return tuple(self._info(w) for w in wins)


def create_backend(display: str | None = None) -> WindowBackend:
    """The best backend for this session, or a NullBackend saying why none works."""
    if sys.platform == "win32":
        from ingest.screen.window_other import WindowsBackend
        return WindowsBackend()
    if sys.platform == "darwin":
        from ingest.screen.window_other import MacBackend
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
