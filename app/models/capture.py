"""Capture state for the tray and the views: a snapshot, and pause/resume.

Normally the app runs the capture itself (an ``Instance``: supervisor +
control channel, so `engram pause/status` reach it). When an `engram daemon`
already captures for this data folder, the app doesn't start a second set of
sources; it shows and steers the daemon's capture through the same control
channel instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ingest.base import CaptureStatus, SourceStatus
from core import timefmt

if TYPE_CHECKING:
    from app.bootstrap import Engine
    from app.instance import Instance


@dataclass(frozen=True)
class CaptureSnapshot:
    mode: str  # "local" (this app captures), "daemon" (another process does), "off"
    paused: bool = False
    paused_until: datetime | None = None
    sources: tuple[SourceStatus, ...] = field(default_factory=tuple)
    note: str = ""

    @property
    def failed(self) -> tuple[SourceStatus, ...]:
        return tuple(s for s in self.sources if s.state == "failed")

    @property
    def state(self) -> str:
        """"failed", "paused", "capturing" or "idle" (nothing enabled)."""
        if self.failed:
            return "failed"
        if self.paused:
            return "paused"
        if any(s.state in ("running", "starting") for s in self.sources):
            return "capturing"
        return "idle"

    def summary(self) -> str:
        text = self._summary()
        return f"{text} — run by engram daemon" if self.mode == "daemon" else text

    def _summary(self) -> str:
        if self.mode == "off":
            return self.note or "Capture is off."
        if self.failed:
            names = ", ".join(s.name for s in self.failed)
            return f"Capture problem: {names} stopped ({self.failed[0].error or 'failed'})"
        if self.paused:
            if self.paused_until:
                return f"Capture paused until {timefmt.clock(self.paused_until)}"
            return "Capture paused until you resume it"
        if not self.sources:
            return "No capture source is switched on (see Sources)"
        running = [s.name for s in self.sources if s.state in ("running", "starting")]
        return f"Capturing: {', '.join(running) or 'nothing'}"


def _remote_snapshot(reply: dict[str, Any]) -> CaptureSnapshot:
    status = CaptureStatus.from_json(reply)
    return CaptureSnapshot("daemon", status.paused, status.paused_until, status.sources)


class CaptureState(QObject):
    """What capture is doing; ``changed`` fires on the main thread after any change."""

    changed = Signal()
    _poked = Signal()

    def __init__(self, instance: "Instance | None", engine: "Engine", *,
                 note: str = "") -> None:
        super().__init__()
        self.instance = instance
        self.engine = engine
        self._note = note
        self._remote: CaptureSnapshot | None = None
        self._poked.connect(self.changed)  # queued from supervisor threads
        if instance is not None:
            # Listener runs on whichever thread changed state: only emit from it.
            instance.supervisor.subscribe(self._poked.emit)
        else:
            self._poll = QTimer(self)
            self._poll.setInterval(5000)
            self._poll.timeout.connect(self.refresh_remote)
            self._poll.start()
            self.refresh_remote()

    def set_instance(self, instance: "Instance | None", note: str = "") -> None:
        """Capture was restarted (new settings): follow the new supervisor."""
        self.instance = instance
        self._note = note
        if instance is not None:
            instance.supervisor.subscribe(self._poked.emit)
        self.changed.emit()

    @property
    def mode(self) -> str:
        if self.instance is not None:
            return "local"
        return "daemon" if self._remote is not None else "off"

    def snapshot(self) -> CaptureSnapshot:
        if self.instance is not None:
            sup = self.instance.supervisor
            return CaptureSnapshot("local", sup.paused, sup.paused_until,
                                   tuple(sup.statuses()), self._note)
        if self._remote is not None:
            return self._remote
        return CaptureSnapshot("off", note=self._note or "Capture is not running.")

    # -- commands ---------------------------------------------------------------------------
    def pause(self, minutes: float | None = None) -> None:
        if self.instance is not None:
            self.instance.supervisor.pause(timedelta(minutes=minutes) if minutes else None)
        else:
            self._remote_request({"op": "pause", "minutes": minutes})

    def resume(self) -> None:
        if self.instance is not None:
            self.instance.supervisor.resume()
        else:
            self._remote_request({"op": "resume"})

    @Slot()
    def refresh_remote(self) -> None:
        self._remote_request({"op": "status"})

    def _remote_request(self, message: dict[str, Any]) -> None:
        from app.control import NotRunning, request
        from app.tasks import run_in_background

        paths = self.engine.paths

        def ask() -> CaptureSnapshot | None:
            try:
                return _remote_snapshot(request(paths, message, timeout=5.0))
            except NotRunning:
                return None

        def done(snapshot: CaptureSnapshot | None) -> None:
            self._remote = snapshot
            self.changed.emit()

        run_in_background(ask, done, owner=self)

    def stop(self) -> None:
        poll = getattr(self, "_poll", None)
        if poll is not None:
            poll.stop()
