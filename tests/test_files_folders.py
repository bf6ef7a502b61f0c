"""Odd things inside indexed folders: unreadable sub-folders, FIFOs and devices,
file names that are not UTF-8 or that hold line breaks (issue 18, folder parts)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.store import files as file_rows
from ingest.files.indexer import FileIndexer
from ingest.files.report import FileOutcome, shown_path

REPO = Path(__file__).resolve().parent.parent


def _without_root_powers() -> list[str]:
    """A command prefix that runs as a person would: root's file-permission bypass dropped."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_sub_folder_is_reported_and_the_rest_is_indexed(
        data_dir: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "locked" / "inner").mkdir(parents=True)
    (docs / "locked" / "inner" / "hidden.txt").write_text("behind a locked door\n")
    (docs / "open.txt").write_text("The lighthouse keeper's log for March.\n")
    (docs / "sub").mkdir()
    (docs / "sub" / "more.txt").write_text("More about the lighthouse lamp.\n")
    (docs / "locked").chmod(0)
    try:
        proc = subprocess.run(
            [*_without_root_powers(), sys.executable, "-m", "app", "index", str(docs), "--json"],
            cwd=REPO, env=os.environ.copy(), capture_output=True, text=True, timeout=300)
    finally:
        (docs / "locked").chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["indexed"] == 2
    assert {"path": str(docs / "locked"), "reason": "permission denied (folder)"} \
        in report["problems"]


def test_fifos_are_skipped_with_a_reason_and_never_opened(engine, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("Pick up the bicycle on Friday.\n")
    os.mkfifo(docs / "pipe")  # opening it for reading would block the scan forever
    indexer = FileIndexer(engine.pipeline)
    report = indexer.scan(docs)
    assert report.indexed == 1 and report.skipped == 1
    assert report.problems == [(str(docs / "pipe"), "not a regular file (FIFO)")]
    summary = file_rows.summary(engine.store.reader())
    assert summary.reasons == {"not a regular file": 1}
    again = indexer.scan(docs)  # still counted, still explained, still not opened
    assert again.skipped == 1 and again.problems == report.problems


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs a device file")
def test_device_files_are_skipped_with_a_reason(engine, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("text\n")
    (docs / "null").symlink_to("/dev/null")  # a device file, as a person's folder might link one
    report = FileIndexer(engine.pipeline).scan(docs)
    assert stat.S_ISCHR(os.stat(docs / "null").st_mode)
    assert (str(docs / "null"), "not a regular file (device)") in report.problems


@pytest.mark.skipif(sys.platform == "darwin", reason="APFS refuses names that are not UTF-8")
def test_a_name_that_is_not_utf8_is_skipped_with_a_reason(engine, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fine.txt").write_text("a fine file\n")
    bad = os.path.join(os.fsencode(docs), b"caf\xe9.txt")
    with open(bad, "wb") as handle:
        handle.write(b"Latin-1 named file\n")
    report = FileIndexer(engine.pipeline).scan(docs)
    assert report.indexed == 1 and report.skipped == 1
    assert report.problems == [(f"{docs}/caf\\xe9.txt", "file name is not valid UTF-8")]


def test_control_characters_in_names_are_escaped_when_printed(cli, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    tricky = "x\nIndexed etc: 0 files\rreal.bin"
    (docs / tricky).write_bytes(bytes(range(256)) * 20)  # binary: skipped, so its name is printed
    proc = cli("index", str(docs))
    lines = proc.stdout.splitlines()
    assert not any(line.startswith("Indexed etc") for line in lines)
    assert any("x\\nIndexed etc: 0 files\\rreal.bin" in line for line in lines)
    status = cli("status").stdout
    assert "\r" not in status and "x\\nIndexed" in status
    assert shown_path("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert FileOutcome("a\nb", "skipped", reason="binary file").describe() == \
        "skipped a\\nb: binary file"
