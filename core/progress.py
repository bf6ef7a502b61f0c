"""One way to stop long work and one way to report how far it got.

Every long operation in the engine (consolidation, indexing, imports, vector
loading, Ask, downloads, retention) takes an optional ``cancel: Cancel`` and an
optional ``progress: ProgressFn``. The UI's Stop/Cancel buttons and the
background runners' shutdown all set the same kind of token; the CLI passes a
printing callback where the app passes one that re-emits a Qt signal.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from core.errors import Cancelled


class Cancel:
    """A thread-safe "stop, please" shared between whoever asks and the work itself.

    Work checks ``cancelled`` between steps (or calls ``raise_if_cancelled``) so a
    stop loses at most the step in flight; runners sleep on ``wait`` so a stop
    also wakes them at once.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` was called."""
        return self._event.is_set()

    def raise_if_cancelled(self, message: str = "Stopped.") -> None:
        """Raise ``core.errors.Cancelled`` once ``cancel()`` was called."""
        if self._event.is_set():
            raise Cancelled(message)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until cancelled or ``timeout`` seconds passed; True if cancelled."""
        return self._event.wait(timeout)


@dataclass(frozen=True)
class Progress:
    """One progress report: ``done`` of ``total`` (None when unknown), and what."""

    done: int
    total: int | None = None
    label: str = ""

    @property
    def fraction(self) -> float | None:
        """``done / total`` capped at 1, or None when the total is unknown."""
        return min(1.0, self.done / self.total) if self.total else None


ProgressFn = Callable[[Progress], None]
"""How long work reports progress; called from the worker's thread."""
