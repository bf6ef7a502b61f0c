"""Cutting the answering span out of one sentence, by the kind of question.

Pure functions over text. ``pick_span(question, sentence)`` returns a few words:
a name for "who", a place for "where", a number for "how many", the clause after
"because" for "why", "Yes"/"No" and the fact for yes/no questions, and otherwise
the words next to the matched question words that the question does not already
contain (the object the question asks for).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.question import QUESTION_WORDS, Question, names_in, root, words
from core.retrieval import STOPWORDS

MAX_WORDS = 10
# The fact beside a yes/no verdict: enough to see why, short enough to read at a glance.
YESNO_WORDS = 12
_TOKEN = re.compile(r"[\w'’-]+|[^\w\s]")
_BOUNDARY = set(".,;:!?()[]—–…") | {"but", "because", "although", "though", "while",
                                     "which", "so", "cause", "if", "when", "since"}
_NUMBER = re.compile(r"\b(\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|"
                     r"eleven|twelve|twenty|thirty|forty|fifty|hundred|dozen|once|twice|"
                     r"a couple|a few|several)\b(\s+(?:of\s+)?[a-z]+){0,2}", re.I)
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_DIGITS = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_PLACE = re.compile(r"\b(?:in|at|to|from|near|around|into|visit(?:ed|ing)?|went to)\s+"
                    r"((?:the\s+)?(?:[A-Z][\w'-]*(?:\s+(?:of\s+)?[A-Z][\w'-]*){0,3}))")
_PLACE_LOWER = re.compile(r"\b(?:in|at|to|from|near)\s+((?:the|a|my|our|his|her)\s+"
                          r"[a-z]+(?:\s+[a-z]+)?)")
_KIN = re.compile(r"\b(my|our|his|her|their)\s+((?:best |old |little |big |younger |older )?"
                  r"(?:mom|mother|dad|father|parents|sister|brother|friends?|partner|wife|"
                  r"husband|son|daughter|kids?|children|family|boss|colleague|coworker|"
                  r"teacher|mentor|cousin|aunt|uncle|grand\w+|neighbou?r|team(?:mates)?))\b",
                  re.I)
_WHY = re.compile(r"\b(because|since|so that|in order to|as it|as they|due to|thanks to|"
                  r"to help|to)\b\s+(.+)", re.I)
_HOW = re.compile(r"\b(by|through|using|with)\b\s+(.+)", re.I)
_NEGATION = re.compile(r"\b(not|no|never|n't|nope|neither|nor)\b|n't\b", re.I)
_FIRST_PERSON = [(re.compile(r"\bmy\b", re.I), "{s}'s"), (re.compile(r"\bmine\b", re.I), "{s}'s"),
                 (re.compile(r"\bI'm\b"), "{s} is"), (re.compile(r"\bI've\b"), "{s} has"),
                 (re.compile(r"\bI\b"), "{s}"), (re.compile(r"\bme\b", re.I), "{s}"),
                 (re.compile(r"\bmyself\b", re.I), "{s}")]


@dataclass(frozen=True)
class SpanPick:
    """A span of evidence ``n`` that answers the question."""

    n: int
    text: str


def speaker_view(span: str, speaker: str) -> str:
    """First-person words in ``span`` rewritten to the speaker ("my mom" → "Ana's mom")."""
    name = speaker.split()[0] if speaker else ""
    if not name or name.lower() == "you":
        return span
    for pattern, repl in _FIRST_PERSON:
        span = pattern.sub(repl.format(s=name), span)
    return span


_LEAD = re.compile(r"^(?:(?:the|a|an|some|that|this|these|those|it|it's|is|was|are|were|of|"
                   r"about|for|to|and|just|really|so|also|here's|there's|that's|which|who|"
                   r"i'm|i've|i|we|we're|we've|been|be|currently|actually|definitely)\s+)+",
                   re.I)
_TRAIL = re.compile(r"(?:\s+(?:the|a|an|of|to|and|or|from|for|with|in|on|at|my|your|our|"
                    r"their|his|her|it|is|was|that|this|which|but|so|too|as))+$", re.I)


# When something happened answers "when", never "what": "got a puppy two weeks ago" → "puppy".
_WHEN_WORDS = re.compile(r"\b(?:(?:last|this|next|past)\s+(?:night|week(?:end)?|month|year|"
                         r"summer|winter|spring|fall|autumn|mon(?:day)?|tue(?:sday)?|"
                         r"wed(?:nesday)?|thu(?:rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)|"
                         r"(?:a|one|two|three|few|couple of)\s+(?:days?|weeks?|months?|years?)"
                         r"\s+ago|yesterday|today|tonight|tomorrow|recently|lately|"
                         r"just now|the other day|(?:on|in|during|by)\s+(?:the\s+(?:week|weekend)\s+"
                         r"of\s+)?(?:\d{1,2}\s+)?(?:January|February|March|April|May|June|July|"
                         r"August|September|October|November|December)(?:\s+\d{4})?|"
                         r"(?:on|in|during)\s+\d{4})\b", re.I)


def _clean(text: str) -> str:
    text = _WHEN_WORDS.sub(" ", text)
    text = " ".join(text.split()).strip(" ,;:—–-\"'“”")
    if len(text.split()) > 2:
        text = _LEAD.sub("", text) or text
    text = _TRAIL.sub("", text)
    return text.strip(" ,;:—–-\"'“”").rstrip(".!?…")


def _limit(text: str, n: int = MAX_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[:n])


def typed_span(q: Question, sentence: str) -> str:
    """The name, place or number ``sentence`` gives for a who/where/how-many question ("" if
    it holds none: then it does not answer that question, whatever words it shares)."""
    return pick_span(q, sentence, typed_only=True) if q.kind in ("who", "where", "count") else ""


def pick_span(q: Question, sentence: str, typed_only: bool = False) -> str:
    """The few words of ``sentence`` that answer ``q`` (the sentence, trimmed, if none fit).

    ``typed_only``: "" rather than the trimmed sentence when no name, place or number fits.
    """
    kind = q.kind
    if kind == "who":
        names = [n for n in names_in(sentence) if n not in q.names]
        if names:
            return _nearest_names(q, sentence, names)
        kin = _KIN.search(sentence)
        if kin:
            return kin.group(0)
    elif kind == "where":
        places = [m.group(1) for m in _PLACE.finditer(sentence)
                  if m.group(1).split()[-1] not in q.names]
        if places:
            return places[0]
        lower = _PLACE_LOWER.search(sentence)
        if lower:
            return lower.group(1)
        names = [n for n in names_in(sentence) if n not in q.names]  # "It's Seattle, …"
        if names:
            return _nearest_names(q, sentence, names)
    elif kind == "count":
        for m in _NUMBER.finditer(sentence):
            return _DIGITS.sub(lambda d: str(_NUMBER_WORDS[d.group(0).lower()]), _clean(m.group(0)))
    if typed_only:
        return ""
    if kind == "why":
        m = _WHY.search(sentence)
        if m:
            return _limit(_clean(m.group(2)), 14)
    elif kind == "how" and _FEELING_Q.search(q.text):  # "How did Ana feel …" → "scared"
        found = list(_FEELING.finditer(sentence))
        if found:  # the one said of what the question names ("the meteor shower was amazing")
            focus = {root(w) for w in q.focus}
            near = [m for m in found if focus & {root(w) for w in words(
                " ".join(sentence[:m.start()].split()[-4:]))}]
            return _TRAIL.sub("", (near or found)[0].group(1))
    elif kind == "how":
        m = _HOW.search(sentence)
        if m and len(m.group(2).split()) >= 2:
            return _limit(_clean(m.group(0)), 12)
    elif kind == "what" and q.head in ("name", "names"):  # "What is the name of X's dog?"
        names = [n for n in names_in(sentence) if n not in q.names]
        if names:
            return _nearest_names(q, sentence, names)
    elif kind == "what":
        head = q.head
        quoted = _QUOTED.search(sentence)
        if quoted and len(quoted.group(1).split()) <= 8 and (
                not head or root(head) in {root(w) for w in _TITLED}):
            return quoted.group(1).strip()
        if head:
            found = _around_head(head, sentence)
            if found:
                return found
    elif kind == "yesno":
        verdict = "No" if _NEGATION.search(sentence) else "Yes"
        return f"{verdict}: {_limit(_clean(novel_span(q, sentence) or sentence), YESNO_WORDS)}"
    return novel_span(q, sentence) or _limit(_clean(sentence), 12)


# A question about how something felt or was found: answered by the word that says it.
_FEELING_Q = re.compile(r"^how\s+(?:(?:did|does|do|was|is|were|are|has|have)\s+.*\b(?:feel|felt|"
                        r"describe|describes|find|react|think)\b|(?:was|is|were|are)\s+\S+"
                        r"(?:'s)?\s+\w+\s*\??$)", re.I)
_FEELING = re.compile(r"\b(?:was|is|were|are|'s|felt|feel|feels|feeling|seemed|seems|looked|looks|"
                      r"sounded|sounds)\s+(?:(?:so|really|super|very|pretty|quite|absolutely|totally|"
                      r"just|truly|incredibly|extremely|a bit|kinda|all)\s+)*"
                      r"((?!a\b|an\b|the\b|like\b|to\b|that\b|it\b|in\b|on\b|at\b|my\b|our\b|"
                      r"his\b|her\b|their\b|not\b)[a-z][a-z-]+(?:\s+and\s+[a-z][a-z-]+)?)", re.I)


_QUOTED = re.compile(r"[\"“]([^\"”]{2,80})[\"”]")
_TITLED = frozenset("""book novel song movie film show series album poem quote title sign
slogan poster name motto saying play podcast game band tv""".split())


def _nearest_names(q: Question, sentence: str, names: list[str]) -> str:
    """The name (with a following surname) closest to the question's words in ``sentence``."""
    focus = {root(w) for w in q.focus}
    tokens = _TOKEN.findall(sentence)
    marks = [i for i, t in enumerate(tokens) if root(t.lower()) in focus]
    best, best_d = names[0], 10 ** 6
    for i, tok in enumerate(tokens):
        if tok in names:
            d = min((abs(i - m) for m in marks), default=0)
            if d < best_d:
                full = tok
                if i + 1 < len(tokens) and tokens[i + 1][:1].isupper() \
                        and tokens[i + 1] not in q.names:
                    full = f"{tok} {tokens[i + 1]}"
                best, best_d = full, d
    return best


