"""What a question asks for: its type, its subject, the words that must be matched.

``analyse("When did Caroline go to the support group?")`` →
``Question(kind="when", subject="Caroline", ...)``. Pure and cheap: the
no-model answerer and the model guard both read questions through it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.retrieval import STOPWORDS

Kind = Literal["when", "who", "where", "count", "yesno", "why", "how", "what"]

_WORD = re.compile(r"[\w']+", re.UNICODE)
_YESNO = re.compile(r"^(is|are|was|were|did|do|does|has|have|had|can|could|would|will|"
                    r"should|shall|might|may)\b", re.I)
_WHEN = re.compile(r"^(when\b|what (year|month|date|day|time|week)\b|which (year|month|day|"
                   r"date|week)\b|in which (year|month)\b|how long ago\b|on what (date|day)\b|"
                   r"since when\b)", re.I)
_COUNT = re.compile(r"\bhow (many|much|long|often|old|far)\b", re.I)
# Words a question is phrased with that never belong to the answer.
QUESTION_WORDS = frozenset("""
what when where who whom whose which why how many much long often kind type sort
likely would might could probably ever recently usually name names favorite favourite
something anything things thing one ones mention mentioned mentions say said tell told
""".split())
# Capitalised words that are not names even in the middle of a sentence.
NOT_NAMES = frozenset("""
I I'm I've I'd I'll OK Ok Oh Hey Hi Wow Yes No Yeah Thanks Thank Sure Congrats Awesome
Mr Mrs Ms Dr The A An And But So Also Just Really Well Anyway
Yep Yup Nope Plus Btw Bye Guess Cheers Aww Haha Lol Omg Hmm Woah Whoa Totally Definitely
Monday Tuesday Wednesday Thursday Friday Saturday Sunday
January February March April May June July August September October November December
""".split())
_HEAD = re.compile(r"^(?:what|which)\s+(?:(?:kind|type|sort|form|genre|style|brand|color|"
                   r"colour)s?\s+of\s+)?(?:\w+\s+)?(\w+)\s+(?:did|does|do|is|was|are|were|has|"
                   r"have|had|can|could|would|will)\b", re.I)
_HEAD_OF = re.compile(r"^(?:what|which)\s+(?:kind|type|sort|form|genre|style|brand)s?\s+of\s+"
                      r"(\w+)", re.I)
_LIST_CUE = re.compile(r"\b(both|all|each|kinds of|types of|some of|ways|things|activities|"
                       r"places|items|hobbies|events|books|pets|names)\b", re.I)


@dataclass(frozen=True)
class Question:
    """A question read for answering."""

    text: str
    kind: Kind
    subject: str          # the person the question is about ("" if none named)
    names: tuple[str, ...]  # every capitalised name in it
    wants_list: bool      # "What activities…": several facts may be combined
    head: str = ""        # the thing a what/which question names ("flooring")
    options: tuple[str, ...] = ()  # "… a beach or the mountains?" → ("a beach", "the mountains")
    hedged: bool = False  # "Would Ana likely …": an inference, answered "Likely yes/no"

    @property
    def focus(self) -> set[str]:
        """Content words of the question (lower case, question words removed)."""
        return {w for w in words(self.text) if w not in STOPWORDS and w not in QUESTION_WORDS}


def words(text: str) -> list[str]:
    """Lower-case words, possessive ``'s`` dropped ("Caroline's" → "caroline")."""
    return [re.sub(r"'s$|'$", "", w.lower()) for w in _WORD.findall(text)]


_IRREGULAR = dict(pair.split(":") for pair in """
hid:hide hidden:hide made:make went:go gone:go got:get bought:buy took:take taken:take saw:see seen:see ran:run
did:do done:do felt:feel found:find gave:give given:give told:tell thought:think met:meet
left:leave wrote:write written:write won:win began:begin begun:begin came:come kept:keep
brought:bring taught:teach caught:catch sold:sell held:hold built:build spent:spend
sent:send lost:lose heard:hear paid:pay said:say read:read learnt:learn drew:draw
drawn:draw grew:grow grown:grow flew:fly knew:know known:know wore:wear ate:eat
children:child kids:kid
""".split())


