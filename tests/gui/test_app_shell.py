"""The window as a whole: shortcuts, views, errors presented once, single instance, tasks."""
from __future__ import annotations

import sys
import threading

from PySide6.QtCore import Qt

from app.dialogs.errors import CrashDialog, install_excepthook, presenter
from app.tasks import run_in_background, stream_in_background
from app.windows.main_window import MainWindow
from app.windows.shell import VIEW_ORDER, JobsBar, Shell
from core.errors import BadInput


def make_window(qtbot, ctx) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.install_shell(Shell(ctx), JobsBar(ctx.jobs))
    window.show()
    window.shell.show_view("search")
    return window


def test_shortcuts_switch_views_and_focus_search(qtbot, ctx):
    window = make_window(qtbot, ctx)
    shell = window.shell
    for n, name in enumerate(VIEW_ORDER, 1):
        window.show_view(name)
        assert shell.current() == name
        assert window.windowTitle() == f"Engram — {shell.views[name].title}"
    window.show_view("timeline")
    window.focus_search()  # what Ctrl+K / Ctrl+F do
    assert shell.current() == "search"
    search = shell.views["search"]
    search.box.setText("printer")
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)
    qtbot.keyClick(search.box, Qt.Key.Key_Escape)  # real key events reach the shortcuts
    assert search.box.text() == ""
    qtbot.keyClick(search.box, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert shell.current() == "timeline"
    qtbot.keyClick(shell.views["timeline"], Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert shell.current() == "search" and search.box.hasFocus()
    from PySide6.QtGui import QShortcut

    bound = {s.key().toString() for s in window.findChildren(QShortcut)}
    assert {"Ctrl+K", "Ctrl+F", "Ctrl+1", "Ctrl+6", "Esc", "Ctrl+Q"} <= bound


def test_a_citation_or_source_opens_in_search(qtbot, ctx, seeded):
    window = make_window(qtbot, ctx)
    _engine, info = seeded
    ctx.nav.open_event.emit(info["ids"][0])
    assert window.shell.current() == "search"
    detail = window.shell.views["search"].detail
    qtbot.waitUntil(lambda: detail.hit is not None and detail.hit.id == info["ids"][0],
                    timeout=10000)


def test_engram_errors_are_readable_and_bugs_get_a_copyable_report(qtbot):
    shown: list[tuple[str, str]] = []
    presenter().presented.connect(lambda kind, msg: shown.append((kind, msg)))
    run_in_background(lambda: (_ for _ in ()).throw(BadInput("That file is not an export.",
                                                             hint="Pick the .zip.")))
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert shown[-1] == ("error", "That file is not an export.")

    def boom():
        raise ZeroDivisionError("division by zero")

    run_in_background(boom)
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=5000)
    assert shown[-1][0] == "bug"
    crash = [d for d in presenter().open_dialogs if isinstance(d, CrashDialog)][-1]
    report = crash.report.toPlainText()
    assert "ZeroDivisionError" in report and "boom" in report and "PySide6" in report
    crash.copy_report()
    from PySide6.QtGui import QGuiApplication

    assert "ZeroDivisionError" in QGuiApplication.clipboard().text()


def test_uncaught_exceptions_show_the_dialog_and_the_app_lives_on(qtbot, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    install_excepthook()
    shown: list[tuple[str, str]] = []
    presenter().presented.connect(lambda kind, msg: shown.append((kind, msg)))
    thread = threading.Thread(target=lambda: 1 / 0)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert shown[-1][0] == "bug" and "ZeroDivisionError" in shown[-1][1]
    try:
        raise KeyError("from a slot")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=5000)


def test_streamed_work_arrives_in_order_and_stops_between_items(qtbot):
    items: list[int] = []
    release = threading.Event()

    def numbers(job):
        for n in range(1000):
            if n == 5:
                release.wait(5)
            yield n

    task = stream_in_background(numbers, items.append)
    qtbot.waitUntil(lambda: len(items) >= 5, timeout=5000)
    task.cancel()
    release.set()
    qtbot.waitUntil(lambda: task.done, timeout=5000)
    assert items == list(range(len(items))) and len(items) <= 7


SECOND_LAUNCH = """
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
app = QCoreApplication([])
from app.windows.single_instance import SingleInstance, send
second = SingleInstance(Path(sys.argv[1]))
print(second.claim(), send(second.name, "view:timeline"))
"""


def test_a_second_launch_hands_over_to_the_first(qtbot, tmp_path):
    import subprocess

    from app.windows.single_instance import SingleInstance

    first = SingleInstance(tmp_path)
    assert first.claim()
    got: list[str] = []
    first.requested.connect(got.append)
    proc = subprocess.Popen([sys.executable, "-c", SECOND_LAUNCH, str(tmp_path)],
                            cwd=str(__import__("pathlib").Path(__file__).parents[2]),
                            stdout=subprocess.PIPE, text=True)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=20000)
    assert proc.stdout.read().strip() == "False ok"
    assert got == ["view:timeline"]
    first.close()
    assert SingleInstance(tmp_path).claim()  # free again once the first has gone


def test_progress_relay_turns_a_callback_into_a_signal(qtbot):
    from app.tasks import ProgressRelay
    from core.progress import Progress

    relay = ProgressRelay()
    seen: list[tuple[int, int | None, str, bool]] = []
    relay.progressed.connect(lambda p: seen.append(
        (p.done, p.total, p.label, threading.current_thread() is threading.main_thread())))
    worker = threading.Thread(target=lambda: [relay(Progress(n, 3, "files")) for n in range(1, 4)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=5000)
    assert seen == [(1, 3, "files", True), (2, 3, "files", True), (3, 3, "files", True)]
