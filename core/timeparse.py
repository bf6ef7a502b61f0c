"""Turning what people type about time into UTC datetimes.

``parse_when("yesterday")`` for command-line bounds (``--since``/``--until``):
ISO-8601 dates and times, ``now``, ``today``, ``yesterday``, ``3d``, ``2 weeks ago``.
Naive inputs are local wall-clock time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
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
    try:
        return _parse_when(text, now)
    except (OverflowError, ValueError):
        # "99999999999 days ago", year 0 or 10000 after a time-zone shift.
        raise UsageError(f"The time {_shown(text)} is out of range.",
                         hint="Use a date like 2024-03-01 (years 1900 to 9999).") from None


def _shown(text: str) -> str:
    """The input quoted for a one-line message: control characters escaped, cut short."""
    shown = repr(text[:60])
    return shown if len(text) <= 60 else shown[:-1] + "…" + shown[-1]


def _parse_when(text: str, now: datetime) -> datetime:
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
            f"Can't read the time {_shown(text)}.",
            hint="Use e.g. 2024-03-01, 2024-03-01T14:30, today, yesterday, 3d or '2 weeks ago'.",
        ) from None
    return to_utc(parsed)


# -- time expressions inside a question ------------------------------------------------
MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december"
    .split(), 1)}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
WEEKDAYS = {d: i for i, d in enumerate(
    "monday tuesday wednesday thursday friday saturday sunday".split())}

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_RE = "|".join(WEEKDAYS)
_NUM_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
              "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "few": 3}
_NUM_RE = r"\d+|" + "|".join(sorted(_NUM_WORDS, key=len, reverse=True))


@dataclass(frozen=True)
class TimeRange:
    """A half-open range [since, until) in UTC, and the words it was read from."""

    since: datetime
    until: datetime
    phrase: str


def _day(moment: datetime) -> datetime:
    return start_of_day(moment)


def _month_start(year: int, month: int, tz) -> datetime:  # type: ignore[no-untyped-def]
    return datetime(year, month, 1, tzinfo=tz)


def _next_month(moment: datetime) -> datetime:
    return moment.replace(year=moment.year + (moment.month == 12),
                          month=moment.month % 12 + 1, day=1)


def _range(since: datetime, until: datetime, phrase: str) -> TimeRange:
    return TimeRange(to_utc(since), to_utc(until), phrase)


def _num(text: str) -> int:
    return int(text) if text.isdigit() else _NUM_WORDS[text]


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(today|this morning|this afternoon|this evening|tonight)\b"), "today"),
    (re.compile(r"\b(yesterday|last night)\b"), "yesterday"),
    (re.compile(r"\b(this|last|past|previous) (week|month|year)\b"), "this_last"),
    (re.compile(rf"\b(last|this|on|past)? ?({_DAY_RE})\b"), "weekday"),
    (re.compile(rf"\b({_NUM_RE}) (day|week|month|year)s? ago\b"), "ago"),
    (re.compile(rf"\b(?:in the )?(?:last|past) ({_NUM_RE}) (day|week|month|year)s?\b"), "lastn"),
    (re.compile(rf"\b(?:in |during |since |before |last |this )?({_MONTH_RE})\.?(?: of)?,? ?(\d{{4}})?\b"),
     "month"),
    (re.compile(r"\b(?:in |during )?((?:19|20)\d\d)\b"), "year"),
    (re.compile(r"\b(\d{4})-(\d\d)-(\d\d)\b"), "date"),
]


def extract_time_range(text: str, *, now: datetime | None = None) -> TimeRange | None:
    """Find the first time expression in ``text`` and return the range it means.

    Understands: today, yesterday, this/last week|month|year, (last) Tuesday,
    3 days ago, in the last 2 weeks, (in|last|since|before) March [2024], in 2023,
    2024-03-01. "since X" runs from X to now; "before X" from the beginning to X.
    Months and weekdays without "last" mean the most recent one that has begun.
    Returns None when there is no time expression.
    """
    now = now if now is not None and now.tzinfo else (now or local_now()).astimezone()
    low = text.lower()
    best: tuple[tuple[int, int], TimeRange] | None = None
    for pattern, kind in _PATTERNS:
        for match in pattern.finditer(low):
            try:
                found = _interpret(kind, match, now)
            except (OverflowError, ValueError):
                found = None  # "march 0000", "99999 years ago": no such time
            if found is None:
                continue
            rank = (match.start(), -len(match.group(0)))  # earliest, then longest
            if best is None or rank < best[0]:
                best = (rank, found)
            break
    return best[1] if best else None


def _interpret(kind: str, m: re.Match[str], now: datetime) -> TimeRange | None:
    phrase = m.group(0).strip()
    today = _day(now)
    tz = now.tzinfo
    if kind == "today":
        return _range(today, today + timedelta(days=1), phrase)
    if kind == "yesterday":
        return _range(today - timedelta(days=1), today, phrase)
    if kind == "this_last":
        which, unit = m.group(1), m.group(2)
        if unit == "week":
            start = today - timedelta(days=today.weekday())
            span = (start, start + timedelta(days=7))
            if which != "this":
                span = (start - timedelta(days=7), start)
        elif unit == "month":
            start = today.replace(day=1)
            span = (start, _next_month(start))
            if which != "this":
                prev = (start - timedelta(days=1)).replace(day=1)
                span = (prev, start)
        else:
            start = today.replace(month=1, day=1)
            span = (start, start.replace(year=start.year + 1))
            if which != "this":
                span = (start.replace(year=start.year - 1), start)
        return _range(*span, phrase)
    if kind == "weekday":
        target = WEEKDAYS[m.group(2)]
        back = (today.weekday() - target) % 7
        if m.group(1) == "last" and back == 0:
            back = 7
        day = today - timedelta(days=back)
        return _range(day, day + timedelta(days=1), phrase)
    if kind == "ago":
        n, unit = _num(m.group(1)), m.group(2)
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * n
        center = today - timedelta(days=days)
        slack = {"day": 0, "week": 3, "month": 10, "year": 60}[unit]
        return _range(center - timedelta(days=slack), center + timedelta(days=slack + 1), phrase)
    if kind == "lastn":
        n, unit = _num(m.group(1)), m.group(2)
        days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * n
        return _range(now - timedelta(days=days), now, phrase)
    if kind == "month":
        month = MONTHS[m.group(1)]
        if m.group(1) in ("may", "march", "mar", "jun", "jan", "dec") and not m.group(2) \
                and not re.match(r"(in|during|since|before|last|this)\b", phrase):
            return None  # "may" the verb, "march" the verb: only with a cue or a year
        year = int(m.group(2)) if m.group(2) else (
            now.year if month <= now.month else now.year - 1)
        if phrase.startswith("last") and not m.group(2) and month == now.month:
            year -= 1
        start = _month_start(year, month, tz)
        if phrase.startswith("since"):
            return _range(start, now, phrase)
        if phrase.startswith("before"):
            return _range(datetime(1970, 1, 1, tzinfo=timezone.utc), start, phrase)
        return _range(start, _next_month(start), phrase)
    if kind == "year":
        year = int(m.group(1))
        return _range(datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz), phrase)
    if kind == "date":
        try:
            day = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=tz)
        except ValueError:
            return None
        return _range(day, day + timedelta(days=1), phrase)
    return None
