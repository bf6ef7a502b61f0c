"""Is the person at the screen? Idle time and screen lock, one function per OS.

Screen capture runs only while the person is active: a screen nobody looks at
is not a memory, and a locked screen may show someone else's session. The
probe answers ``Activity(idle_seconds, locked)``; a field is None when this OS
or session cannot tell, and callers treat unknown as "active, unlocked" (a
machine where idle time is unknown still gets captured, as before).

- **X11**: the MIT-SCREEN-SAVER extension (python-xlib) gives the server's idle
  time (any input, XTest included, resets it) and whether the server's screen
  saver is on — lockers (xss-lock, xsecurelock, light-locker, xscreensaver)
  activate it. logind's ``LockedHint`` (set by GNOME, KDE, Cinnamon… when they
  lock) is read with ``loginctl`` at most every ``lock_check_seconds``, because
  it costs a process spawn. A known locker window in front also counts.
- **Windows**: ``GetLastInputInfo`` for idle; locked when the input desktop is
  not ``Default`` (the lock screen runs on the ``Winlogon`` desktop) or cannot
  be opened at all.
- **macOS**: Quartz ``CGEventSourceSecondsSinceLastEventType`` for idle, and
  ``CGSSessionScreenIsLocked`` from the session dictionary (pyobjc).
- **Null**: nothing known.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol

# Processes/WM classes of screen lockers: their window in front means "locked".
LOCKER_APPS = frozenset({
    "i3lock", "swaylock", "slock", "xlock", "xsecurelock", "xscreensaver",
    "light-locker", "lightlocker", "gnome-screensaver", "cinnamon-screensaver",
    "mate-screensaver", "kscreenlocker_greet", "xfce4-screensaver", "physlock",
    "betterlockscreen", "lockscreen", "loginwindow",
})


@dataclass(frozen=True)
class Activity:
    """Seconds since the last keyboard/mouse input, and whether the screen is locked."""

    idle_seconds: float | None
    locked: bool | None


class ActivityProbe(Protocol):
    name: str

    def activity(self) -> Activity: ...

    def close(self) -> None: ...


class NullProbe:
    """This OS or session cannot tell: assume the person is there."""

    name = "none"

    def activity(self) -> Activity:
        return Activity(None, None)

    def close(self) -> None:
        pass


def is_locker(app: str | None) -> bool:
    """True when ``app`` (WM class or process name) is a known screen locker."""
    return bool(app) and app.strip().lower().removesuffix(".exe") in LOCKER_APPS


class _LogindLock:
    """logind's LockedHint for this session, re-read at most every ``every`` seconds."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._session = os.environ.get("XDG_SESSION_ID")
        self._loginctl = shutil.which("loginctl") if self._session else None
        self._checked = -float("inf")
        self._value: bool | None = None

    def locked(self) -> bool | None:
        if self._loginctl is None:
            return None
        now = time.monotonic()
        if now - self._checked < self.every:
            return self._value
        self._checked = now
        try:
            done = subprocess.run([self._loginctl, "show-session", str(self._session),
                                   "-p", "LockedHint", "--value"],
                                  capture_output=True, text=True, timeout=2, check=False)
        except (OSError, subprocess.TimeoutExpired):
            self._value = None
            return None
        answer = done.stdout.strip().lower()
        self._value = {"yes": True, "no": False}.get(answer) if done.returncode == 0 else None
        if done.returncode != 0:
            self._loginctl = None  # no logind here (container, other init): stop asking
        return self._value


class X11Probe:
    """MIT-SCREEN-SAVER idle/saver state, plus logind's lock hint. One per thread."""

    name = "x11"

    def __init__(self, display: str | None = None, lock_check_seconds: float = 30.0) -> None:
        from Xlib import display as xdisplay

        self._d = xdisplay.Display(display or os.environ.get("DISPLAY"))
        if not self._d.has_extension("MIT-SCREEN-SAVER"):
            self._d.close()
            raise RuntimeError("X server has no MIT-SCREEN-SAVER extension")
        self._root = self._d.screen().root
        self._logind = _LogindLock(lock_check_seconds)

    def activity(self) -> Activity:
        """Raises ConnectionError when the X server went away (capture reopens later)."""
        from Xlib import error as xerror
        from Xlib.ext import screensaver

        try:
            info = self._root.screensaver_query_info()
        except xerror.ConnectionClosedError as exc:
            raise ConnectionError(f"X display closed: {exc}") from exc
        saver_on = info.state == screensaver.StateOn
        hint = self._logind.locked()
        return Activity(idle_seconds=info.idle / 1000.0, locked=bool(saver_on or hint))

    def close(self) -> None:
        self._d.close()


class WindowsProbe:
    name = "windows"

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        self._ct: Any = ctypes
        self._user32 = self._ct.WinDLL("user32", use_last_error=True)
        self._kernel32 = self._ct.WinDLL("kernel32", use_last_error=True)

        class LastInput(ctypes.Structure):
            _fields_ = [("cbSize", wintypes.UINT), ("dwTime", wintypes.DWORD)]

        self._info = LastInput()
        self._info.cbSize = ctypes.sizeof(LastInput)
        self._user32.OpenInputDesktop.restype = wintypes.HANDLE
        self._kernel32.GetTickCount.restype = wintypes.DWORD

    def _locked(self) -> bool:
        u = self._user32
        desk = u.OpenInputDesktop(0, False, 0x0001)  # DESKTOP_READOBJECTS
        if not desk:
            return True  # the secure desktop (lock screen, UAC) refuses us
        try:
            name = self._ct.create_unicode_buffer(256)
            needed = self._ct.c_ulong()
            if not u.GetUserObjectInformationW(desk, 2, name, 512, self._ct.byref(needed)):
                return False  # UOI_NAME unknown: don't claim a lock we can't see
            return name.value.lower() != "default"
        finally:
            u.CloseDesktop(desk)

    def activity(self) -> Activity:
        idle = None
        if self._user32.GetLastInputInfo(self._ct.byref(self._info)):
            ticks = (self._kernel32.GetTickCount() - self._info.dwTime) & 0xFFFFFFFF
            idle = ticks / 1000.0
        return Activity(idle, self._locked())

    def close(self) -> None:
        pass


class MacProbe:
    name = "macos"

    def __init__(self) -> None:
        import Quartz  # type: ignore[import-not-found, unused-ignore]

        self._q: Any = Quartz

    def activity(self) -> Activity:
        q = self._q
        idle = float(q.CGEventSourceSecondsSinceLastEventType(
            q.kCGEventSourceStateHIDSystemState, q.kCGAnyInputEventType))
        session = q.CGSessionCopyCurrentDictionary() or {}
        return Activity(idle, bool(session.get("CGSSessionScreenIsLocked", False)))

    def close(self) -> None:
        pass


def create_probe(display: str | None = None) -> ActivityProbe:
    """The idle/lock probe for this session, or a NullProbe when none works."""
    try:
        if sys.platform == "win32":
            return WindowsProbe()
        if sys.platform == "darwin":
            return MacProbe()
        if display or os.environ.get("DISPLAY"):
            return X11Probe(display)
    except Exception:  # a probe that cannot start must not stop capture decisions
        pass
    return NullProbe()
