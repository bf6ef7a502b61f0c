"""Supervisor logic: bounded restarts, pause/resume, timed pause (sources are simple test doubles)."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from core.records import Changes, Observation, utcnow
from ingest.base import Control
from ingest.supervisor import Supervisor


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class Ticker:
    """Emits one observation per tick unless paused."""

    name = "ticker"

    def __init__(self) -> None:
        self.emitted = 0

    def run(self, sink, control: Control) -> None:
        while not control.stopping:
            control.wait_while_paused()
            if control.stopping:
                break
            sink([Observation("note", utcnow(), f"tick {self.emitted}")])
            self.emitted += 1
            control.wait(0.01)

    def describe(self) -> str:
        return f"{self.emitted} ticks"


class Crasher:
    name = "crasher"

    def __init__(self) -> None:
        self.runs = 0

    def run(self, sink, control: Control) -> None:
        self.runs += 1
        raise OSError("camera unplugged")

    def describe(self) -> str:
        return ""


def sink(observations) -> Changes:
    return Changes(added=tuple(range(len(observations))))


def test_crashing_source_is_restarted_a_bounded_number_of_times_then_failed() -> None:
    crasher, ticker = Crasher(), Ticker()
    sup = Supervisor([crasher, ticker], sink, max_restarts=2, backoff=0.01)
    sup.start()
    try:
        assert wait_for(lambda: sup.statuses()[0].state == "failed")
        status = sup.statuses()[0]
        assert crasher.runs == 3 and status.restarts == 2
        assert status.error == "OSError: camera unplugged"
        # The other source kept going.
        assert sup.statuses()[1].state == "running"
        before = ticker.emitted
        assert wait_for(lambda: ticker.emitted > before)
    finally:
        sup.stop()
    assert [s.state for s in sup.statuses()] == ["failed", "stopped"]


def test_pause_stops_capture_and_resume_restarts_it() -> None:
    ticker = Ticker()
    changed = threading.Event()
    sup = Supervisor([ticker], sink)
    sup.subscribe(changed.set)
    sup.start()
    try:
        assert wait_for(lambda: ticker.emitted > 2)
        sup.pause()
        assert changed.is_set() and sup.paused
        assert wait_for(lambda: sup.statuses()[0].state == "paused")
        time.sleep(0.05)
        frozen = ticker.emitted
        time.sleep(0.2)
        assert ticker.emitted == frozen
        sup.resume()
        assert wait_for(lambda: ticker.emitted > frozen)
        assert sup.statuses()[0].state == "running"
    finally:
        sup.stop()


def test_timed_pause_resumes_by_itself() -> None:
    ticker = Ticker()
    sup = Supervisor([ticker], sink)
    sup.start()
    try:
        sup.pause(timedelta(seconds=0.3))
        assert sup.paused_until is not None
        assert wait_for(lambda: not sup.paused, timeout=3)
        frozen = ticker.emitted
        assert wait_for(lambda: ticker.emitted > frozen)
    finally:
        sup.stop()
