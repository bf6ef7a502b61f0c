"""Secrets filters: applied to every observation's text before anything is stored.

``redact(text)`` replaces what looks like a secret with a marker such as
``[redacted:card]`` and counts what it replaced. Labels stay ("Password:
[redacted:password]") so a memory can still say *that* a password was shown.

The rules prefer precision on ordinary text: a filter that eats version numbers,
timestamps and order ids makes search useless, so every pattern is anchored on
a structure (a provider prefix, a Luhn check digit, a label followed by a value)
rather than on "long and random-looking" alone. Kinds of markers:

- ``card``: 13–19 digit payment card numbers, Luhn-valid, with a known brand
  prefix and length, grouped like cards are printed.
- ``api-key``: provider keys with a known prefix (AWS, GitHub, Slack, Stripe,
  OpenAI, Anthropic, Google), and AWS secret keys next to their label.
- ``token``: JWTs, ``Bearer``/``Basic`` credentials.
- ``private-key``: PEM/OpenSSH/PGP private key blocks (also when cut off).
- ``secret``: values assigned to secret-looking names (``api_key = "…"``).
- ``password``: values after password labels, and passwords inside URLs.
- ``otp``: 4–8 digit one-time codes next to "code", "OTP", "verification"…
- ``iban``: bank account numbers (IBAN) of a known country and length whose
  mod-97 check digits are right, printed in one run or in groups.
- ``ssn``: US Social Security numbers: ``AAA-GG-SSSS`` anywhere, other spellings
  next to an "SSN" label; never the ranges the SSA does not issue (area 000, 666,
  900–999; group 00; serial 0000).
- ``custom``: words and phrases the person listed (a client's name, a project).

Kinds can be switched off (``RedactOptions.off``): their rules don't run, or
(the labelled-value rule, which finds passwords and secrets) leave values of
that kind alone. A structure of a switched-off kind may still be caught by
another rule that is on ("token: <jwt>" is also a labelled secret): switching
a filter off never lets through what the others remove.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Callable, Mapping

from core.redact_accounts import sub_iban, sub_ssn

MARK = "[redacted:{}]"

# Kinds of secrets the rules find, in the order a settings page lists them.
KINDS: tuple[str, ...] = ("password", "api-key", "token", "private-key", "secret", "card", "otp",
                          "iban", "ssn")
KIND_LABELS: Mapping[str, str] = MappingProxyType({
    "password": "Passwords (after a password label, inside links)",
    "api-key": "API keys (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic, Google…)",
    "token": "Access tokens (JWTs, Bearer and Basic credentials)",
    "private-key": "Private key blocks (PEM, OpenSSH, PGP)",
    "secret": "Secrets assigned in code and config (api_key = …)",
    "card": "Payment card numbers",
    "otp": "One-time codes (verification, 2FA, sign-in codes)",
    "iban": "Bank account numbers (IBAN)",
    "ssn": "US Social Security numbers",
})
CUSTOM = "custom"


@dataclass(frozen=True)
class RedactOptions:
    """Which kinds to leave in place, and the person's own words to remove."""

    off: frozenset[str] = frozenset()
    terms: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> RedactOptions:
        """``redact_off`` (kinds) and ``redact_terms`` (words) from the settings;
        anything malformed is ignored, so a hand-edited file never stops redaction."""
        off = settings.get("redact_off") or []
        terms = settings.get("redact_terms") or []
        return cls(
            off=frozenset(k for k in off if isinstance(k, str) and k in KINDS)
            if isinstance(off, list) else frozenset(),
            terms=tuple(t.strip() for t in terms if isinstance(t, str) and t.strip())
            if isinstance(terms, list) else (),
        )


@dataclass(frozen=True)
class Redaction:
    """Text with secrets replaced, and how many of each kind were replaced."""

    text: str
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _mark(kind: str) -> str:
    return MARK.format(kind)


# --- private keys ---------------------------------------------------------------

# Runs of dashes are matched possessively from their first dash: a line of ten
# thousand dashes must not be tried at every position (quadratic time).
_PEM_BEGIN = re.compile(
    r"(?<!-)-{3,}+[ \t]*BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)[ \t]*-{3,}+")
# A block cut off by the edge of the screen: the base64-ish lines that follow.
_PEM_CUT = re.compile(
    r"(?:[ \t]*\r?\n[ \t]*(?:[A-Za-z0-9+/=]{16,}|[A-Za-z-]+:[^\n]*|(?=\r?\n)))*")


