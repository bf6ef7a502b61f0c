"""What every view is given: the engine, capture state, the job list, navigation.

Built once by the composition root (``app.windows.controller``) after the
engine opens; views never reach for globals. Background functions receive
plain engine values from the views, never this object.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QObject, Signal

from app.models.capture import CaptureState
from app.models.freshness import Freshness
from app.models.jobs import JobList

if TYPE_CHECKING:
    from app.bootstrap import Engine

# The views in navigation order (Ctrl+1 … Ctrl+6).
VIEW_ORDER = ("ask", "search", "timeline", "memories", "sources", "settings")


class Navigator(QObject):
    """Cross-view requests; the main window carries them out."""

    show_view = Signal(str)          # "ask", "search", …
    open_event = Signal(int)         # an event id: its detail in Search
    search_for = Signal(str)         # put this text in the search box
    show_in_timeline = Signal(int, object)  # event id, its time: that moment in Timeline
    never_record = Signal(str)       # an app: add it to the excluded apps (with undo)
    data_changed = Signal(object)    # core.records.Changes after a write (forget, import)
    captured = Signal()              # events were added or deleted by capture or another process
    settings_changed = Signal()      # settings or models changed elsewhere (CLI, another view)
    lock_requested = Signal()


@dataclass
class AppContext:
    engine: "Engine"
    capture: CaptureState
    jobs: JobList
    nav: Navigator
    tray_available: bool = False
    # Carried out by the controller, which owns the engine's lifecycle:
    restart_capture: Optional[Callable[[], None]] = None      # sources from new settings
    lock: Optional[Callable[[], None]] = None                 # close the engine, show unlock
    change_passphrase: Optional[Callable[[str], None]] = None  # rekey, then reopen
    # Set by app.reach once the app is up: register a global shortcut ("" = it works,
    # else why not), and say what the shortcut does now.
    set_hotkey: Optional[Callable[[str], str]] = None
    hotkey_status: Optional[Callable[[], str]] = None
    freshness: Optional[Freshness] = None

    def watch(self, interval_ms: int = 2000) -> None:
        """Follow changes made outside the views (capture, the CLI): see app.models.freshness."""
        self.stop_watching()
        self.freshness = Freshness(self.engine, self.nav, interval_ms=interval_ms,
                                   restart_capture=self.restart_capture)
        self.freshness.start()

    def stop_watching(self) -> None:
        if self.freshness is not None:
            self.freshness.stop()
            self.freshness = None
