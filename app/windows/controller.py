"""The app's lifecycle: first run or unlock → engine + capture → views; lock; quit.

This is the GUI's composition root: it alone opens and closes the engine,
starts and restarts capture, and hands views an ``AppContext``. The engine
opens on a worker (Argon2 and the store take a moment) while the window shows
"Unlocking…"; a passphrase is asked on the main thread through
``PassphraseAsker``.
"""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from app.dialogs.errors import present_error
from app.dialogs.passphrase import PassphraseAsker
from app.models.capture import CaptureState
from app.models.jobs import JobList
from app.tasks import run_in_background, wait_for_pool
from app.windows.context import AppContext, Navigator
from app.windows.main_window import MainWindow
from app.windows.welcome import FirstRunChoices, WelcomePage
from core.config import Paths, Settings
from core.errors import Cancelled, EngramError, WrongPassphrase

if TYPE_CHECKING:  # the engine's modules load after the window shows
    from app.bootstrap import Ask, Engine
    from app.instance import Instance
    from core.keys import DatabaseKey
    from core.retention import RetentionReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    engine: Engine
    instance: Instance | None  # None when `engram daemon` captures for this folder
    note: str = ""


def start_capture(engine: Engine) -> tuple[Instance | None, str]:
    """An Instance with the enabled sources and the control channel, if none runs yet."""
    from app.bootstrap import build_sources
    from app.instance import Instance

    instance = Instance(engine, build_sources(engine))
    try:
        instance.start(control=True)
    except EngramError as exc:
        # `engram daemon` already captures for this folder: steer it, don't double it.
        log.info("not starting capture here: %s", exc.message)
        return None, "Capture is run by `engram daemon` for this data folder."
    return instance, ""


def open_everything(paths: Paths, settings: Settings, ask: Ask | None,
                    first: FirstRunChoices | None, capture: bool = True,
                    on_retention: Callable[[RetentionReport], None] | None = None) -> Opened:
    from app.bootstrap import open_engine
    from core import keys

    if first is not None and not keys.key_exists(paths):
        keys.create_key(paths, lambda _p, _c: first.passphrase, prefer=first.key)
        if first.passphrase is not None:
            given = first.passphrase
            ask = lambda _p, _c: given  # noqa: E731 - the one just chosen opens it
    engine = open_engine(paths, settings=settings, ask=ask, create=True, background=True,
                         on_retention=on_retention)
    try:
        instance, note = start_capture(engine) if capture else (None, "Capture is off.")
    except BaseException:
        engine.close()
        raise
    return Opened(engine, instance, note)


def close_everything(opened: Opened | None) -> None:
    if opened is None:
        return
    if opened.instance is not None:
        opened.instance.stop()
    opened.engine.close()


