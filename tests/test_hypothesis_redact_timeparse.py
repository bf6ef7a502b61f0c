"""Property-based tests (hypothesis) for the two parsers every typed or captured string
meets first: the secrets filters and the time parser.

Random and structured garbage, huge fields, text decoded from invalid UTF-8: no
exception other than Engram's own user-facing errors escapes, and every example
finishes within the profile's deadline (tests/conftest.py; ``--hypothesis-profile=long``
for a long run). Redaction must also never grow a secret back: redacting twice gives
the same text as once.
"""
from __future__ import annotations

import time
import tracemalloc
from datetime import datetime, timedelta, timezone

from hypothesis import example, given, strategies as st

from core.errors import EngramError
from core.redact import RedactOptions, redact
from core.timeparse import extract_time_range, parse_when

# Text as it reaches Engram: any Unicode, control characters, surrogate escapes
# (undecodable bytes read with errors="surrogateescape"), and invalid UTF-8 decoded
# with replacement characters.
invalid_utf8 = st.binary(max_size=400).map(lambda b: b.decode("utf-8", errors="replace"))
escaped_bytes = st.binary(max_size=400).map(lambda b: b.decode("utf-8", errors="surrogateescape"))
any_text = st.one_of(st.text(max_size=400), invalid_utf8, escaped_bytes)

# Fragments of what the filters look for, glued together at random: labels,
# separators, digits in card / IBAN / SSN shapes, key prefixes, PEM headers.
_FRAGMENTS = [
    "password", "Password: ", "pwd=", "PGPASSWORD=", "token", "api_key = ", "secret: ",
    "Bearer ", "Authorization: Basic ", "-----BEGIN RSA PRIVATE KEY-----", "-----END ",
    "PRIVATE KEY-----", "\n", "\r\n", "\t", " ", "'", '"', "`", ":", "=", "#", "-", "/",
    "@", "://", "4111 1111 1111 1111", "4111", "1111", "DE89", "3704 0044", "GB82WEST",
    "SSN ", "078-05-1120", "123-45-6789", "000", "666", "code", "OTP", "verification code is ",
    "is your code", "Enter ", " to verify", "ghp_", "AKIA", "sk-", "sk-ant-", "xoxb-",
    "eyJ", ".", "AIza", "mysql -u root -p", "glpat-", "hooks.slack.com/services/",
    "[redacted:card]", "[redacted:", "\x00", "\x1b[2K", "\u202e", "\ud800", "é", "日本",
]
structured = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(alphabet="0123456789 -", max_size=30),
              st.text(max_size=20)),
    max_size=60).map("".join)


def _redact_ok(text: str, options: RedactOptions | None = None) -> None:
    out = redact(text, options)
    assert isinstance(out.text, str)
    assert all(v > 0 for v in out.counts.values())
    # Idempotent: markers are never redacted again and nothing new appears.
    assert redact(out.text, options).text == out.text


@given(any_text)
@example("IBAN DE89 3704 0044 0532 0130 00 SSN 078-05-1120")
def test_hypothesis_redact_any_text(text: str) -> None:
    _redact_ok(text)


@given(structured, st.frozensets(st.sampled_from(
    ["password", "api-key", "token", "private-key", "secret", "card", "otp", "iban", "ssn"])),
    st.lists(st.text(min_size=1, max_size=12), max_size=3))
@example("verification code is 0000-0", frozenset(), ["0"])  # a marker made a code's edge
def test_hypothesis_redact_structured_garbage(text: str, off: frozenset[str],
                                              terms: list[str]) -> None:
    _redact_ok(text, RedactOptions(off=off, terms=tuple(t for t in terms if t.strip())))


@given(st.sampled_from(_FRAGMENTS), st.integers(min_value=1, max_value=20_000))
def test_hypothesis_redact_huge_repeated_fields(fragment: str, times: int) -> None:
    # Repetition is where a backtracking pattern goes quadratic or worse: a whole
    # 256 KB item of one fragment must still be redacted in well under a second or two.
    text = (fragment * times)[:262_144]
    started = time.monotonic()
    tracemalloc.start()
    try:
        redact(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 8.0  # (tracing memory roughly halves the speed)
    assert peak < 40 * len(text) + 4_000_000  # a few copies of the text, not a blow-up


NOW = datetime(2024, 5, 15, 14, 30, tzinfo=timezone(timedelta(hours=1)))
_TIME_WORDS = ["now", "today", "yesterday", "ago", " ", "d", "days", "weeks", "w", "h",
               "minutes", "s", "last", "this", "past", "in", "since", "before", "march",
               "may", "dec", "monday", "year", "month", "week", "-", ":", "T", "Z", "+",
               "0000", "9999", "99999999999999999999", "2024", "2024-13-45", "0001-01-01",
               "9999-12-31T23:59:59", "one", "a couple of", "few", "\x00", "\ud800"]
time_garbage = st.lists(
    st.one_of(st.sampled_from(_TIME_WORDS), st.integers(0, 10**30).map(str),
              st.text(max_size=8)), max_size=12).map(" ".join)


@given(st.one_of(any_text, time_garbage))
@example("99999999999 days ago")
@example("0001-01-01")
@example("9999-12-31T23:59:59")
@example("99999999999999999999d")
def test_hypothesis_parse_when_fails_only_with_a_usage_message(text: str) -> None:
    try:
        parsed = parse_when(text, now=NOW)
    except EngramError as exc:
        assert exc.message and "\n" not in exc.message
        return
    assert parsed.tzinfo is not None


@given(st.one_of(any_text, time_garbage))
@example("march 0000")
@example("in december 9999")
@example("99999999999 years ago")
@example("in the last 99999999999 weeks")
def test_hypothesis_extract_time_range_never_raises(text: str) -> None:
    found = extract_time_range(text, now=NOW)
    if found is not None:
        assert found.since <= found.until
        assert found.since.tzinfo is not None and found.until.tzinfo is not None
