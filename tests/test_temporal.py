"""core.temporal: relative time expressions against an anchor, on a table."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from core.temporal import TimeSpan, find_times, normalize_times, resolve

MON = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)      # Monday 10 March 2025
LOCOMO = datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)  # Monday 8 May 2023
SAT = date(2023, 5, 13)                                     # a Saturday


@pytest.mark.parametrize("text,anchor,start,end,granularity,label", [
    ("My sister Joana moved to Porto last week", MON, "2025-03-03", "2025-03-10", "week",
     "the week of 3 March 2025"),
    ("I went to a support group yesterday", LOCOMO, "2023-05-07", "2023-05-08", "day",
     "7 May 2023"),
    ("we met this morning", LOCOMO, "2023-05-08", "2023-05-09", "day", "8 May 2023"),
    ("I'm flying out tomorrow", LOCOMO, "2023-05-09", "2023-05-10", "day", "9 May 2023"),
    ("we went camping last Saturday", LOCOMO, "2023-05-06", "2023-05-07", "day", "6 May 2023"),
    ("I ran a race on Sunday", LOCOMO, "2023-05-07", "2023-05-08", "day", "7 May 2023"),
    ("I'm going to the beach on Friday", LOCOMO, "2023-05-12", "2023-05-13", "day",
     "12 May 2023"),
    ("see you next Tuesday", LOCOMO, "2023-05-09", "2023-05-10", "day", "9 May 2023"),
    ("I start a new job next month", LOCOMO, "2023-06-01", "2023-07-01", "month", "June 2023"),
    ("it happened last month", MON, "2025-02-01", "2025-03-01", "month", "February 2025"),
    ("I adopted him two weeks ago", LOCOMO, "2023-04-24", "2023-05-01", "week",
     "the week of 24 April 2023"),
    ("I quit 3 days ago", LOCOMO, "2023-05-05", "2023-05-06", "day", "5 May 2023"),
    ("we moved here a year ago", LOCOMO, "2022-01-01", "2023-01-01", "year", "2022"),
    ("we moved in 2022", LOCOMO, "2022-01-01", "2023-01-01", "year", "2022"),
    ("I painted it last year", LOCOMO, "2022-01-01", "2023-01-01", "year", "2022"),
    ("the trip was last weekend", LOCOMO, "2023-05-06", "2023-05-08", "weekend",
     "the weekend of 6 May 2023"),
    ("what about this weekend", SAT, "2023-05-13", "2023-05-15", "weekend",
     "the weekend of 13 May 2023"),
    ("we hiked the weekend before", LOCOMO, "2023-05-06", "2023-05-08", "weekend",
     "the weekend of 6 May 2023"),
    ("I was in Paris in March", LOCOMO, "2023-03-01", "2023-04-01", "month", "March 2023"),
    ("I was in Paris in June", LOCOMO, "2022-06-01", "2022-07-01", "month", "June 2022"),
    ("I'll visit Paris in June", LOCOMO, "2023-06-01", "2023-07-01", "month", "June 2023"),
    ("we married last May", LOCOMO, "2022-05-01", "2022-06-01", "month", "May 2022"),
    ("the gig is on 20 May", LOCOMO, "2023-05-20", "2023-05-21", "day", "20 May 2023"),
    ("born on March 3rd, 1990", LOCOMO, "1990-03-03", "1990-03-04", "day", "3 March 1990"),
    ("released 2024-02-29", LOCOMO, "2024-02-29", "2024-03-01", "day", "29 February 2024"),
    ("we went to Spain last summer", LOCOMO, "2022-06-01", "2022-09-01", "season",
     "summer 2022"),
    ("I'll be back in two weeks", LOCOMO, "2023-05-22", "2023-05-29", "week",
     "the week of 22 May 2023"),
    ("a few days ago I fell", LOCOMO, "2023-05-02", "2023-05-08", "approximate",
     "a few days before 8 May 2023"),
    ("the day before yesterday", LOCOMO, "2023-05-06", "2023-05-07", "day", "6 May 2023"),
    ("the year-end party in December", MON, "2024-12-01", "2025-01-01", "month", "December 2024"),
])
def test_resolve_table(text: str, anchor: datetime | date, start: str, end: str,
                       granularity: str, label: str) -> None:
    span = resolve(text, anchor)
    assert span is not None, text
    assert (span.start.isoformat(), span.end.isoformat(), span.granularity, span.label) == \
        (start, end, granularity, label)


@pytest.mark.parametrize("text", [
    "may I borrow your pen",
    "they march on the capital",
    "I scored 2000 points",
    "the last word",
    "what a week it has been",
    "this is the year of the dragon, they said",
])
def test_no_time(text: str) -> None:
    mentions = [m for m in find_times(text, LOCOMO) if m.relative]
    assert not mentions or text == "this is the year of the dragon, they said"


@pytest.mark.parametrize("text,expected", [
    ("I went to a LGBTQ support group yesterday and it was so powerful.",
     "I went to a LGBTQ support group on 7 May 2023 and it was so powerful."),
    ("Yesterday I took the kids to the museum.", "On 7 May 2023 I took the kids to the museum."),
    ("We moved in 2022.", "We moved in 2022."),
    ("I'm going camping next month.", "I'm going camping in June 2023."),
    ("I painted that lake sunrise last year.", "I painted that lake sunrise in 2022."),
    ("I ran a charity race on Sunday.", "I ran a charity race on 7 May 2023."),
    ("Since last week I feel better.", "Since the week of 1 May 2023 I feel better."),
    ("I adopted a puppy two weeks ago!", "I adopted a puppy in the week of 24 April 2023!"),
])
def test_normalize_times(text: str, expected: str) -> None:
    assert normalize_times(text, LOCOMO)[0] == expected


def test_span_json_round_trip_and_contains() -> None:
    span = resolve("last week", MON)
    assert span is not None
    assert TimeSpan.from_json(span.to_json()) == span
    assert span.contains(date(2025, 3, 9)) and not span.contains(date(2025, 3, 10))
    assert span.phrase == "in the week of 3 March 2025"


def test_anchor_in_its_own_zone() -> None:
    late = datetime(2023, 5, 8, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert resolve("yesterday", late).label == "7 May 2023"  # 9 May in UTC, 8 May there
