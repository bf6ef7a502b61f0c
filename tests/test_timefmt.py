"""The one date/time formatter: relative days, years only when not this year, locale order."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from core import timefmt
from core.timefmt import style_from_formats

NOW = datetime(2026, 12, 6, 15, 0).astimezone()
US = style_from_formats("%m/%d/%Y", "%I:%M:%S %p")
DE = style_from_formats("dd.MM.yy", "HH:mm", months_short=tuple(
    "Jan. Feb. März Apr. Mai Juni Juli Aug. Sept. Okt. Nov. Dez.".split()),
    weekdays_short=("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."))
UK = style_from_formats("%d/%m/%y", "%H:%M:%S")


def at(*args: int) -> datetime:
    return datetime(*args).astimezone()


def test_relative_days_and_years_only_when_not_this_year() -> None:
    s = UK
    assert timefmt.moment(at(2026, 12, 6, 14, 2), now=NOW, s=s) == "Today 14:02"
    assert timefmt.moment(at(2026, 12, 5, 9, 5), now=NOW, s=s) == "Yesterday 09:05"
    assert timefmt.moment(at(2026, 11, 3, 9, 5), now=NOW, s=s) == "Tue 3 Nov 09:05"
    assert timefmt.moment(at(2025, 11, 3, 21, 5), now=NOW, s=s) == "3 Nov 2025 21:05"
    assert timefmt.day(date(2026, 11, 3), now=NOW, long=True, s=s) == "Tuesday 3 November"
    assert timefmt.day(date(2025, 1, 31), now=NOW, s=s) == "Fri 31 Jan 2025"
    assert timefmt.day(date(2026, 12, 6), now=NOW, relative=False, s=s) == "Sun 6 Dec"
    assert timefmt.full_date(date(2026, 12, 6), s=s) == "6 Dec 2026"


def test_us_order_and_twelve_hour_clock() -> None:
    assert (US.clock24, US.day_first) == (False, False)
    assert timefmt.moment(at(2026, 12, 6, 14, 2), now=NOW, s=US) == "Today 2:02 PM"
    assert timefmt.moment(at(2026, 11, 3, 0, 5), now=NOW, s=US) == "Tue, Nov 3, 12:05 AM"
    assert timefmt.moment(at(2025, 11, 3, 12, 0), now=NOW, s=US) == "Nov 3, 2025, 12:00 PM"
    assert timefmt.hour_label(0, US) == "12 AM" and timefmt.hour_label(13, US) == "1 PM"
    assert timefmt.hour_label(9, UK) == "09"
    assert timefmt.hour_span(23, UK) == "23:00–00:00" and timefmt.hour_span(11, US) == "11 AM–12 PM"


def test_the_locale_names_are_used() -> None:
    assert (DE.clock24, DE.day_first) == (True, True)
    assert timefmt.moment(at(2026, 3, 3, 8, 0), now=NOW, s=DE) == "Di. 3 März 08:00"


def test_spans() -> None:
    a = at(2026, 12, 5, 9, 5)
    assert timefmt.span(a, a + timedelta(minutes=30), now=NOW, s=UK) == "Yesterday 09:05–09:35"
    assert timefmt.span(a, a + timedelta(seconds=20), now=NOW, s=UK) == "Yesterday 09:05"
    assert timefmt.span(a, a + timedelta(minutes=30), with_day=False, s=UK) == "09:05–09:35"
    late = at(2026, 12, 4, 23, 30)
    assert timefmt.span(late, late + timedelta(hours=1), now=NOW, s=UK) == \
        "Fri 4 Dec 23:30 – Yesterday 00:30"


def test_use_replaces_the_style_for_everyone() -> None:
    try:
        timefmt.use(US)
        assert timefmt.clock(at(2026, 12, 6, 14, 2)) == "2:02 PM"
    finally:
        timefmt.use(None)
    assert timefmt.style() is not None
