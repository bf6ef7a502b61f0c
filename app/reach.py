"""Reaching Engram from anywhere: the global hotkey and its overlay, and "Never record
this app" (from the tray, a moment or the overlay) with a one-click undo.

Wired once by ``app.main`` beside the controller. It reads the controller's
current ``AppContext`` whenever it acts (the context is replaced on every
unlock), so nothing here outlives a lock holding the old engine.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QWidget

from app.hotkey import DEFAULT_SHORTCUT, SETTING, GlobalHotkey, HotkeyBackend, create_backend
from core import exclusions

if TYPE_CHECKING:
    from app.models.capture import CaptureSnapshot
    from app.overlay import Overlay
    from app.windows.context import AppContext
    from app.windows.controller import Controller
    from core.records import SearchHit

log = logging.getLogger(__name__)

UNDO_SECONDS = 20


def current_app(snapshot: CaptureSnapshot | None) -> str | None:
    """The app screen capture is recording right now, from its status ("capturing X")."""
    if snapshot is None:
        return None
    for source in snapshot.sources:
        if source.name == "screen" and source.state == "running":
            detail = source.detail or ""
            if detail.startswith("capturing ") and detail != "capturing the screen":
                return detail.removeprefix("capturing ").strip() or None
    return None


class UndoBar(QFrame):
    """"Engram will not record Slack any more. [Undo] [×]": hides itself after a while."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("undoBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 4, 2)
        self.label = QLabel()
        self.undo = QPushButton("Undo")
        self.dismiss = QPushButton("×")
        self.dismiss.setFlat(True)
        self.dismiss.setToolTip("Dismiss")
        self.dismiss.setFixedWidth(28)
        row.addWidget(self.label, 1)
        row.addWidget(self.undo)
        row.addWidget(self.dismiss)
        self._action: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.undo.clicked.connect(self._undo)
        self.dismiss.clicked.connect(self.hide)
        self.hide()

    def show_message(self, text: str, undo: Callable[[], None] | None,
                     seconds: float = UNDO_SECONDS) -> None:
        self.label.setText(text)
        self._action = undo
        self.undo.setVisible(undo is not None)
        self.show()
        self._timer.start(int(seconds * 1000))

    def _undo(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()


class Reach(QObject):
    """The hotkey, the overlay and "never record" for one running app."""

    def __init__(self, controller: Controller, tray=None,
                 hotkey_factory: Callable[[], HotkeyBackend] = create_backend) -> None:
        super().__init__(controller)
        self.controller = controller
        self.window = controller.window
        self.tray = tray
        self.hotkey = GlobalHotkey(hotkey_factory, self)
        self.hotkey.activated.connect(self.show_overlay)
        self.overlay: Overlay | None = None
        self.last: exclusions.Exclusion | None = None
        self.undo_bar = UndoBar()
        self.window.statusBar().addWidget(self.undo_bar)
        controller.ready.connect(self.on_ready)
        if tray is not None:
            tray.extend_menu = self.extend_tray_menu
        self._started = False
        if controller.ctx is not None:  # made after the engine opened
            self.on_ready()

    @property
    def ctx(self) -> AppContext | None:
        return self.controller.ctx

    # -- lifecycle ----------------------------------------------------------------------------
    def on_ready(self) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        ctx.nav.never_record.connect(self.never_record)
        ctx.set_hotkey = self.set_hotkey
        ctx.hotkey_status = self.hotkey_status
        if not self._started:  # the grab outlives a lock: it then offers to unlock
            self._started = True
            self.set_hotkey(str(ctx.engine.settings.get(SETTING) or DEFAULT_SHORTCUT))

    def set_hotkey(self, text: str) -> str:
        """Register ``text`` as the shortcut; "" when it works, else why it does not."""
        if self.hotkey.start(text):
            log.info("global shortcut %s registered", self.hotkey.shortcut.text)
            return ""
        log.info("no global shortcut: %s", self.hotkey.problem)
        return self.hotkey.problem

    def hotkey_status(self) -> str:
        if self.hotkey.shortcut is not None:
            return f"{self.hotkey.shortcut.text} opens the search/ask overlay from any app."
        return self.hotkey.problem or "No global shortcut."

    def close(self) -> None:
        self.hotkey.stop()

    # -- overlay ------------------------------------------------------------------------------
    def show_overlay(self) -> None:
        ctx = self.ctx
        if ctx is None:  # locked or still opening: the window is where to unlock
            self.window.bring_forward()
            return
        if self.overlay is None or self.overlay.ctx is not ctx:
            from app.overlay import Overlay

            if self.overlay is not None:
                self.overlay.deleteLater()
            self.overlay = Overlay(ctx)
            self.overlay.open_hit.connect(self.on_open_hit)
            self.overlay.ask.connect(lambda text: self.controller.on_request(f"ask:{text}"))
        self.overlay.popup()

    def on_open_hit(self, hit: SearchHit, query: str) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        self.window.bring_forward()
        if hit.kind == "event":
            ctx.nav.open_event.emit(hit.id)
        else:
            ctx.nav.search_for.emit(query)

    def on_request(self, command: str) -> None:
        """`ENGRAM_GUI_COMMAND=overlay engram`: what a desktop shortcut can run."""
        if command == "overlay":
            self.show_overlay()

    # -- never record -------------------------------------------------------------------------
    def never_record(self, app: str) -> None:
        ctx = self.ctx
        if ctx is None or not app.strip():
            return
        done = exclusions.never_record(ctx.engine.settings, app)
        self.last = done
        self._restart_capture()
        text = (f"Engram will not record {done.app} any more." if done.added
                else f"{done.app} was already never recorded.")
        self.undo_bar.show_message(text, self.undo if done.added else None)
        if self.tray is not None and done.added:
            self.tray.notify("Not recording " + done.app,
                             "Undo from the tray menu, or in Settings → excluded apps.")

    def undo(self) -> None:
        ctx, last = self.ctx, self.last
        if ctx is None or last is None:
            return
        self.last = None
        if exclusions.undo(ctx.engine.settings, last):
            self._restart_capture()
            self.undo_bar.show_message(f"Recording {last.app} again.", None, 6)

    def _restart_capture(self) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        if ctx.restart_capture is not None:
            ctx.restart_capture()
        ctx.nav.settings_changed.emit()  # the excluded-apps lists show it at once

    def extend_tray_menu(self, menu: QMenu) -> None:
        """Tray entries: the overlay, "Never record <app now>", and the undo of the last one."""
        ctx = self.ctx
        shortcut = self.hotkey.shortcut.text if self.hotkey.shortcut else ""
        search = menu.addAction("Search or ask…" + (f"\t{shortcut}" if shortcut else ""))
        search.setEnabled(ctx is not None)
        search.triggered.connect(self.show_overlay)
        app = current_app(ctx.capture.snapshot()) if ctx is not None else None
        never = menu.addAction(f"Never record {app}" if app else "Never record this app")
        never.setEnabled(app is not None)
        if app is None:
            never.setToolTip("Screen capture is not recording an app right now")
        never.triggered.connect(lambda _c=False, a=app: self.never_record(a or ""))
        if self.last is not None and self.last.added:
            undo = menu.addAction(f"Undo: record {self.last.app} again")
            undo.triggered.connect(self.undo)


def attach(controller: Controller, tray=None) -> Reach:
    """Create the app's ``Reach`` (the one place ``app.main`` calls)."""
    reach = Reach(controller, tray)
    reach.undo_bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
    return reach
