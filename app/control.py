"""The running instance's control channel: `engram pause|resume|status` talk to it.

A local socket in ``<data dir>/run/`` (a folder only the owner can enter), with a
random auth key in an owner-only file, so only the same user's processes can
connect (``multiprocessing.connection`` does the HMAC challenge; on Windows the
same API uses a named pipe). Messages are JSON, never pickles: a message is
data, it cannot run code in the instance.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any, Callable

from core.config import Paths, ensure_private_dir, write_private_file
from core.errors import EngramError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class NotRunning(EngramError):
    exit_code = 3


def _address(paths: Paths) -> tuple[str, str]:
    if sys.platform == "win32":
        tag = abs(hash(str(paths.data_dir))) % 10**8
        return rf"\\.\pipe\engram-{os.getlogin()}-{tag}", "AF_PIPE"
    return str(paths.runtime_dir / "control.sock"), "AF_UNIX"


def _key_path(paths: Paths) -> Path:
    return paths.runtime_dir / "control.key"


class ControlServer:
    """Answers control requests on a background thread until closed."""

    def __init__(self, paths: Paths, handler: Handler) -> None:
        ensure_private_dir(paths.runtime_dir)
        address, family = _address(paths)
        if family == "AF_UNIX" and Path(address).exists():
            if _alive(paths):
                raise EngramError("Engram is already running for this data folder.",
                                  hint="Use `engram status`, or stop the other instance.")
            Path(address).unlink()  # left behind by an instance that was killed
        self._authkey = secrets.token_bytes(32)
        write_private_file(_key_path(paths), self._authkey.hex().encode())
        self._listener = Listener(address, family=family, authkey=self._authkey)
        if family == "AF_UNIX":
            os.chmod(address, 0o600)
        self._paths = paths
        self._handler = handler
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except (OSError, EOFError):
                if self._closed:
                    return
                continue  # a client that failed authentication
            except Exception:  # multiprocessing raises AuthenticationError
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: Connection) -> None:
        with conn:
            try:
                request = json.loads(conn.recv_bytes(65536))
                if not isinstance(request, dict):
                    raise ValueError("request must be an object")
                reply = self._handler(request)
            except EngramError as exc:
                reply = {"ok": False, "error": exc.message, "hint": exc.hint,
                         "exit_code": exc.exit_code}
            except Exception as exc:
                log.exception("control request failed")
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            try:
                conn.send_bytes(json.dumps(reply, default=str).encode())
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        address, family = _address(self._paths)
        try:
            self._listener.close()
        except OSError:
            pass
        if family == "AF_UNIX":
            Path(address).unlink(missing_ok=True)
        _key_path(self._paths).unlink(missing_ok=True)


def request(paths: Paths, message: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to the running instance; NotRunning if there is none."""
    address, family = _address(paths)
    try:
        authkey = bytes.fromhex(_key_path(paths).read_text().strip())
    except (OSError, ValueError):
        raise NotRunning("Engram is not running for this data folder.",
                         hint="Start the desktop app or `engram daemon`.") from None
    try:
        conn = Client(address, family=family, authkey=authkey)
    except (OSError, EOFError):
        raise NotRunning("Engram is not running for this data folder.",
                         hint="Start the desktop app or `engram daemon`.") from None
    with conn:
        conn.send_bytes(json.dumps(message).encode())
        if not conn.poll(timeout):
            raise EngramError("The running Engram instance did not answer in time.")
        reply = json.loads(conn.recv_bytes())
    if not reply.get("ok", False):
        error = EngramError(reply.get("error") or "The running instance refused the request.",
                            hint=reply.get("hint"))
        if isinstance(reply.get("exit_code"), int):  # the CLI exits as if it failed here
            error.exit_code = reply["exit_code"]
        raise error
    return reply


def _alive(paths: Paths) -> bool:
    try:
        request(paths, {"op": "ping"}, timeout=2.0)
        return True
    except EngramError:
        return False
