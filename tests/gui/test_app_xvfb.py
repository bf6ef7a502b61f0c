"""The real app (`python -m app`) on a private Xvfb with a real tray host (trayer).

It opens a seeded store, is driven view by view through its single-instance
channel (each request is answered only after the event loop ran it, so a reply
also proves the window is responsive), and every view is photographed with mss
into ``tests/artifacts/screens/`` for a person to look at. It ends with SIGTERM,
which must quit cleanly.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from tests.gui.seed import seed_day
from tests.xvfb import require_tools, running_xvfb, wait_for

REPO = Path(__file__).resolve().parents[2]
SCREENS = REPO / "tests" / "artifacts" / "screens"
SIZE = (1600, 1000)

pytestmark = pytest.mark.xvfb


class AppProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())

    def reported(self, what: str) -> bool:
        return any(line.startswith(f"engram-gui: {what}") for line in self.lines)

    def request(self, command: str, timeout: float = 20.0) -> float:
        """Send a request like a second launch does; returns how long the answer took."""
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "app"], cwd=REPO, timeout=timeout,
                              env={**self.env, "ENGRAM_GUI_COMMAND": command},
                              capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
        return time.monotonic() - started


def shoot(display: str, name: str) -> Path:
    import mss
    import mss.tools

    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    with mss.MSS(display=display) as sct:
        shot = sct.grab(sct.monitors[1])
        mss.tools.to_png(shot.rgb, shot.size, output=str(path))
    return path


def non_blank(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as image:
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return colors is None or len(colors) > 50


@pytest.fixture
def seeded_home(data_dir: Path, tmp_path: Path) -> Path:
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    folder = tmp_path / "Documents"
    folder.mkdir()
    (folder / "printer.md").write_text("# Printer\nRestart cups to fix the office printer.\n")
    paths = resolve_paths(data_dir)
    settings = Settings(paths.settings_path)
    # Screen capture off: the shots must show the seeded day, not OCR of themselves.
    settings.set("screen_capture", False)
    settings.set("watched_folders", [str(folder)])
    engine = open_engine(paths, settings=settings, ask=None)
    try:
        seed_day(engine)
        from core.records import Observation, utcnow

        engine.pipeline.submit([Observation(
            source="chat", captured_at=utcnow(), text="My daughter's name is Inês. I work "
            "at Siemens as a data engineer.", speaker="You", thread="Family", app="WhatsApp",
            external_id="wa:family:1")])
        try:  # memories as the background builder would have made them
            from core.memory.consolidate import consolidate
        except ImportError:
            pass
        else:
            consolidate(engine)
    finally:
        engine.close()
    return data_dir


def test_the_real_app_under_xvfb_with_a_tray(seeded_home: Path, tmp_path: Path) -> None:
    require_tools()
    if shutil.which("trayer") is None:
        pytest.skip("trayer is not installed (installers/install.sh --test)")
    with running_xvfb(f"{SIZE[0]}x{SIZE[1]}x24") as display:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
               "ENGRAM_GUI_REPORT": "1", "XDG_CONFIG_HOME": str(tmp_path / "config"),
               "XDG_RUNTIME_DIR": str(tmp_path / "runtime")}
        (tmp_path / "runtime").mkdir(mode=0o700)
        env.pop("WAYLAND_DISPLAY", None)
        tray = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype",
                                 "pixel", "--width", "96", "--heighttype", "pixel", "--height",
                                 "28", "--SetDockType", "true", "--transparent", "false",
                                 "--tint", "0x303030"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        app = None
        try:
            time.sleep(1.0)  # trayer takes the _NET_SYSTEM_TRAY selection
            # Before: the passphrase prompt (no ENGRAM_PASSPHRASE), and a first run.
            asking = {k: v for k, v in env.items() if k != "ENGRAM_PASSPHRASE"}
            fresh = {**env, "ENGRAM_HOME": str(tmp_path / "fresh-home")}
            for name, first_env in (("0-unlock", asking), ("0-welcome", fresh)):
                first = AppProcess(first_env)
                wait_for(lambda: first.reported("window-shown") or first.proc.poll() is not None,
                         timeout=60)
                time.sleep(2.5)
                shoot(display, name)
                first.proc.send_signal(signal.SIGTERM)
                assert first.proc.wait(timeout=60) == 0, "\n".join(first.lines)
            app = AppProcess(env)
            wait_for(lambda: app.reported("ready") or app.proc.poll() is not None, timeout=90)
            assert app.proc.poll() is None, "\n".join(app.lines)
            assert app.reported("tray available"), "\n".join(app.lines)
            shown = float(next(l for l in app.lines if "window-shown" in l).split()[-1])
            assert shown < 10

            def tour(step: str, command: str, settle: float = 2.0) -> Path:
                took = app.request(command)
                assert took < 15, f"{command} took {took:.1f} s: the window is not responsive"
                time.sleep(settle)
                return shoot(display, step)

            paths = [
                tour("1-search", "search:tenacity retries", 4.0),
                tour("2-timeline", f"day:{date.today().isoformat()}", 3.0),
                tour("3-ask", "ask:Which library did Ana recommend for retries?", 6.0),
                tour("4-memories", "view:memories"),
                tour("5-sources", "view:sources"),
                tour("6-settings", "view:settings"),
            ]
            for path in paths:
                assert path.stat().st_size > 10_000 and non_blank(path), path
            # The window is a real top-level window on this display.
            found = subprocess.run(["xdotool", "search", "--name", "^Engram"], env=env,
                                   capture_output=True, text=True, timeout=10)
            assert found.stdout.strip(), "no Engram window on the display"
            assert app.proc.poll() is None
            app.proc.send_signal(signal.SIGTERM)
            assert app.proc.wait(timeout=60) == 0, "\n".join(app.lines)
        finally:
            if app is not None and app.proc.poll() is None:
                app.proc.kill()
                app.proc.wait()
            tray.terminate()
            tray.wait(timeout=10)
    assert not (seeded_home / "run" / "control.sock").exists()


# -- every view and Settings page, two screen sizes, light and dark ----------------------------
LONG_TITLE = ("Quarterly planning agenda for the Lisbon offsite with budget review, hiring plan "
              "and the roadmap for the second half of the year — Mozilla Firefox")
LONG_TEXT = ("Tenacity retries notes: the tenacity library retries with exponential backoff "
             "and jitter, stops after a number of attempts, logs before each sleep, and Ana "
             "said it is much nicer than our hand-written loop because it handles retries, "
             "timeouts and logging in one decorator; see the API docs for stop_after_attempt, "
             "wait_exponential and retry_if_exception_type before the review on Thursday")
VIEWS = ("search", "timeline", "ask", "memories", "sources")


def brightness(path: Path) -> float:
    """The median grey level of a screenshot (0 black … 255 white): the theme's own
    background, however much of the view a captured white page fills (a preview)."""
    from PIL import Image, ImageStat

    with Image.open(path) as image:
        return float(ImageStat.Stat(image.convert("L")).median[0])


def settings_pages() -> list[str]:
    """The Settings view's pages (``PAGES`` where it has them), else its one page."""
    from app.views import settings

    return [str(p) for p in getattr(settings, "PAGES", ())] or [""]


