"""The desktop app's entry point: `engram` with no command, or `engram-gui`.

Order matters for a fast, single window: claim the single-instance channel
(a second launch only forwards its request and exits), show the window at
once, then open the engine off the UI thread. Nothing here loads a model:
the embedding model loads on the first search, a chat model on the first
question.

Environment:
  ENGRAM_HOME              data folder, unless `engram --data-dir DIR` passes one
  ENGRAM_START_HIDDEN=1    start in the tray without a window (autostart)
  ENGRAM_GUI_COMMAND       what a second launch asks the running app (default
                           ``show``; also view:NAME[/PAGE], search:TEXT, day:DATE,
                           ask:TEXT, quick-ask, theme:light|dark|system, overlay)
  ENGRAM_GUI_REPORT=1      print "window-shown" / "ready" with timings on stderr
  ENGRAM_NO_CAPTURE=1      open without starting capture sources (tests, demos)
  ENGRAM_THEME=light|dark  fix the theme instead of following the system's
"""
from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Paths

_STARTED = time.monotonic()


def _report(what: str) -> None:
    if os.environ.get("ENGRAM_GUI_REPORT") == "1":
        print(f"engram-gui: {what} {time.monotonic() - _STARTED:.3f}", file=sys.stderr,
              flush=True)


def _quit_on_signals(controller) -> None:
    """SIGTERM / SIGINT (logout, `kill`, Ctrl-C) quit cleanly: capture flushed, store closed.

    Python only runs its signal handlers between bytecodes, so a timer wakes the
    interpreter regularly while Qt's loop sleeps in C++.
    """
    import signal

    from PySide6.QtCore import QTimer

    def handler(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, controller.quit)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    waker = QTimer(controller)
    waker.start(500)
    waker.timeout.connect(lambda: None)


def main(paths: Paths | None = None) -> int:
    """Run the desktop app on the data folder ``paths`` (default: ENGRAM_HOME or the
    platform's user data folder, as for every command)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from core.config import resolve_paths

    paths = paths or resolve_paths()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Engram")
    app.setOrganizationName("Engram")
    app.setDesktopFileName("engram")
    app.setQuitOnLastWindowClosed(False)  # the tray keeps it alive

    from app.windows.single_instance import SingleInstance, send

    single = SingleInstance(paths.data_dir)
    if not single.claim():
        command = os.environ.get("ENGRAM_GUI_COMMAND", "show")
        reply = send(single.name, command)
        if reply != "ok":
            print(f"engram: the running app did not take the request ({reply}).",
                  file=sys.stderr)
            return 1
        return 0

    from app.dialogs.errors import install_excepthook
    from app.tray import Tray, available, draw_icon
    from app.windows.controller import Controller
    from app.windows.main_window import MainWindow

    from app.theme import apply_theme

    install_excepthook()
    apply_theme(app)
    app.setWindowIcon(draw_icon())
    window = MainWindow()
    tray = None
    if available():
        tray = Tray(None)
        tray.show()
    controller = Controller(paths, window, tray=tray,
                            capture=os.environ.get("ENGRAM_NO_CAPTURE") != "1")
    single.requested.connect(controller.on_request)
    reach: list = []

    def attach_reach() -> None:
        # The global shortcut, the overlay and "never record": set up once the window
        # is on screen, before the engine can be ready (its opening ends on this thread).
        from app.reach import attach

        reach.append(attach(controller, tray))
        single.requested.connect(reach[0].on_request)

    if tray is not None:
        tray.open_requested.connect(window.bring_forward)
        tray.quick_ask_requested.connect(controller.quick_ask)
        tray.quit_requested.connect(controller.quit)
    controller.ready.connect(lambda: _report("ready"))
    _report("tray available" if tray is not None else "no tray")
    _quit_on_signals(controller)
    hidden = os.environ.get("ENGRAM_START_HIDDEN") == "1" and tray is not None
    if not hidden:
        window.center_on_screen()
        window.show()
        # After the first paint has been queued: the window is on screen.
        QTimer.singleShot(0, lambda: _report("window-shown"))
    QTimer.singleShot(0, attach_reach)
    controller.start()
    code = app.exec()
    for r in reach:
        r.close()
    single.close()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
