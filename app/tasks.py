"""The Qt bridge: run engine work off the UI thread and bring results back.

Four small pieces, after anki's taskman and operations and superqt's GeneratorWorker:

* ``run_in_background(fn, on_done, on_error, progress=...)`` runs ``fn`` on the
  global QThreadPool; ``on_done(result)`` / ``on_error(exc)`` run on the main
  thread. With ``progress``, ``fn`` receives a ``Job`` carrying the engine's
  ``progress`` callback and ``Cancel`` token (``core.progress``); the task's
  ``cancel()`` sets that token, and engine loops stop at their next check.
* ``stream_in_background(gen_fn, on_item, ...)`` iterates a generator off the
  UI thread and delivers each item on the main thread; ``cancel()`` stops it
  between two yields (chat tokens, imports).
* ``run_op(owner, nav, fn, on_done)`` runs a write and emits the one
  ``data_changed(changes)`` every view refreshes from.
* ``ProgressRelay`` re-emits the engine's progress callback as a Qt signal, for
  engine code that wants a callback and a view that wants a signal.

Every error from a worker comes through one ``errored`` path; unless the
caller handles it, ``app.dialogs.errors.present_error`` shows it.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable, Iterator

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from core.errors import Cancelled
from core.progress import Cancel, Progress, ProgressFn
from core.records import Changes


class Job:
    """What a background function gets: a ``progress`` callback and a ``cancel`` token.

    Both are the engine's own types, so a job passes them straight on:
    ``consolidate(..., progress=job.progress, cancel=job.cancel)``.
    """

    def __init__(self, emit: Callable[[Progress], None]) -> None:
        self.progress: ProgressFn = emit
        self.cancel = Cancel()

    def report(self, done: int, total: int | None = None, label: str = "") -> None:
        """Shorthand for ``progress(Progress(done, total, label))``."""
        self.progress(Progress(done, total, label))


class Task(QObject):
    """A handle on background work, living on the main thread.

    Workers never hold a reference to a Task: they report through the
    module's one ``_Relay`` (an immortal main-thread object) by task number,
    so a Task is only ever destroyed on the main thread, and never while one
    of its own queued calls is being delivered.
    """

    progressed = Signal(object)  # Progress, on the main thread
    ended = Signal()  # after on_done or on_error, whatever happened

    def __init__(self) -> None:
        super().__init__()
        global _next_id
        _next_id += 1
        self.number = _next_id
        relay = _relay()
        number = self.number
        self.job = Job(lambda p: relay.reported.emit(number, p))
        self.done = False
        self.error: BaseException | None = None
        self.on_done: Callable[[Any], None] | None = None
        self.on_error: Callable[[BaseException], None] | None = None
        self.on_item: Callable[[Any], None] | None = None
        self.orphaned = False
        self._owner: QObject | None = None

    def cancel(self) -> None:
        self.job.cancel.cancel()

    @property
    def cancelled(self) -> bool:
        return self.job.cancel.cancelled

    def bind(self, owner: QObject | None) -> None:
        """Tie the callbacks to ``owner``: once it is destroyed they are dropped.

        A view may close (lock, quit, a test's teardown) while its work is still
        running; the result then has nowhere to go, and the work is asked to stop.
        """
        if owner is not None:
            self._owner = owner
            owner.destroyed.connect(self._orphan)

    def _let_go(self) -> None:
        """After the end: no more ties to the owner, no closures kept alive.

        Order matters: the callbacks may hold the last reference to their view,
        whose destruction emits ``destroyed``; it must not reach a Task being freed.
        """
        owner, self._owner = self._owner, None
        if owner is not None and not self.orphaned:
            try:
                owner.destroyed.disconnect(self._orphan)
            except (RuntimeError, TypeError):  # already gone
                pass
        self.on_done = self.on_error = self.on_item = None

    @Slot()
    def _orphan(self) -> None:
        self.orphaned = True
        self._owner = None
        self.on_done = self.on_item = None
        self.on_error = None  # errors still reach the presenter
        self.job.cancel.cancel()

    def _finish(self, result: Any) -> None:
        self.done = True
        try:
            if self.on_done is not None:
                self.on_done(result)
        finally:
            self.ended.emit()

    def _fail(self, exc: BaseException) -> None:
        self.done = True
        self.error = exc
        try:
            if self.on_error is not None:
                self.on_error(exc)
            elif not isinstance(exc, Cancelled):
                from app.dialogs.errors import present_error

                present_error(exc)
        finally:
            self.ended.emit()

    def _progress(self, progress: Progress) -> None:
        if not self.done and not self.orphaned:
            self.progressed.emit(progress)

    def _item(self, item: Any) -> None:
        if self.on_item is not None:
            self.on_item(item)


class _Relay(QObject):
    """Carries workers' reports to the main thread, where it looks up the task."""

    resulted = Signal(int, object)
    failed = Signal(int, object)
    reported = Signal(int, object)
    yielded = Signal(int, object)

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[int, Task] = {}
        self.resulted.connect(self._on_result)
        self.failed.connect(self._on_failure)
        self.reported.connect(self._on_report)
        self.yielded.connect(self._on_item)

    @Slot(int, object)
    def _on_result(self, number: int, result: Any) -> None:
        task = self.tasks.get(number)
        if task is not None:
            try:
                task._finish(result)
            finally:
                self._release(number)

    @Slot(int, object)
    def _on_failure(self, number: int, exc: BaseException) -> None:
        task = self.tasks.get(number)
        if task is not None:
            try:
                task._fail(exc)
            finally:
                self._release(number)

    @Slot(int, object)
    def _on_report(self, number: int, progress: Progress) -> None:
        task = self.tasks.get(number)
        if task is not None:
            task._progress(progress)

    @Slot(int, object)
    def _on_item(self, number: int, item: Any) -> None:
        task = self.tasks.get(number)
        if task is not None:
            task._item(item)

    def _release(self, number: int) -> None:
        # Dropped on the next turn of the loop, outside any delivery to it.
        task = self.tasks.pop(number, None)
        if task is not None:
            task._let_go()
            QTimer.singleShot(0, lambda t=task: None)


_next_id = 0
_the_relay: _Relay | None = None


def _relay() -> _Relay:
    """The relay, created on first use (always from the main thread: tasks start there)."""
    global _the_relay
    if _the_relay is None:
        _the_relay = _Relay()
    return _the_relay


class _Runnable(QRunnable):
    """Runs the body on a pool thread; holds the relay and a number, never the Task."""

    def __init__(self, number: int, body: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._number = number
        self._body: Callable[[], Any] | None = body

    def run(self) -> None:
        relay, body = _relay(), self._body
        self._body = None
        assert body is not None
        try:
            result = body()
        except BaseException as exc:  # delivered to one handler, never swallowed
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            relay.failed.emit(self._number, exc)
        else:
            relay.resulted.emit(self._number, result)


def _start(task: Task, body: Callable[[], Any], on_done: Callable[[Any], None] | None,
           on_error: Callable[[BaseException], None] | None,
           progress: Callable[[Progress], None] | None, owner: QObject | None) -> Task:
    task.on_done, task.on_error = on_done, on_error
    task.bind(owner)
    if progress is not None:
        task.progressed.connect(progress)
    _relay().tasks[task.number] = task
    QThreadPool.globalInstance().start(_Runnable(task.number, body))
    return task


def run_in_background(fn: Callable[..., Any], on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None, *,
                      progress: Callable[[Progress], None] | None = None,
                      with_job: bool = False, owner: QObject | None = None) -> Task:
    """Run ``fn`` on a pool thread; results and errors come back on the main thread.

    ``fn()`` takes no argument, unless ``progress`` or ``with_job`` is given:
    then it is called as ``fn(job)``. ``owner``: the widget the callbacks
    update; if it is destroyed first, they are dropped (see ``Task.bind``).
    """
    task = Task()
    job = task.job  # the worker gets the Job (plain Python), never the Task
    wants_job = progress is not None or with_job
    body = (lambda: fn(job)) if wants_job else fn
    return _start(task, body, on_done, on_error, progress, owner)


def stream_in_background(gen_fn: Callable[[Job], Iterator[Any]],
                         on_item: Callable[[Any], None],
                         on_done: Callable[[Any], None] | None = None,
                         on_error: Callable[[BaseException], None] | None = None, *,
                         progress: Callable[[Progress], None] | None = None,
                         owner: QObject | None = None) -> Task:
    """Iterate ``gen_fn(job)`` off the UI thread; each item reaches ``on_item`` in order.

    Cancelling stops between two yields: the generator is closed (its
    ``finally`` blocks run on the worker) and ``on_done(None)`` follows.
    """
    task = Task()
    task.on_item = on_item
    job, number, relay = task.job, task.number, _relay()

    def body() -> Any:
        gen = gen_fn(job)
        try:
            for item in gen:
                relay.yielded.emit(number, item)
                if job.cancel.cancelled:
                    return None
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                close()
        return None

    return _start(task, body, on_done, on_error, progress, owner)


def changes_of(result: Any) -> Changes | None:
    """The ``Changes`` a write returned: itself, or a record's ``changes`` field."""
    if isinstance(result, Changes):
        return result
    changes = getattr(result, "changes", None)
    return changes if isinstance(changes, Changes) else None


def run_op(owner: QObject, nav: Any, fn: Callable[[], Any],
           on_done: Callable[[Any], None] | None = None,
           on_error: Callable[[BaseException], None] | None = None) -> Task:
    """Run a write off the UI thread, then tell every view once what changed.

    ``fn`` returns ``Changes`` (or a record carrying them, like a memory edit);
    on the main thread ``nav.data_changed`` is emitted with them, and then
    ``on_done(result)`` runs. Views refresh from ``data_changed``, never per row
    and never by a view telling another one.
    """
    def done(result: Any) -> None:
        changes = changes_of(result)
        if changes is not None:
            nav.data_changed.emit(changes)
        if on_done is not None:
            on_done(result)

    return run_in_background(fn, done, on_error, owner=owner)


class ProgressRelay(QObject):
    """A plain ``(done, total, label)`` callback whose calls arrive as a signal.

    Hand an instance to engine code as its progress callback from any thread;
    connect ``progressed`` in the view. Emitting crosses threads by queueing.
    """

    progressed = Signal(object)

    def __call__(self, progress: Progress) -> None:
        self.progressed.emit(progress)


class Debouncer(QObject):
    """Calls ``fn`` once, ``delay_ms`` after the last ``poke``."""

    def __init__(self, delay_ms: int, fn: Callable[[], None], parent: QObject | None = None):
        super().__init__(parent)
        from PySide6.QtCore import QTimer

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(fn)

    @Slot()
    def poke(self) -> None:
        self._timer.start()

    def flush(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self._timer.timeout.emit()


def wait_for_pool(timeout_ms: int = 30000) -> bool:
    """Block until every pool thread is idle (shutdown and tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
