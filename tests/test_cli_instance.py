"""The read commands through the running instance: same answers, no key, no model.

`engram search|ask|status|memories list|timeline` ask the running daemon when
one is up and open the store themselves otherwise; both paths must print the
same thing. The instance path needs no passphrase (a wrong one in the
environment changes nothing) and imports neither numpy, the store nor llama.cpp.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from tests.conftest import REPO
from tests.test_mcp import DAY, seed, wait_for_instance

WRONG = {"ENGRAM_PASSPHRASE": "not my passphrase"}
READS = (("search", "Name of the Wind", "--json"),
         ("search", "retrieval rankings", "--source", "screen", "-k", "3", "--json"),
         ("memories", "list", "--all", "--json"),
         ("memories", "list", "--type", "episodic", "--all"),
         ("timeline", DAY, "--json"),
         ("timeline", DAY),
         ("search", "fuse keyword"),
         ("search", "terminal trick"))


def test_fast_path_constants_match_the_core() -> None:
    from app.cli import fast
    from core.records import MEMORY_TYPES
    from core.snippets import MARK_CLOSE, MARK_OPEN

    assert (fast.MARK_OPEN, fast.MARK_CLOSE) == (MARK_OPEN, MARK_CLOSE)
    assert fast.MEMORY_TYPES == MEMORY_TYPES


def test_reads_through_the_instance_equal_reads_from_the_store(cli, data_dir: Path) -> None:
    seed(data_dir)
    Settings(data_dir / "settings.json").set("screen_capture", False)
    cli("add", "a terminal trick \x1b[2J\x1b[31mred\u202e", "--at", "2024-03-01")
    local = {args: cli(*args).stdout for args in READS}
    assert "\\e[2J" in local[("search", "terminal trick")]
    local_ask = json.loads(cli("ask", "What did Ana recommend?", "--json").stdout)
    local_status = json.loads(cli("status", "--json").stdout)

    daemon = subprocess.Popen([sys.executable, "-m", "app", "daemon"], cwd=REPO,
                              env={**os.environ}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for_instance(cli, daemon)
        for args in READS:  # the instance answers: the passphrase is never needed
            out = cli(*args, env=WRONG).stdout
            if args[0] != "search":
                assert out == local[args], args
            elif "--json" in args:
                # The instance ranks with its in-memory index (quantised vectors), the
                # one-shot process with sqlite-vec's exact scan: the tail may differ.
                mine, theirs = json.loads(out)["results"], json.loads(local[args])["results"]
                assert mine[0] == theirs[0] and len(mine) == len(theirs), args
            else:
                assert out.splitlines()[:2] == local[args].splitlines()[:2], args
                assert "\x1b[2J" not in out and "\u202e" not in out
        asked = json.loads(cli("ask", "What did Ana recommend?", "--json", env=WRONG).stdout)
        assert asked["answer"] == local_ask["answer"] and asked["mode"] == local_ask["mode"]
        assert [e["id"] for e in asked["evidence"]] == [e["id"] for e in local_ask["evidence"]]
        assert asked["thread"] != local_ask["thread"]  # a new conversation, stored by the instance
        human = cli("ask", "What did Ana recommend?", env=WRONG).stdout
        assert "Name of the Wind" in human and "Sources:" in human
        status = json.loads(cli("status", "--json", env=WRONG).stdout)
        assert status["capture"] is not None
        for key in ("events", "sources", "memories", "embedding_model", "files"):
            assert status[key] == local_status[key], key

        bad = cli("timeline", "last blue moon", check=False, env=WRONG)
        assert bad.returncode == 2 and "Can't read the time" in bad.stderr
        refused = cli("search", "x", "-k", "0", check=False, env=WRONG)
        assert refused.returncode == 2 and "-k must be at least 1" in refused.stderr

        # Nothing heavy is imported on the instance path: no numpy, store or model.
        traced = subprocess.run([sys.executable, "-X", "importtime", "-m", "app", "search",
                                 "Name of the Wind"], cwd=REPO, env={**os.environ, **WRONG},
                                capture_output=True, text=True, timeout=60)
        assert traced.returncode == 0 and "Name of the Wind" in traced.stdout
        imported = {line.rsplit("|", 1)[-1].strip() for line in traced.stderr.splitlines()}
        for heavy in ("numpy", "apsw", "sqlite_vec", "llama_cpp", "core.store", "PySide6"):
            assert heavy not in imported, heavy
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    gone = cli("search", "Name of the Wind", check=False, env=WRONG)
    assert gone.returncode == 2 and "does not unlock" in gone.stderr


@pytest.mark.parametrize("argv", [["search"], ["search", "--help"], ["memories", "show", "1"],
                                  ["search", "x", "--bogus"], ["forget", "1"],
                                  ["search", "x"]])  # a key file left behind, nobody listening
def test_fast_path_leaves_what_it_does_not_handle_to_the_full_cli(argv: list[str],
                                                                   tmp_path: Path) -> None:
    from app.cli import fast

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "control.key").write_text("00" * 32)
    assert fast.run([*argv, "--data-dir", str(tmp_path)]) is None


def test_the_control_channel_answers_and_closes_cleanly(tmp_path: Path) -> None:
    from app.control import ControlServer, NotRunning, request
    from core.config import resolve_paths

    paths = resolve_paths(tmp_path / "home")
    seen: list[dict] = []
    server = ControlServer(paths, lambda message: seen.append(message) or {
        "ok": True, "echo": message, "big": "ü" * 200_000})
    reply = request(paths, {"op": "x", "text": "ü" * 1000})
    # The plain-socket client speaks the listener's protocol, replies of any size included.
    assert reply["echo"] == seen[0] == {"op": "x", "text": "ü" * 1000}
    assert reply["big"] == "ü" * 200_000
    # A legacy challenge is 20 random bytes, which may start with "{" by chance.
    real_urandom = os.urandom
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "urandom", lambda n: b"{" + real_urandom(n - 1))
        for _ in range(3):
            assert request(paths, {"op": "y"})["echo"] == {"op": "y"}
    server.close()
    assert not server._thread.is_alive()  # the accept loop woke up and ended
    with pytest.raises(NotRunning):
        request(paths, {"op": "ping"})
    again = ControlServer(paths, lambda message: {"ok": True})  # the same address, reused
    assert request(paths, {"op": "ping"}) == {"ok": True}
    again.close()


def test_digest_names_are_told_from_legacy_messages_by_length() -> None:
    from app.control import _digest_name, _Unfamiliar

    assert _digest_name(b"{" + b"x" * 15, 16) is None  # an md5 HMAC that starts with "{"
    assert _digest_name(b"{abc}" + b"y" * 15, 20) is None  # a legacy challenge likewise
    assert _digest_name(b"{sha256}" + b"z" * 32, 16) == "sha256"
    with pytest.raises(_Unfamiliar):
        _digest_name(b"{nonsense}" + b"z" * 32, 16)
    with pytest.raises(_Unfamiliar):
        _digest_name(b"no braces at all, longer than twenty", 20)


def test_a_hung_instance_gives_one_clear_error_not_a_traceback(tmp_path: Path) -> None:
    # Listening but never answering (a frozen app): the client gives up with an EngramError.
    import socket
    import time

    from app.control import _address, _key_path, request
    from core.config import resolve_paths
    from core.errors import EngramError

    paths = resolve_paths(tmp_path / "home")
    os.makedirs(paths.runtime_dir, exist_ok=True)
    Path(_key_path(paths)).write_text("00" * 32, encoding="ascii")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(_address(paths)[0])
    listener.listen(1)
    try:
        started = time.monotonic()
        with pytest.raises(EngramError, match="did not answer in time"):
            request(paths, {"op": "ping"}, timeout=1.0)
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_a_failing_request_reply_names_no_captured_text(tmp_path: Path) -> None:
    from app.control import ControlServer, request
    from core.config import resolve_paths
    from core.errors import EngramError

    paths = resolve_paths(tmp_path / "home")

    def handler(message: dict) -> dict:
        raise ValueError("secret captured words")

    server = ControlServer(paths, handler)
    try:
        with pytest.raises(EngramError) as caught:
            request(paths, {"op": "x"})
        assert "secret captured words" not in caught.value.message
        assert "ValueError" in caught.value.message
    finally:
        server.close()
