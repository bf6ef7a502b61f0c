"""First-person statements → facts with subject, attribute and value (pure).

"I moved to Lisbon", "my sister is Ana", "I work at Siemens", "I prefer tea":
each pattern names an attribute; the value is cut at the first word that
starts another clause. Guards keep out what is not a statement of fact: a
question, a negation or a hypothetical before the verb ("if I moved to…",
"I don't live in…"), values that are only pronouns ("I love that!").

Who "I" is, is the caller's business (``rules.py``): the person themself in
a note or when the chat speaker is "You"/the owner, otherwise the speaker.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.memory.text import STOPWORDS, content_words, squash

# Attributes that hold one value at a time: a new value supersedes the old one.
SINGLE_VALUED = frozenset({
    "name", "lives_in", "works_at", "job", "from", "born_in", "birthday", "studies",
    "partner", "relation:wife", "relation:husband", "relation:partner", "relation:boss",
    "relation:manager", "relation:girlfriend", "relation:boyfriend",
})
# Facts about the person that belong in their compact core profile.
CORE_ATTRIBUTES = frozenset({
    "name", "lives_in", "works_at", "job", "from", "born_in", "birthday", "studies",
    "partner", "working_on", "prefers", "allergy", "speaks", "is",
})

RELATIONS = ("sister", "brother", "wife", "husband", "partner", "mother", "mom", "mum",
             "father", "dad", "son", "daughter", "boss", "manager", "friend", "best friend",
             "girlfriend", "boyfriend", "cousin", "aunt", "uncle", "grandmother", "grandma",
             "grandfather", "grandpa", "colleague", "coworker", "roommate", "neighbor",
             "neighbour", "fiancé", "fiance", "fiancée", "niece", "nephew")

_COMMON_CUT = ("and", "but", "because", "since", "so", "though", "although", "when", "while",
               "if", "or", "which", "who", "whom", "yesterday", "today", "tonight", "now",
               "recently", "lately", "anymore", "last", "this", "next", "ago", "right",
               "too", "as", "than", "after", "before", "until", "lol", "haha")
# Places and organisations end at a preposition: "moved to Porto in March".
_PLACE_CUT = _COMMON_CUT + ("in", "at", "on", "to", "from", "near", "by", "for", "with",
                            "during", "over", "around", "about", "back", "of")
_FREE_CUT = _COMMON_CUT + ("with", "for", "at", "during", "every")
_PRONOUN_START = frozenset({"it", "that", "this", "these", "those", "them", "you", "him", "her",
                            "what", "how", "your", "his", "their", "our", "us", "me", "myself",
                            "yourself", "everything", "anything", "something", "nothing", "so",
                            "doing", "being", "having", "getting"})
_GUARD = re.compile(
    r"\b(if|would|could|might|maybe|perhaps|wish|hope|hoping|want|wanna|wanted|plan|planning|"
    r"thinking|considering|should|whether|not|never|don't|dont|didn't|doesn't|won't|can't|"
    r"cannot|no longer|used to|pretend|imagine|suppose|unless|before)\b", re.IGNORECASE)
_CLAUSE_START = re.compile(r"[,;:–—(]|\b(?:but|and|so|because)\b", re.IGNORECASE)

_I = r"(?<![\w'])(?:I|i)"
_WE = r"(?<![\w'])(?:I|i|[Ww]e)"
_AM = r"(?:'m|’m| am)"
_V = r"(?P<v>[^,.;!?()\n\"“”]+)"


@dataclass(frozen=True)
class Pattern:
    attribute: str
    regex: re.Pattern[str]
    kind: str          # "place" (proper noun, short), "name", "free"
    self_text: str     # "You live in {v}"
    other_text: str    # "{s} lives in {v}"


def _p(attribute: str, regex: str, kind: str, self_text: str, other_text: str) -> Pattern:
    return Pattern(attribute, re.compile(regex, re.IGNORECASE if kind == "free" else 0),
                   kind, self_text, other_text)


def _ci(word: str) -> str:
    """A case-insensitive literal for patterns compiled case-sensitively (values are)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


