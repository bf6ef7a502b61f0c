"""A person's sentences → atomic, third-person, dated facts (pure).

"Yeah, I painted that lake sunrise last year! It's special to me." said by
Melanie on 8 May 2023 becomes "Melanie painted that lake sunrise in 2022."
(an *event*, dated 2022) — the subject resolved by speaker, the time resolved
against the moment it was said (``core.temporal``), the sentence kept as
provenance. Steps, per clause of a message:

1. split into sentences, then at dashes and semicolons (``clauses``);
2. drop what is not a statement about the speaker: questions, greetings and
   thanks, reactions to the other person ("so happy for you"), clauses without
   a first-person word, clauses that say too little, OCR-like debris, clauses
   whose subject is a pronoun pointing at something said elsewhere ("It
   retries with backoff": the message stays searchable, no fact is written;
   "It was tough, but I did it" keeps "I did it");
3. strip leading interjections and vocatives ("Yeah,", "Thanks, Mel!");
4. rewrite to the third person: I/me/my/we/our → the speaker's name (verbs
   agreeing: "I am" → "Melanie is", "I love" → "Melanie loves"), "you" → the
   person addressed when known; for the person themself "I" → "You";
5. write relative times as absolute ones, keep the span in ``when``;
6. type it: event, plan, preference, relation, skill, state.

Fewer, clean facts are preferred to many garbled ones: anything the rewrite
cannot do cleanly (a "you" with nobody to resolve it to) is dropped. The
rewrite itself (step 4) is ``person.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from core.memory.text import STOPWORDS, content_words, sentences, squash, words
from core.memory.person import IRREGULAR_PAST, Voice, third_person
from core.temporal import TimeSpan, normalize_times

FactKind = Literal["event", "plan", "preference", "relation", "skill", "state", "opinion"]
FACT_KINDS: tuple[FactKind, ...] = ("event", "plan", "preference", "relation", "skill", "state",
                                    "opinion")

MIN_WORDS, MAX_WORDS = 4, 40
MIN_CONTENT = 3          # meaningful words a fact needs besides names and pronouns

_CAPTION = re.compile(r"\[(?:image|photo|picture)[^\]]*\]", re.IGNORECASE)
_CLAUSE_SPLIT = re.compile(r"\s+[–—-]{1,2}\s+|;\s+|\s*—\s*|\s+-\s+|:\s+(?=[A-Z])")
_INTERJECTIONS = ("hey|hi|hello|wow|whoa|oh|ooh|yeah|yep|yes|yup|nope|no|thanks|thank you|"
                  "haha|hahaha|lol|omg|aww|aw|awesome|cool|great|nice|well|so|ok|okay|sure|"
                  "totally|absolutely|definitely|right|true|ah|hmm|ugh|man|anyway|btw|"
                  "also|plus|and|but|honestly|actually|exactly|indeed|sounds great|"
                  "that's great|congrats|congratulations|thanks so much|thank you so much|"
                  "good to hear|glad to hear|i know|you know|i see|sorry|hey there|"
                  "by the way|speaking of which|guess what|you know what|anyways|fyi")
# A vocative after an interjection is a capitalised name before punctuation ("Hey Mel!",
# "Thanks Gina,"), never any word: "Sorry to hear…", "And LeBron is the man" keep theirs.
_LEAD = re.compile(rf"^(?:(?:{_INTERJECTIONS})\b(?!\s+to\b)(?:(?-i:\s+[A-Z][a-z]+)(?=\s*[,!.…]))?"
                   rf"\s*[,!.…]*\s+)+", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|I'd|I’d|I'll|I’ll|me|my|mine|myself|"
                           r"we|we're|we’re|we've|we’ve|we'll|we’ll|we'd|our|ours|ourselves|us)\b",
                           re.IGNORECASE)
# Sentences that react to the other person or to the chat, not facts about anyone.
_REACTION = re.compile(
    r"^(?:I'm|I’m|I am)\s+(?:so\s+|really\s+|super\s+|very\s+)?(?:glad|happy|sorry|proud|"
    r"thrilled|excited|stoked)\s+(?:for|to hear|that you|you)\b|"
    r"^I\s+(?:hope|bet|wish|agree|understand|see|know what|can't wait to (?:see|hear)|"
    r"can imagine|totally get|get what|love (?:that|this|how|your|it|the pic|the photo)|"
    r"think (?:you|it's|that's)|appreciate (?:it|that|you)\s*[.!]*$)\b|"
    r"^(?:let me|let's|lemme|talk (?:to you|soon)|see you|catch you|take care|keep it up|"
    r"keep (?:up|going)|good luck|can't wait|check (?:it |this |that )?out|look at|"
    r"check (?:this|these|my|the|out)\b|"
    r"^(?:so\s+)?(?:sorry|glad|happy|nice|good|great)\s+to\s+(?:hear|see|know|meet|read)\b|"
    r"take a look|here's|here is|here are|this is|that's)\b", re.IGNORECASE)
_FRAGMENT = re.compile(r"^(?:thanks|thank you|thx|which|who|whom|whose|where|because|'cause|"
                       r"cause|than|then|though|although|unless|until|like|as well)\b",
                       re.IGNORECASE)
_SUBJECT_START = re.compile(r"^(?:I|I'm|I’m|I've|I’ve|I'd|I’d|I'll|I’ll|we|we're|we’re|we've|"
                            r"we’ve|it|it's|it’s|that|that's|this|they|they're|my|our|he|she|"
                            r"there|so|but|and)\b", re.IGNORECASE)
_HYPOTHETICAL = re.compile(r"^(?:if|when you|whenever you|maybe|perhaps|would you|could you|"
                           r"do you|have you|did you|are you|what|how|why|who|where)\b",
                           re.IGNORECASE)
_LOW_VALUE = frozenset("""
glad happy great awesome amazing cool nice wow thanks thank proud hear heard good fun sounds
super totally agree mean know think sure wish hope luck exciting excited congrats wonderful
fantastic incredible beautiful pic photo picture cute lovely stuff yeah absolutely definitely
appreciate thing things way lot kind sort gonna wanna gotta glad feel feels felt time
""".split())

_PLAN = re.compile(r"\b(?:going to|gonna|will|'ll|’ll|plan(?:ning)? to|planning|thinking "
                   r"(?:about|of)|hoping to|hope to|want to|would like to|intend|about to|"
                   r"looking forward|next|soon|upcoming)\b", re.IGNORECASE)
_PREFERENCE = re.compile(r"\b(?:love|loves|like|likes|enjoy|enjoys|prefer|prefers|favou?rite|"
                         r"fan of|passionate|(?:am|'m|’m|are|is|really|so)\s+into|hate|hates|can't stand|adore|"
                         r"obsessed)\b",
                         re.IGNORECASE)
_SKILL = re.compile(r"\b(?:can|know how to|learn(?:ing|ed|t)? (?:to|how)|good at|skilled|"
                    r"play(?:s|ing)? the|practic(?:e|ing)|taught (?:myself|me))\b",
                    re.IGNORECASE)
_RELATION_WORD = re.compile(r"\bmy\s+(?:sister|brother|wife|husband|partner|mother|mom|mum|"
                            r"father|dad|son|daughter|kids?|children|boss|friend|best friend|"
                            r"girlfriend|boyfriend|cousin|aunt|uncle|grandma|grandmother|"
                            r"grandpa|grandfather|family|parents|colleague|roommate|neighbou?r)",
                            re.IGNORECASE)
_PAST_VERB = re.compile(r"\b(?:I|we)\s+(?:\w+ly\s+|just\s+|also\s+|finally\s+|recently\s+)?"
                        r"(?:\w+ed|" + "|".join(sorted(IRREGULAR_PAST)) + r")\b",
                        re.IGNORECASE)


@dataclass(frozen=True)
class Fact:
    """One atomic fact from a sentence.

    ``subject`` is the name the fact is about ("Melanie", or the person's own
    label such as "You"); ``sentence`` the words it was read from; ``when``
    the resolved time the fact refers to, if the sentence said one.
    """

    text: str
    subject: str
    kind: FactKind
    sentence: str
    when: TimeSpan | None = None


def clauses(text: str) -> list[str]:
    """Sentences of ``text`` split further at dashes and semicolons; image captions removed."""
    out: list[str] = []
    for sentence in sentences(_CAPTION.sub(" ", text)):
        parts: list[str] = []
        for piece in (squash(c) for c in _CLAUSE_SPLIT.split(sentence) if c and c.strip()):
            # Split only where a new clause with its own subject starts; a list or an
            # aside after a dash ("- running, reading -") stays with its sentence.
            # A question tagged on after a dash ("I finished a project - want to see?")
            # is a clause of its own, dropped later, not part of the statement.
            asks = piece.rstrip("\"'”)] ").endswith("?") or bool(re.match(
                r"(?:come|check|look|see|guess|wish me|let me|lemme)\b", piece, re.IGNORECASE))
            if parts and not _SUBJECT_START.match(piece) and not asks:
                parts[-1] = f"{parts[-1]} - {piece}"
            else:
                parts.append(piece)
        out += parts
    return out


def without_vocative(clause: str, voice: Voice) -> str:
    """``clause`` without a leading "Melanie," or its short form "Mel," (a vocative)."""
    m = re.match(r"([A-Z][a-z]+),\s+", clause)
    if m and voice.addressee and len(m.group(1)) >= 2 and voice.addressee.startswith(m.group(1)):
        return strip_lead(clause[m.end():])
    return clause


def strip_lead(clause: str) -> str:
    """Without leading interjections and vocatives: "Yeah, I did" → "I did"."""
    stripped = _LEAD.sub("", clause).strip()
    return stripped[:1].upper() + stripped[1:] if stripped else stripped


def well_formed(sentence: str) -> bool:
    """A sentence a person wrote, not OCR debris: mostly words, few symbols, real length.

    Used for screen and file text: at least five words, letters make up most of
    it, most words are plain lower-case or capitalised words of two or more
    letters, and no run of one-letter fragments.
    """
    ws = sentence.split()
    if len(ws) < 5 or len(sentence) > 400:
        return False
    letters = sum(c.isalpha() for c in sentence)
    if letters < 0.75 * len(sentence.replace(" ", "")):
        return False
    plain = [w for w in ws if re.fullmatch(r"[(\"'“‘]?[A-Za-z][a-z'’]+[.,;:!?)\"'”’]*|[Ia]", w)]
    if len(plain) < 0.8 * len(ws):
        return False
    singles = sum(1 for w in ws if len(w.strip(".,;:!?")) == 1 and w not in ("I", "a", "A"))
    # A menu bar or a list of titles is all capitals; prose has lower-case words.
    lower = sum(1 for w in ws if w[:1].islower())
    return singles <= 1 and sentence[:1].isupper() and lower >= 0.4 * len(ws)


def facts_from_text(text: str, voice: Voice, anchor: datetime | date, *,
                    require_well_formed: bool = False, opinions: bool = False) -> list[Fact]:
    """Every fact the speaker (``voice``) states about themself in ``text``.

    ``opinions``: also keep what the speaker says about something else ("The
    transgender stories were so inspiring"), attributed as said by them
    ("Caroline said the transgender stories were so inspiring.") — for chat
    messages, where the speaker is known.
    """
    out: list[Fact] = []
    seen: set[str] = set()
    for raw in clauses(text):
        if require_well_formed and not well_formed(raw):
            continue
        fact = fact_from_clause(raw, voice, anchor)
        if fact is None and opinions:
            fact = (thanks_from_clause(raw, voice, anchor) or means_a_lot(raw, voice, anchor)
                    or advice_from_clause(raw, voice, anchor)
                    or opinion_from_clause(raw, voice, anchor))
        if fact is None:
            continue
        key = " ".join(words(fact.text))
        if key not in seen:
            seen.add(key)
            out.append(fact)
    return out


def fact_from_clause(raw: str, voice: Voice, anchor: datetime | date) -> Fact | None:
    """The fact in one clause, or None when it is not a clean statement about the speaker."""
    clause = strip_lead(raw)
    clause = without_vocative(clause, voice)
    if not clause or clause.rstrip("\"'”)] ").endswith("?"):
        return None
    if _FRAGMENT.match(clause) or (_FRAGMENT.match(raw) and not re.match(
            r"(?:I|I'm|I’m|I've|I’ve|I'd|I’d|I'll|I’ll|we|my|our)\b", clause)):
        return None  # "Thanks, Mel, for…", "which refreshes me": not a statement of its own
    # "Gonna give it a go" is the speaker's plan; "Gonna be a big change" is about "it".
    clause = re.sub(r"^(?:gonna|going to)\b(?!\s+be\b)", "I'm going to", clause,
                    flags=re.IGNORECASE)
    clause = re.sub(r"^been\s+(?!\w+ing\b)", "It's been ", clause, flags=re.IGNORECASE)
    clause = implied_subject(clause)
    clause = _own_subject(clause)
    if clause is None:
        return None
    n = len(clause.split())
    if n < MIN_WORDS or n > MAX_WORDS:
        return None
    if not _FIRST_PERSON.search(clause) or _REACTION.search(clause) or _HYPOTHETICAL.search(clause):
        return None
    if re.search(r"\b(?:you|your|yours|yourself|you're|you’re|you've|you'll|you'd|u|ya)\b",
                 clause, re.IGNORECASE) and voice.addressee is None:
        return None
    if not _informative(clause, voice):
        return None
    dated, mentions = normalize_times(clause, anchor)
    when = next((m.span for m in mentions), None)
    text = third_person(dated, voice)
    if text is None:
        return None
    text = re.sub(r",\s*too$", "", text.rstrip(" ,;:-–—!.…"))  # "got new shoes, too!"
    if voice.addressee:  # "… makes a difference, Joanna": the vocative is no part of it
        text = re.sub(rf",\s*{re.escape(voice.addressee)}$", "", text)
    text = text.rstrip(" ,;:-–—!.…") + "."
    text = text[:1].upper() + text[1:]
    return Fact(text=text, subject=voice.name, kind=classify(clause, when, anchor),
                sentence=raw, when=when)


# Chat drops the "I": "Researching adoption agencies", "Been reading that book",
# "Just got some new shoes". Gerunds that are things, not doings, are not such a lead.
_ING_NOUNS = frozenset("""
nothing something anything everything thing morning evening wedding building meeting feeling
ceiling king ring spring string sibling darling during according bring sing swing wing sling
""".split())
_LEAD_ADVERB = r"(?:(?:just|finally|recently|currently|still|also|now|really|so|totally)\s+)?"
_LEAD_ADVERB_RE = re.compile(_LEAD_ADVERB, re.IGNORECASE)
_GERUND_LEAD = re.compile(rf"^{_LEAD_ADVERB}(?P<g>[A-Za-z]{{3,}}ing)\s+(?=[a-z])", re.IGNORECASE)
_BEEN_LEAD = re.compile(rf"^{_LEAD_ADVERB}been\s+(?=\w+ing\b)", re.IGNORECASE)
_PAST_LEAD = re.compile(
    rf"^{_LEAD_ADVERB}(?:got|went|finished|started|signed up|bought|took|visited|joined|tried|"
    r"painted|booked|picked up|adopted|moved|baked|built|watched|wrote|learned|learnt|spent|"
    r"received|won|completed|attended|made|ran|read|saw|love|like|enjoy|adore|miss|dyed|"
    r"cooked|baked|planted|fixed|cleaned|finished|launched|published|sold|hosted|organized|"
    r"organised|volunteered|helped|wrapped up|picked|tried out|bought|found|lost|loved|enjoyed|"
    r"visited|signed|registered|applied|started|took up|got back|came back)\s+"
    r"(?=[a-z0-9])", re.IGNORECASE)


_MODAL_LEAD = re.compile(r"^(?:gotta|wanna)\s+[a-z]|^never\s+(?:\w+ed|been|"
                         + "|".join(sorted(IRREGULAR_PAST)) + r")\b", re.IGNORECASE)
_SUBJECT_VERB = re.compile(r"\b(?:makes|made|gives|gave|helps|helped|brings|brought|keeps|kept|"
                           r"motivates|motivated|means|meant|feels|seems|reminds|reminded|gets|"
                           r"takes|took|inspires|inspired|lets|pushes|pushed|drives|costs)\b",
                           re.IGNORECASE)


def implied_subject(clause: str) -> str:
    """``clause`` with the "I" chat leaves out put back ("Been reading…" → "I've been
    reading…"); unchanged when it has a subject or the lead is a gerund subject
    ("Painting is my escape": that is a statement about painting)."""
    adverb = len(_LEAD_ADVERB_RE.match(clause).group(0))
    lead_end = adverb + len(clause[adverb:].split(" ", 1)[0])
    if re.match(r"^(?:took|takes)\s+(?:me|us)\b", clause, re.IGNORECASE):
        return "It " + clause[:1].lower() + clause[1:]  # "Took me ages to finish it"
    if _SUBJECT_VERB.search(clause, lead_end):
        return clause  # "Seeing the kids smile makes my day": the gerund is the subject
    if _FIRST_PERSON.search(clause):
        # "Dyed my hair last week" is the speaker's doing; "Seeing my students succeed…",
        # "Made my day", "Took me ages" are not.
        mine = not re.search(r"\b(?:me|myself|I|we|us)\b|\bmy day\b", clause, re.IGNORECASE)
        if mine and _PAST_LEAD.match(clause):
            return "I " + clause[:1].lower() + clause[1:]
        g = _GERUND_LEAD.match(clause)
        if mine and g and g.group("g").lower() not in _ING_NOUNS and not _FINITE.search(clause):
            return "I'm " + clause[:1].lower() + clause[1:]  # "Crossing my fingers for you"
        return clause
    m = _GERUND_LEAD.match(clause)
    finite = _FINITE.search(re.sub(r"\b(?:what|that|it|there|here|who|where)['’]s\b", "", clause)) \
        or re.search(r"\b(?:must|might|could|would|should|may)\b", clause, re.IGNORECASE)
    if m and m.group("g").lower() not in _ING_NOUNS and not finite:
        return "I'm " + clause[:1].lower() + clause[1:]
    if _BEEN_LEAD.match(clause):
        return "I've " + clause[:1].lower() + clause[1:]
    if _PAST_LEAD.match(clause) or _MODAL_LEAD.match(clause):
        return "I " + clause[:1].lower() + clause[1:]
    return clause


# Advice to the other person ("Keep learning and growing!", "Don't give up, buddy!"):
# "Gina told Jon to keep learning and growing", not "Gina said Keep learning…".
_IMPERATIVE = re.compile(
    r"^(?P<neg>don't|dont|do not|never)?\s*(?P<verb>keep|use|try|take|make|remember|stay|enjoy|"
    r"believe|tackle|push|hang|go|give|be|find|focus|trust|follow|stick|reach|share|treat|"
    r"chase|embrace|celebrate|practice|practise|spend|reach out|think about|start|dream|"
    r"surround|listen|rest|relax|learn|own|write|get|put|forget|worry|hesitate|"
    r"stop|quit)\b(?!['’])", re.IGNORECASE)


def advice_from_clause(raw: str, voice: Voice, anchor: datetime | date) -> Fact | None:
    """Advice the speaker gives the person they talk to, as "A told B to …", or None."""
    clause = strip_lead(raw)
    clause = without_vocative(clause, voice)
    clause = re.sub(r",\s*(?:buddy|mate|dude|girl|man|my friend|friend|" +
                    re.escape(voice.addressee or "-") + r")\s*([!.]*)$", r"\1", clause)
    m = _IMPERATIVE.match(clause)
    if m is None or voice.addressee in (None, "you") or voice.second_person:
        return None
    if clause.rstrip("\"'”)] ").endswith("?") or not 3 <= len(clause.split()) <= MAX_WORDS:
        return None
    if not _informative(clause, voice) or re.search(r"\b(?:it|this|that)\s*[.!]*$", clause) \
            or re.match(r"^keep (?:it|that|this) up\b", clause, re.IGNORECASE) \
            or re.search(r"\b(?:got|finally|yesterday|had|was|were|did)\b", clause, re.IGNORECASE):
        # "Put in a ton of late nights but finally got it done": a past doing, not advice
        return None  # "Keep it up!": nothing to remember
    dated, mentions = normalize_times(clause, anchor)
    body = third_person(dated[m.end("neg"):].lstrip() if m.group("neg") else dated, voice)
    if body is None:
        return None
    body = body[:1].lower() + body[1:]
    body = re.sub(r"\bthemself\b", "themself", body).rstrip(" ,;:-–—!.…")
    text = (f"{voice.name} told {voice.addressee} {'not ' if m.group('neg') else ''}"
            f"{'never ' if (m.group('neg') or '').lower() == 'never' else ''}to {body}.")
    text = text.replace("not never to", "never to")
    return Fact(text=text, subject=voice.name, kind="opinion", sentence=raw,
                when=next((mm.span for mm in mentions), None))


# A subject that points at something said elsewhere ("It retries with backoff"): the
# sentence alone cannot say what "it" is, so the fact would read garbled.
_DEMONSTRATIVE_VERB = (r"is|was|are|were|has|have|had|will|would|can|could|should|might|may|"
                       r"must|does|did|do|one|really|just|also|still|always|never|totally|"
                       r"definitely|made|makes|make|helps|helped|gives|gave|sounds|sounded|"
                       r"looks|looked|seems|seemed|feels|felt|means|meant|gets|got|takes|took|"
                       r"goes|went|became|reminds|reminded|works|worked|keeps|kept")
_PRONOUN_SUBJECT = re.compile(
    r"^(?:(?:it|its|they|they're|they’re|they've|they’ve|he|he's|he’s|she|she's|she’s)\b"
    r"|(?:this|that|these|those)(?:['’]s\b|\s*[,.!]|\s*$|\s+(?:" + _DEMONSTRATIVE_VERB + r")\b))",
    re.IGNORECASE)
# "It" that stands for no thing: "It took me three years to…", "It was hard to leave…",
# "It's been a while since…" — the fact reads whole as it is.
_EXPLETIVE_IT = re.compile(
    r"^it\s+(?:took|takes|has taken|had taken|will take)\b|"
    r"^it(?:['’]s|\s+has|\s+had)\s+been\s+(?:a\s+)?(?:while|long|ages|years|months|weeks|days)\b|"
    r"^it(?:['’]s|\s+is|\s+was|\s+will be|\s+would be|(?:['’]s|\s+has|\s+had)\s+been)\s+"
    r"(?:\w+\s+){1,2}?(?:to|that)\b|"
    r"^it(?:['’]s|\s+is|\s+was|(?:['’]s|\s+has|\s+had)\s+been)\s+(?:so\s+|really\s+|very\s+)?"
    r"(?:awesome|amazing|great|fun|nice|cool|hard|scary|exciting|inspiring|wonderful|rewarding|"
    r"satisfying|weird|strange|funny|crazy|lovely|good|sad|difficult|interesting|surreal|"
    r"incredible|fulfilling|special)\s+\w+ing\b",  # "It's awesome seeing my vision happen"
    re.IGNORECASE)
# Where a clause about the speaker starts after such a lead: "It was tough, but I did it".
# Or a gerund is its subject: "It's been stressful, but dancing has kept me going".
_OWN_CLAUSE = re.compile(
    r"(?:,\s+(?:(?:and|but|so)\s+)?|\s+(?:and|but|so)\s+)(?=(?:I|I'm|I’m|I've|I’ve|I'd|I’d|"
    r"I'll|I’ll|we|we're|we’re|we've|we’ve|we'll|we’ll|my|our)\b)|"
    r"(?:,\s+)?\s*\b(?:but|so)\s+(?=[a-z]+ing\s+(?:has|had|is|was|keeps|kept|helps|helped|"
    r"makes|made|gives|gave)\b)")


def _own_subject(clause: str) -> str | None:
    """``clause`` when its subject is not a pronoun pointing elsewhere; else the part
    after a comma that has the speaker as subject; else None (not written as a fact —
    the message itself stays searchable)."""
    if not _PRONOUN_SUBJECT.match(clause) or _EXPLETIVE_IT.match(clause):
        return clause
    rest = _OWN_CLAUSE.split(clause, maxsplit=1)
    if len(rest) < 2 or _PRONOUN_SUBJECT.match(rest[1]):
        return None
    return rest[1][:1].upper() + rest[1][1:]


_UNRESOLVED_START = re.compile(r"^(?:it|it's|that|that's|this|these|those|they|they're|he|she|"
                               r"there|here|his|her|their|its|them|what|wow|so|such|sounds|"
                               r"looks|seems|same|yes|no|not|nothing|anything|everything)\b",
                               re.IGNORECASE)


_FINITE = re.compile(r"\b(?:is|are|was|were|has|have|had|makes?|made|brings?|helps?|can|will|"
                     r"gives?|keeps?)\b|['’]s\b", re.IGNORECASE)


_YOU = re.compile(r"\b(?:you|your|yours|yourself|you're|you’re|you've|you'll|you'd|u|ya)\b",
                  re.IGNORECASE)
_THANKS = re.compile(r"^(?:(?:yeah|hey|oh|wow|aw+|and)\W+(?:[A-Z][a-z]+\W+)?)*(?:thanks|thank you|thx)(?:\s+(?:so much|"
                     r"a lot|a ton|again))?(?:,?\s+[A-Z][a-z]+)?,?\s+for\s+(?P<what>[^.!?]+)",
                     re.IGNORECASE)


_MEANS_A_LOT = re.compile(
    r"^(?:(?:yeah|hey|oh|wow|aw+|and|thanks|thank you)\W+(?:[A-Z][a-z]+\W+)?)*(?:your|ur)\s+"
    r"(?P<what>[a-z][\w\s,'’-]{2,80}?)\s+(?:really\s+|truly\s+|just\s+)?(?:means?|meant)\s+"
    r"(?:a lot|so much|the world|a ton|everything)\b", re.IGNORECASE)


def means_a_lot(raw: str, voice: Voice, anchor: datetime | date) -> Fact | None:
    """"Your support means a lot" → "Joanna appreciates Nate's support", or None."""
    m = _MEANS_A_LOT.match(raw.strip())
    if m is None or voice.addressee in (None, "you") or voice.second_person:
        return None
    what = third_person(m.group("what").strip(), voice)
    if what is None:
        return None
    return Fact(text=f"{voice.name} appreciates {voice.addressee}'s {what}.", subject=voice.name,
                kind="opinion", sentence=raw)


def thanks_from_clause(raw: str, voice: Voice, anchor: datetime | date) -> Fact | None:
    """"Thanks for having my back" → "Jon thanked Gina for having Jon's back", or None."""
    m = _THANKS.match(raw.strip())
    if m is None or voice.addressee in (None, "you") or voice.second_person:
        return None
    what = re.sub(r",\s*(?:[A-Z][a-z]+|buddy|mate|friend)\s*$", "",
                  m.group("what").strip(" ,;:-–—"))
    if len(what.split()) < 2 or len(what.split()) > MAX_WORDS:
        return None
    dated, mentions = normalize_times(what, anchor)
    body = third_person(dated, voice)
    if body is None:
        return None
    return Fact(text=f"{voice.name} thanked {voice.addressee} for {body}.", subject=voice.name,
                kind="opinion", sentence=raw, when=next((mm.span for mm in mentions), None))


_EVALUATIVE = re.compile(
    r"\b(?:important|key|awesome|amazing|great|inspiring|special|essential|worth|best|fun|hard|"
    r"tough|rewarding|beautiful|powerful|crucial|necessary|cool|good|nice|wonderful|incredible|"
    r"lovely|meaningful|helpful|valuable|fulfilling|exciting|stressful|difficult|perfect|"
    r"matters|priceless|relaxing|calming|therapeutic|motivating|inspirational|healthy|"
    r"satisfying|scary|sad|amazing|fantastic|gorgeous|stunning|brilliant|unique|vital)\b",
    re.IGNORECASE)


def opinion_from_clause(raw: str, voice: Voice, anchor: datetime | date) -> Fact | None:
    """A statement about something else, attributed to the speaker ("Ana said …"), or None.

    Only clean, self-contained statements: no first or second person, no
    leading pronoun that points elsewhere, enough meaningful words.
    """
    clause = strip_lead(raw)
    clause = without_vocative(clause, voice)
    if re.match(r"^[A-Za-z]+ing\b", clause) and not _FINITE.search(clause):
        return None  # "Loving the inclusivity": whose, and what about it?
    if _IMPERATIVE.match(clause) or re.match(r"(?:gonna|going to|been|gotta|wanna)\b", clause,
                                             re.IGNORECASE):
        # Advice ("Keep learning"), written by ``advice_from_clause`` when it can; or a
        # subject left out ("Gonna be a big change") that the sentence cannot tell.
        return None
    if voice.second_person or not clause or clause.rstrip("\"'”)] ").endswith("?"):
        return None
    if _FRAGMENT.match(raw) or (_UNRESOLVED_START.match(clause) and not _EXPLETIVE_IT.match(
            clause)) or _HYPOTHETICAL.search(clause) or _REACTION.search(clause):
        return None
    n = len(clause.split())
    # "Your commitment to helping others is inspiring": said to someone we can name.
    addressed = voice.addressee not in (None, "you")
    to_you = _YOU.search(clause)
    if n < 5 or n > MAX_WORDS or _FIRST_PERSON.search(clause) or (to_you and not addressed):
        return None
    names = {voice.name.lower(), (voice.addressee or "").lower()}
    meaningful = [w for w in content_words(clause) if w not in _LOW_VALUE and w not in names]
    if len(meaningful) < MIN_CONTENT:
        return None
    dated, mentions = normalize_times(clause, anchor)
    if to_you:
        dated = third_person(dated, voice) or ""
        if not dated:
            return None
    ws = dated.split()
    first = re.sub(r"['’]s$", "", ws[0]).lower()
    second_lower = len(ws) > 1 and ws[1][:1].islower()
    people = {voice.name.lower(), (voice.addressee or "").lower()}
    if first not in people and (first in STOPWORDS or first in _LOW_VALUE or (
            second_lower and first.endswith(("ing", "s", "al", "ly", "e", "ed")))):
        dated = dated[:1].lower() + dated[1:]  # a capital that only began the sentence
    # A judgement ("… is so inspiring", "… is key") is what the speaker thinks; anything
    # else is what they said.
    glad = re.match(r"(?:so\s+|really\s+)?(?:glad|happy)\s+(?:that\s+)?", dated, re.IGNORECASE)
    verb = "is glad" if glad else "thinks" if _EVALUATIVE.search(dated) else "said"
    dated = dated[glad.end():] if glad else dated
    body = dated.rstrip(' ,;:-–—!.…')
    if voice.addressee:
        body = re.sub(rf",\s*{re.escape(voice.addressee)}$", "", body)
    text = f"{voice.name} {verb} {body}."
    return Fact(text=text, subject=voice.name, kind="opinion", sentence=raw,
                when=next((m.span for m in mentions), None))


def _informative(clause: str, voice: Voice) -> bool:
    names = {voice.name.lower(), (voice.addressee or "").lower()}
    meaningful = [w for w in content_words(clause) if w not in _LOW_VALUE and w not in names]
    return len(meaningful) >= MIN_CONTENT - (1 if len(clause.split()) >= 5 else 0)


def classify(clause: str, when: TimeSpan | None, anchor: datetime | date) -> FactKind:
    """The kind of fact a clause states (first matching rule wins)."""
    today = anchor.date() if isinstance(anchor, datetime) else anchor
    if (when is not None and when.start > today) or _PLAN.search(clause):
        return "plan"
    if when is not None and when.end <= today or _PAST_VERB.search(clause):
        return "event"
    if _RELATION_WORD.search(clause):
        return "relation"
    if _PREFERENCE.search(clause):
        return "preference"
    if _SKILL.search(clause):
        return "skill"
    return "state"
