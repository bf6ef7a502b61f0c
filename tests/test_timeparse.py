from datetime import datetime, timedelta, timezone

import pytest

from core.errors import UsageError
from core.timeparse import parse_when

NOW = datetime(2024, 5, 15, 14, 30, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize("text,expected", [
    ("now", datetime(2024, 5, 15, 13, 30, tzinfo=timezone.utc)),
    ("today", datetime(2024, 5, 14, 23, 0, tzinfo=timezone.utc)),
    ("yesterday", datetime(2024, 5, 13, 23, 0, tzinfo=timezone.utc)),
    ("3d", datetime(2024, 5, 12, 13, 30, tzinfo=timezone.utc)),
    ("2 weeks ago", datetime(2024, 5, 1, 13, 30, tzinfo=timezone.utc)),
    ("90 minutes ago", datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)),
    ("2024-03-01T10:00:00+00:00", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),
    ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=timezone.utc)),
])
def test_parse_when(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


def test_naive_iso_is_local_time() -> None:
    parsed = parse_when("2024-03-01")
    assert parsed.tzinfo is not None
    assert parsed == datetime(2024, 3, 1).astimezone().astimezone(timezone.utc)


def test_unreadable_time_says_how() -> None:
    with pytest.raises(UsageError, match="Can't read the time") as err:
        parse_when("the day after the party")
    assert "yesterday" in str(err.value)


from core.timeparse import extract_time_range  # noqa: E402

WED = datetime(2024, 5, 15, 14, 30, tzinfo=timezone.utc)  # a Wednesday


@pytest.mark.parametrize("question,since,until", [
    ("what did I do today?", "2024-05-15", "2024-05-16"),
    ("who called yesterday", "2024-05-14", "2024-05-15"),
    ("what did I read last week", "2024-05-06", "2024-05-13"),
    ("meetings this week", "2024-05-13", "2024-05-20"),
    ("what happened last month", "2024-04-01", "2024-05-01"),
    ("what did Ana say last Tuesday", "2024-05-14", "2024-05-15"),
    ("what did Ana say on Monday", "2024-05-13", "2024-05-14"),
    ("invoices in March", "2024-03-01", "2024-04-01"),
    ("the trip in June", "2023-06-01", "2023-07-01"),
    ("what did I buy in March 2022", "2022-03-01", "2022-04-01"),
    ("photos from 2021", "2021-01-01", "2022-01-01"),
    ("notes on 2024-02-29", "2024-02-29", "2024-03-01"),
    ("what happened last May", "2023-05-01", "2023-06-01"),
])
def test_extract_time_range(question: str, since: str, until: str) -> None:
    found = extract_time_range(question, now=WED)
    assert found is not None, question
    assert found.since.date().isoformat() == since
    assert found.until.date().isoformat() == until


def test_relative_spans() -> None:
    r = extract_time_range("what did I fix in the last 2 weeks", now=WED)
    assert r.since == WED - timedelta(days=14) and r.until == WED
    r = extract_time_range("the film we saw three weeks ago", now=WED)
    assert r.since.date().isoformat() == "2024-04-21"


@pytest.mark.parametrize("question", [
    "how did I fix the printer",
    "may I see the invoice",
    "what did Ana recommend",
    "march of the penguins documentary",
])
def test_no_time_expression(question: str) -> None:
    assert extract_time_range(question, now=WED) is None