class Controller(QObject):
    ready = Signal()  # the engine is open and the views are up
    retention_done = Signal(object)  # core.retention.RetentionReport, from the runner's thread

    def __init__(self, paths: Paths, window: MainWindow, *, tray=None,
                 capture: bool = True) -> None:
        super().__init__()
        self.paths = paths
        self.window = window
        self.tray = tray
        self.capture_enabled = capture
        self.settings: Settings | None = None
        self.opened: Opened | None = None
        self.ctx: AppContext | None = None
        self.asker = PassphraseAsker(window)
        self.welcome: WelcomePage | None = None
        self.quitting = False
        self.busy = False
        # What "leave" means: the app's event loop ends (tests record it instead).
        self.quit_app = lambda: QTimer.singleShot(0, QApplication.instance().quit)
        window.locked.unlock_requested.connect(self.unlock)
        window.locked.quit_requested.connect(self.quit)
        window.close_requested.connect(self.on_close_requested)
        self.retention_done.connect(self.on_retention_done)  # queued: arrives on this thread

    # -- start --------------------------------------------------------------------------------
    def start(self) -> None:
        from app.bootstrap import store_exists

        try:
            self.settings = Settings(self.paths.settings_path)
        except EngramError as exc:
            self.window.show_locked().set_locked("Engram can't start", str(exc))
            return
        if store_exists(self.paths):
            self.unlock()
        else:
            self.show_welcome()

    def show_welcome(self) -> None:
        self.welcome = WelcomePage(self.paths.data_dir)
        self.welcome.started.connect(self.on_first_run)
        self.welcome.quit_requested.connect(self.quit)
        self.window.show_page(self.welcome)

    def on_first_run(self, choices: FirstRunChoices) -> None:
        assert self.settings is not None
        self.settings.set("screen_capture", choices.screen)
        if choices.folders:
            self.settings.set("watched_folders", [str(Path(f).resolve())
                                                  for f in choices.folders])
        self._open(choices)

    def unlock(self) -> None:
        self._open(None)

    def _open(self, first: FirstRunChoices | None) -> None:
        if self.busy or self.opened is not None:
            return
        self.busy = True
        if first is None:
            self.window.show_locked().set_busy("Unlocking…")
        paths, settings, ask, capture = self.paths, self.settings, self.asker, self.capture_enabled

        def failed(exc: BaseException) -> None:
            self.busy = False
            if self.quitting:
                return
            if first is not None and self.welcome is not None:
                self.welcome.failed(str(exc) if isinstance(exc, EngramError)
                                    else f"{type(exc).__name__}: {exc}")
                if not isinstance(exc, EngramError):
                    present_error(exc)
                return
            page = self.window.show_locked()
            if isinstance(exc, Cancelled):
                self.quit()  # the person chose not to unlock: leave quietly
            elif isinstance(exc, WrongPassphrase):
                page.set_locked("Engram is locked.", "That passphrase does not unlock the "
                                "database (nothing was changed). Try again.")
            elif isinstance(exc, EngramError):
                page.set_locked("Engram could not open its database.", str(exc))
            else:
                page.set_locked("Engram could not open its database.",
                                f"{type(exc).__name__}: {exc}")
                present_error(exc)

        retention_done = self.retention_done.emit  # hourly retention: views drop what it forgot
        run_in_background(lambda: open_everything(paths, settings, ask, first, capture,
                                                  retention_done),
                          lambda opened: self.on_opened(opened, first), failed)

    def on_opened(self, opened: Opened, first: FirstRunChoices | None = None) -> None:
        self.busy = False
        if self.quitting:
            run_in_background(lambda: close_everything(opened))
            return
        from app.windows.shell import JobsBar, Shell
        self.opened = opened
        engine = opened.engine
        capture = CaptureState(opened.instance, engine, note=opened.note)
        ctx = AppContext(engine=engine, capture=capture, jobs=JobList(), nav=Navigator(),
                         tray_available=self.tray is not None,
                         restart_capture=self.restart_capture, lock=self.lock,
                         change_passphrase=self.change_passphrase)
        self.ctx = ctx
        ctx.watch()  # capture, the CLI and a daemon change things the views show
        shell = Shell(ctx)
        self.window.install_shell(shell, JobsBar(ctx.jobs))
        if self.welcome is not None:
            self.window.pages.removeWidget(self.welcome)
            self.welcome.deleteLater()
            self.welcome = None
        if self.tray is not None:
            self.tray.set_capture(capture)
        shell.show_view("search")
        if first is not None and first.chat_export:
            shell.show_view("sources")
            shell.views["sources"].chats.start(Path(first.chat_export))
        self.ready.emit()

    # -- running ------------------------------------------------------------------------------
    def on_retention_done(self, report: RetentionReport) -> None:
        if self.ctx is not None and report.removed_ids:
            self.ctx.nav.data_changed.emit(report.changes)

    def restart_capture(self) -> None:
        """Rebuild capture from the settings (a source switched on or off, new exclusions)."""
        if self.opened is None or self.ctx is None:
            return
        old, engine, capture = self.opened, self.opened.engine, self.ctx.capture

        def restart() -> tuple[object | None, str]:
            if old.instance is not None:
                old.instance.stop()
            return start_capture(engine) if self.capture_enabled else (None, "Capture is off.")

        def done(result: tuple[object | None, str]) -> None:
            instance, note = result
            if self.opened is old:
                self.opened = Opened(engine, instance, note)
                capture.set_instance(instance, note)

        run_in_background(restart, done)

    def lock(self) -> None:
        """Close the database and stop capture; the unlock page takes over."""
        if self.opened is None:
            return
        opened = self._detach()
        page = self.window.show_locked()
        page.set_busy("Locking…")

        def done(_r: object) -> None:
            page.set_locked("Engram is locked.", "")

        run_in_background(lambda: close_everything(opened), done)

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-encrypt with a key from ``new_passphrase`` (like `engram passphrase`), reopen."""
        if self.opened is None:
            return
        opened = self._detach()
        old_key = opened.engine.key
        paths, settings, capture = self.paths, self.settings, self.capture_enabled
        self.window.show_locked().set_busy("Re-encrypting your database…")
        self.busy = True

        def work() -> Opened:
            close_everything(opened)
            rekey_store(paths, old_key, new_passphrase)
            return open_everything(paths, settings, lambda _p, _c: new_passphrase, None, capture,
                                   self.retention_done.emit)

        def failed(exc: BaseException) -> None:
            self.busy = False
            self.window.show_locked().set_locked(
                "The passphrase was not changed.",
                str(exc) if isinstance(exc, EngramError) else f"{type(exc).__name__}: {exc}")

        run_in_background(work, self.on_opened, failed)

    def _detach(self) -> Opened:
        """Take the open engine away from the UI (views, tray, jobs) before closing it."""
        opened = self.opened
        assert opened is not None and self.ctx is not None
        self.ctx.stop_watching()
        self.ctx.jobs.cancel_all()
        self.ctx.capture.stop()
        if self.tray is not None:
            self.tray.set_capture(None)
        self.window.remove_shell()
        self.opened, self.ctx = None, None
        return opened

    # -- requests from outside ----------------------------------------------------------------
    def on_request(self, command: str) -> None:
        verb, _, arg = command.partition(":")
        if verb == "overlay":
            return  # app.reach floats the overlay over whatever is on screen
        self.window.bring_forward()
        shell = self.window.shell
        if shell is None:
            return
        if verb == "view":  # view:NAME, or view:settings/PAGE where a view has pages
            name, _, page = arg.partition("/")
            shell.show_view(name)
            view = shell.views.get(name)
            if page and hasattr(view, "show_page"):
                view.show_page(page)
        elif verb == "theme":  # theme:light|dark|system
            from PySide6.QtWidgets import QApplication

            from app.theme import apply_theme

            apply_theme(QApplication.instance(), arg)
        elif verb == "search":
            shell.ctx.nav.search_for.emit(arg)
        elif verb == "day":
            from datetime import date

            shell.show_view("timeline")
            shell.views["timeline"].set_day(date.fromisoformat(arg))
        elif verb == "ask":
            self._ask_now(arg)
        elif verb == "quick-ask":
            self.quick_ask()

    def quick_ask(self) -> None:
        from app.dialogs.quick_ask import QuickAskDialog

        if self.window.shell is None:
            self.window.bring_forward()
            return
        dialog = QuickAskDialog()
        dialog.asked.connect(self._ask_now)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self._quick = dialog

    def _ask_now(self, text: str) -> None:
        self.window.bring_forward()
        if self.window.shell is not None:
            self.window.shell.show_view("ask")
            self.window.shell.views["ask"].ask_now(text)

    def on_close_requested(self) -> None:
        if self.tray is not None and not self.window.allow_close:
            self.window.hide()
            if not getattr(self, "_told_tray", False):
                self._told_tray = True
                self.tray.notify("Engram keeps running",
                                 "Capture continues in the background. Quit from the tray.")
        else:
            self.quit()

    def quit(self) -> None:
        """Stop capture and close the store (so nothing is lost), then leave."""
        if self.quitting:
            return
        self.quitting = True
        self.asker.close()
        self.window.hide()
        if self.tray is not None:
            self.tray.hide()
        opened = None
        if self.opened is not None:
            opened = self._detach()
        wait_for_pool(15000)
        try:
            close_everything(opened)
        except Exception:
            log.exception("closing the engine failed")
        self.quit_app()


def rekey_store(paths: Paths, old_key: DatabaseKey, new_passphrase: str) -> None:
    """`engram passphrase`'s re-encryption, with the old key already in hand."""
    from core import keys
    from core.rekey import change_passphrase

    change_passphrase(paths, old_key, new_passphrase)
    if os.environ.get(keys.PASSPHRASE_ENV):
        print(f"engram: {keys.PASSPHRASE_ENV} still holds the old passphrase", file=sys.stderr)