def _words_ci(*phrases: str) -> str:
    return "(?:" + "|".join(" ".join(_ci(w) for w in p.split()).replace(" ", r"\s+")
                            for p in phrases) + ")"


PATTERNS: tuple[Pattern, ...] = (
    _p("name", _words_ci("my name is", "my name’s", "my name's") + r"\s+"
       r"(?P<v>[A-Z][\w'-]+(?: [A-Z][\w'-]+){0,2})", "name",
       "Your name is {v}", "{s}'s name is {v}"),
    _p("lives_in", rf"{_WE}(?:'ve| have)?\s+(?:just\s+|finally\s+|recently\s+)?"
       rf"{_words_ci('moved to', 'relocated to', 'moved back to')}\s+{_V}", "place",
       "You moved to {v}", "{s} moved to {v}"),
    _p("lives_in", rf"{_WE}\s+(?:now\s+|currently\s+|still\s+)?"
       rf"{_words_ci('live in', 'live at')}\s+{_V}", "place",
       "You live in {v}", "{s} lives in {v}"),
    _p("lives_in", rf"{_WE}(?:'re|’re|'m|’m| am| are)\s+(?:now\s+)?{_words_ci('living in')}"
       rf"\s+{_V}", "place", "You live in {v}", "{s} lives in {v}"),
    _p("works_at", rf"{_I}\s+(?:now\s+|currently\s+|still\s+)?"
       rf"{_words_ci('work at', 'work for')}\s+{_V}", "place",
       "You work at {v}", "{s} works at {v}"),
    _p("works_at", rf"{_I}(?:{_AM}|'ve| have)?\s+(?:just\s+)?" + _words_ci(
        "started working at", "started working for", "working at", "working for", "joined",
        "got a job at", "started a new job at", "started at") + rf"\s+{_V}",
       "place", "You work at {v}", "{s} works at {v}"),
    _p("job", rf"{_I}(?:\s+(?:now\s+|currently\s+)?work|{_AM}\s+working)\s+as\s+"
       r"(?P<v>(?:an?\s+)?[^,.;!?()\n]+)", "free", "You work as {v}", "{s} works as {v}"),
    _p("from", rf"{_I}{_AM}\s+(?:originally\s+)?{_words_ci('from')}\s+{_V}", "place",
       "You are from {v}", "{s} is from {v}"),
    _p("born_in", rf"{_I}\s+{_words_ci('was born in')}\s+{_V}", "place",
       "You were born in {v}", "{s} was born in {v}"),
    _p("studies", rf"{_I}(?:{_AM})?\s+(?:currently\s+)?(?:study|studying)\s+{_V}", "free",
       "You study {v}", "{s} studies {v}"),
    _p("working_on", rf"{_WE}(?:'m|’m| am|'re|’re| are|'ve been|’ve been| have been)\s+"
       r"(?:currently\s+|still\s+|now\s+)?working\s+on\s+" + _V, "free",
       "You are working on {v}", "{s} is working on {v}"),
    _p("learning", rf"{_I}(?:'m|’m| am|'ve been|’ve been| have been)\s+(?:currently\s+)?"
       r"learning\s+" + _V, "free", "You are learning {v}", "{s} is learning {v}"),
    _p("learning", rf"{_I}\s+started\s+learning\s+{_V}", "free",
       "You are learning {v}", "{s} is learning {v}"),
    _p("prefers", rf"{_I}\s+(?:really\s+|much\s+|generally\s+|usually\s+|always\s+)?prefer\s+"
       + _V, "free", "You prefer {v}", "{s} prefers {v}"),
    _p("dislikes", rf"{_I}\s+(?:really\s+)?(?:don't|do not|dont)\s+(?:really\s+)?like\s+{_V}",
       "free", "You don't like {v}", "{s} doesn't like {v}"),
    _p("dislikes", rf"{_I}\s+(?:really\s+)?(?:hate|can't stand|cannot stand|dislike)\s+{_V}",
       "free", "You dislike {v}", "{s} dislikes {v}"),
    _p("likes", rf"{_I}\s+(?:really\s+|absolutely\s+|just\s+|also\s+)?(?P<verb>love|like|enjoy|"
       r"adore)\s+" + _V, "free", "You {verb} {v}", "{s} {verbs} {v}"),
    _p("likes", rf"{_I}(?:'m|’m| am)\s+(?:really\s+|so\s+|super\s+|very\s+|quite\s+|also\s+)?"
       r"(?P<verb>passionate about|into|interested in|a big fan of|a huge fan of|a fan of|"
       r"fond of|keen on|obsessed with)\s+" + _V, "free", "You are {verb} {v}", "{s} is {verb} {v}"),
    _p("is", rf"{_I}(?:'m|’m| am)\s+(?:now\s+|also\s+|proud to be\s+)?(?P<v>an?\s+(?!bit\b|little\b|"
       r"lot\b|huge\b|big\b|fan\b|kind\b|sort\b|fan\b|part\b|total\b|mess\b|bit\b)"
       r"[^,.;!?()\n\"“”]+)", "free", "You are {v}", "{s} is {v}"),
    _p("allergy", rf"{_I}{_AM}\s+allergic\s+to\s+{_V}", "free",
       "You are allergic to {v}", "{s} is allergic to {v}"),
    _p("speaks", rf"{_I}\s+(?:also\s+)?speak\s+(?P<v>[A-Z][a-z]+(?: and [A-Z][a-z]+)?)",
       "name", "You speak {v}", "{s} speaks {v}"),
    _p("partner", rf"{_I}{_AM}\s+{_words_ci('married to', 'engaged to', 'dating')}\s+"
       r"(?P<v>[A-Z][\w'-]+(?: [A-Z][\w'-]+)?)", "name",
       "You are with {v}", "{s} is with {v}"),
)
_REL = "|".join(re.escape(r) for r in sorted(RELATIONS, key=len, reverse=True))
_RELATION = re.compile(
    rf"(?<![\w'])[Mm]y\s+(?P<rel>{_REL})(?:'s name is|’s name is| is called| is named| is|,)?"
    r"\s+(?P<v>[A-Z][\w'-]+(?: [A-Z][\w'-]+)?)")
