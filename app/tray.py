"""The tray: a view of capture state, and the quickest way to pause it.

The icon shows capturing / paused / a source failed at a glance; its menu is
rebuilt each time it opens (``aboutToShow``), from the current snapshot, so it
never shows a stale state (vorta's tray_menu). Where the desktop has no tray
(stock GNOME, bare X), ``available()`` is False and the app runs as a normal
window instead.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.models.capture import CaptureState

STATE_COLORS = {"capturing": "#2e9d5b", "paused": "#e0a000", "failed": "#d0342c",
                "idle": "#8a8a8a"}


def draw_icon(state: str = "", size: int = 64) -> QIcon:
    """Engram's mark (a rounded square with stacked "memory" lines) plus a state badge."""
    icon = QIcon()
    for px in (16, 22, 24, 32, 48, size):
        icon.addPixmap(_draw(state, px))
    return icon


def _draw(state: str, px: int) -> QPixmap:
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = px / 64.0
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#3b5bdb"))
    p.drawRoundedRect(QRectF(4 * s, 4 * s, 56 * s, 56 * s), 14 * s, 14 * s)
    p.setBrush(QColor("#ffffff"))
    for n, width in enumerate((34, 26, 30)):
        p.drawRoundedRect(QRectF(15 * s, (17 + n * 11) * s, width * s, 6 * s), 3 * s, 3 * s)
    if state in STATE_COLORS:
        color = QColor(STATE_COLORS.get(state, "#8a8a8a"))
        r = 13 * s
        center = QPointF(48 * s, 48 * s)
        p.setBrush(QColor("#ffffff"))
        p.drawEllipse(center, r + 2.5 * s, r + 2.5 * s)
        p.setBrush(color)
        p.drawEllipse(center, r, r)
        p.setBrush(QColor("#ffffff"))
        if state == "paused":
            for dx in (-4.5, 1.5):
                p.drawRect(QRectF(center.x() + dx * s, center.y() - 6 * s, 3 * s, 12 * s))
        elif state == "failed":
            p.drawRect(QRectF(center.x() - 1.6 * s, center.y() - 7 * s, 3.2 * s, 9 * s))
            p.drawEllipse(QPointF(center.x(), center.y() + 5.5 * s), 1.9 * s, 1.9 * s)
        elif state == "capturing":
            path = QPainterPath()
            path.addEllipse(center, 4.5 * s, 4.5 * s)
            p.drawPath(path)
    p.end()
    return pixmap


def available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class Tray(QObject):
    """The tray icon and its menu; emits what the person asked for."""

    open_requested = Signal()
    quick_ask_requested = Signal()
    quit_requested = Signal()

    def __init__(self, capture: CaptureState | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.capture: CaptureState | None = None
        self.icon = QSystemTrayIcon(self)
        self.menu = QMenu()
        self.icon.setContextMenu(self.menu)
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.icon.activated.connect(self.on_activated)
        # Extra entries (app.reach: the overlay, "Never record <app>", its undo).
        self.extend_menu: Callable[[QMenu], None] | None = None
        self._icons = {state: draw_icon(state) for state in (*STATE_COLORS, "locked")}
        self.set_capture(capture)
        self.rebuild_menu()

    def set_capture(self, capture: CaptureState | None) -> None:
        if self.capture is not None:
            try:
                self.capture.changed.disconnect(self.refresh)
            except (RuntimeError, TypeError):
                pass
        self.capture = capture
        if capture is not None:
            capture.changed.connect(self.refresh)
        self.refresh()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def state(self) -> str:
        if self.capture is None:
            return "locked"
        return self.capture.snapshot().state

    def refresh(self) -> None:
        state = self.state()
        self.icon.setIcon(self._icons.get(state, self._icons["idle"]))
        if self.capture is None:
            self.icon.setToolTip("Engram — locked")
        else:
            self.icon.setToolTip(f"Engram — {self.capture.snapshot().summary()}")

    def rebuild_menu(self) -> None:
        """Built from the current state every time the menu opens."""
        menu = self.menu
        menu.clear()
        snap = self.capture.snapshot() if self.capture is not None else None
        status = QAction(snap.summary() if snap else "Engram is locked", menu)
        status.setEnabled(False)
        menu.addAction(status)
        for s in snap.failed if snap else ():
            failed = QAction(f"⚠ {s.name}: {s.error or 'stopped'}", menu)
            failed.setEnabled(False)
            menu.addAction(failed)
        menu.addSeparator()
        can_pause = snap is not None and snap.mode != "off"
        for label, minutes in (("Pause for 15 minutes", 15), ("Pause for 1 hour", 60),
                               ("Pause until resumed", None)):
            action = menu.addAction(label)
            action.setEnabled(can_pause)
            action.triggered.connect(lambda _c=False, m=minutes: self.pause(m))
        resume = menu.addAction("Resume capture")
        resume.setEnabled(bool(snap and snap.paused))
        resume.triggered.connect(self.resume)
        menu.addSeparator()
        menu.addAction("Open Engram").triggered.connect(self.open_requested)
        quick = menu.addAction("Quick ask…")
        quick.setEnabled(snap is not None)
        quick.triggered.connect(self.quick_ask_requested)
        if self.extend_menu is not None:
            self.extend_menu(menu)
        menu.addSeparator()
        menu.addAction("Quit Engram").triggered.connect(self.quit_requested)

    def pause(self, minutes: float | None) -> None:
        if self.capture is not None:
            self.capture.pause(minutes)
            self.refresh()

    def resume(self) -> None:
        if self.capture is not None:
            self.capture.resume()
            self.refresh()

    def on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_requested.emit()

    def notify(self, title: str, text: str) -> None:
        if self.icon.isVisible() and self.icon.supportsMessages():
            self.icon.showMessage(title, text, self.icon.icon(), 5000)
