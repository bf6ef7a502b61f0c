"""Turning what people type about time into UTC datetimes.

``parse_when("yesterday")`` for command-line bounds (``--since``/``--until``):
ISO-8601 dates and times, ``now``, ``today``, ``yesterday``, ``3d``, ``2 weeks ago``.
Naive inputs are local wall-clock time.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from core.errors import UsageError
from core.records import to_utc

_UNITS = {
    "s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
    "h": 3600, "hour": 3600, "d": 86400, "day": 86400, "w": 7 * 86400, "week": 7 * 86400,
}
_RELATIVE = re.compile(
    r"^(\d+)\s*(s|sec|seconds?|m|mins?|minutes?|h|hours?|d|days?|w|weeks?)(\s+ago)?$")


def local_now() -> datetime:
    return datetime.now(timezone.utc).astimezone()


def start_of_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """Parse a point in time; raise UsageError with an example when it can't."""
    now = now if now is not None and now.tzinfo else (now or local_now()).astimezone()
    value = text.strip().lower()
    if value == "now":
        return to_utc(now)
    if value == "today":
        return to_utc(start_of_day(now))
    if value == "yesterday":
        return to_utc(start_of_day(now) - timedelta(days=1))
    match = _RELATIVE.match(value)
    if match:
        unit = match.group(2).rstrip("s") if len(match.group(2)) > 1 else match.group(2)
        seconds = _UNITS.get(unit) or _UNITS[unit[0]]
        return to_utc(now - timedelta(seconds=int(match.group(1)) * seconds))
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"Can't read the time {text!r}.",
            hint="Use e.g. 2024-03-01, 2024-03-01T14:30, today, yesterday, 3d or '2 weeks ago'.",
        ) from None
    return to_utc(parsed)