def root(word: str) -> str:
    """A crude shared root for matching word forms ("painted", "painting" → "paint")."""
    w = _IRREGULAR.get(word, word)
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(w) >= len(suffix) + 3 and w.endswith(suffix):
            w = w[: -len(suffix)]
            break
    if len(w) > 3 and w.endswith("e"):  # "move"/"moved", "race"/"races"
        w = w[:-1]
    return w[:6]


def names_in(text: str) -> list[str]:
    """Capitalised words that look like names (sentence starts included; any script)."""
    found = []
    for m in re.finditer(r"[^\W\d_][\w'-]*", text):
        word = re.sub(r"'s?$", "", m.group(0))
        if not word or not word[0].isupper() or (len(word) > 1 and word.isupper()):
            continue
        if word not in NOT_NAMES and word.lower() not in STOPWORDS \
                and word.lower() not in QUESTION_WORDS:
            found.append(word)
    return list(dict.fromkeys(found))


def classify(text: str) -> Kind:
    """The kind of answer ``text`` asks for."""
    q = text.strip().lower()
    q = re.sub(r"^(and|so|but|ok|okay|hey)\b[\s,]*", "", q)
    if _WHEN.search(q) or re.search(r"\bwhen\b", q.split(",")[0][:12]):
        return "when"
    if _COUNT.search(q):
        return "count"
    if q.startswith(("who ", "whose ", "whom ", "with whom ")):
        return "who"
    if q.startswith("where ") or re.match(r"^(in |at |from |to )?(which|what) (city|country|"
                                          r"place|town|state|location)\b", q):
        return "where"
    if q.startswith("why "):
        return "why"
    if q.startswith("how "):
        return "how"
    if _YESNO.match(q):
        return "yesno"
    return "what"


def analyse(text: str, known_people: tuple[str, ...] = ()) -> Question:
    """Read ``text``: its kind, the person it is about, whether it asks for a list.

    ``known_people`` (speakers seen in the evidence) decide the subject when the
    question names several capitalised words ("What did Caroline buy in Paris?").
    """
    text = " ".join(text.split())
    names = tuple(names_in(text[0].lower() + text[1:] if text else text))
    people = [n for n in names if n in known_people] or list(names)
    subject = people[0] if people else ""
    head = head_noun(text)
    wants_list = bool(_LIST_CUE.search(text)) or (
        len(head) > 3 and head.endswith("s") and not head.endswith("ss"))
    kind = classify(text)
    options = choices(text) if kind == "yesno" else ()
    hedged = kind == "yesno" and bool(_HEDGED.search(text))
    return Question(text, kind, subject, names, wants_list and kind != "yesno", head, options,
                    hedged)


_HEDGED = re.compile(r"^(would|could|might|may|will)\b|\b(likely|probably|considered)\b", re.I)
_OR = re.compile(r"^(.*?)\s+or\s+(.+?)[\s?.!]*$", re.I)
_ARTICLE = frozenset({"a", "an", "the", "some"})


def choices(text: str) -> tuple[str, ...]:
    """The two things a yes/no-shaped question offers ("a national park or a theme park");
    the first is as many words before "or" as the second has after it."""
    m = _OR.match(text.split("?")[0])
    if not m:
        return ()
    second = m.group(2).split()
    size = len([w for w in second if w.lower() not in _ARTICLE])
    before = m.group(1).split()
    first: list[str] = []
    while before and len([w for w in first if w.lower() not in _ARTICLE]) < size:
        first.insert(0, before.pop())
    if before and before[-1].lower() in _ARTICLE:
        first.insert(0, before.pop())
    if not first or not second:
        return ()
    return (" ".join(first), " ".join(second))


_NAME_OF = re.compile(r"^what(?:'s| is| was| are| were)\s+(?:the\s+)?names?\s+of\b", re.I)
_WHICH = re.compile(r"^(?:which|what)\s+([a-z]+)\s+(?!did|does|do|is|was|are|were|has|have|"
                    r"had|can|could|would|will)[a-z]+", re.I)


def head_noun(text: str) -> str:
    """The thing a what/which question names ("What kind of flooring…" → "flooring",
    "Which song motivates…" → "song", "What is the name of…" → "name")."""
    if _NAME_OF.match(text):
        return "name"
    m = _HEAD_OF.match(text) or _HEAD.match(text) or _WHICH.match(text)
    if not m:
        return ""
    word = m.group(1).lower()
    return "" if word in STOPWORDS or word in QUESTION_WORDS else word
