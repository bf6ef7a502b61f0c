"""One way to show dates and times to a person: every view and the CLI's text output.

Locale-aware where it matters to a reader: 12- or 24-hour clock, day before or
after the month, and the locale's own month and weekday names. The year is shown
only when it is not the current year ("Mon 3 Nov 14:02", "3 Nov 2025 14:02"),
and the two nearest days read "Today" and "Yesterday".

The style comes from the process locale (``LC_TIME``, read once without changing
it for the rest of the process); the desktop app replaces it at start with one
built from Qt's ``QLocale.system()``, which also knows the Windows and macOS
regional settings. Formatting never depends on ``strftime``'s locale state, so a
worker thread formatting while something else changes the C locale is safe.
"""
from __future__ import annotations

import locale
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class TimeStyle:
    """How dates and times are written: clock, order, and names (Monday first)."""

    clock24: bool = True
    day_first: bool = True
    months: tuple[str, ...] = _MONTHS
    months_short: tuple[str, ...] = tuple(m[:3] for m in _MONTHS)
    weekdays: tuple[str, ...] = _DAYS
    weekdays_short: tuple[str, ...] = tuple(d[:3] for d in _DAYS)


DEFAULT = TimeStyle()
_lock = threading.Lock()
_style: TimeStyle | None = None


def style_from_formats(date_format: str, time_format: str, *,
                       months: tuple[str, ...] | None = None,
                       months_short: tuple[str, ...] | None = None,
                       weekdays: tuple[str, ...] | None = None,
                       weekdays_short: tuple[str, ...] | None = None) -> TimeStyle:
    """A style from a locale's short date and time patterns, strftime (``%d/%m/%Y``,
    ``%I:%M %p``) or Qt/CLDR (``dd.MM.yy``, ``h:mm a``) spelling alike."""
    t = time_format
    clock12 = any(mark in t for mark in ("%I", "%l", "%p", "%r", "AP", "ap", "a", "h")) and \
        not any(mark in t for mark in ("%H", "%k", "%R", "%T", "H"))
    d = date_format.replace("%d", "d").replace("%e", "d").replace("%m", "M").replace(
        "%b", "M").replace("%B", "M")
    d = d.replace("dddd", "").replace("ddd", "")  # weekday names, not the day number
    day_at, month_at = d.find("d"), d.find("M")
    day_first = not (0 <= month_at < day_at) if day_at >= 0 else True
    return TimeStyle(clock24=not clock12, day_first=day_first,
                     months=months or DEFAULT.months,
                     months_short=months_short or DEFAULT.months_short,
                     weekdays=weekdays or DEFAULT.weekdays,
                     weekdays_short=weekdays_short or DEFAULT.weekdays_short)


def _from_process_locale() -> TimeStyle:
    """The style of ``LC_TIME`` as the environment sets it; the C/POSIX locale (which
    says month-first and 24-hour) gets the unambiguous default instead."""
    nl = getattr(locale, "nl_langinfo", None)
    if nl is None:  # Windows: the desktop app supplies Qt's view of the locale
        return DEFAULT
    previous = locale.setlocale(locale.LC_TIME)
    try:
        name = locale.setlocale(locale.LC_TIME, "")
        if name.split(".")[0] in ("C", "POSIX", ""):
            return DEFAULT

        def names(first: int, count: int) -> tuple[str, ...]:
            return tuple(nl(first + i) for i in range(count))

        # nl_langinfo's DAY_1 is Sunday; the style lists Monday first.
        days = names(locale.DAY_1, 7)
        abdays = names(locale.ABDAY_1, 7)
        return style_from_formats(
            nl(locale.D_FMT), nl(locale.T_FMT), months=names(locale.MON_1, 12),
            months_short=names(locale.ABMON_1, 12), weekdays=days[1:] + days[:1],
            weekdays_short=abdays[1:] + abdays[:1])
    except (locale.Error, ValueError, AttributeError):
        return DEFAULT
    finally:
        try:
            locale.setlocale(locale.LC_TIME, previous)
        except locale.Error:
            pass


def style() -> TimeStyle:
    """The style in use (the process locale's, unless ``use`` set another)."""
    global _style
    with _lock:
        if _style is None:
            _style = _from_process_locale()
        return _style


def use(new: TimeStyle | None) -> None:
    """Set the style every later call uses (``None``: back to the process locale's)."""
    global _style
    with _lock:
        _style = new


def _local(moment: datetime) -> datetime:
    return moment.astimezone() if moment.tzinfo is not None else moment