def _sub_pem(text: str, counts: Counter[str], off: frozenset[str]) -> str:
    """Private key blocks, BEGIN to END (or to where the cut-off text stops).

    The END line is looked for once per kind of block: when none follows a
    header, none follows any later header either (linear time on any input)."""
    if "private-key" in off or "PRIVATE KEY" not in text:
        return text
    out, last = [], 0
    no_end_after: dict[tuple[str, str], int] = {}
    for m in _PEM_BEGIN.finditer(text):
        if m.start() < last:
            continue
        label = (m.group(1), m.group(2))
        stop = -1
        if m.end() < no_end_after.get(label, len(text) + 1):
            end = re.compile(rf"(?<!-)-{{3,}}+[ \t]*END {re.escape(label[0])}PRIVATE KEY"
                             rf"{re.escape(label[1])}[ \t]*-{{3,}}+").search(text, m.end())
            if end is None:
                no_end_after[label] = m.end()
            else:
                stop = end.end()
        if stop < 0:
            stop = _PEM_CUT.match(text, m.end()).end()  # type: ignore[union-attr]
        out += [text[last:m.start()], _mark("private-key")]
        counts["private-key"] += 1
        last = stop
    return "".join(out) + text[last:] if out else text

# --- provider keys and tokens -----------------------------------------------------

# Each with the literal text it cannot match without: a plain `in` skips the scan.
_PROVIDER_KEYS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(p), needles) for p, needles in (
        (r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])",
         ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
        (r"(?<![A-Za-z0-9_])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}(?![A-Za-z0-9_])",
         ("gh",)),
        (r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,255}", ("github_pat_",)),
        (r"(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}", ("xox",)),
        (r"(?<![A-Za-z0-9])xapp-\d-[A-Za-z0-9-]{10,}", ("xapp-",)),
        (r"(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}", ("_live_", "_test_")),
        (r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}", ("sk-ant-",)),
        (r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}",
         ("sk-",)),
        (r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])", ("AIza",)),
        (r"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}", ("glpat-",)),
        (r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", ("npm_",)),
        (r"(?<![A-Za-z0-9_-])pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", ("pypi-",)),
        (r"(?<![A-Za-z0-9_.-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])",
         ("SG.",)),
        (r"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])", ("hf_",)),
        (r"(?<![A-Za-z0-9_])do[opr]_v1_[a-f0-9]{64}(?![A-Za-z0-9_])", ("_v1_",)),
        (r"(?<![A-Za-z0-9_])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9_])", ("shp",)),
        # Anyone holding a Slack webhook's URL can post as the app.
        (r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,}",
         ("hooks.slack.com",)),
    ))

# AWS secret access keys are 40 base64 characters with no prefix: only by label.
_AWS_SECRET = re.compile(
    r"(?i)(aws.{0,20}?secret.{0,20}?|secret.?access.?key)(['\"]?\s*[:=]{1,2}\s*['\"]?|\s+)"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
)

_JWT = re.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
)

_AUTH_HEADER = re.compile(
    r"(?i)(\bBearer\s+|\bAuthorization\s*[:=]\s*['\"]?(?:Basic|Token|Digest)\s+)"
    r"([A-Za-z0-9._~+/-]{12,}=*)"
)

# Schemes are short: an unbounded one tried at every letter of "sk-sk-sk-…" is quadratic.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]{0,30}://[^\s:/@]+:)([^\s/@]+)(@)")
# "Password Gr33n-Tea!" (a label and a space, as on a Wi-Fi card): only a value that
# has a letter, a digit and a symbol, as passwords must and words don't.
_PASSWORD_SPACED = re.compile(
    r"(?i)(\b(?:password|passwort|passcode|passphrase)[ \t]+)"
    r"(?=[^\s]*[A-Za-z])(?=[^\s]*\d)(?=[^\s]*[!@#$%^&*_+=?~.-])"
    r"([A-Za-z0-9][^\s'\"`()\[\]{}<>]{7,})(?![^\s.,;])(?![ \t]+(?:characters|chars|long)\b)")
# MySQL's clients take the password glued to -p: ``mysql -u root -p'secret' db``.
_MYSQL_PASSWORD = re.compile(
    r"(\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n]*?[ \t]-p)"
    r"('[^'\n]+'|\"[^\"\n]+\"|[^\s'\"-][^\s'\"]*)")

# --- labelled values: assignments in code/config and labels in UIs ----------------

