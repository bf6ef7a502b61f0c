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