def _around_head(head: str, sentence: str) -> str:
    """"Marley flooring" for head "flooring": the modifiers before the head noun."""
    tokens = _TOKEN.findall(sentence)
    want = root(head)
    for i, tok in enumerate(tokens):
        if root(tok.lower()) != want:
            continue
        j = i
        while j > 0 and i - j < 3 and tokens[j - 1][:1].isalnum() \
                and tokens[j - 1].lower() not in STOPWORDS \
                and tokens[j - 1].lower() not in _FILLER and tokens[j - 1].lower() not in (
                    "i'm", "i've", "it's", "that's", "here's", "got", "get", "after", "like"):
            j -= 1
        if j < i:
            return " ".join(tokens[j:i + 1])
    return ""


def novel_span(q: Question, sentence: str) -> str:
    """The words beside the question's matched words that the question lacks.

    The sentence is cut into clauses. In the clause sharing most words with the
    question, the words after the last shared one are the answer; if nothing new
    follows, the words before it, else the next clause (the answer often follows
    a restatement: "That necklace is special - a gift from my grandma").
    """
    focus = {root(w) for w in q.focus}
    tokens = _TOKEN.findall(sentence)
    clauses: list[list[str]] = [[]]
    for tok in tokens:
        if tok in _BOUNDARY or tok.lower() in _BOUNDARY:
            clauses.append([])
        else:
            clauses[-1].append(tok)
    clauses = [c for c in clauses if c]

    def new_words(part: list[str]) -> list[str]:
        return [t for t in part if root(re.sub(r"'s$", "", t.lower())) not in focus
                and t.lower() not in STOPWORDS and t.lower() not in QUESTION_WORDS
                and t.lower() not in _FILLER]

    scored = []
    for i, clause in enumerate(clauses):
        roots = [root(re.sub(r"'s$", "", t.lower())) for t in clause]
        hits = [j for j, w in enumerate(roots) if w in focus]
        scored.append((len(hits), -i, i, hits))
    scored.sort(reverse=True)
    for n_hits, _, i, hits in scored[:2]:
        clause = clauses[i]
        if not hits:
            part = clause
        else:
            # The gap between matched words that holds most new words: the answer
            # sits between or after what the question already says. A "which
            # <thing>" question's object sits between its words ("recommended
            # tenacity for retries"), not in what trails them ("with … backoff").
            cuts = [-1, *hits, len(clause)]
            gaps = [clause[a + 1:b] for a, b in zip(cuts, cuts[1:])]
            counts = [len(new_words(_TOKEN.findall(_clean(" ".join(g))))) for g in gaps]
            inner = [bool(q.head) and q.kind == "what" and 0 < k < len(gaps) - 1
                     and counts[k] >= 1 for k in range(len(gaps))]
            # The gap with new words, right after a word the question says (the object
            # follows its verb: "took my turtles to the beach" → "turtles"), not the
            # longest one: a long trailing gap is usually a new thought.
            best = max(range(len(gaps)), key=lambda k: (inner[k], min(counts[k], 2), k > 0, -k))
            if counts[best] >= 1:
                part = gaps[best]
            elif i + 1 < len(clauses) and new_words(clauses[i + 1]):
                part = clauses[i + 1]
            else:
                continue
        text = _clean(_limit(" ".join(part), MAX_WORDS))
        if text:
            return text
    return ""


_FILLER = frozenset("""
yeah yes wow oh hey hi thanks thank awesome amazing great cool totally really super
lol haha glad happy love loved lovely nice good sounds sound pretty definitely
""".split())


def question_words(q: Question) -> set[str]:
    return {w for w in words(q.text) if w not in STOPWORDS}