_PASSWORD_WORDS = r"passw(?:or)?d|passphrase|passwort|mot de passe|contraseña|pwd|pass|pw"
_SECRET_WORDS = (
    r"secret|api[_-]?key|apikey|access[_-]?key|auth[_-]?token|access[_-]?token"
    r"|refresh[_-]?token|id[_-]?token|session[_-]?token|bearer[_-]?token|token"
    r"|private[_-]?key|client[_-]?secret|credentials?|signing[_-]?key|encryption[_-]?key"
)
_ANY_WORD = re.compile(rf"(?i)(?:{_PASSWORD_WORDS}|{_SECRET_WORDS})")
# After the word, a name may only go on with these: DB_PASSWORD_PROD holds a
# password, password_hint / token_count / HAVE_STRUCT_PASSWD_PW_GECOS do not.
_VALUE_SUFFIXES = frozenset(
    "key value prod production live dev development test staging b64 base64 hex str raw"
    .split())
# The word is matched first and its prefix (DB_, aws_…) checked afterwards: a
# regex that starts with an optional identifier prefix backtracks at every word.
_LABELLED = re.compile(
    # PGPASSWORD (libpq's variable) is the one name glued to its prefix.
    rf"(?:(?<![A-Za-z0-9])|(?<=[_.-])|(?<=(?<![A-Za-z0-9])[Pp][Gg]))"
    rf"(?:(?P<pw>{_PASSWORD_WORDS})|(?P<sec>{_SECRET_WORDS}))"
    r"(?P<suffix>(?:[_.-][A-Za-z0-9]+)*)(?![A-Za-z0-9])"
    r"(?P<sep>['\"]?[ \t]*(?::=|=>|==|=|:)[ \t]*|[ \t]+(?:is|was|ist)[ \t]*:?[ \t]+)"
    r"(?:(?P<q>['\"`])(?P<qval>[^'\"`\n]+)(?P=q)|(?P<val>[^\s'\"`]+))",
    re.IGNORECASE,
)
# Words that follow "Password:" in forms and prose, not passwords.
_STOPWORDS = frozenset("""
    a an the is are was be been must should can cannot will would may required optional
    incorrect invalid wrong correct reset forgot forgotten field hidden none null nil
    undefined true false show hide changed updated expired expires strength weak strong
    medium match mismatch too and or for to of in on at with your my our their this that
    it not no yes enter type here below above needed saved protected set unset empty new
""".split())
# "password: str | None" in typed code: a type, not a value.
_TYPE_NAMES = frozenset("""
    str bytes int bool float optional string any object number boolean dict list union
    secretstr secretbytes text varchar char buffer uint8array
""".split())
_ENV_REF = re.compile(r"^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_]+%|\{\{.*\}\}|<[^>]*>)$")
_MASKED = re.compile(r"^:?[*•●·.]+$|^x{4,}$", re.IGNORECASE)
_FORMAT_SLOT = re.compile(r"%[-+ #0-9.]*[sdrifx]|\{[A-Za-z0-9_.!:]*\}")
_CODE_EXPR = re.compile(r"[()\[\]{}]|^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_]")
# "passwd = passwd or ''", "x = y + z": the value is a variable in an expression.
_CODE_CONTINUES = re.compile(r"[ \t]*(?:,|[ \t](?:or|and|if|else|[-+*/?|&=]|\|\||&&|<<|>>|\?\?)[ \t])")
_SNAKE_NAME = re.compile(r"^[a-z]+(?:_[a-z0-9]+)+$")
_ANNOTATION_GOES_ON = re.compile(r"[ \t]*(?:\|[ \t]*[A-Za-z]|=[ \t]|[)\]])")
# "pwd: expected bytes, got …": a label followed by a running sentence.
_PROSE_CONTINUES = re.compile(r"[ \t]+[A-Za-z]+[ \t,]+[a-z]")


def _token_like(value: str) -> bool:
    """Random-looking enough to be a key: long, with letters and digits."""
    return (len(value) >= 8 and bool(re.search(r"[A-Za-z]", value))
            and bool(re.search(r"\d", value))
            and bool(re.fullmatch(r"[A-Za-z0-9_\-./+=~:]+", value)))


def _password_like(value: str) -> bool:
    """For "the password is X" in prose: X must not read like a plain word."""
    return bool(re.search(r"\d|[^\w\s]", value) or (value[:1].islower() and re.search("[A-Z]", value)))


def _has_prefix(text: str, start: int) -> bool:
    """Whether the matched word is the tail of a longer name (DB_PASSWORD)."""
    return start >= 2 and text[start - 1] in "_.-" and text[start - 2].isalnum()


