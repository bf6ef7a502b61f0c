"""GUI fixtures: real engine, real Qt widgets (offscreen), a known seeded day.

Capture runs through a real ``Instance`` whose only source is an idle one (the
real screen and file sources need a display / folders; the tray and the views
only care about the supervisor's state). Dialogs that would block
(confirmations) are answered by replacing ``app.views.common.confirm``.
"""
from __future__ import annotations

import threading
from typing import Iterator

import pytest

from tests.gui.seed import seed_day


class IdleSource:
    """A capture source that captures nothing and honours stop/pause (like the real ones)."""

    name = "idle"

    def __init__(self) -> None:
        self.started = threading.Event()

    def run(self, sink, control) -> None:
        self.started.set()
        while not control.stopping:
            control.wait(0.2)

    def describe(self) -> str:
        return "waiting"


@pytest.fixture
def seeded(engine):
    engine.settings.set("screen_capture", False)
    info = seed_day(engine)
    return engine, info


@pytest.fixture
def instance(seeded) -> Iterator[object]:
    from app.instance import Instance

    engine, _info = seeded
    inst = Instance(engine, [IdleSource()])
    inst.start(control=False)
    yield inst
    inst.stop()


@pytest.fixture
def ctx(qtbot, seeded, instance):
    from app.models.capture import CaptureState
    from app.models.jobs import JobList
    from app.tasks import wait_for_pool
    from app.windows.context import AppContext, Navigator

    engine, _info = seeded
    context = AppContext(engine=engine, capture=CaptureState(instance, engine), jobs=JobList(),
                         nav=Navigator(), tray_available=False)
    yield context
    context.jobs.cancel_all()
    wait_for_pool(30000)  # no worker may touch the engine after it closes


@pytest.fixture
def confirm_yes(monkeypatch):
    """Every "are you sure?" answered yes; the questions asked are recorded."""
    asked: list[str] = []

    def confirm(_parent, title, _text, _action) -> bool:
        asked.append(title)
        return True

    monkeypatch.setattr("app.views.common.confirm", confirm)
    for module in ("app.views.hit_detail", "app.views.timeline", "app.views.settings_privacy",
                   "app.views.privacy_retention"):
        monkeypatch.setattr(f"{module}.confirm", confirm)
    return asked


@pytest.fixture(autouse=True)
def _no_stray_dialogs(qtbot):
    yield
    from app.dialogs.errors import presenter

    presenter().close_all()
