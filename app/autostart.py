"""Start at login, through each platform's own mechanism (Qt-free).

- Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/engram.desktop``
  (``~/.config`` by default), read by the session at login.
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/org.engram.Engram.plist``
  (``RunAtLoad``), read by launchd at login.
- Windows: a value ``Engram`` under
  ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

Switched by Settings › Start and appearance and by ``engram autostart on|off``.
The command started names this program (the packaged ``engram``, or this checkout's)
and the data folder when it is not the default one; ``ENGRAM_START_HIDDEN=1`` makes
it start in the tray without a window.
"""
from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from core.config import APP_NAME

AUTOSTART_NAME = "engram.desktop"
LAUNCH_AGENT_LABEL = "org.engram.Engram"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Engram"


@dataclass(frozen=True)
class AutostartStatus:
    enabled: bool
    mechanism: str  # "xdg", "launchagent", "run-key"
    where: str  # the file or registry value
    command: str | None  # what starts at login, when enabled

    def describe(self) -> str:
        return (f"on ({self.where})" if self.enabled else f"off (would be {self.where})")


def _mechanism() -> str:
    if sys.platform == "win32":
        return "run-key"
    return "launchagent" if sys.platform == "darwin" else "xdg"


def autostart_path() -> Path:
    """The XDG autostart entry (Linux) or LaunchAgent (macOS) this user would have."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart" / AUTOSTART_NAME


def launch_argv(data_dir: Path) -> list[str]:
    """The program and arguments that start this Engram with this data folder."""
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable)
        # Windows: the windowed twin, so no console opens at login.
        gui = exe.with_name("engram-gui.exe")
        parts = [str(gui if gui.exists() else exe)]
    else:
        here = Path(sys.executable).parent / "engram"
        found = str(here) if here.exists() else shutil.which("engram")
        parts = [found] if found else [sys.executable, "-m", "app"]
    # The login session has no ENGRAM_HOME: name the folder unless it is the default.
    session_default = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if data_dir.resolve() != session_default.resolve():
        parts += ["--data-dir", str(data_dir)]
    return parts


def launch_command(data_dir: Path) -> str:
    """The XDG ``Exec=`` line: straight to the tray, no window in the person's face."""
    return "env ENGRAM_START_HIDDEN=1 " + " ".join(shlex.quote(p) for p in launch_argv(data_dir))


def set_autostart(enabled: bool, data_dir: Path) -> AutostartStatus:
    """Turn start at login on or off for this user; returns the new state."""
    mechanism = _mechanism()
    if mechanism == "run-key":
        _set_run_key(enabled, data_dir)
        return autostart_status()
    path = autostart_path()
    if not enabled:
        path.unlink(missing_ok=True)
        return autostart_status()
    path.parent.mkdir(parents=True, exist_ok=True)
    if mechanism == "launchagent":
        body = plistlib.dumps({
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": launch_argv(data_dir),
            "EnvironmentVariables": {"ENGRAM_START_HIDDEN": "1"},
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        })
        path.write_bytes(body)
    else:
        path.write_text(
            "[Desktop Entry]\nType=Application\nName=Engram\n"
            "Comment=Private memory of what you see and work on\n"
            f"Exec={launch_command(data_dir)}\nIcon=engram\nTerminal=false\n"
            "X-GNOME-Autostart-enabled=true\nCategories=Utility;\n", "utf-8")
    return autostart_status()


def autostart_status() -> AutostartStatus:
    """Whether Engram starts at login for this user, and through what."""
    mechanism = _mechanism()
    if mechanism == "run-key":
        command = _read_run_key()
        return AutostartStatus(command is not None, mechanism,
                               f"HKCU\\{RUN_KEY}\\{RUN_VALUE}", command)
    path = autostart_path()
    command = None
    if path.is_file():
        try:
            if mechanism == "launchagent":
                command = " ".join(plistlib.loads(path.read_bytes())["ProgramArguments"])
            else:
                command = next((line[5:] for line in path.read_text("utf-8").splitlines()
                                if line.startswith("Exec=")), None)
        except (OSError, ValueError, KeyError, plistlib.InvalidFileException):
            command = None
    return AutostartStatus(path.is_file(), mechanism, str(path), command)


def autostart_enabled() -> bool:
    return autostart_status().enabled


def _set_run_key(enabled: bool, data_dir: Path) -> None:  # pragma: no cover — Windows
    import subprocess
    import winreg  # type: ignore[import-not-found]

    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        if enabled:
            # The Run key has no environment: the hidden start is a flag-like variable set
            # by a tiny cmd wrapper would flash a console, so the GUI reads an argument.
            command = subprocess.list2cmdline(launch_argv(data_dir) + ["--start-hidden"])
            winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, command)
        else:
            try:
                winreg.DeleteValue(key, RUN_VALUE)
            except FileNotFoundError:
                pass


def _read_run_key() -> str | None:  # pragma: no cover — Windows
    import winreg  # type: ignore[import-not-found]

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            value, _kind = winreg.QueryValueEx(key, RUN_VALUE)
            return str(value)
    except FileNotFoundError:
        return None
