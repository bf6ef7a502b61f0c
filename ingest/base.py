"""What a capture source is: something that produces observations until told to stop.

A source never writes to the store itself: it hands typed items to a ``Sink``
(the pipeline's ``take``): ``Observation``s, and ``Retract``/``Relocate`` for what it
no longer stands behind or what moved. It checks its ``Control`` between units of work —
stop as soon as ``control.stopping``; while ``control.paused`` capture nothing
(``control.wait(seconds)`` sleeps but wakes at once on stop or resume).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Literal, Mapping, Protocol, Sequence

from core.progress import Cancel
from core.records import Changes, SinkItem

Sink = Callable[[Sequence[SinkItem]], Changes]
State = Literal["starting", "running", "paused", "failed", "stopped"]


class Control:
    """Shared between the supervisor and one source: stop and pause signals."""

    def __init__(self) -> None:
        self.cancel = Cancel()  # set by stop(); long work inside a source takes it
        self._resumed = threading.Event()
        self._resumed.set()
        self._changed = threading.Condition()

    @property
    def stopping(self) -> bool:
        return self.cancel.cancelled

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

    def stop(self) -> None:
        self.cancel.cancel()
        self._notify()

    def pause(self) -> None:
        self._resumed.clear()
        self._notify()

    def resume(self) -> None:
        self._resumed.set()
        self._notify()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return early (True) on stop, pause or resume."""
        with self._changed:
            return self._changed.wait(timeout=seconds)

    def wait_while_paused(self) -> None:
        """Block while paused, until resumed or stopped."""
        while self.paused and not self.stopping:
            self.wait(1.0)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()


class Source(Protocol):
    """A capture source (screen, watched folders, …)."""

    name: str

    def run(self, sink: Sink, control: Control) -> None:
        """Capture until ``control.stopping``; raise on failure (the supervisor restarts)."""
        ...

    def describe(self) -> str:
        """One line about what it is doing now, for status displays."""
        ...


@dataclass(frozen=True)
class SourceStatus:
    name: str
    state: State
    detail: str = ""
    restarts: int = 0
    error: str | None = None
    paused_until: datetime | None = None


@dataclass(frozen=True)
class CaptureStatus:
    """Capture as a whole: paused or not, and every source's state.

    ``to_json``/``from_json`` are the one encoding it has on the control
    channel (`engram status|pause|resume`, the desktop app steering a daemon);
    ``lines`` is the one way the CLI prints it.
    """

    paused: bool = False
    paused_until: datetime | None = None
    sources: tuple[SourceStatus, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "paused": self.paused,
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
            "sources": [{"name": s.name, "state": s.state, "detail": s.detail,
                         "restarts": s.restarts, "error": s.error} for s in self.sources],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "CaptureStatus":
        until = data.get("paused_until")
        sources = tuple(
            SourceStatus(name=str(s["name"]), state=s["state"], detail=s.get("detail") or "",
                         restarts=int(s.get("restarts") or 0), error=s.get("error"))
            for s in data.get("sources", ()))
        return cls(bool(data.get("paused")), datetime.fromisoformat(until) if until else None,
                   sources)

    def headline(self) -> str:
        """"capturing", "paused", or "paused until …"."""
        if not self.paused:
            return "capturing"
        return f"paused until {self.paused_until.isoformat()}" if self.paused_until else "paused"

    def lines(self, width: int = 10) -> list[str]:
        """One line per source: name, state, what it does, why it failed."""
        return [f"  {s.name:<{width}} {s.state}" + (f" ({s.detail})" if s.detail else "")
                + (f" — {s.error}" if s.error else "") for s in self.sources]

