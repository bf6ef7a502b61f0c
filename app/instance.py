"""The running instance: engine + capture sources + control channel.

The daemon (`engram daemon`) and the desktop app both run one of these; the
CLI's `pause`, `resume` and `status` reach it through the control channel.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Sequence

from app.bootstrap import Engine
from app.control import ControlServer
from core.errors import UsageError
from ingest.base import Source
from ingest.supervisor import Supervisor

log = logging.getLogger(__name__)


class Instance:
    """Owns the supervisor and answers control requests."""

    def __init__(self, engine: Engine, sources: Sequence[Source]) -> None:
        self.engine = engine
        self.supervisor = Supervisor(sources, engine.pipeline.take)
        self.stopped = threading.Event()
        self._server: ControlServer | None = None
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="access")

    def start(self, *, control: bool = True) -> None:
        if control:
            self._server = ControlServer(self.engine.paths, self.handle)
        self.supervisor.start()

    def stop(self) -> None:
        """Stop capture (sources flush what they hold), then the channel."""
        self.supervisor.stop()
        if self._server is not None:
            self._server.close()
            self._server = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.stopped.set()

    def status(self) -> dict[str, Any]:
        return self.supervisor.status().to_json()

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        if op == "ping":
            return {"ok": True}
        if isinstance(op, str) and op.startswith("access."):
            # Search, ask, items, memories, timeline for the CLI and `engram mcp`: on a
            # small fixed pool, so their reader connections and page caches are reused.
            from core import access

            request = {**message, "op": op.removeprefix("access.")}
            return {"ok": True, **self._pool.submit(access.run, self.engine, request).result()}
        if op == "status":
            return {"ok": True, **self.status()}
        if op == "pause":
            minutes = message.get("minutes")
            if minutes is not None and (not isinstance(minutes, (int, float)) or minutes <= 0):
                raise UsageError("pause needs a positive number of minutes")
            self.supervisor.pause(timedelta(minutes=minutes) if minutes else None)
            return {"ok": True, **self.status()}
        if op == "resume":
            self.supervisor.resume()
            return {"ok": True, **self.status()}
        if op == "stop":
            threading.Thread(target=self.stop, daemon=True).start()
            return {"ok": True}
        raise UsageError(f"unknown request {op!r}")
