"""Screen capture as a source: every few seconds, while the person is active.

Per tick: idle/locked? → active window → privacy decision → grab (every
monitor) → change detection → (only if something changed) mask excluded
windows, read the changed bands of the active window, redact → heartbeat:
the same window with the same text extends the held event; a different one
finishes it and it is submitted (thumbnail encoded then, once per event).
An unchanged screen costs a grab and a tile hash, and adds nothing.

The held event is submitted when the window or its text changes, after
``max_event_seconds``, and on pause, idle, lock, exclusion and stop (so a
SIGTERM to the daemon keeps what is on screen). Nothing is written anywhere
but through the sink into the encrypted store: no temp files, and no log line
carries captured text.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Literal, Protocol

from core.records import Observation, utcnow
from ingest.base import Control, Sink
from ingest.screen import heartbeat as hb
from ingest.screen.activity import ActivityProbe, create_probe, is_locker
from ingest.screen.capture import (Grabber, Ocr, ScreenReader, excluded_rects, mask_windows,
                                   monitor_of, window_area)
from ingest.screen.privacy import PrivacySettings, should_capture
from ingest.screen.screentext import BOX_FORMAT, Redact
from ingest.screen.thumbnail import Picture, encode, take_picture
from ingest.screen.window import WindowBackend, create_backend

log = logging.getLogger(__name__)

Status = Literal["stored", "held", "unchanged", "excluded", "paused", "idle", "locked",
                 "no-display", "no-text"]


class SettingsLike(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...


@dataclass(frozen=True)
class ScreenSettings:
    """Screen capture preferences (settings keys ``screen_*``)."""

    interval: float = 3.0
    idle_seconds: float = 180.0  # 0: never treat the person as idle
    keep_full_frames: bool = False
    max_event_seconds: float = 900.0
    privacy: PrivacySettings = PrivacySettings()

    @classmethod
    def from_settings(cls, settings: SettingsLike) -> ScreenSettings:
        def number(key: str, default: float) -> float:
            try:
                return float(settings.get(key, default))
            except (TypeError, ValueError):  # a hand-edited settings file must not stop capture
                log.warning("setting %s is not a number; using %s", key, default)
                return default

        return cls(interval=max(0.2, number("screen_interval_seconds", 3.0)),
                   idle_seconds=max(0.0, number("screen_idle_seconds", 180.0)),
                   keep_full_frames=bool(settings.get("screen_keep_full_frames", False)),
                   privacy=PrivacySettings.from_mapping(settings))


@dataclass(frozen=True)
class Outcome:
    """What one capture did, for `engram capture --once` and tests."""

    status: Status
    detail: str = ""
    app: str | None = None
    title: str | None = None
    words: int = 0
    redacted: dict[str, int] | None = None
    event_id: int | None = None
    image_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"stored": self.status == "stored", "status": self.status,
                "detail": self.detail, "app": self.app, "title": self.title,
                "words": self.words, "redacted": self.redacted or {},
                "event_id": self.event_id, "thumbnail_bytes": self.image_bytes}


@dataclass(frozen=True)
class CaptureStats:
    ticks: int = 0
    grabs: int = 0
    unchanged: int = 0
    reads: int = 0
    full_reads: int = 0
    ocr_calls: int = 0
    ocr_seconds: float = 0.0
    events: int = 0
    image_bytes: int = 0


class _Rig:
    """The OS handles capture needs, opened in the capturing thread."""

    def __init__(self) -> None:
        self.windows: WindowBackend = create_backend()
        self.probe: ActivityProbe = create_probe()
        self.grabber: Grabber | None = None

    def grab(self) -> Grabber:
        if self.grabber is None:
            self.grabber = Grabber()
        return self.grabber

    def close(self) -> None:
        for closer in (getattr(self.windows, "close", None), self.probe.close,
                       self.grabber.close if self.grabber else None):
            if closer is not None:
                try:
                    closer()
                except Exception:  # closing a dead X connection may fail; nothing to keep
                    pass


def _display_errors() -> tuple[type[BaseException], ...]:
    from mss.exception import ScreenShotError

    return (ConnectionError, ScreenShotError)


def _default_redact() -> Redact:
    from core.redact import redact

    def run(text: str) -> tuple[str, dict[str, int]]:
        result = redact(text)
        return result.text, dict(result.counts)
    return run


class ScreenSource:
    """The screen as a capture source (``ingest.base.Source``)."""

    name = "screen"

    def __init__(self, settings: ScreenSettings | None = None, *, redact: Redact | None = None,
                 ocr: Ocr | None = None, rig: Callable[[], Any] = _Rig) -> None:
        self.settings = settings or ScreenSettings()
        self.reader = ScreenReader(redact or _default_redact(), ocr=ocr)
        self._rig_factory = rig
        self._held: hb.Held[Picture] | None = None
        self._sink: Sink | None = None
        self._state = "starting"
        self._stats = CaptureStats()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: SettingsLike) -> ScreenSource:
        """Build from the person's settings (``screen_*`` keys)."""
        from core.redact import redactor

        return cls(ScreenSettings.from_settings(settings), redact=redactor(settings))

    # -- status ---------------------------------------------------------------------
    def describe(self) -> str:
        """"capturing <app>", "idle", "paused", "excluded: KeePassXC", "no display (…)"."""
        return self._state

    def stats(self) -> CaptureStats:
        with self._lock:
            return self._stats

    def _count(self, **deltas: float) -> None:
        with self._lock:
            s = self._stats
            self._stats = replace(s, **{k: getattr(s, k) + v for k, v in deltas.items()})

    # -- events -----------------------------------------------------------------------
    def _submit(self, held: hb.Held[Picture]) -> int | None:
        if self._sink is None or not held.text.strip():
            return None  # nothing readable on screen: no event
        thumb, full = encode(held.picture) if held.picture else (None, None)
        r = held.reading
        extra: dict[str, Any] = {"boxes_format": BOX_FORMAT} if r.boxes else {}
        if held.picture is not None:
            s = held.picture.shot
            extra["shot"] = [s.left, s.top, s.width, s.height]
            large = held.picture.large_shot
            if large is not None:
                # What the large image (full_data) shows, in frame pixels: the active
                # window at full size, or the whole monitor at viewing size.
                extra["full_shot"] = [large.left, large.top, large.width, large.height]
                extra["full_kind"] = "frame" if held.picture.full is not None else "view"
        obs = Observation(
            source="screen", captured_at=held.started_at, ended_at=held.last_seen,
            text=held.text, app=r.window.app, title=r.window.title, url=r.window.url,
            external_id=f"{held.started_at.isoformat()}#{r.window.window_id or 0}",
            image=thumb, full_image=full, meta=hb.meta_for(held, extra))
        changes = self._sink([obs])
        self._count(events=1, image_bytes=len(thumb or b"") + len(full or b""))
        return changes.added[0] if changes.added else None

    def _finish(self, at: datetime) -> int | None:
        held, self._held = self._held, None
        return self._submit(hb.finish(held, at)) if held is not None else None

    # -- one tick -----------------------------------------------------------------------
    def _tick(self, rig: Any, *, check_idle: bool = True,
              wanted: Callable[[], bool] = lambda: True) -> Outcome:
        now = utcnow()
        cfg = self.settings
        self._count(ticks=1)
        activity = rig.probe.activity()
        if activity.locked:
            self._finish(now)
            self._state = "screen locked"
            return Outcome("locked", "the screen is locked")
        idle = activity.idle_seconds
        if check_idle and cfg.idle_seconds and idle is not None and idle >= cfg.idle_seconds:
            self._finish(now - timedelta(seconds=idle))
            self._state = "idle"
            return Outcome("idle", f"no input for {idle:.0f} s")
        window = rig.windows.active_window()
        if window is not None and (is_locker(window.app) or is_locker(window.process)):
            self._finish(now)
            self._state = "screen locked"
            return Outcome("locked", "the screen is locked")
        if window is None:
            status = rig.windows.status()
            if not status.ok:
                self._finish(now)
                self._state = f"no display ({status.reason})"
                if not cfg.privacy.capture_unknown:
                    return Outcome("no-display", status.reason)
        decision = should_capture(window, cfg.privacy)
        if not decision.allowed:
            self._finish(now)
            self._state = ("no active window" if window is None else
                           "excluded: " + decision.reason.removeprefix("excluded app: "))
            return Outcome("excluded", decision.reason, window.app if window else None)
        app = window.app if window else None
        self._state = f"capturing {app or 'the screen'}"
        grabber = rig.grab()
        frame = grabber.grab()
        self._count(grabs=1)
        change = self.reader.detector.update(frame)
        held = self._held
        if not change.changed and held is not None and held.reading.window.same_window(
                self._identity(window)):
            self._held = hb.seen(held, now)
            self._count(unchanged=1)
            return Outcome("unchanged", "nothing changed on screen", app)
        mask_windows(frame, excluded_rects(rig.windows.list_windows(), window,
                                           cfg.privacy, frame))
        area = window_area(window, frame)
        state, read = self.reader.window_text(frame, change, window, area)
        reading, hidden = self.reader.reading(state, window, now)
        self._count(reads=1, full_reads=int(read.full_read), ocr_calls=read.ocr_calls,
                    ocr_seconds=read.ocr_seconds)
        if not wanted():
            return Outcome("paused", "paused while reading")  # read, but never kept
        step = hb.advance(held, reading, max_seconds=cfg.max_event_seconds)
        if step.finished is not None:
            self._submit(step.finished)
        self._held = step.held
        if step.needs_picture:
            # The thumbnail is the active window; the whole monitor stays in the
            # viewing image (or the window at full size, when full frames are kept).
            picture = take_picture(frame, area, hidden,
                                   full_shot=area if cfg.keep_full_frames else None,
                                   view_shot=(None if cfg.keep_full_frames
                                              else monitor_of(area, grabber.monitors, frame)))
            self._held = replace(step.held, picture=picture)
        return Outcome("held", step.relation, app, reading.window.title,
                       words=len(reading.text.split()), redacted=dict(reading.redacted))

    def _identity(self, window: Any) -> hb.WindowIdentity:
        redact = self.reader.redact
        if window is None:
            return hb.WindowIdentity(None, None, None)
        return hb.WindowIdentity(window.window_id, window.app,
                                 redact(window.title)[0] if window.title else None,
                                 redact(window.url)[0] if window.url else None, window.process)

    # -- running ------------------------------------------------------------------------
    def run(self, sink: Sink, control: Control) -> None:
        """Capture every ``interval`` seconds until stopped; flush the held event on exit."""
        self._sink = sink
        rig = None
        failed = False
        try:
            while not control.stopping:
                if control.paused:
                    self._finish(utcnow())
                    self.reader.close()  # also ends the OCR helper: a pause may be long
                    self._state = "paused"
                    control.wait_while_paused()
                    continue
                started = time.monotonic()
                try:
                    if rig is None:
                        rig = self._rig_factory()
                    self._tick(rig, wanted=lambda: not control.paused)
                except _display_errors() as exc:
                    # The display went away (X restarted, session ended): reopen later.
                    self._finish(utcnow())
                    self.reader.forget()
                    self._state = f"no display ({exc})"
                    if rig is not None:
                        rig.close()
                    rig = None
                    control.wait(max(10.0, self.settings.interval))
                    continue
                elapsed = time.monotonic() - started
                control.wait(max(0.05, self.settings.interval - elapsed))
        except BaseException:
            failed = True
            raise
        finally:
            try:
                self._finish(utcnow())
            except Exception:
                if not failed:
                    raise
                log.exception("could not store the last screen event")
            finally:
                self.reader.close()
                if rig is not None:
                    rig.close()
                self._state = "stopped"

    def capture_once(self, sink: Sink, previous: tuple[str | None, str | None, str] | None
                     = None) -> Outcome:
        """Capture one frame now and store it, unless it is what ``previous`` holds.

        ``previous`` is (app, title, text) of the latest stored screen event: a
        fresh process has no earlier frame, so "unchanged" means "the same as
        what is stored". Idle time is not checked: whoever runs this is here.
        """
        self._sink = sink
        rig = self._rig_factory()
        try:
            outcome = self._tick(rig, check_idle=False)
            held, self._held = self._held, None
            if held is None:
                return outcome
            r = held.reading
            base = dict(app=r.window.app, title=r.window.title, words=len(r.text.split()),
                        redacted=dict(r.redacted))
            if not r.text.strip():
                return Outcome("no-text", "no readable text in the active window", **base)
            if previous is not None and previous == (r.window.app, r.window.title, r.text):
                return Outcome("unchanged", "the same as the last stored screen event", **base)
            before = self.stats().image_bytes
            event_id = self._submit(held)
            if event_id is None:
                return Outcome("unchanged", "already stored", **base)
            return Outcome("stored", "", event_id=event_id,
                           image_bytes=self.stats().image_bytes - before, **base)
        finally:
            self.reader.close()
            rig.close()
