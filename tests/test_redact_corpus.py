"""IBANs and US Social Security numbers, and the whole redactor measured on a held-out
style corpus (tests/redact_corpus.py): at least 99 % of secrets caught, at most 2 %
of look-alikes (phones, ISBNs, order numbers, tracking codes…) touched."""
from __future__ import annotations

import pytest

from core.redact import RedactOptions, redact
from core.redact_accounts import iban_ok, ssn_ok
from tests.redact_corpus import LOOK_ALIKES, SECRETS


@pytest.mark.parametrize("text,secret", [
    ("IBAN DE89 3704 0044 0532 0130 00", "3704 0044 0532 0130 00"),
    ("GB82WEST12345698765432", "12345698765432"),
    ("pay to NL91ABNA0417164300, thanks", "0417164300"),
    ("fr76 3000 6000 0112 3456 7890 189", "7890 189"),
    ("IBAN: BE68-5390-0754-7034", "5390"),
])
def test_ibans_with_valid_check_digits_are_redacted(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out.text
    assert out.counts == {"iban": 1}


@pytest.mark.parametrize("text", [
    "IBAN DE89 3704 0044 0532 0130 01",   # check digits wrong
    "DE89 3704 0044 0532 0130",           # too short for Germany
    "XX89 3704 0044 0532 0130 00",        # no such country
    "BIC COBADEFFXXX",
])
def test_iban_look_alikes_stay(text: str) -> None:
    assert redact(text).text == text


def test_iban_check() -> None:
    assert iban_ok("GB82WEST12345698765432")
    assert not iban_ok("GB82WEST12345698765433")
    assert not iban_ok("GB82WEST1234569876543")


@pytest.mark.parametrize("text,expected", [
    ("SSN 078-05-1120", "SSN [redacted:ssn]"),
    ("my ssn: 219 09 9999.", "my ssn: [redacted:ssn]."),
    ("Social Security Number 219099999", "Social Security Number [redacted:ssn]"),
    ("emp 536-22-1234 onboarding", "emp [redacted:ssn] onboarding"),
])
def test_ssns_are_redacted(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize("text", [
    "SSN 000-12-3456", "SSN 666-12-3456", "SSN 912-34-5678", "SSN 123-00-4567",
    "SSN 123-45-0000",
    "call 555-123-4567", "part 12-345-6789", "219 09 9999 widgets",   # no label, no dashes
    "ISBN 978-0-306-40615-7", "2024-01-15",
])
def test_ssn_look_alikes_stay(text: str) -> None:
    assert redact(text).text == text


def test_ssn_ranges() -> None:
    assert ssn_ok("078", "05", "1120")
    assert not any(ssn_ok(*p) for p in [("000", "01", "0001"), ("666", "01", "0001"),
                                        ("900", "01", "0001"), ("001", "00", "0001"),
                                        ("001", "01", "0000")])


def test_new_kinds_can_be_switched_off() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00, SSN 078-05-1120"
    assert redact(text, RedactOptions(off=frozenset({"iban", "ssn"}))).text == text


def test_the_corpus_is_large_enough_to_measure() -> None:
    kinds = {c.kind for c in SECRETS}
    assert len(SECRETS) >= 150 and len(LOOK_ALIKES) >= 150
    assert kinds >= {"card", "api-key", "token", "private-key", "password", "secret", "otp",
                     "iban", "ssn"}


def test_secrets_caught_and_look_alikes_left_alone() -> None:
    missed = [c.text for c in SECRETS if any(s in redact(c.text).text for s in c.secrets)]
    touched = [t for t in LOOK_ALIKES if redact(t).text != t]
    caught = 1 - len(missed) / len(SECRETS)
    false_positives = len(touched) / len(LOOK_ALIKES)
    print(f"\nredaction corpus: {len(SECRETS)} secrets, caught {caught:.1%}; "
          f"{len(LOOK_ALIKES)} look-alikes, false positives {false_positives:.1%}")
    assert caught >= 0.99, f"missed: {missed}"
    assert false_positives <= 0.02, f"touched: {touched}"
