"""The running instance's control channel: the CLI and `engram mcp` talk to it.

A local socket in ``<data dir>/run/`` (a folder only the owner can enter), with a
random auth key in an owner-only file, so only the same user's processes can
connect (``multiprocessing.connection`` does the HMAC challenge; on Windows the
same API uses a named pipe). Messages are JSON, never pickles: a message is
data, it cannot run code in the instance.

The client side is what `engram search` pays for on every call, so this module
imports little at the top: on POSIX a request speaks the listener's framing and
challenge over a plain socket (``_unix_request``: ``multiprocessing`` and
``logging`` cost more to import than the whole round trip), and falls back to
``multiprocessing``'s own client if the listener answers in a way it does not know.
"""
from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from core.errors import EngramError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from core.config import Paths

Handler = Callable[[dict[str, Any]], dict[str, Any]]
KEPT_THREADS = 4  # request threads kept alive between requests (with their store connection)
_NOT_RUNNING = ("Engram is not running for this data folder.",
                "Start the desktop app or `engram daemon`.")


def _log() -> Any:
    import logging

    return logging.getLogger(__name__)


class NotRunning(EngramError):
    exit_code = 3


def _address(paths: Paths) -> tuple[str, str]:
    if sys.platform == "win32":
        import hashlib

        # A stable name: str hashes differ between processes (hash randomisation).
        tag = int(hashlib.sha256(str(paths.data_dir).encode()).hexdigest()[:8], 16)
        return rf"\\.\pipe\engram-{os.getlogin()}-{tag}", "AF_PIPE"
    return os.path.join(paths.runtime_dir, "control.sock"), "AF_UNIX"


def _key_path(paths: Paths) -> str:
    return os.path.join(paths.runtime_dir, "control.key")


class ControlServer:
    """Answers control requests on a background thread until closed."""

    def __init__(self, paths: Paths, handler: Handler) -> None:
        import secrets
        import threading
        from multiprocessing.connection import Listener
        from pathlib import Path

        from core.config import ensure_private_dir, write_private_file

        ensure_private_dir(paths.runtime_dir)
        address, family = _address(paths)
        if family == "AF_UNIX" and Path(address).exists():
            if _alive(paths):
                raise EngramError("Engram is already running for this data folder.",
                                  hint="Use `engram status`, or stop the other instance.")
            Path(address).unlink()  # left behind by an instance that was killed
        self._authkey = secrets.token_bytes(32)
        write_private_file(Path(_key_path(paths)), self._authkey.hex().encode())
        self._listener = Listener(address, family=family, authkey=self._authkey)
        if family == "AF_UNIX":
            os.chmod(address, 0o600)
        self._paths = paths
        self._handler = handler
        self._closed = False
        # Requests are answered on a few threads that live on (and more, one-off, when
        # all are busy): each thread keeps its own store connection, and a fresh one per
        # request started every search on a cold page cache (a memory search took 12 ms
        # instead of 5, and the connections were never closed).
        import queue

        self._jobs: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._pool_lock = threading.Lock()
        self._idle = 0
        self._kept = 0
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
            self._dispatch(conn)

    def _dispatch(self, conn: Connection) -> None:
        import threading

        with self._pool_lock:
            if self._idle:
                self._idle -= 1
                self._jobs.put(conn)  # an idle kept thread is waiting for it
                return
            keep = self._kept < KEPT_THREADS
            self._kept += keep
        target = self._keep_answering if keep else self._answer
        threading.Thread(target=target, args=(conn,), name="control-request",
                         daemon=True).start()

    def _keep_answering(self, conn: Connection | None) -> None:
        while conn is not None:
            self._answer(conn)
            with self._pool_lock:
                self._idle += 1
            conn = self._jobs.get()  # None: the listener closed

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
                # Exception text can quote captured content: the reply and the log name
                # the type; the traceback is kept for debugging only.
                _log().debug("control request failed", exc_info=True)
                _log().error("control request failed: %s", type(exc).__name__)
                reply = {"ok": False, "error": f"The request failed ({type(exc).__name__})."}
            try:
                conn.send_bytes(json.dumps(reply, default=str).encode())
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        with self._pool_lock:
            for _ in range(self._kept):
                self._jobs.put(None)
            self._kept = self._idle = 0
        address, family = _address(self._paths)
        if family == "AF_UNIX":
            # Closing a socket does not wake a thread blocked in accept() on Linux; left
            # blocked, it could later accept on a new listener that reuses the descriptor
            # (lock/unlock, restart) and fail its clients' handshake. Knock once to wake it.
            import socket

            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as knock:
                    knock.settimeout(1.0)
                    knock.connect(address)
            except OSError:
                pass
        try:
            self._listener.close()
        except OSError:
            pass
        for path in ((address,) if family == "AF_UNIX" else ()) + (_key_path(self._paths),):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self._thread.join(timeout=2.0)