def _labelled_value(m: re.Match[str], value: str) -> str | None:
    """The marker kind for a labelled value, or None to leave it alone."""
    word = (m["pw"] or m["sec"]).lower()
    suffixes = [s for s in re.split(r"[_.-]", m["suffix"].lower()) if s]
    if any(not (s in _VALUE_SUFFIXES or s.isdigit()) for s in suffixes):
        return None
    quoted, sep = m["qval"] is not None, m["sep"]
    prose = sep.strip(" \t:'\"").lower() in ("is", "was", "ist")
    if not value or value.startswith("[redacted:") or _ENV_REF.match(value):
        return None
    if _MASKED.match(value) or _FORMAT_SLOT.search(value):
        return None
    if not quoted:
        after = m.string[m.end("val") - (len(m["val"]) - len(value)):][:40]
        lowered = value.lower()
        # "passwordField" names a password; "S3cure#Pass" is one (a digit and a symbol
        # no identifier has).
        names_one = bool(_ANY_WORD.search(value)) and not (
            re.search(r"\d", value) and re.search(r"[#!@%^&*~?]", value))
        if (_CODE_EXPR.search(value) or lowered in _STOPWORDS or lowered in _TYPE_NAMES
                or names_one or ("=" in sep and _CODE_CONTINUES.match(after))):
            return None
        if ":" in sep and value.isalpha() and _PROSE_CONTINUES.match(after):
            return None
        if sep == ":" and not (_password_like(value) or _token_like(value)):
            return None  # "passwd:gecos": a namespaced name, not "Password: x"
        if m["pw"] and len(value) < 4:
            return None  # "USER_PASSWORD = 1": a constant; real passwords are longer
        if "=" in sep and _SNAKE_NAME.match(value):
            return None  # "user_password = o_entry": a variable
        if ":" in sep and _ANNOTATION_GOES_ON.match(after):
            return None  # "password: HiddenText | None = None": a type annotation
    elif value.isalpha() and _ANY_WORD.search(value):
        return None  # 'CHALLENGE_PASSWORD: "challengePassword"': a name
    if m["sec"] and sep.strip() == "==":
        return None  # 'token == "#bygroup"': a comparison in a parser
    bare = not suffixes and not _has_prefix(m.string, m.start())
    if m["pw"]:
        if prose and not _password_like(value):
            return None
        if word == "pass" and bare and not (quoted or "=" in sep):
            return None  # "boarding pass: 12345", "pass: the salt" — too ambiguous
        if word == "pwd" and bare and value[:1] in "/~":
            return None  # the shell's working directory, as printed by `env`
        return "password"
    if quoted and not prose:
        return "secret" if len(value) >= 8 and " " not in value else None
    return "secret" if _token_like(value) else None


def _sub_labelled(text: str, counts: Counter[str], off: frozenset[str]) -> str:
    def repl(m: re.Match[str]) -> str:
        quoted = m["qval"] is not None
        value = m["qval"] if quoted else m["val"]
        if not quoted:  # trailing punctuation belongs to the sentence or the code
            value = value.rstrip(".,;:)") if m["sep"].strip(" \t:").isalpha() else value.rstrip(",;")
        kind = _labelled_value(m, value)
        if kind is None or kind in off:
            return m.group(0)
        counts[kind] += 1
        whole, rel = m.group(0), m.start("qval" if quoted else "val") - m.start()
        return whole[:rel] + _mark(kind) + whole[rel + len(value):]
    return _LABELLED.sub(repl, text)


# --- payment cards -----------------------------------------------------------------

_CARD = re.compile(r"(?<![\w.,/:-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)")
_IBAN_HEAD = re.compile(r"[A-Z]{2}\d{2}[ ]?$")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _brand_ok(d: str) -> bool:
    n = len(d)
    if d[0] == "4":
        return n in (13, 16, 19)
    if 51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720:
        return n == 16
    if d[:2] in ("34", "37"):
        return n == 15
    if d[:2] in ("36", "38", "39") or 300 <= int(d[:3]) <= 305:
        return n in (14, 16)
    if d[:2] == "35" or d[0] == "6":  # JCB, Discover, UnionPay, Maestro
        return 16 <= n <= 19
    if d[:2] == "50":
        return 13 <= n <= 19
    return False


