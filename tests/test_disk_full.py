"""A full disk, for real: a small tmpfs mounted for the test (root only; skipped where
mounting is not allowed). Every command gives one clear line (exit 4, the free
space, what to do), nothing is half-created, and forgetting works at 100 % full
because Engram gives back its reserve file to make room."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import DiskFull
from core.store.reserve import RESERVE_NAME, Reserve, disk_full

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 48 MB file system of its own."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; return the filler file (delete it to free)."""
    n = 0
    while (disk / f"filler{n}").exists():
        n += 1
    filler = disk / f"filler{n}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError:
                pass
    finally:
        os.close(fd)
    assert os.statvfs(disk).f_bavail == 0
    return filler


def assert_one_clear_line(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 4, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("engram: error:")]
    assert len(errors) == 1, proc.stderr
    assert "is full (" in errors[0] and "free)" in errors[0]
    assert "engram forget" in errors[0]  # what to do


def test_creating_a_store_on_a_full_disk_leaves_no_folder(cli, small_disk: Path) -> None:
    fill(small_disk)
    home = small_disk / "engram-home"
    proc = cli("add", "hello", check=False, env={"ENGRAM_HOME": str(home)})
    assert_one_clear_line(proc)
    assert not home.exists()


def test_a_store_that_fits_but_cannot_take_its_first_note_is_removed(
        cli, small_disk: Path) -> None:
    filler = fill(small_disk)
    with open(filler, "r+b") as fh:  # give back ~1.5 MB: room for the empty store only
        fh.truncate(filler.stat().st_size - 1_500_000)
    home = small_disk / "engram-home"
    proc = cli("add", "hello", check=False, env={"ENGRAM_HOME": str(home)})
    if proc.returncode == 0:
        pytest.skip("the first note fitted after all")
    assert_one_clear_line(proc)
    assert not home.exists()


def _kill_mid_write(home: Path) -> None:
    """Write a batch of notes and die (SIGKILL) without closing: the WAL stays on disk."""
    script = (
        "import os, signal\n"
        "from app.bootstrap import open_engine\n"
        "from core.config import Settings, resolve_paths\n"
        "from core.records import Observation, utcnow\n"
        f"paths = resolve_paths({str(home)!r})\n"
        "eng = open_engine(paths, settings=Settings(paths.settings_path), ask=None)\n"
        "eng.pipeline.submit([Observation(source='note', captured_at=utcnow(), "
        "text=f'scratch note {n} ' + 'filler words ' * 200) for n in range(300)], embed=False)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env={**os.environ},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def test_at_100_percent_full_commands_say_so_and_forgetting_makes_room(
        cli, small_disk: Path) -> None:
    home = small_disk / "engram-home"
    env = {"ENGRAM_HOME": str(home)}
    old = cli("add", "Old note about the ferry to Cacilhas", "--json", "--at", "2020-01-01",
              env=env)
    keep = cli("add", "Recent note about the ferry timetable", "--json", env=env)
    old_id = int(old.stdout.split('"id": ')[1].split(",")[0])
    keep_id = int(keep.stdout.split('"id": ')[1].split(",")[0])
    assert (home / RESERVE_NAME).exists()
    _kill_mid_write(home)
    assert Path(str(home / "engram.db") + "-wal").exists()  # the WAL is still on disk
    filler = fill(small_disk)

    for args in (("add", "one more"), ("search", "ferry"), ("status",)):
        proc = cli(*args, check=False, env=env)
        assert "Traceback" not in proc.stderr, proc.stderr
        if args[0] == "add" or proc.returncode != 0:
            assert_one_clear_line(proc)

    # Deleting works at 100 % full: part of the reserve is given back to make room,
    # and again for the next deletion after the disk filled up once more.
    reserve = Reserve(home)
    proc = cli("forget", str(keep_id), "--yes", check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    left = reserve.path.stat().st_size
    assert 0 < left < reserve.size
    fill(small_disk)  # take the room it made, too
    proc = cli("retention", "--days", "365", "--sources", "note", "--apply", "--yes",
               check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert reserve.path.stat().st_size < left

    # With room again: the store is whole, what was forgotten is gone, the rest is there,
    # and the reserve is back.
    for extra in small_disk.glob("filler*"):
        extra.unlink()
    found = cli("search", "scratch note", "--json", "--no-memories", env=env).stdout
    assert '"id": ' in found
    script = (
        "from app.bootstrap import open_engine\n"
        "from core.config import Settings, resolve_paths\n"
        f"paths = resolve_paths({str(home)!r})\n"
        "eng = open_engine(paths, settings=Settings(paths.settings_path), ask=None)\n"
        "db = eng.store.reader()\n"
        "print(db.execute('PRAGMA integrity_check').fetchall()[0][0])\n"
        f"print(db.execute('SELECT count(*) FROM events WHERE id = {keep_id}').fetchall()[0][0])\n"
        f"print(db.execute('SELECT count(*) FROM events WHERE id = {old_id}').fetchall()[0][0])\n"
        "print(db.execute(\"SELECT count(*) FROM events WHERE text LIKE 'scratch note%'\")"
        ".fetchall()[0][0])\n"
        "eng.close()\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO,
                         env={**os.environ, **env}, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    integrity, kept, old_kept, scratch = out.stdout.split()
    assert integrity == "ok" and kept == "0" and old_kept == "0" and scratch == "300"
    assert Reserve(home).full  # topped up again once there was room


def test_reserve_is_given_back_only_for_deletions(tmp_path: Path) -> None:
    reserve = Reserve(tmp_path, size=64 * 1024, step=32 * 1024)
    assert reserve.ensure() and reserve.full
    assert os.stat(reserve.path).st_blocks * 512 >= 64 * 1024  # really allocated
    assert reserve.release() and reserve.present and not reserve.full
    assert reserve.release() and not reserve.present
    assert not reserve.release()
    assert reserve.ensure() and reserve.full


def test_disk_full_message_is_one_line_with_the_free_space(tmp_path: Path) -> None:
    err = disk_full(tmp_path)
    assert isinstance(err, DiskFull) and err.exit_code == 4
    assert "\n" not in str(err) and " free)" in err.message


def test_with_room_retries_once_after_giving_back_the_reserve(engine) -> None:
    store = engine.store
    assert store.reserve is not None and store.reserve.present
    calls = []

    def deletion() -> str:
        calls.append(store.reserve.present)
        if len(calls) == 1:
            raise disk_full(store.path.parent)
        return "done"

    assert store.with_room(deletion) == "done"
    assert calls == [True, True]  # the first part given back; some left
    assert store.reserve.full  # topped up again: this disk has room