def request(paths: Paths, message: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to the running instance; NotRunning if there is none."""
    address, family = _address(paths)
    try:
        with open(_key_path(paths), encoding="ascii") as fh:
            authkey = bytes.fromhex(fh.read().strip())
    except (OSError, ValueError):
        raise NotRunning(_NOT_RUNNING[0], hint=_NOT_RUNNING[1]) from None
    payload = json.dumps(message).encode()
    raw = None
    if family == "AF_UNIX":
        try:
            raw = _unix_request(address, authkey, payload, timeout)
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(_NOT_RUNNING[0], hint=_NOT_RUNNING[1]) from None
        except _Unfamiliar:
            raw = None  # a listener speaking another version: its own client knows it
    if raw is None:
        raw = _multiprocessing_request(address, family, authkey, payload, timeout)
    reply = json.loads(raw)
    if not reply.get("ok", False):
        error = EngramError(reply.get("error") or "The running instance refused the request.",
                            hint=reply.get("hint"))
        if isinstance(reply.get("exit_code"), int):  # the CLI exits as if it failed here
            error.exit_code = reply["exit_code"]
        raise error
    return reply


def _multiprocessing_request(address: str, family: str, authkey: bytes, payload: bytes,
                             timeout: float) -> bytes:
    from multiprocessing.connection import Client

    try:
        conn = Client(address, family=family, authkey=authkey)
    except (OSError, EOFError):
        raise NotRunning(_NOT_RUNNING[0], hint=_NOT_RUNNING[1]) from None
    with conn:
        conn.send_bytes(payload)
        if not conn.poll(timeout):
            raise EngramError("The running Engram instance did not answer in time.")
        return conn.recv_bytes()


# -- the listener's protocol, client side, over a plain socket ------------------------------
# multiprocessing.connection frames each message with a 4-byte big-endian length (-1, then
# 8 bytes, above 2 GiB) and authenticates both ways: the listener sends #CHALLENGE# and
# random bytes (Python ≥ 3.12 put "{digest}" first and MAC the whole message with it);
# the client answers with the HMAC and gets #WELCOME#, then challenges the listener alike.
_CHALLENGE, _WELCOME, _FAILURE = b"#CHALLENGE#", b"#WELCOME#", b"#FAILURE#"


class _Unfamiliar(Exception):
    """The listener spoke a variant of the protocol this client does not know."""


def _unix_request(address: str, authkey: bytes, payload: bytes, timeout: float) -> bytes:
    import hmac
    import socket
    import struct

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(min(timeout, 10.0))
        sock.connect(address)
        message = _recv(sock, 256)
        if not message.startswith(_CHALLENGE):
            raise _Unfamiliar("no challenge")
        message = message[len(_CHALLENGE):]
        name = _digest_name(message, _LEGACY_CHALLENGE)
        response = hmac.new(authkey, message, name or "md5").digest()
        _send(sock, b"{%s}%s" % (name.encode(), response) if name else response)
        if _recv(sock, 256) != _WELCOME:
            raise EngramError("The running Engram instance refused this user's key.")
        mine = os.urandom(20)
        _send(sock, _CHALLENGE + mine)
        answer = _recv(sock, 256)
        name = _digest_name(answer, _LEGACY_DIGEST)
        expected = hmac.new(authkey, mine, name or "md5").digest()
        if name:
            expected = b"{%s}%s" % (name.encode(), expected)
        if not hmac.compare_digest(answer, expected):
            _send(sock, _FAILURE)
            raise EngramError("The control socket did not prove it is Engram's; not asking it.")
        _send(sock, _WELCOME)
        _send(sock, payload)
        sock.settimeout(timeout)
        try:
            return _recv(sock, None)
        except socket.timeout:
            raise EngramError("The running Engram instance did not answer in time.") from None
    except (ConnectionResetError, BrokenPipeError, EOFError):
        raise NotRunning(_NOT_RUNNING[0], hint=_NOT_RUNNING[1]) from None
    except socket.timeout:  # listening but not answering: a hung instance
        raise EngramError("The running Engram instance did not answer in time.",
                          hint="Quit it (or end the `engram daemon` process) and try again."
                          ) from None
    except OSError:  # refused, a stale socket file, not a socket: nobody to ask
        raise NotRunning(_NOT_RUNNING[0], hint=_NOT_RUNNING[1]) from None
    except (ValueError, struct.error) as exc:  # e.g. a digest this hashlib lacks
        raise _Unfamiliar(str(exc)) from None
    finally:
        sock.close()


_LEGACY_CHALLENGE, _LEGACY_DIGEST = 20, 16  # bytes: random challenge, md5 HMAC
_DIGESTS = ("sha256", "sha384", "sha512", "sha3_256", "md5")


def _digest_name(message: bytes, legacy_length: int) -> str | None:
    """The "{name}" a message starts with, or None for the legacy md5 form.

    A legacy message has exactly ``legacy_length`` bytes, which may well start with
    "{" by chance: length decides first (as Python's own ``multiprocessing`` does).
    """
    if len(message) == legacy_length:
        return None
    end = message.find(b"}")
    if not message.startswith(b"{") or end < 0:
        raise _Unfamiliar("no digest name")
    name = message[1:end].decode("ascii", "replace")
    if name not in _DIGESTS:
        raise _Unfamiliar(name)
    return name


def _send(sock: Any, data: bytes) -> None:
    import struct

    header = struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else \
        struct.pack("!iQ", -1, len(data))
    sock.sendall(header + data)


def _recv(sock: Any, limit: int | None) -> bytes:
    import struct

    (size,) = struct.unpack("!i", _exactly(sock, 4))
    if size == -1:
        (size,) = struct.unpack("!Q", _exactly(sock, 8))
    if size < 0 or (limit is not None and size > limit):
        raise _Unfamiliar("unexpected message size")
    return _exactly(sock, size)


def _exactly(sock: Any, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _alive(paths: Paths) -> bool:
    try:
        request(paths, {"op": "ping"}, timeout=2.0)
        return True
    except EngramError:
        return False
