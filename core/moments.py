"""What the full-size moment view reads: a screen event with its two stored pictures.

A screen event keeps a thumbnail of the active window (``event_images.data``)
and, beside it, a larger picture (``full_data``): the whole monitor at viewing
size, or the active window at full size when the person keeps full frames.
``meta["full_shot"]`` says which part of the frame the large picture shows and
``meta["shot"]`` the thumbnail's, both in frame pixels, so OCR word boxes map
onto either. Everything is read from the encrypted store into memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import apsw

from core.records import Event
from core.store import events as event_rows

LargeKind = Literal["view", "frame", ""]


@dataclass(frozen=True)
class MomentPictures:
    """One event and its stored pictures (encoded bytes, decoded by the viewer)."""

    event: Event
    thumbnail: bytes | None
    large: bytes | None
    large_kind: LargeKind          # "view" (whole screen), "frame" (window, full size)
    large_shot: tuple[int, int, int, int] | None   # frame pixels the large picture covers
    thumb_shot: tuple[int, int, int, int] | None   # frame pixels the thumbnail covers

    @property
    def best(self) -> tuple[bytes | None, tuple[int, int, int, int] | None]:
        """The largest picture there is, and the frame area it covers."""
        if self.large is not None:
            return self.large, self.large_shot
        return self.thumbnail, self.thumb_shot


def _rect(value: object) -> tuple[int, int, int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 4 and \
            all(isinstance(v, (int, float)) for v in value) and value[2] > 0 and value[3] > 0:
        return (int(value[0]), int(value[1]), int(value[2]), int(value[3]))
    return None


def read_moment(db: apsw.Connection, event_id: int) -> MomentPictures | None:
    """The event ``event_id`` with its thumbnail and large picture, or None if it is gone."""
    event = event_rows.get_many(db, [event_id]).get(event_id)
    if event is None:
        return None
    rows = db.execute("SELECT data, full_data FROM event_images WHERE event_id = ?",
                      (event_id,)).fetchall()
    thumb = bytes(rows[0][0]) if rows and rows[0][0] is not None else None
    large = bytes(rows[0][1]) if rows and rows[0][1] is not None else None
    kind = event.meta.get("full_kind")
    large_kind: LargeKind = "" if large is None else ("view" if kind == "view" else "frame")
    return MomentPictures(event, thumb, large, large_kind,
                          _rect(event.meta.get("full_shot")) if large is not None else None,
                          _rect(event.meta.get("shot")))


ACTIVE_DAY_SECONDS = 8 * 3600
MIN_MEASURED_SECONDS = 1800  # less screen time than this says little about a whole day


@dataclass(frozen=True)
class PictureCost:
    """What screen pictures cost on this computer, scaled to an active 8-hour day."""

    events: int
    active_seconds: float
    thumbnail_bytes: int
    view_bytes: int          # viewing images (whole screen); full frames counted apart
    frame_bytes: int         # full-size frames of the active window, when kept

    @property
    def measured(self) -> bool:
        """True when enough screen time was stored to scale it to a day."""
        return self.active_seconds >= MIN_MEASURED_SECONDS

    def per_day(self, stored: int) -> float:
        """``stored`` bytes scaled to an active 8-hour day (0 without screen time)."""
        if self.active_seconds <= 0:
            return 0.0
        return stored * ACTIVE_DAY_SECONDS / self.active_seconds


def picture_cost(db: apsw.Connection, since_epoch: float = 0.0) -> PictureCost:
    """Bytes of thumbnails, viewing images and full frames of screen events since
    ``since_epoch``, with the screen time they cover (each event at least 5 s)."""
    row = db.execute(
        "SELECT count(*), coalesce(sum(max(e.ended_at - e.started_at, 5.0)), 0), "
        "coalesce(sum(length(i.data)), 0), "
        "coalesce(sum(CASE WHEN json_extract(e.meta, '$.full_kind') = 'view' "
        "THEN length(i.full_data) ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN json_extract(e.meta, '$.full_kind') = 'view' THEN 0 "
        "ELSE length(i.full_data) END), 0) "
        "FROM events e JOIN event_images i ON i.event_id = e.id "
        "WHERE e.source = 'screen' AND e.started_at >= ?", (since_epoch,)).fetchall()[0]
    return PictureCost(int(row[0]), float(row[1]), int(row[2]), int(row[3]), int(row[4]))