_FAVORITE = re.compile(
    r"(?<![\w'])my\s+(?:all[- ]time\s+)?favou?rite\s+(?P<thing>[a-z]+(?: [a-z]+)?)\s+"
    r"(?:is|are|has to be|would be)\s+" + _V, re.IGNORECASE)
_PET = re.compile(
    r"(?<![\w'])(?:I|i|[Ww]e)\s+(?:have|got|adopted)\s+an?\s+(?:new\s+)?(?P<kind>dog|cat|puppy|"
    r"kitten|parrot|rabbit|hamster|turtle|horse)\s+(?:named|called)\s+"
    r"(?P<v>[A-Z][\w'-]+)")


@dataclass(frozen=True)
class Statement:
    """One fact a speaker states about themself."""

    attribute: str
    value: str
    self_text: str   # phrased about the person: "You moved to Porto"
    other_text: str  # phrased about someone else, "{s}" still to fill: "{s} moved to Porto"

    @property
    def single(self) -> bool:
        return self.attribute in SINGLE_VALUED or self.attribute.startswith("favorite:")

    @property
    def core(self) -> bool:
        """Whether this fact, said by the person, belongs in their core profile."""
        return (self.attribute in CORE_ATTRIBUTES or self.attribute.startswith("relation:")
                or self.attribute.startswith("favorite:"))


def statements(sentence_or_text: str) -> list[Statement]:
    """Every first-person fact stated in ``sentence_or_text`` (questions skipped)."""
    from core.memory.text import sentences

    out: list[Statement] = []
    seen: set[tuple[str, str]] = set()
    for sentence in sentences(sentence_or_text):
        if sentence.rstrip("\"'”)] ").endswith("?"):
            continue
        for st in _in_sentence(sentence):
            key = (st.attribute, normalize_value(st.value))
            if key not in seen:
                seen.add(key)
                out.append(st)
    return out