def _today(now: datetime | date | None) -> date:
    if now is None:
        return datetime.now().astimezone().date()
    return _local(now).date() if isinstance(now, datetime) else now


def clock(moment: datetime, *, seconds: bool = False, s: TimeStyle | None = None) -> str:
    """The time of day: ``14:02`` or ``2:02 PM`` (local time)."""
    s = s or style()
    t = _local(moment)
    tail = f":{t.second:02d}" if seconds else ""
    if s.clock24:
        return f"{t.hour:02d}:{t.minute:02d}{tail}"
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d}{tail} {'AM' if t.hour < 12 else 'PM'}"


def hour_label(hour: int, s: TimeStyle | None = None) -> str:
    """An hour on an axis: ``09`` or ``9 AM``."""
    s = s or style()
    if s.clock24:
        return f"{hour % 24:02d}"
    return f"{hour % 12 or 12} {'AM' if hour % 24 < 12 else 'PM'}"


def hour_span(hour: int, s: TimeStyle | None = None) -> str:
    """One hour of a day: ``09:00–10:00`` or ``9 AM–10 AM``."""
    s = s or style()
    if s.clock24:
        return f"{hour % 24:02d}:00–{(hour + 1) % 24:02d}:00"
    return f"{hour_label(hour, s)}–{hour_label(hour + 1, s)}"


def day(d: date | datetime, *, now: datetime | date | None = None, long: bool = False,
        weekday: bool = True, relative: bool = True, s: TimeStyle | None = None) -> str:
    """A day: ``Today``, ``Yesterday``, ``Mon 3 Nov``, ``Mon 3 Nov 2025``; ``long``:
    ``Monday 3 November``. The year appears only when it is not the current one."""
    s = s or style()
    the_day = _local(d).date() if isinstance(d, datetime) else d
    today = _today(now)
    if relative:
        if the_day == today:
            return "Today"
        if the_day == today - timedelta(days=1):
            return "Yesterday"
    month = (s.months if long else s.months_short)[the_day.month - 1]
    dm = f"{the_day.day} {month}" if s.day_first else f"{month} {the_day.day}"
    if the_day.year != today.year:
        dm += f" {the_day.year}" if s.day_first else f", {the_day.year}"
    if not weekday:
        return dm
    name = (s.weekdays if long else s.weekdays_short)[the_day.weekday()]
    return f"{name} {dm}" if s.day_first else f"{name}, {dm}"


def moment(when: datetime, *, now: datetime | date | None = None, seconds: bool = False,
           s: TimeStyle | None = None) -> str:
    """A point in time: ``Today 14:02``, ``Yesterday 09:05``, ``Mon 3 Nov 14:02``,
    ``3 Nov 2025 14:02`` (a weekday is no help for another year)."""
    s = s or style()
    local = _local(when)
    other_year = local.year != _today(now).year
    the_day = day(local, now=now, weekday=not other_year, s=s)
    # "Tue, Nov 3, 9:05 AM" where the month comes first; "Tue 3 Nov 09:05" elsewhere.
    sep = " " if s.day_first or the_day in ("Today", "Yesterday") else ", "
    return f"{the_day}{sep}{clock(local, seconds=seconds, s=s)}"


def span(start: datetime, end: datetime, *, now: datetime | date | None = None,
         with_day: bool = True, s: TimeStyle | None = None) -> str:
    """A stretch of time: ``Today 09:05–09:35``, ``09:05–09:35`` (``with_day=False``),
    ``Mon 3 Nov 23:30 – Tue 4 Nov 00:40`` across midnight; a single minute is one time."""
    s = s or style()
    a, b = _local(start), _local(end)
    first, last = clock(a, s=s), clock(b, s=s)
    if a.date() != b.date():
        return f"{moment(a, now=now, s=s)} – {moment(b, now=now, s=s)}"
    times = first if first == last else f"{first}–{last}"
    return f"{day(a, now=now, s=s)} {times}" if with_day else times


def month_year(d: date | datetime, s: TimeStyle | None = None) -> str:
    """``November 2025``."""
    s = s or style()
    the_day = _local(d).date() if isinstance(d, datetime) else d
    return f"{s.months[the_day.month - 1]} {the_day.year}"


def full_date(d: date | datetime, s: TimeStyle | None = None) -> str:
    """A date with its year, always: ``3 Nov 2025`` (for "since …", "kept until …")."""
    s = s or style()
    the_day = _local(d).date() if isinstance(d, datetime) else d
    month = s.months_short[the_day.month - 1]
    return f"{the_day.day} {month} {the_day.year}" if s.day_first else \
        f"{month} {the_day.day}, {the_day.year}"
