"""Relative time expressions in a sentence → absolute dates and ranges (pure).

"I went to a support group yesterday", said on 8 May 2023, happened on
7 May 2023. This module reads such expressions against an *anchor* (the moment
the sentence was said, written or seen) and returns what they mean:

    >>> from datetime import datetime
    >>> span = resolve("My sister moved to Porto last week", datetime(2025, 3, 10))
    >>> span.label, span.granularity, span.start.isoformat(), span.end.isoformat()
    ('the week of 3 March 2025', 'week', '2025-03-03', '2025-03-10')
    >>> normalize_times("I went to a support group yesterday.", datetime(2023, 5, 8))[0]
    'I went to a support group on 7 May 2023.'

Public API (nothing else here is meant to be imported):

- ``TimeSpan``            a frozen [start, end) range of local dates with a granularity
                          and a human label; ``to_json``/``from_json`` for storage.
- ``TimeMention``         a ``TimeSpan`` found in a text, with the phrase and its offsets.
- ``find_times(text, anchor)``      every expression in ``text``, in order.
- ``resolve(text, anchor)``         the first one's span, or None.
- ``normalize_times(text, anchor)`` the text with each relative expression written as
                                    an absolute one ("on 7 May 2023", "in the week of
                                    3 March 2025", "in 2022"), and the mentions.
- ``day_label(d)``, ``span_for(start, end, granularity)`` labels for code that builds spans.

Understood: today, this morning/afternoon/evening, tonight, yesterday, last night,
tomorrow, the day before yesterday / after tomorrow, last/this/next week, month,
year, weekend, (last/this/next/on) <weekday>, N days/weeks/months/years ago,
a few days ago, in N days/weeks…, the week/weekend before, last/this/next summer…,
(in/last/next) <month> [year], 3 March [2024], March 3[rd][, 2024], 2024-03-01,
in/during 2022. A plain weekday or month means the most recent one, or the coming
one when the sentence speaks of the future ("I'm going to … on Saturday").
Dates are calendar dates in the anchor's own time zone (an aware anchor keeps its
zone; pass ``anchor.astimezone()`` for the machine's local time).
Weeks start on Monday; seasons are the northern meteorological ones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Literal

from core.timeparse import MONTHS, WEEKDAYS

Granularity = Literal["day", "weekend", "week", "month", "season", "year", "approximate"]

__all__ = ["Granularity", "TimeMention", "TimeSpan", "day_label", "find_times",
           "normalize_times", "resolve", "span_for"]

_MONTH_NAMES = ("January February March April May June July August September October "
                "November December").split()
_FULL_MONTHS = "|".join(m.lower() for m in _MONTH_NAMES) + "|sept"
_ANY_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAYS = "|".join(WEEKDAYS)
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
            "a couple of": 2, "couple of": 2, "a couple": 2}
_NUM = r"\d{1,2}|" + "|".join(sorted((re.escape(k) for k in _NUMBERS), key=len, reverse=True))
_SEASONS = {"spring": (3, 6), "summer": (6, 9), "fall": (9, 12), "autumn": (9, 12),
            "winter": (12, 15)}
_PART = r"(?:\s+(?:morning|afternoon|evening|night))?"
# Words that make a sentence about the future: a bare weekday or month then means
# the coming one.
_FUTURE = re.compile(r"\b(will|'ll|’ll|going to|gonna|plan(?:ning)? to|planning|intend|"
                     r"hope to|want to|looking forward|can't wait|cannot wait|next|upcoming|"
                     r"coming up|tomorrow|soon|about to|shall)\b", re.IGNORECASE)
_PREPOSITIONS = ("on", "in", "during", "over", "since", "by", "until", "till", "from",
                 "before", "after", "around", "of", "for", "at", "through", "about", "roughly",
                 "nearly", "almost", "approximately")


@dataclass(frozen=True)
class TimeSpan:
    """A range of calendar days [start, end) and how precisely it is known.

    ``label`` is how a person would say it: "20 May 2023", "the week of
    3 March 2025", "the weekend of 6 May 2023", "May 2023", "summer 2022",
    "2022", "a few days before 8 May 2023".
    """

    start: date
    end: date
    granularity: Granularity
    label: str

    @property
    def preposition(self) -> str:
        """The word that goes before ``label`` in a sentence ("" for approximate spans)."""
        return {"day": "on", "weekend": "on", "approximate": ""}.get(self.granularity, "in")

    @property
    def phrase(self) -> str:
        """``label`` with its preposition: "on 7 May 2023", "in the week of 3 March 2025"."""
        return f"{self.preposition} {self.label}".strip()

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "granularity": self.granularity, "label": self.label}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "TimeSpan":
        return cls(date.fromisoformat(value["start"]), date.fromisoformat(value["end"]),
                   value["granularity"], value["label"])


@dataclass(frozen=True)
class TimeMention:
    """A time expression found in a text: the words, where they are, what they mean.

    ``relative`` is False for expressions that already name their date ("in 2022",
    "3 March 2024"); ``normalize_times`` leaves those words as they are.
    """

    span: TimeSpan
    phrase: str
    start: int
    end: int
    relative: bool


def day_label(day: date) -> str:
    """"7 May 2023" (no leading zero, English month name)."""
    return f"{day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


def span_for(start: date, end: date, granularity: Granularity) -> TimeSpan:
    """A span with its standard label (approximate spans are labelled by their end)."""
    if granularity == "day":
        label = day_label(start)
    elif granularity == "week":
        label = f"the week of {day_label(start)}"
    elif granularity == "weekend":
        label = f"the weekend of {day_label(start)}"
    elif granularity == "month":
        label = f"{_MONTH_NAMES[start.month - 1]} {start.year}"
    elif granularity == "season":
        name = {3: "spring", 6: "summer", 9: "autumn", 12: "winter"}[start.month]
        label = f"{name} {start.year}" if name != "winter" else f"winter {start.year}/{start.year + 1}"
    elif granularity == "year":
        label = str(start.year)
    else:
        days = (end - start).days
        unit = "days" if days <= 7 else "weeks" if days <= 35 else "months"
        label = f"a few {unit} before {day_label(end)}"
    return TimeSpan(start, end, granularity, label)


def _day(d: date) -> TimeSpan:
    return span_for(d, d + timedelta(days=1), "day")


def _week(d: date) -> TimeSpan:
    monday = d - timedelta(days=d.weekday())
    return span_for(monday, monday + timedelta(days=7), "week")


def _weekend(saturday: date) -> TimeSpan:
    return span_for(saturday, saturday + timedelta(days=2), "weekend")


def _month(year: int, month: int) -> TimeSpan:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return span_for(date(year, month, 1), nxt, "month")


def _year(year: int) -> TimeSpan:
    return span_for(date(year, 1, 1), date(year + 1, 1, 1), "year")


def _season(year: int, name: str) -> TimeSpan:
    first, last = _SEASONS[name]
    start = date(year, first, 1)
    end = date(year + (last > 12), (last - 1) % 12 + 1, 1)
    return span_for(start, end, "season")


def _num(text: str) -> int:
    text = " ".join(text.lower().split())
    return int(text) if text.isdigit() else _NUMBERS[text]


def _shift(unit: str, n: int, today: date) -> TimeSpan:
    """The span ``n`` units from ``today`` (negative: in the past)."""
    if unit == "day":
        return _day(today + timedelta(days=n))
    if unit == "week":
        return _week(today + timedelta(days=7 * n))
    if unit == "month":
        return _month(today.year, today.month + n)
    return _year(today.year + n)


# Each rule: a pattern (case-insensitive) and a function of (match, today, future)
# giving the span, or None when the words turn out not to be a time.
_Rule = tuple["re.Pattern[str]", Callable[[re.Match[str], date, bool], "TimeSpan | None"], bool]


def _r(pattern: str, fn: Callable[[re.Match[str], date, bool], TimeSpan | None],
       relative: bool = True) -> _Rule:
    return re.compile(pattern, re.IGNORECASE), fn, relative


def _weekday(m: re.Match[str], today: date, future: bool) -> TimeSpan | None:
    which = (m.group("which") or "").lower()
    target = WEEKDAYS[(m.group("day") or m.group("day2")).lower()]
    if which == "next" or (which in ("this", "on", "") and future):
        ahead = (target - today.weekday()) % 7 or 7
        if which == "this" and target == today.weekday():
            ahead = 0
        return _day(today + timedelta(days=ahead))
    if which == "this":  # past tense "this Monday": the one of this week
        return _day(today - timedelta(days=today.weekday()) + timedelta(days=target))
    back = (today.weekday() - target) % 7 or 7
    return _day(today - timedelta(days=back))


def _weekend_rel(m: re.Match[str], today: date, future: bool) -> TimeSpan:
    which = m.group("which").lower()
    saturday = today - timedelta(days=today.weekday()) + timedelta(days=5)  # this week's
    if which in ("last", "past", "previous"):
        return _weekend(saturday - timedelta(days=7))
    if which in ("next", "coming") and today.weekday() >= 4:
        return _weekend(saturday + timedelta(days=7))  # said on Friday or during the weekend
    return _weekend(saturday)


def _unit_rel(m: re.Match[str], today: date, future: bool) -> TimeSpan:
    which, unit = m.group("which").lower(), m.group("unit").lower()
    n = {"last": -1, "past": -1, "previous": -1, "this": 0, "next": 1, "coming": 1}[which]
    return _shift(unit, n, today)


def _month_named(m: re.Match[str], today: date, future: bool) -> TimeSpan | None:
    word = m.group("month").lower()
    month = MONTHS[word]
    cue = (m.group("cue") or "").lower().split()
    if m.group("year"):
        return _month(int(m.group("year")), month)
    if not cue and word in ("may", "march", "august"):
        return None  # "may" the verb, "march" the verb: only with a cue or a year
    if "last" in cue:
        year = today.year if month < today.month else today.year - 1
    elif "next" in cue:
        year = today.year if month > today.month else today.year + 1
    elif future:
        year = today.year if month >= today.month else today.year + 1
    else:
        year = today.year if month <= today.month else today.year - 1
    return _month(year, month)


def _dated(year: int | None, month: int, dom: int, today: date, future: bool) -> TimeSpan | None:
    def make(y: int) -> date | None:
        try:
            return date(y, month, dom)
        except ValueError:
            return None
    if year is not None:
        d = make(year)
        return _day(d) if d else None
    d = make(today.year)
    if d is None:
        return None
    # The nearest such date; a sentence about the future does not look back.
    options = [x for x in (make(today.year - 1), d, make(today.year + 1)) if x is not None]
    if future:
        options = [x for x in options if x >= today] or options
    return _day(min(options, key=lambda x: abs((x - today).days)))


def _season_rel(m: re.Match[str], today: date, future: bool) -> TimeSpan:
    which, name = m.group("which").lower(), m.group("season").lower()
    first = _SEASONS[name][0]
    # The season of this calendar year ("this summer"); winter belongs to the year it starts.
    this_year = today.year if not (name == "winter" and today.month < 3) else today.year - 1
    started = date(this_year, first, 1) <= today
    if which == "last":
        year = this_year - 1 if not started or _season(this_year, name).contains(today) \
            else this_year
    elif which == "next":
        year = this_year + 1 if started else this_year
    else:
        year = this_year
    return _season(year, name)


_RULES: list[_Rule] = [
    _r(r"\b(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})\b",
       lambda m, t, f: _dated(int(m["y"]), int(m["mo"]), int(m["d"]), t, f)
       if 1 <= int(m["mo"]) <= 12 else None, relative=False),
    _r(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_ANY_MONTH})\.?"
       r"(?:,?\s+(?P<year>(?:19|20)\d\d))?\b",
       lambda m, t, f: _dated(int(m["year"]) if m["year"] else None, MONTHS[m["month"].lower()],
                              int(m["d"]), t, f)),
    _r(rf"\b(?P<month>{_ANY_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
       r"(?:,?\s+(?P<year>(?:19|20)\d\d))?",
       lambda m, t, f: _dated(int(m["year"]) if m["year"] else None, MONTHS[m["month"].lower()],
                              int(m["d"]), t, f)),
    _r(r"\bthe\s+day\s+before\s+yesterday\b", lambda m, t, f: _day(t - timedelta(days=2))),
    _r(r"\bthe\s+day\s+after\s+tomorrow\b", lambda m, t, f: _day(t + timedelta(days=2))),
    _r(r"\b(?:earlier\s+|later\s+)?(?:today|this\s+(?:morning|afternoon|evening)|tonight)\b",
       lambda m, t, f: _day(t)),
    _r(rf"\b(?:yesterday{_PART}|last\s+night)\b", lambda m, t, f: _day(t - timedelta(days=1))),
    _r(rf"\btomorrow{_PART}\b", lambda m, t, f: _day(t + timedelta(days=1))),
    _r(r"\bthe\s+weekend\s+before\b", lambda m, t, f: _weekend(
        t + timedelta(days=5 - t.weekday()) - timedelta(days=7))),
    _r(r"\bthe\s+week\s+before\b", lambda m, t, f: _week(t - timedelta(days=7))),
    _r(r"\b(?:the\s+)?(?P<which>last|this|next|past|previous|coming)\s+weekend\b", _weekend_rel),
    _r(r"\b(?:the\s+)?(?P<which>last|this|next|previous|coming)\s+(?P<unit>week|month|year)\b",
       _unit_rel),
    _r(r"\b(?P<which>last|this|next)\s+(?P<season>spring|summer|fall|autumn|winter)\b", _season_rel),
    _r(r"\b(?:a\s+few|several|some)\s+(?P<unit>day|week|month)s\s+ago\b",
       lambda m, t, f: span_for(t - timedelta(days={"day": 6, "week": 28, "month": 150}[
           m["unit"].lower()]), t, "approximate")),
    _r(rf"\b(?P<n>{_NUM})\s+(?P<unit>day|week|month|year)s?\s+ago\b",
       lambda m, t, f: _shift(m["unit"].lower(), -_num(m["n"]), t)),
    _r(rf"\bin\s+(?P<n>{_NUM})\s+(?P<unit>day|week|month|year)s?(?:\s+time)?\b",
       lambda m, t, f: _shift(m["unit"].lower(), _num(m["n"]), t)),
    # A weekday needs a cue: "Sunday school" is no date, "on Sundays" is a habit.
    _r(rf"\b(?:(?P<which>last|this|next|on|past)\s+(?P<day>{_DAYS})(?!s){_PART}|"
       rf"(?P<day2>{_DAYS})\s+(?P<part>morning|afternoon|evening|night))\b", _weekday),
    _r(rf"\b(?:(?P<cue>last|next|this|in|during|since|by|until|in\s+early|in\s+late|"
       rf"early|late|mid)\s+)?(?P<month>{_FULL_MONTHS})\b(?:,?\s+(?P<year>(?:19|20)\d\d)\b)?",
       _month_named),
    _r(r"\b(?:in|during|since|by|until|of|from|early|late)\s+(?P<y>(?:19|20)\d\d)\b",
       lambda m, t, f: _year(int(m["y"])), relative=False),
]


# "Feels like (just) yesterday", "as if it were yesterday": a figure of speech, not a day.
_FIGURATIVE = re.compile(r"\b(?:like|as if|as though)(?:\s+(?:just|only|it was|it were|it's))*\s*$",
                         re.IGNORECASE)


def _as_day(anchor: datetime | date) -> date:
    return anchor.date() if isinstance(anchor, datetime) else anchor


def find_times(text: str, anchor: datetime | date) -> list[TimeMention]:
    """Every time expression in ``text``, read against ``anchor``, in text order.

    Overlaps are settled by taking the earliest, then the longest match. Whether
    a bare weekday or month means the past or the future is judged from the
    sentence around it (``_FUTURE``).
    """
    today = _as_day(anchor)
    found: list[TimeMention] = []
    for pattern, fn, relative in _RULES:
        for m in pattern.finditer(text):
            future = bool(_FUTURE.search(_sentence_around(text, m.start())))
            span = fn(m, today, future)
            if span is None or _FIGURATIVE.search(text, 0, m.start()) and \
                    m.group(0).lower() == "yesterday":
                continue  # "feels like just yesterday I put this dress on": no date
            # Absolute month names with a year, and dates with a year, are not relative.
            is_relative = relative and not (m.groupdict().get("year"))
            found.append(TimeMention(span, m.group(0), m.start(), m.end(), is_relative))
    found.sort(key=lambda x: (x.start, -(x.end - x.start)))
    kept: list[TimeMention] = []
    for mention in found:
        if kept and mention.start < kept[-1].end:
            continue
        kept.append(mention)
    return kept


def resolve(text: str, anchor: datetime | date) -> TimeSpan | None:
    """The span of the first time expression in ``text``, or None."""
    found = find_times(text, anchor)
    return found[0].span if found else None


def normalize_times(text: str, anchor: datetime | date) -> tuple[str, list[TimeMention]]:
    """``text`` with each relative time expression replaced by its absolute form.

    "I went there yesterday" (anchor 8 May 2023) → "I went there on 7 May 2023";
    a preposition already in place is kept ("since last week" → "since the week
    of …"); "on/in" written before the expression is not doubled. Absolute
    expressions are left as written. Returns the new text and every mention.
    """
    mentions = find_times(text, anchor)
    out: list[str] = []
    pos = 0
    for mention in mentions:
        if not mention.relative:
            continue
        before = text[pos:mention.start]
        words_before = before.rstrip().rsplit(None, 1)
        prev = words_before[-1].lower() if words_before else ""
        phrase = mention.phrase
        lead = phrase.split()[0].lower()
        if lead in ("on", "in", "during", "since", "by", "until", "early", "late", "mid"):
            # "on Saturday" → "on 6 May 2023"; "since March" → "since March 2023"
            keep = lead if lead not in ("on", "in") else mention.span.preposition or lead
            new = f"{keep} {mention.span.label}"
        elif prev in _PREPOSITIONS:
            new = mention.span.label
        else:
            new = mention.span.phrase
        if mention.start == 0 or text[:mention.start].rstrip().endswith((".", "!", "?")):
            new = new[:1].upper() + new[1:]
        out.append(before)
        out.append(new)
        pos = mention.end
    out.append(text[pos:])
    return "".join(out), mentions


def _sentence_around(text: str, index: int) -> str:
    start = max(text.rfind(ch, 0, index) for ch in ".!?\n") + 1
    ends = [i for i in (text.find(ch, index) for ch in ".!?\n") if i != -1]
    return text[start:min(ends) if ends else len(text)]
