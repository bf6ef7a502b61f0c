"""Screen capture end to end on a private Xvfb: real windows with known text, the real
`engram` CLI and daemon, real tesseract, the real encrypted store.

Checks the issue's promises: text on screen is found by `engram search`; an
unchanged screen adds nothing; excluded apps and private browser windows are
never stored (not even when merely visible beside the active window); card
numbers and API keys are stored redacted, in text and in pixels; pause stops
capture and resume restarts it; SIGTERM flushes what is on screen; and no file
under the data dir or the temp dirs holds captured text or an image in clear.
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest

from tests.xvfb import TkWindow, focus, wait_for

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xvfb

# Image signatures strong enough not to turn up by chance in megabytes of ciphertext.
IMAGE_MAGIC = re.compile(
    rb"\x89PNG\r\n\x1a\n|RIFF....WEBP|\xff\xd8\xff\xe0..JFIF\x00|\xff\xd8\xff\xe1..Exif\x00"
    rb"|\xff\xd8\xff\xdb\x00[\x43\x84]|BM....\x00\x00\x00\x00[\x1a\x36\x7a\x8a]\x00\x00\x00"
    rb"|P[356]\s+\d+\s+\d+\s+255\s", re.DOTALL)


@pytest.fixture()
def screen_env(xvfb: str, tmp_path: Path, data_dir: Path) -> Iterator[dict[str, str]]:
    """Environment for `engram` subprocesses: the Xvfb display and a private TMPDIR."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    data_dir.mkdir(parents=True, exist_ok=True)
    yield {"DISPLAY": xvfb, "TMPDIR": str(tmpdir), "WAYLAND_DISPLAY": "", "XDG_SESSION_ID": ""}


def write_settings(data_dir: Path, **values: Any) -> None:
    path = data_dir / "settings.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**current, **values}))


def capture_once(cli: Any, env: dict[str, str]) -> dict[str, Any]:
    return json.loads(cli("capture", "--once", "--json", env=env).stdout)


def screen_texts(data_dir: Path) -> list[str]:
    """Texts of stored screen events, read through a fresh engine (the real store)."""
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    paths = resolve_paths(data_dir)
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None,
                         create=False, embedder=None)
    try:
        return [r[0] for r in engine.store.reader().execute(
            "SELECT text FROM events WHERE source = 'screen' ORDER BY started_at")]
    finally:
        engine.close()


def search_snippets(cli: Any, query: str) -> list[str]:
    results = json.loads(cli("search", query, "--json").stdout)["results"]
    return [r["snippet"] for r in results if r["source"] == "screen"]


def files_under(root: Path, since: float, skip: Iterable[str] = ()) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not any(d.startswith(s) for s in skip)]
        for name in filenames:
            path = Path(dirpath, name)
            try:
                st = path.lstat()
            except OSError:
                continue
            if path.is_file() and not path.is_symlink() and max(st.st_mtime, st.st_ctime) >= since:
                yield path


def assert_nothing_in_clear(roots: Iterable[Path], since: float, canaries: Iterable[str],
                            *, extra_tmp: bool = True) -> int:
    """No file holds a canary word or an image; returns how many files were read."""
    needles = [c.encode() for c in canaries] + [c.lower().encode() for c in canaries]
    paths = [p for root in roots for p in files_under(root, 0.0)]
    if extra_tmp:  # files anyone created in /tmp meanwhile (other test sessions excluded)
        paths += list(files_under(Path("/tmp"), since, skip=("pytest-of-", "bash_jobs")))
    checked = 0
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        checked += 1
        for needle in needles:
            assert needle not in data, f"{path} holds captured text {needle!r} in clear"
        found = IMAGE_MAGIC.search(data)
        assert found is None, f"{path} holds an image in clear at byte {found.start()}"
    return checked


def test_capture_once_is_searchable_and_an_unchanged_screen_adds_nothing(
        cli: Any, xvfb: str, screen_env: dict[str, str], data_dir: Path) -> None:
    started = time.time()
    title = "Trip planning - Notetaker"
    window = TkWindow(xvfb, title, ["Lisbon offsite agenda", "Pelican harbour invoice"])
    try:
        focus(xvfb, title)
        first = capture_once(cli, screen_env)
        assert first["status"] == "stored", first
        assert (first["app"], first["title"]) == ("Notetaker", title)
        assert first["words"] >= 6 and 0 < first["thumbnail_bytes"] < 200_000
        again = capture_once(cli, screen_env)
        assert again["status"] == "unchanged" and again["event_id"] is None
        text = cli("capture", "--once", env=screen_env).stdout
        assert text.startswith("Not stored (unchanged)") and "Pelican" not in text
    finally:
        window.close()
    assert len(screen_texts(data_dir)) == 1
    snippets = search_snippets(cli, "pelican harbour")
    assert snippets and "«Pelican»" in snippets[0]
    assert_nothing_in_clear([data_dir, Path(screen_env["TMPDIR"])], started,
                            ["Pelican", "harbour"])


