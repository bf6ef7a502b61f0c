"""A global hotkey (default Ctrl+Alt+Space) that reaches Engram from any app.

One interface, ``HotkeyBackend``: ``register(shortcut, callback)`` and
``close()``. On X11 it is ``XGrabKey`` on the root window through python-xlib,
listened to on its own thread (its own display connection, so nothing else
shares it). Windows (RegisterHotKey) and macOS (a Carbon/Quartz event tap) are
not built yet, and Wayland gives no client a global grab: those backends say
so (``UnsupportedHotkey.reason``) instead of pretending to work.

``GlobalHotkey`` adapts a backend to Qt: ``activated`` fires on the UI thread.
"""
from __future__ import annotations

import logging
import os
import select
import sys
import threading
from dataclasses import dataclass
from typing import Callable, Protocol

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

DEFAULT_SHORTCUT = "Ctrl+Alt+Space"
SETTING = "hotkey"

_MODIFIERS = {"ctrl": "ctrl", "control": "ctrl", "alt": "alt", "shift": "shift",
              "super": "super", "meta": "super", "win": "super", "cmd": "super"}
# Names a person writes → X keysym names.
_KEY_NAMES = {"space": "space", "enter": "Return", "return": "Return", "tab": "Tab",
              "esc": "Escape", "escape": "Escape", "backspace": "BackSpace",
              "insert": "Insert", "delete": "Delete", "home": "Home", "end": "End",
              "pageup": "Prior", "pagedown": "Next", "up": "Up", "down": "Down",
              "left": "Left", "right": "Right", "`": "grave", "/": "slash",
              ".": "period", ",": "comma", ";": "semicolon", "'": "apostrophe",
              "-": "minus", "=": "equal", "[": "bracketleft", "]": "bracketright",
              "\\": "backslash", "+": "plus"}


class HotkeyUnavailable(Exception):
    """The shortcut cannot be registered here; ``str()`` is a sentence for the person."""


@dataclass(frozen=True)
class Shortcut:
    """A parsed shortcut: modifiers (ctrl, alt, shift, super) and one key (X keysym name)."""

    modifiers: frozenset[str]
    key: str
    text: str  # as the person wrote it, normalised ("Ctrl+Alt+Space")


def parse_shortcut(text: str) -> Shortcut:
    """"Ctrl+Alt+Space" → Shortcut; ValueError with a readable message when it isn't one."""
    parts = [p.strip() for p in text.replace(" ", "").split("+")]
    if text.strip().endswith("++"):
        parts = [*[p for p in parts if p], "+"]
    parts = [p for p in parts if p]
    if not parts:
        raise ValueError("Type a shortcut such as Ctrl+Alt+Space.")
    mods, keys = set(), []
    for part in parts:
        mod = _MODIFIERS.get(part.lower())
        if mod:
            mods.add(mod)
        else:
            keys.append(part)
    if len(keys) != 1:
        raise ValueError(f"“{text}” needs exactly one key besides Ctrl/Alt/Shift/Super.")
    if not mods:
        raise ValueError(f"“{text}” needs Ctrl, Alt or Super, or it would take the key "
                         "from every app.")
    raw = keys[0]
    key = _KEY_NAMES.get(raw.lower()) or (raw.lower() if len(raw) == 1 else raw)
    if len(raw) > 1 and raw.upper().startswith("F") and raw[1:].isdigit():
        key = raw = raw.upper()
    order = [m for m in ("ctrl", "alt", "shift", "super") if m in mods]
    shown = "+".join([m.capitalize() for m in order]
                     + [raw.capitalize() if len(raw) > 1 else raw.upper()])
    return Shortcut(frozenset(mods), key, shown)


class HotkeyBackend(Protocol):
    name: str

    def register(self, shortcut: Shortcut, callback: Callable[[], None]) -> None:
        """Start calling ``callback`` (from any thread) on every press; HotkeyUnavailable
        when the desktop does not allow it."""

    def close(self) -> None: ...


