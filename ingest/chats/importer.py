"""Importing one chat export into a sink: the loop `engram import` and the app share.

The export is opened (and validated, so a broken file stops before anything is
written) by ``parse_export``; its messages go to ``sink`` in batches; between
batches progress is reported and ``cancel`` honoured. What was stored before a
cancel stays stored: re-importing the same export adds only what is missing
(stable message ids).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Callable, Sequence

from core.progress import Cancel, Progress, ProgressFn
from core.records import Changes, Observation
from ingest.chats.common import ImportReport
from ingest.chats.detect import parse_export

Sink = Callable[[Sequence[Observation]], Changes]
BATCH = 256


@dataclass(frozen=True)
class ImportSummary:
    """What importing one export did: the parser's report and the store's changes."""

    path: str
    report: ImportReport
    changes: Changes
    cancelled: bool = False

    @property
    def format(self) -> str:
        return self.report.format

    @property
    def messages(self) -> int:
        """Messages read from the export."""
        return self.report.imported

    @property
    def added(self) -> int:
        """New in the store."""
        return len(self.changes.added)

    @property
    def already(self) -> int:
        """Stored by an earlier import."""
        return self.changes.duplicates

    def text(self) -> str:
        """A few lines for a person: what went in, what was stopped, skipped, left out."""
        name = Path(self.path).name
        head = (f"Stopped importing {name}: " if self.cancelled
                else f"Imported {name} ({self.format} export): ")
        lines = [head + f"{self.added} new messages, {self.already} already present."]
        if self.cancelled:
            lines.append("What was imported stays; import the file again to finish.")
        skipped = self.report.skipped
        if skipped:
            lines.append(f"{len(skipped)} could not be read, e.g. "
                         f"{skipped[0].where}: {skipped[0].describe()}")
        if self.report.ignored:
            lines.append("Left out on purpose: " + ", ".join(
                f"{n} × {why}" for why, n in sorted(self.report.ignored.items())))
        if self.report.notes:  # e.g. "23:59 PM" read as 23:59
            lines.append("Read with care: " + ", ".join(
                f"{n} × {what}" for what, n in sorted(self.report.notes.items())))
        return "\n".join(lines)


def import_export(path: Path, sink: Sink, *, progress: ProgressFn | None = None,
                  cancel: Cancel | None = None, format: str = "auto",
                  name: str | None = None, batch_size: int = BATCH) -> ImportSummary:
    """Read the chat export at ``path`` into ``sink``; return what happened.

    ``format``/``name`` as for ``parse_export``. Raises ``BadInput`` for an
    export that cannot be read, before the sink sees anything.
    """
    stream = parse_export(path, format, name=name)
    changes, read, cancelled = Changes(), 0, False
    with stream:
        items = iter(stream)
        if progress is not None:
            progress(Progress(0, None, "reading"))
        while not (cancelled := cancel is not None and cancel.cancelled):
            batch = list(islice(items, batch_size))
            if not batch:
                break
            changes = changes + sink(batch)
            read += len(batch)
            if progress is not None:
                progress(Progress(read, None, "messages"))
    return ImportSummary(str(path), stream.report(), changes, cancelled)


__all__ = ["ImportSummary", "import_export"]
