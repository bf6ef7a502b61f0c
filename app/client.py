"""Answer a request through the running instance when one is up, else locally.

The instance (desktop app or daemon) already holds the unlocked store, the
embedding model and the in-memory vector index, so going through its control
channel skips key derivation and model loading. When nothing runs, the
caller's ``local()`` opens the store in this process and ``core.access``
answers the same request, giving the same JSON.
"""
from __future__ import annotations

from typing import Any, Callable

from core.config import Paths


def answer(paths: Paths, request: dict[str, Any], local: Callable[[], Any], *,
           timeout: float = 30.0) -> dict[str, Any]:
    """``core.access.run(engine, request)`` in the running instance, or on ``local()``."""
    from app.control import NotRunning, request as ask_instance

    if not paths.runtime_dir.exists():  # no instance ever ran here: don't try the socket
        return _locally(local, request)
    try:
        reply = ask_instance(paths, {**request, "op": f"access.{request['op']}"},
                             timeout=timeout)
    except NotRunning:
        return _locally(local, request)
    reply.pop("ok", None)
    return reply


def _locally(local: Callable[[], Any], request: dict[str, Any]) -> dict[str, Any]:
    from core import access

    return access.run(local(), request)