class UnsupportedHotkey:
    """A platform where Engram has no global hotkey yet: says why, never fakes one."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def register(self, shortcut: Shortcut, callback: Callable[[], None]) -> None:
        raise HotkeyUnavailable(self.reason)

    def close(self) -> None:
        pass


class X11Hotkey:
    """XGrabKey on the root window; a thread waits on the X connection for presses."""

    name = "x11"

    def __init__(self, display: str | None = None) -> None:
        self.display_name = display
        self._thread: threading.Thread | None = None
        self._stop_r, self._stop_w = os.pipe()
        self._closed = False

    def register(self, shortcut: Shortcut, callback: Callable[[], None]) -> None:
        from Xlib import X, XK, error
        from Xlib import display as xdisplay

        if self._thread is not None:
            raise RuntimeError("already registered; close() first")
        try:
            disp = xdisplay.Display(self.display_name)
        except Exception as exc:  # no X server, no permission
            raise HotkeyUnavailable(f"Cannot reach the X display: {exc}") from exc
        keysym = XK.string_to_keysym(shortcut.key)
        keycode = disp.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            disp.close()
            raise HotkeyUnavailable(f"This keyboard has no key “{shortcut.key}”.")
        mask = 0
        for mod, bit in (("ctrl", X.ControlMask), ("alt", X.Mod1Mask),
                         ("shift", X.ShiftMask), ("super", X.Mod4Mask)):
            if mod in shortcut.modifiers:
                mask |= bit
        root = disp.screen().root
        catcher = error.CatchError(error.BadAccess)
        # Caps Lock and Num Lock (Mod2) change the state bits: grab every combination,
        # or the shortcut dies whenever Num Lock is on.
        for extra in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask):
            root.grab_key(keycode, mask | extra, True, X.GrabModeAsync, X.GrabModeAsync,
                          onerror=catcher)
        disp.sync()
        if catcher.get_error():
            disp.close()
            raise HotkeyUnavailable(f"{shortcut.text} is already taken by another program; "
                                    "choose another shortcut in Settings.")
        self._thread = threading.Thread(target=self._listen, args=(disp, keycode, callback),
                                        name="engram-hotkey", daemon=True)
        self._thread.start()

    def _listen(self, disp, keycode: int, callback: Callable[[], None]) -> None:
        from Xlib import X

        try:
            while True:
                while disp.pending_events():
                    event = disp.next_event()
                    if event.type == X.KeyPress and event.detail == keycode:
                        try:
                            callback()
                        except Exception:  # a broken slot must not end the listener
                            log.exception("hotkey callback failed")
                ready, _, _ = select.select([disp.fileno(), self._stop_r], [], [], 1.0)
                if self._stop_r in ready:
                    break
        except Exception as exc:  # the X server went away: no more presses
            log.warning("global hotkey stopped: %s", exc)
        finally:
            try:
                disp.screen().root.ungrab_key(X.AnyKey, X.AnyModifier)
                disp.close()
            except Exception:
                pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=3.0)
        os.close(self._stop_r)
        os.close(self._stop_w)


def create_backend() -> HotkeyBackend:
    """The backend for this desktop."""
    if sys.platform == "win32":
        return UnsupportedHotkey("windows", "A global shortcut is not available on Windows "
                                 "yet; open Engram from the tray or the Start menu.")
    if sys.platform == "darwin":
        return UnsupportedHotkey("macos", "A global shortcut is not available on macOS yet; "
                                 "open Engram from the menu bar icon.")
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return UnsupportedHotkey("wayland", "Wayland does not let apps take a global "
                                 "shortcut; bind one in your desktop's keyboard settings to "
                                 "the command `env ENGRAM_GUI_COMMAND=overlay engram`.")
    if not os.environ.get("DISPLAY"):
        return UnsupportedHotkey("none", "No X display: the global shortcut needs one.")
    if os.environ.get("WAYLAND_DISPLAY"):
        # XWayland: a grab only sees keys typed into other X11 windows.
        log.info("global hotkey through XWayland: native Wayland apps will not see it")
    return X11Hotkey()


class GlobalHotkey(QObject):
    """The hotkey as a Qt signal: ``activated`` arrives on the UI thread."""

    activated = Signal()

    def __init__(self, backend_factory: Callable[[], HotkeyBackend] = create_backend,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = backend_factory
        self._backend: HotkeyBackend | None = None
        self.shortcut: Shortcut | None = None
        self.problem = ""

    def start(self, text: str = DEFAULT_SHORTCUT) -> bool:
        """(Re)register ``text``; False with ``problem`` set when it is not possible."""
        self.stop()
        try:
            shortcut = parse_shortcut(text)
        except ValueError as exc:
            self.problem = str(exc)
            return False
        backend = self._factory()
        try:
            # Emitting from the listener thread: Qt queues it to this object's thread.
            backend.register(shortcut, self.activated.emit)
        except HotkeyUnavailable as exc:
            backend.close()
            self.problem = str(exc)
            return False
        self._backend, self.shortcut, self.problem = backend, shortcut, ""
        return True

    def stop(self) -> None:
        if self._backend is not None:
            self._backend.close()
        self._backend, self.shortcut = None, None
