"""The X11 backend (python-xlib): EWMH/ICCCM, with stand-ins for a bare Xvfb.

See :mod:`ingest.screen.window` for how the active window is found.
"""
from __future__ import annotations

import os
from typing import Any

from ingest.screen.frame import Rect
from ingest.screen.window.base import BackendStatus, WindowInfo, process_name, url_from_title


def _xid(value: Any) -> int:
    """python-xlib gives a Window object, or a bare int for None/PointerRoot."""
    return value if isinstance(value, int) else int(value.id)


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
        # Bottom to top: which window covers which (see capture.excluded_rects).
        self._stacking = atom("_NET_CLIENT_LIST_STACKING")
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
        """Client windows on screen, bottom to top (EWMH stacking list, else top-levels
        with WM_CLASS, which X keeps in stacking order).

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
        ids = self._prop(self._root, self._stacking)
        if ids is None:  # a window manager without a stacking list: mapping order
            ids = self._prop(self._root, self._client_list)
        if ids is not None:
            # The client list includes minimised windows: only those on screen count.
            wins = [w for w in (self._d.create_resource_object("window", int(i)) for i in ids)
                    if self._viewable(w)]
        else:
            wins = [c for c in self._root.query_tree().children
                    if self._viewable(c) and self._wm_class(c) is not None]
        return tuple(self._info(w) for w in wins)