def send_now(env: dict[str, str], command: str, timeout: float = 20.0) -> None:
    """A request straight on the instance's socket (what a second launch sends, without
    starting a Python for each of the many requests); answered after the loop ran it."""
    import socket
    import tempfile

    from app.windows.single_instance import server_name

    path = os.path.join(tempfile.gettempdir(), server_name(Path(env["ENGRAM_HOME"])))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(command.encode() + b"\n")
        reply = b""
        while b"\n" not in reply:
            chunk = sock.recv(64)
            if not chunk:
                break
            reply += chunk
    assert reply.strip() == b"ok", (command, reply)


def fill_screen(env: dict[str, str], size: tuple[int, int]) -> None:
    """Maximise the window the way a window manager would (Xvfb has none)."""
    found = subprocess.run(["xdotool", "search", "--name", "^Engram"], env=env,
                           capture_output=True, text=True, timeout=10).stdout.split()
    for wid in found:
        subprocess.run(["xdotool", "windowmove", wid, "0", "0", "windowsize", wid,
                        str(size[0]), str(size[1])], env=env, timeout=10, check=False)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_every_view_and_settings_page_in_light_and_dark(seeded_home: Path, tmp_path: Path,
                                                        size: tuple[int, int]) -> None:
    require_tools()
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths
    from tests.gui.seed import at, screen_observation

    paths = resolve_paths(seeded_home)
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
    try:  # a long title and a long snippet, as real windows and documents have
        engine.pipeline.submit([screen_observation(LONG_TEXT, "Firefox", LONG_TITLE,
                                                   at(15, 30), 20)])
    finally:
        engine.close()
    name = f"{size[0]}x{size[1]}"
    with running_xvfb(f"{name}x24") as display:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
               "ENGRAM_GUI_REPORT": "1", "XDG_CONFIG_HOME": str(tmp_path / "config"),
               "XDG_RUNTIME_DIR": str(tmp_path / "runtime"), "ENGRAM_THEME": "light",
               "ENGRAM_NO_CAPTURE": "1"}
        (tmp_path / "runtime").mkdir(mode=0o700)
        env.pop("WAYLAND_DISPLAY", None)
        app = AppProcess(env)
        try:
            wait_for(lambda: app.reported("ready") or app.proc.poll() is not None, timeout=90)
            assert app.proc.poll() is None, "\n".join(app.lines)
            fill_screen(env, size)
            app.request("ask:Which library did Ana recommend for retries?")
            app.request("search:tenacity retries")
            time.sleep(4.0)  # the first search loads the embedding model
            shots: list[Path] = []
            for theme in ("light", "dark"):
                send_now(env, f"theme:{theme}")
                commands = [(view, f"view:{view}") for view in VIEWS]
                commands[1] = ("timeline", f"day:{date.today().isoformat()}")
                commands.insert(2, ("timeline-empty", "day:2020-02-03"))  # a day without data
                commands += [(f"settings-{page}".rstrip("-"), f"view:settings/{page}".rstrip("/"))
                             for page in settings_pages()]
                for n, (label, command) in enumerate(commands, 1):
                    send_now(env, command)
                    time.sleep(1.0)
                    shots.append(shoot(display, f"{name}-{theme}-{n}-{label}"))
            for path in shots:
                assert path.stat().st_size > 10_000 and non_blank(path), path
                # The theme really switched: dark shots are mostly dark, light ones light.
                assert (brightness(path) < 90) == ("-dark-" in path.name), (path, brightness(path))
            assert app.proc.poll() is None
            app.proc.send_signal(signal.SIGTERM)
            assert app.proc.wait(timeout=60) == 0, "\n".join(app.lines)
        finally:
            if app.proc.poll() is None:
                app.proc.kill()
                app.proc.wait()