def _in_sentence(sentence: str) -> list[Statement]:
    found: list[Statement] = []
    lowercase_only = not any(c.isupper() for c in sentence)
    for pattern in PATTERNS:
        for m in pattern.regex.finditer(sentence):
            if _guarded(sentence, m.start()) and pattern.attribute != "dislikes":
                continue
            value = clean_value(m.group("v"), "place" if pattern.kind == "place" else "free")
            if not _acceptable(value, pattern.kind, lowercase_only):
                continue
            verb = (m.groupdict().get("verb") or "").lower()
            fill = {"v": value, "verb": verb,
                    "verbs": verb + "s" if verb in ("love", "like", "enjoy", "adore") else verb}
            found.append(Statement(pattern.attribute, value,
                                   pattern.self_text.format(**fill),
                                   pattern.other_text.format(s="{s}", **fill)))
    for m in _RELATION.finditer(sentence):
        rel, value = m.group("rel").lower(), m.group("v")
        if value.lower() in STOPWORDS or _guarded(sentence, m.start()):
            continue
        rel = {"mum": "mother", "mom": "mother", "dad": "father", "grandma": "grandmother",
               "grandpa": "grandfather", "coworker": "colleague", "neighbour": "neighbor"}.get(rel, rel)
        found.append(Statement(f"relation:{rel}", value, f"Your {rel} is {value}",
                               f"{{s}}'s {rel} is {value}"))
    for m in _FAVORITE.finditer(sentence):
        thing = m.group("thing").lower()
        value = clean_value(m.group("v"), "free")
        if _acceptable(value, "free", lowercase_only) and not _guarded(sentence, m.start()):
            found.append(Statement(f"favorite:{thing}", value, f"Your favorite {thing} is {value}",
                                   f"{{s}}'s favorite {thing} is {value}"))
    for m in _PET.finditer(sentence):
        kind, value = m.group("kind").lower(), m.group("v")
        if value.lower() not in STOPWORDS:
            found.append(Statement("pet", f"{value} ({kind})", f"You have a {kind} named {value}",
                                   f"{{s}} has a {kind} named {value}"))
    return found


def _guarded(sentence: str, start: int) -> bool:
    """A negation or hypothetical earlier in the same clause ("if I moved to…")."""
    head = sentence[:start]
    cuts = [m.end() for m in _CLAUSE_START.finditer(head)]
    clause = head[cuts[-1]:] if cuts else head
    return bool(_GUARD.search(clause))


def clean_value(raw: str, kind: str) -> str:
    """The value up to the first word that starts another clause, trimmed."""
    cut_words = set(_PLACE_CUT if kind == "place" else _FREE_CUT)
    kept: list[str] = []
    for token in raw.split():
        bare = token.strip("'\"“”‘’").lower()
        if bare in cut_words and kept:
            break
        kept.append(token)
        if len(kept) >= (5 if kind == "place" else 8):
            break
    value = squash(" ".join(kept)).strip(" '\"“”‘’-–—:")
    for tail in (" as well", " so much", " very much", " a lot", " though", " too"):
        if value.lower().endswith(tail):
            value = value[: -len(tail)].rstrip()
    return value


def _acceptable(value: str, kind: str, lowercase_only: bool) -> bool:
    if not value or not content_words(value):
        return False
    first = value.split()[0].lower()
    if first in _PRONOUN_START:
        return False
    if kind in ("place", "name"):
        proper = value[0].isupper() or value[0].isdigit()
        if not proper and not lowercase_only:
            return False
        if len(value.split()) > 4:
            return False
    return True


def normalize_value(value: str) -> str:
    """A value's comparison form: lower-case words, no leading article."""
    ws = [w for w in re.findall(r"[^\W_]+", value.lower())]
    while ws and ws[0] in ("a", "an", "the", "my", "our"):
        ws = ws[1:]
    return " ".join(ws)
