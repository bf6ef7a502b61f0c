"""Keep the open app in step with changes made elsewhere: capture, the CLI, a daemon.

Every couple of seconds a small ``Stamp`` is read off the UI thread: the settings
file's identity, the models folder's, and the events table's watermark. When one
moves, the engine re-reads its settings, drops its chat model if the model choice
changed (the next question loads the new one), restarts capture if capture
settings changed elsewhere, and the navigator tells the views
(``settings_changed``, ``captured``). Nothing is reloaded when nothing changed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from app.bootstrap import Engine

log = logging.getLogger(__name__)

# Settings that choose the chat model: a change drops the loaded one.
MODEL_KEYS = ("chat_model", "embedding_model", "ask_extractive_only", "model_threads",
              "chat_context_tokens", "chat_idle_unload_seconds")


def is_capture_key(key: str) -> bool:
    """Settings a running capture source read when it started: a change restarts capture."""
    return key.startswith(("screen_", "file_")) or key in ("watched_folders", "item_max_kb")


@dataclass(frozen=True)
class Stamp:
    settings: tuple[int, int]
    models: tuple[tuple[str, int, int], ...]
    events: tuple[int, int]


def _file_id(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def read_stamp(engine: "Engine") -> Stamp:
    from core.store.events import watermark

    models_dir = engine.paths.models_dir
    try:
        models = tuple(sorted((p.name, *_file_id(p)) for p in models_dir.iterdir()))
    except OSError:
        models = ()
    return Stamp(_file_id(engine.paths.settings_path), models,
                 watermark(engine.store.reader()))


class Freshness(QObject):
    """Polls the ``Stamp`` and applies what changed (see the module docstring)."""

    def __init__(self, engine: "Engine", nav: Any, *, interval_ms: int = 2000,
                 restart_capture: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.nav = nav  # app.windows.context.Navigator (its captured / settings_changed)
        self.restart_capture = restart_capture
        self.stamp: Stamp | None = None
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check_now)

    def start(self) -> None:
        self._timer.start()
        self.check_now()

    def stop(self) -> None:
        self._timer.stop()

    def check_now(self) -> None:
        from app.tasks import run_in_background

        if self._busy:
            return
        self._busy = True
        engine = self.engine
        run_in_background(lambda: read_stamp(engine), self._on_stamp, self._on_error,
                          owner=self)

    def _on_error(self, exc: BaseException) -> None:
        # The engine closed (lock, quit) or the disk hiccuped: stop quietly; the
        # next engine gets a new watcher.
        self._busy = False
        log.debug("freshness check stopped: %s", exc)
        self.stop()

    def _on_stamp(self, stamp: Stamp) -> None:
        self._busy = False
        old, self.stamp = self.stamp, stamp
        if old is None:
            return  # the first reading is the baseline
        if stamp.settings != old.settings or stamp.models != old.models:
            self._apply_settings(models_moved=stamp.models != old.models)
        if stamp.events != old.events:
            self.nav.captured.emit()

    def _apply_settings(self, models_moved: bool) -> None:
        settings = self.engine.settings
        before: dict[str, Any] = settings.changed()
        settings.reload()
        after: dict[str, Any] = settings.changed()
        moved = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        if models_moved or moved & set(MODEL_KEYS):
            self.engine.reset_chat_model()
        if any(is_capture_key(k) for k in moved) and self.restart_capture is not None:
            self.restart_capture()  # changed by the CLI: what this app captures follows
        self.nav.settings_changed.emit()