def _grouping_ok(raw: str) -> bool:
    """Printed cards are 4-4-4-4(-3), or 4-6-5 / 4-6-4; other groupings are ids or phones."""
    groups = re.split(r"[ -]", raw)
    if len(groups) == 1:
        return True
    if len(set(re.findall(r"[ -]", raw))) > 1:
        return False
    sizes = [len(g) for g in groups]
    if sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _sub_cards(text: str, counts: Counter[str], off: frozenset[str]) -> str:
    if "card" in off:
        return text

    def repl(m: re.Match[str]) -> str:
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if not (13 <= len(digits) <= 19) or len(set(digits)) < 2:
            return raw
        if not (_grouping_ok(raw) and _brand_ok(digits) and _luhn_ok(digits)):
            return raw
        if _IBAN_HEAD.search(text, 0, m.start()):
            return raw
        counts["card"] += 1
        return _mark("card")
    return _CARD.sub(repl, text)


# --- one-time codes ----------------------------------------------------------------

_OTP_WORDS = (
    r"(?:verification|verify|security|login|log-in|sign-in|signin|confirmation|access"
    r"|auth(?:entication)?|one[- ]time|2fa|mfa|two[- ]factor|sms)[ \t]+(?:pass)?code"
    r"|one[- ]time[ \t]+(?:password|pin)|passcode|otp|2fa|mfa|totp|tan|code|pin"
)
_OTP_CODE = r"(?:G-)?\d{4,8}|\d{3}[ -]\d{3}"
_OTP_AFTER = re.compile(
    rf"(?i)(?<![A-Za-z0-9])(?P<word>{_OTP_WORDS})(?![A-Za-z0-9])"
    r"(?P<sep>[ \t]*(?:is|was|:|=|#|-)?[ \t]*(?:is[ \t]*:?[ \t]*)?\n?[ \t]*)"
    rf"(?P<code>{_OTP_CODE})(?![\d.,:/-]\d|[A-Za-z0-9])"
)
# "zip code 94103", "error code 5000": codes, but not one-time ones.
_NOT_OTP_BEFORE = re.compile(
    r"(?i)(?<![A-Za-z])(?:zip|postal|area|country|error|exit|status|source|response|return"
    r"|http|promo|discount|coupon|qr|bar|dialing|post|sort|swift|bank)[ \t]+$"
)
_OTP_BEFORE = re.compile(
    rf"(?i)(?<![\w.,:/-])(?P<code>{_OTP_CODE})(?![\w.,:/-]\d|\d)"
    r"(?P<rest>[ \t]+(?:is|as)[ \t]+your\b[^\n]{0,40}?"
    r"\b(?:code|otp|passcode|pin|one[- ]time password))"
)
# "Enter 597455 to verify your email", "use 4411 to sign in".
_OTP_ENTER = re.compile(
    r"(?i)(?P<verb>\b(?:enter|use|type|input)[ \t]+)(?P<code>\d{4,8})"
    r"(?P<rest>[ \t]+(?:to|for)[ \t]+(?:verify|confirm|sign[ -]?in|log[ -]?in|complete|finish"
    r"|activate|reset)\b)")
_THREE_DIGITS = re.compile(r"\d{3}")


def _sub_otp(text: str, counts: Counter[str], off: frozenset[str]) -> str:
    if "otp" in off or not _THREE_DIGITS.search(text):  # the shortest code form is "123 456"
        return text

    def after(m: re.Match[str]) -> str:
        if _NOT_OTP_BEFORE.search(m.string, max(0, m.start() - 20), m.start()):
            return m.group(0)
        word = m["word"].lower()
        if not m["sep"]:
            return m.group(0)  # "2fa8170": letters and digits run together, likely hex
        if word in ("pin", "tan", "code") and "\n" in m["sep"]:
            return m.group(0)  # a bare "code" label and digits on the next line: too weak
        if word in ("pin", "tan") and not re.search(r"[:=#]|is", m["sep"]):
            return m.group(0)
        counts["otp"] += 1
        return m.group(0)[: m.start("code") - m.start()] + _mark("otp")

    def before(m: re.Match[str]) -> str:
        counts["otp"] += 1
        return _mark("otp") + m["rest"]

    def enter(m: re.Match[str]) -> str:
        counts["otp"] += 1
        return m["verb"] + _mark("otp") + m["rest"]

    text = _OTP_ENTER.sub(enter, _OTP_AFTER.sub(after, text))
    return _OTP_BEFORE.sub(before, text)


# --- the pipeline ------------------------------------------------------------------

Step = Callable[[str, Counter[str], frozenset[str]], str]