def test_excluded_apps_and_private_windows_are_never_stored(
        cli: Any, xvfb: str, screen_env: dict[str, str], data_dir: Path) -> None:
    write_settings(data_dir, screen_excluded_titles=["*payroll*"])
    vault = TkWindow(xvfb, "Passwords.kdbx - KeePassXC", ["Walrus vault entry"],
                     class_name="KeePassXC", geometry="500x160+700+500")
    private = TkWindow(xvfb, "Heron bank — Mozilla Firefox Private Browsing",
                       ["Heron private statement"], class_name="firefox",
                       geometry="500x160+40+500")
    payroll = TkWindow(xvfb, "Payroll March - Sheets", ["Otter salary table"],
                       geometry="500x160+40+40")
    notes = TkWindow(xvfb, "Allowed - Notetaker", ["Lighthouse meeting notes"],
                     geometry="560x160+620+40")
    try:
        focus(xvfb, vault.title)
        out = capture_once(cli, screen_env)
        assert (out["status"], out["detail"]) == ("excluded", "excluded app: KeePassXC")
        focus(xvfb, private.title)
        out = capture_once(cli, screen_env)
        assert out["status"] == "excluded" and "private browser window" in out["detail"]
        focus(xvfb, payroll.title)
        out = capture_once(cli, screen_env)
        assert out["status"] == "excluded" and "*payroll*" in out["detail"]
        assert screen_texts(data_dir) == []
        # The allowed window is captured; the excluded ones beside it are blacked out,
        # even when its area overlaps them (the whole screen is thumbnailed).
        focus(xvfb, notes.title)
        out = capture_once(cli, screen_env)
        assert out["status"] == "stored", out
    finally:
        for w in (vault, private, payroll, notes):
            w.close()
    texts = screen_texts(data_dir)
    assert len(texts) == 1 and "Lighthouse" in texts[0]
    for word in ("Walrus", "Heron", "Otter"):
        assert word not in texts[0]
        assert not [s for s in search_snippets(cli, word.lower()) if f"«{word}" in s]
    assert_thumbnail_free_of(data_dir, ["Walrus", "Heron", "Otter"])
    # The viewing image is the whole screen (the thumbnail only the active window):
    # the allowed window reads in it, the excluded ones around it are black.
    ((_thumb, view),) = stored_images(data_dir)
    assert view is not None and "Lighthouse" in ocr_words(view)


def stored_images(data_dir: Path) -> list[tuple[bytes, bytes | None]]:
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    paths = resolve_paths(data_dir)
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None,
                         create=False, embedder=None)
    try:
        return [(bytes(r[0]), bytes(r[1]) if r[1] is not None else None)
                for r in engine.store.reader().execute(
                    "SELECT data, full_data FROM event_images ORDER BY event_id")]
    finally:
        engine.close()


def ocr_words(image_bytes: bytes, scale: float = 1.0) -> str:
    """What tesseract reads in a stored image (decoded in memory)."""
    import numpy as np
    from PIL import Image

    from ingest.screen.ocr import ocr_image

    image = Image.open(io.BytesIO(image_bytes)).convert("RGB")
    if scale != 1.0:  # thumbnails are small: enlarge so OCR gives them a fair chance
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    rgb = np.asarray(image)
    bgra = np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)])
    return ocr_image(np.ascontiguousarray(bgra)).text


def assert_thumbnail_free_of(data_dir: Path, words: Iterable[str]) -> None:
    """Neither the thumbnail nor the larger picture (viewing image or full frame) shows
    any of ``words``."""
    for thumb, large in stored_images(data_dir):
        for name, image, scale in (("thumbnail", thumb, 2.0), ("viewing image", large, 1.0)):
            if image is None:
                continue
            seen = ocr_words(image, scale=scale)
            for word in words:
                assert word.lower() not in seen.lower(), f"{word!r} visible in a {name}"


