"""Account numbers among the secrets filters (``core/redact.py``): IBANs, checked by
their country's length and mod-97 digits, and US Social Security numbers outside the
ranges the SSA never issues. Each step replaces what it finds with a
``[redacted:<kind>]`` marker and counts it, like the other filters.
"""
from __future__ import annotations

import re
from collections import Counter
from types import MappingProxyType
from typing import Mapping

_THREE_DIGITS = re.compile(r"\d{3}")


def _mark(kind: str) -> str:
    return f"[redacted:{kind}]"


# --- bank accounts (IBAN) ----------------------------------------------------------

# Length of the IBAN in each country that issues them (ISO 13616 registry).
_IBAN_LENGTHS: Mapping[str, int] = MappingProxyType({
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
})
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})")


def iban_ok(iban: str) -> bool:
    """Whether ``iban`` (no spaces) has its country's length and valid mod-97 digits."""
    iban = iban.upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isascii() or not iban.isalnum():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _iban_at(text: str, m: re.Match[str]) -> int:
    """End of the IBAN starting at ``m`` (0 if none): exactly the country's length of
    letters and digits, single spaces or hyphens allowed between them."""
    length = _IBAN_LENGTHS.get(m.group(1).upper())
    if length is None:
        return 0
    chars, pos, end = [m.group(1), m.group(2)], m.end(), len(text)
    count = 4
    while count < length and pos < end:
        ch = text[pos]
        if ch in " -" and pos + 1 < end and text[pos + 1].isascii() and text[pos + 1].isalnum():
            pos += 1
            continue
        if not (ch.isascii() and ch.isalnum()):
            return 0
        chars.append(ch)
        count += 1
        pos += 1
    if count < length or (pos < end and text[pos].isalnum()):
        return 0
    return pos if iban_ok("".join(chars)) else 0


def sub_iban(text: str, counts: Counter[str], off: frozenset[str]) -> str:
    if "iban" in off:
        return text
    out, last = [], 0
    for m in _IBAN_START.finditer(text):
        if m.start() < last:
            continue
        stop = _iban_at(text, m)
        if stop:
            out += [text[last:m.start()], _mark("iban")]
            last = stop
            counts["iban"] += 1
    return "".join(out) + text[last:] if out else text


# --- US Social Security numbers ---------------------------------------------------

_SSN_DASHED = re.compile(r"(?<![\w.,/:+-])(\d{3})-(\d{2})-(\d{4})(?![\w-]|[.,/:]\d)")
# Other spellings (spaces, one run of nine digits) only right after an SSN label.
_SSN_LABELLED = re.compile(
    r"(?i)(\b(?:ssn|ss\#|soc(?:ial)?\.?[ \t]*sec(?:urity)?\.?(?:[ \t]*(?:number|no\.?|\#|num))?)"
    r"(?:[ \t]*(?:is|was|:|=|\#|-)?)*[ \t]*)(\d{3})[ \t]?(\d{2})[ \t]?(\d{4})(?![\w-]|[.,/:]\d)"
)


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """Whether the three parts are in ranges the SSA issues."""
    return (area != "000" and area != "666" and area[0] != "9"
            and group != "00" and serial != "0000")


def sub_ssn(text: str, counts: Counter[str], off: frozenset[str]) -> str:
    if "ssn" in off or not _THREE_DIGITS.search(text):
        return text

    def dashed(m: re.Match[str]) -> str:
        if not ssn_ok(m.group(1), m.group(2), m.group(3)):
            return m.group(0)
        counts["ssn"] += 1
        return _mark("ssn")

    def labelled(m: re.Match[str]) -> str:
        if not ssn_ok(m.group(2), m.group(3), m.group(4)):
            return m.group(0)
        counts["ssn"] += 1
        return m.group(1) + _mark("ssn")

    return _SSN_DASHED.sub(dashed, _SSN_LABELLED.sub(labelled, text))