def _sub_simple(pattern: re.Pattern[str], kind: str, needles: tuple[str, ...] = ()) -> Step:
    def run(text: str, counts: Counter[str], off: frozenset[str]) -> str:
        if kind in off or (needles and not any(n in text for n in needles)):
            return text
        new, n = pattern.subn(_mark(kind), text)
        counts[kind] += n
        return new
    return run


def _sub_group(pattern: re.Pattern[str], group: int, kind: str,
               accept: Callable[[str], bool] = lambda _: True,
               ) -> Step:
    """Replace only ``group`` of each match, keeping its label around it."""
    def run(text: str, counts: Counter[str], off: frozenset[str]) -> str:
        if kind in off:
            return text

        def repl(m: re.Match[str]) -> str:
            if not accept(m.group(group)):
                return m.group(0)
            counts[kind] += 1
            whole, rel = m.group(0), m.start(group) - m.start()
            return whole[:rel] + _mark(kind) + whole[rel + len(m.group(group)):]
        return pattern.sub(repl, text)
    return run


# Order matters: whole structures first (a key block, a provider key), so the
# generic label rule later sees "[redacted:…]" and leaves it alone; one-time
# codes before labels, so "one-time password is 482913" counts as an otp.
_STEPS: tuple[Step, ...] = (
    _sub_pem,
    *(_sub_simple(p, "api-key", needles) for p, needles in _PROVIDER_KEYS),
    _sub_group(_AWS_SECRET, 3, "api-key"),
    _sub_simple(_JWT, "token"),
    _sub_group(_AUTH_HEADER, 2, "token", lambda v: _token_like(v) or len(v) >= 24),
    _sub_group(_URL_PASSWORD, 2, "password",
               lambda v: not (_ANY_WORD.fullmatch(v) or v.startswith(("<", "[", "{", "$")))),
    _sub_group(_PASSWORD_SPACED, 2, "password", lambda v: not v.startswith("[redacted")),
    _sub_group(_MYSQL_PASSWORD, 2, "password",
               lambda v: not v.strip("'\"").startswith(("$", "<", "{"))),
    sub_iban,
    sub_ssn,
    _sub_otp,
    _sub_labelled,
    _sub_cards,
)


@lru_cache(maxsize=16)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for the person's words: whole words, longest
    first ("Acme Corp" before "Acme"), any spacing between words. Markers already
    in the text are matched first (group 1) so a word is never found inside one."""
    parts = []
    for term in sorted(set(terms), key=len, reverse=True):
        body = r"\s+".join(re.escape(w) for w in term.split())
        if not body:
            continue
        head = r"(?<!\w)" if term[0].isalnum() or term[0] == "_" else ""
        tail = r"(?!\w)" if term[-1].isalnum() or term[-1] == "_" else ""
        parts.append(head + body + tail)
    if not parts:
        return None
    return re.compile(r"(\[redacted:[a-z-]+\])|" + "|".join(parts), re.IGNORECASE)


def _sub_terms(text: str, counts: Counter[str], terms: tuple[str, ...]) -> str:
    pattern = _terms_pattern(terms)
    if pattern is None:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1)
        counts[CUSTOM] += 1
        return _mark(CUSTOM)
    return pattern.sub(repl, text)


def redact(text: str, options: RedactOptions | None = None) -> Redaction:
    """Replace secrets in ``text`` with ``[redacted:<kind>]`` markers.

    Pure and deterministic; safe to call from any thread. Returns the new text
    and the number of replacements per kind (kinds with none are absent).
    ``options`` switches kinds off and adds the person's own words.
    """
    off = options.off if options is not None else frozenset()
    counts: Counter[str] = Counter()
    # Until nothing changes: a marker can give a neighbour the boundary a pattern
    # needs ("code is 0000-0" with the word "0" → "0000-[redacted:custom]", whose
    # "0000" is then a code), so one pass is not always the last. Text without
    # secrets is read once; markers are never redacted again, so this ends.
    for _ in range(_MAX_PASSES):
        before = text
        for step in _STEPS:
            text = step(text, counts, off)
        if options is not None and options.terms:
            text = _sub_terms(text, counts, options.terms)
        if text == before:
            break
    return Redaction(text, MappingProxyType({k: v for k, v in counts.items() if v}))


_MAX_PASSES = 4


def redactor(settings: Any) -> Callable[[str], tuple[str, dict[str, int]]]:
    """A redact function that follows the person's settings as they change
    (``Redactor`` in the pipeline and the screen source)."""
    def run(text: str) -> tuple[str, dict[str, int]]:
        result = redact(text, RedactOptions.from_settings(settings))
        return result.text, dict(result.counts)
    return run