def test_card_numbers_and_api_keys_are_stored_redacted_in_text_and_pixels(
        cli: Any, xvfb: str, screen_env: dict[str, str], data_dir: Path) -> None:
    write_settings(data_dir, screen_keep_full_frames=True)
    title = "Checkout - Notetaker"
    window = TkWindow(xvfb, title, ["Card 4111 1111 1111 1111 expires soon",
                                    "key ghp_Zq8vN3xK7mL2pR5tW9yB4cD6fH1jA0sE2uG3 done",
                                    "Lighthouse order confirmed"], geometry="980x240+60+80")
    try:
        focus(xvfb, title)
        out = capture_once(cli, screen_env)
    finally:
        window.close()
    assert out["status"] == "stored" and out["redacted"] == {"card": 1, "api-key": 1}
    (text,) = screen_texts(data_dir)
    assert "[redacted:card]" in text and "[redacted:api-key]" in text
    assert "4111" not in text and "ghp_" not in text and "Lighthouse order" in text
    assert not [s for s in search_snippets(cli, "4111") if "«4111" in s]
    ((thumb, full),) = stored_images(data_dir)
    assert thumb[8:12] == b"WEBP" and full is not None and full[8:12] == b"WEBP"
    from PIL import Image

    assert Image.open(io.BytesIO(thumb)).width <= 720
    assert Image.open(io.BytesIO(full)).size == (980, 240)  # the active window, full size
    seen = ocr_words(full)
    assert "Lighthouse" in seen and "expires" in seen  # the rest is readable…
    assert "4111" not in seen and "ghp" not in seen  # …the secrets are painted over


def start_daemon(env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "app", "daemon"], cwd=REPO,
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    key = Path(os.environ["ENGRAM_HOME"]) / "run" / "control.key"
    wait_for(lambda: key.exists() or proc.poll() is not None, timeout=90, every=0.1)
    assert proc.poll() is None, proc.communicate()
    return proc


def screen_detail(cli: Any) -> str:
    status = json.loads(cli("status", "--json").stdout)["capture"]
    (screen,) = [s for s in status["sources"] if s["name"] == "screen"]
    return f"{screen['state']}: {screen['detail']}"


def test_daemon_pause_resume_and_sigterm_flush_with_nothing_in_clear_on_disk(
        cli: Any, xvfb: str, screen_env: dict[str, str], data_dir: Path) -> None:
    started = time.time()
    write_settings(data_dir, screen_capture=True, screen_interval_seconds=0.5,
                   screen_idle_seconds=0)
    title = "Journal - Notetaker"
    # One line: each change is a new screen (not an edit kept in the same event).
    window = TkWindow(xvfb, title, ["Pelican harbour invoice"])
    canaries = ["Pelican", "Walrus", "Quokka", "marmalade", "Heron", "Otter", "velvet"]
    proc: subprocess.Popen[str] | None = None
    try:
        focus(xvfb, title)
        proc = start_daemon(screen_env)
        wait_for(lambda: screen_detail(cli) == "running: capturing Notetaker", timeout=60)
        window.set_line(0, "Walrus lighthouse ticket")  # the Pelican event ends
        wait_for(lambda: any("Pelican" in t for t in screen_texts(data_dir)), timeout=30)
        assert "«Pelican»" in search_snippets(cli, "pelican harbour")[0]

        assert json.loads(cli("pause", "--json").stdout)["paused"] is True
        wait_for(lambda: screen_detail(cli) == "paused: paused", timeout=10)
        window.set_line(0, "Quokka marmalade recipe")  # shown only while paused
        time.sleep(2.0)
        window.set_line(0, "Heron compass bakery")
        assert "Capture: capturing" in cli("resume").stdout
        wait_for(lambda: any("Heron" in t for t in screen_texts(data_dir)) or
                 screen_detail(cli) == "running: capturing Notetaker", timeout=10)
        time.sleep(1.5)
        window.set_line(0, "Otter velvet meadow")  # on screen when SIGTERM arrives
        time.sleep(1.5)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        window.close()
    assert proc.returncode == 0, err
    assert "stopped" in err
    texts = "\n---\n".join(screen_texts(data_dir))
    assert "Walrus lighthouse" in texts  # flushed on pause
    assert "Quokka" not in texts and "marmalade" not in texts  # paused: never captured
    assert "Heron compass" in texts  # captured again after resume
    assert "Otter velvet" in texts  # flushed by SIGTERM
    assert "«Otter»" in search_snippets(cli, "otter velvet")[0]
    for word in canaries:  # no captured text in the daemon's own output either
        assert word not in out and word not in err
    checked = assert_nothing_in_clear([data_dir, Path(screen_env["TMPDIR"])], started,
                                      canaries)
    assert checked >= 2  # at least the database and its key record were read
