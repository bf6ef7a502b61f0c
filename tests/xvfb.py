"""A private Xvfb and real Tk windows with known text, for tests and benchmarks.

Xvfb has no window manager: focus is PointerRoot until something sets it, so
tests give a window the keyboard focus with xdotool (``focus``), as a person
clicking into it would. Tk windows run in their own processes; a JSON line on
their stdin changes a line of text or the title, and they answer "changed"
once the change is drawn on the server.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

import pytest

T = TypeVar("T")

WINDOW_SCRIPT = textwrap.dedent("""
    import json, select, sys, tkinter as tk
    spec = json.loads(sys.argv[1])
    root = tk.Tk(className=spec["class"])
    root.title(spec["title"])
    root.geometry(spec["geometry"])
    root.configure(background="white")
    labels = [tk.Label(root, text=text, font=("DejaVu Sans", spec["font"]), bg="white",
                       fg="black", anchor="w")
              for text in spec["lines"]]
    for label in labels:
        label.pack(fill="x", padx=20, pady=spec["pady"])
    def poll():
        while select.select([sys.stdin], [], [], 0)[0]:
            raw = sys.stdin.readline()
            if not raw:
                root.destroy()
                return
            msg = json.loads(raw)
            if "title" in msg:
                root.title(msg["title"])
            if "line" in msg:
                labels[msg["line"]].config(text=msg["text"])
            root.update()  # Tk's update XSyncs: drawn on the server before "changed"
            print("changed", flush=True)
        root.after(30, poll)
    root.after(30, poll)
    root.update()
    print("ready", flush=True)
    root.mainloop()
""")


def wait_for(fn: Callable[[], T | None], timeout: float = 10.0, every: float = 0.05) -> T:
    """Call ``fn`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {fn}")


def require_tools() -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt install xvfb)")
    pytest.importorskip("Xlib", reason="python-xlib is not installed")
    pytest.importorskip("mss", reason="mss is not installed")


@contextmanager
def running_xvfb(size: str = "1280x800x24") -> Iterator[str]:
    """A private Xvfb on a free display number (chosen by Xvfb itself via -displayfd).

    ``-s 0``: the server's own screen saver never starts (it would look like a lock).
    """
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp",
         "-s", "0"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            number = pipe.readline().strip().decode()
        if not number:
            raise RuntimeError("Xvfb did not report a display number")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture()
def xvfb() -> Iterator[str]:
    """A private Xvfb display name (":N")."""
    require_tools()
    with running_xvfb() as display:
        yield display


@pytest.fixture()
def xvfb_display(xvfb: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private Xvfb that is also this process's (and its children's) DISPLAY."""
    monkeypatch.setenv("DISPLAY", xvfb)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_ID", raising=False)  # don't ask logind about a real session
    from ingest.screen import window as window_mod

    window_mod.reset_backend()
    yield xvfb
    window_mod.reset_backend()


class TkWindow:
    """A real top-level window in its own process, showing known lines of text."""

    def __init__(self, display: str, title: str, lines: Sequence[str], *,
                 class_name: str = "Notetaker", geometry: str = "760x220+120+140",
                 font: int = 18, pady: int = 12) -> None:
        if importlib.util.find_spec("tkinter") is None:
            pytest.skip("tkinter is not available (apt install python3-tk)")
        spec = {"title": title, "class": class_name, "geometry": geometry,
                "lines": list(lines), "font": font, "pady": pady}
        self.title = title
        self.proc = subprocess.Popen([sys.executable, "-c", WINDOW_SCRIPT, json.dumps(spec)],
                                     env=dict(os.environ, DISPLAY=display),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            err = self.proc.stderr.read() if self.proc.stderr else b""
            raise AssertionError(f"Tk window did not start: {err!r}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, **message: object) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == b"changed"

    def set_line(self, index: int, text: str) -> None:
        """Replace line ``index``; returns once it is drawn."""
        self.send(line=index, text=text)

    def set_title(self, title: str) -> None:
        self.title = title
        self.send(title=title)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def xdotool(display: str, *args: str) -> str:
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (apt install xdotool)")
    done = subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=display),
                          capture_output=True, text=True, timeout=10, check=True)
    return done.stdout.strip()


def window_id(display: str, title: str) -> int:
    """The X id of the (top-level) window titled exactly ``title``."""
    from ingest.screen.window import X11Backend

    backend = X11Backend(display)
    try:
        found = wait_for(lambda: [w.window_id for w in backend.list_windows()
                                  if w.title == title], timeout=10)
    finally:
        backend.close()
    return int(found[0])


def focus(display: str, title: str) -> None:
    """Give the keyboard focus to the window titled exactly ``title``."""
    xdotool(display, "windowfocus", "--sync", str(window_id(display, title)))


def grab(display: str):
    """One frame of the whole screen (an ``ingest.screen.frame.Frame``)."""
    import mss

    from ingest.screen.frame import Frame

    with mss.MSS(display=display) as sct:
        return Frame.from_mss(sct.grab(sct.monitors[1]))
