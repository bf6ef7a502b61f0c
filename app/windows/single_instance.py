"""One app per data folder: a second launch hands its request to the first, then exits.

The first instance listens on a QLocalServer named after the data folder (and
the user, so two people on one machine never meet); a second launch connects,
sends one line — by default ``show`` — waits for ``ok`` and exits. The
requests are tiny and fixed: show, view:NAME, search:TEXT, day:YYYY-MM-DD,
ask:TEXT, quick-ask, ping. They are also how the Xvfb test drives the real app.
"""
from __future__ import annotations

import getpass
import hashlib
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

COMMANDS = ("show", "view", "search", "day", "ask", "quick-ask", "ping", "theme")
MAX_LINE = 4096


def server_name(data_dir: Path) -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment
        user = "user"
    digest = hashlib.sha256(f"{user}\0{data_dir.resolve()}".encode()).hexdigest()[:20]
    return f"engram-{digest}"


def send(name: str, command: str, timeout_ms: int = 5000) -> str | None:
    """Deliver ``command`` to a running instance; its reply, or None if none runs."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(500):
        return None
    socket.write(command.encode("utf-8")[:MAX_LINE] + b"\n")
    socket.flush()
    reply = b""
    socket.waitForBytesWritten(timeout_ms)
    while b"\n" not in reply:
        if socket.bytesAvailable():
            reply += bytes(socket.readAll())
            continue
        if not socket.waitForReadyRead(timeout_ms):
            reply += bytes(socket.readAll())  # the answer may come with the close
            break
    socket.disconnectFromServer()
    return reply.decode("utf-8", "replace").strip() or "no reply"


class SingleInstance(QObject):
    """Owns the server of the first instance; ``requested(command)`` for each request."""

    requested = Signal(str)

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.name = server_name(data_dir)
        self.server: QLocalServer | None = None

    def claim(self) -> bool:
        """True if this process is now the instance; False if another one answered."""
        if send(self.name, "ping", 2000) is not None:
            return False
        QLocalServer.removeServer(self.name)  # a socket left by a crashed instance
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # Lost a race with another first launch: it is the instance now.
            return send(self.name, "ping", 2000) is None
        server.newConnection.connect(self._accept)
        self.server = server
        return True

    def _accept(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            buffer = bytearray()

            def read(socket: QLocalSocket = socket, buffer: bytearray = buffer) -> None:
                buffer.extend(bytes(socket.readAll()))
                if b"\n" not in buffer and len(buffer) < MAX_LINE:
                    return
                line = bytes(buffer).split(b"\n", 1)[0].decode("utf-8", "replace").strip()
                verb = line.split(":", 1)[0]
                ok = verb in COMMANDS
                if ok and verb != "ping":
                    self.requested.emit(line)
                # Answered after the request ran on this (main) thread: a reply means the
                # event loop is alive and did it.
                socket.write(b"ok\n" if ok else b"unknown request\n")
                socket.flush()
                socket.disconnectFromServer()

            socket.readyRead.connect(read)
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                read()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
