"""The Qt bridge: run engine work off the UI thread and bring results back.

Three small pieces, after anki's taskman and superqt's GeneratorWorker:

* ``run_in_background(fn, on_done, on_error, progress=...)`` runs ``fn`` on the
  global QThreadPool; ``on_done(result)`` / ``on_error(exc)`` run on the main
  thread. With ``progress``, ``fn`` receives a ``Job``: call it like the
  engine's ``Progress`` callback (``job(done, total, label)``) and check
  ``job.cancelled``. A cancelled job raises ``Cancelled`` from its next report,
  so engine loops that report progress stop at their next batch.
* ``stream_in_background(gen_fn, on_item, ...)`` iterates a generator off the
  UI thread and delivers each item on the main thread; ``cancel()`` stops it
  between two yields (chat tokens, imports).
* ``ProgressRelay`` re-emits a plain progress callback as a Qt signal, for
  engine code that wants a callback and a view that wants a signal.

Every error from a worker comes through one ``errored`` path; unless the
caller handles it, ``app.dialogs.errors.present_error`` shows it.
"""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from core.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One progress report, as it crosses to the main thread."""

    done: int
    total: int | None
    label: str = ""

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None


class Job:
    """What a background function gets: a progress callback and a cancel flag."""

    def __init__(self, emit: Callable[[Progress], None]) -> None:
        self._emit = emit
        self._cancel = threading.Event()

    def __call__(self, done: int, total: int | None = None, label: str = "") -> None:
        """The engine's ``Progress`` signature; raises Cancelled once cancelled."""
        self.check()
        self._emit(Progress(done, total, label))

    def report(self, done: int, total: int | None = None, label: str = "") -> None:
        """Report progress without the cancel check (for jobs that stop on their own)."""
        self._emit(Progress(done, total, label))

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("Stopped.")


class Task(QObject):
    """A handle on background work; lives on the main thread, so its slots run there.

    The worker thread only emits the private signals; they reach this object's
    slots by queued connection (the receiver lives on the main thread), and the
    slots call the caller's functions there.
    """

    _resulted = Signal(object)
    _failed = Signal(object)
    _reported = Signal(object)
    _yielded = Signal(object)
    progressed = Signal(object)  # Progress, on the main thread
    ended = Signal()  # after on_done or on_error, whatever happened

    def __init__(self) -> None:
        super().__init__()
        self.job = Job(self._reported.emit)
        self.done = False
        self.error: BaseException | None = None
        self.on_done: Callable[[Any], None] | None = None
        self.on_error: Callable[[BaseException], None] | None = None
        self.on_item: Callable[[Any], None] | None = None
        self._resulted.connect(self._finish)
        self._failed.connect(self._fail)
        self._reported.connect(self._progress)
        self._yielded.connect(self._item)

    def cancel(self) -> None:
        self.job.cancel()

    @property
    def cancelled(self) -> bool:
        return self.job.cancelled

    @Slot(object)
    def _finish(self, result: Any) -> None:
        self.done = True
        try:
            if self.on_done is not None:
                self.on_done(result)
        finally:
            _alive.discard(self)
            self.ended.emit()

    @Slot(object)
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
            _alive.discard(self)
            self.ended.emit()

    @Slot(object)
    def _progress(self, progress: Progress) -> None:
        if not self.done:
            self.progressed.emit(progress)

    @Slot(object)
    def _item(self, item: Any) -> None:
        if self.on_item is not None:
            self.on_item(item)


# Tasks alive until they have ended: the Python wrapper must not be collected
# while a worker thread may still emit through it.
_alive: set[Task] = set()


class _Runnable(QRunnable):
    def __init__(self, task: Task, body: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task = task
        self._body = body

    def run(self) -> None:
        task = self._task
        try:
            result = self._body()
        except BaseException as exc:  # delivered to one handler, never swallowed
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            task._failed.emit(exc)
        else:
            task._resulted.emit(result)


def _start(task: Task, body: Callable[[], Any], on_done: Callable[[Any], None] | None,
           on_error: Callable[[BaseException], None] | None,
           progress: Callable[[Progress], None] | None) -> Task:
    task.on_done, task.on_error = on_done, on_error
    if progress is not None:
        task.progressed.connect(progress)
    _alive.add(task)
    QThreadPool.globalInstance().start(_Runnable(task, body))
    return task


def run_in_background(fn: Callable[..., Any], on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None, *,
                      progress: Callable[[Progress], None] | None = None,
                      with_job: bool = False) -> Task:
    """Run ``fn`` on a pool thread; results and errors come back on the main thread.

    ``fn()`` takes no argument, unless ``progress`` or ``with_job`` is given:
    then it is called as ``fn(job)``.
    """
    task = Task()
    wants_job = progress is not None or with_job
    body = (lambda: fn(task.job)) if wants_job else fn
    return _start(task, body, on_done, on_error, progress)


def stream_in_background(gen_fn: Callable[[Job], Iterator[Any]],
                         on_item: Callable[[Any], None],
                         on_done: Callable[[Any], None] | None = None,
                         on_error: Callable[[BaseException], None] | None = None, *,
                         progress: Callable[[Progress], None] | None = None) -> Task:
    """Iterate ``gen_fn(job)`` off the UI thread; each item reaches ``on_item`` in order.

    Cancelling stops between two yields: the generator is closed (its
    ``finally`` blocks run on the worker) and ``on_done(None)`` follows.
    """
    task = Task()
    task.on_item = on_item

    def body() -> Any:
        gen = gen_fn(task.job)
        try:
            for item in gen:
                task._yielded.emit(item)
                if task.job.cancelled:
                    return None
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                close()
        return None

    return _start(task, body, on_done, on_error, progress)


class ProgressRelay(QObject):
    """A plain ``(done, total, label)`` callback whose calls arrive as a signal.

    Hand an instance to engine code as its progress callback from any thread;
    connect ``progressed`` in the view. Emitting crosses threads by queueing.
    """

    progressed = Signal(object)

    def __call__(self, done: int, total: int | None = None, label: str = "") -> None:
        self.progressed.emit(Progress(done, total, label))


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
