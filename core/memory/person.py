"""The third-person rewrite of a person's words (pure): "I" → the speaker, "you" → the
person addressed, verbs agreeing ("I am" → "Melanie is", "you feel" → "Jon feels").

Used by ``facts.py``; kept apart so the grammar is one place.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_MODALS = frozenset("can could will would should might must may shall did didn't can't won't "
                    "couldn't wouldn't shouldn't cannot used".split())
IRREGULAR_PAST = frozenset("""
went got made took saw had was were did said came gave found thought told became left felt
brought began kept held wrote stood heard let meant set met ran paid sat spoke lay led read
grew lost fell sent built understood drew broke spent cut rose drove bought wore chose sought
threw caught dealt won forgot hung taught sold put fought fed fled flew hid hit hurt knew lit quit
rode rang sang sank shook shot shut slept slid spun stole stuck struck swam swept swung
tore woke wound bent bled bet bit blew bore burst cast clung crept dug dove froze ground
""".split())
_ADVERBS = frozenset("""
really just also finally recently still always never usually actually often sometimes
totally definitely absolutely already even only mostly truly genuinely currently now
once again probably basically literally seriously honestly certainly simply
""".split())
_NOT_VERBS = frozenset("""
a an the to so very too not no and or but in on at for of with as am is are was were be been
being this that these those my your his her its our their it he she they we you i me
""".split())


@dataclass(frozen=True)
class Voice:
    """Who "I" and "you" are in a text.

    ``name`` replaces "I" ("Melanie"; "You" for the person themself, written
    in the second person); ``addressee`` replaces "you" (None: sentences with
    "you" are dropped — nobody to resolve it to).
    """

    name: str
    addressee: str | None = None

    @property
    def second_person(self) -> bool:
        return self.name == "You"


_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?|[^A-Za-z\s]+|\s+")


def third_person(text: str, voice: Voice) -> str | None:
    """``text`` with first (and second) person words replaced for ``voice``; None if unsure."""
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    named = False
    we_named = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        low = tok.lower().replace("’", "'")
        nxt_i = _next_word(tokens, i)
        nxt = tokens[nxt_i].lower().replace("’", "'") if nxt_i is not None else ""
        if low in ("i", "i'm", "i've", "i'd", "i'll") and (tok[0] == "I" or low == "i"):
            subject = voice.name
            out.append(subject)
            named = True
            if low == "i'm":
                out.append(" are" if voice.second_person else " is")
            elif low == "i've":
                out.append(" have" if voice.second_person else " has")
            elif low == "i'll":
                out.append(" will")
            elif low == "i'd":
                out.append(" had" if nxt.endswith("ed") or nxt in IRREGULAR_PAST or
                           nxt == "been" else " would")
            else:
                i = _agree(tokens, i, out, voice.second_person)
        elif low == "me" and ((i + 1 < len(tokens) and tokens[i + 1].startswith("-"))
                              or (i > 0 and tokens[i - 1].endswith("-"))):
            out.append(tok)  # "me-time" is a word of its own
        elif low in ("me",):
            out.append("you" if voice.second_person else voice.name)
            named = True
        elif low == "myself":
            out.append("yourself" if voice.second_person else "themself")
        elif low in ("my", "mine"):
            out.append(_possessive(voice, named, low == "mine"))
            named = True
        elif low in ("we", "we're", "we've", "we'll", "we'd"):
            subject = "they" if we_named else ("you and others" if voice.second_person
                                               else f"{voice.name} and others")
            we_named = True
            out.append(subject)
            out.append({"we're": " are", "we've": " have", "we'll": " will",
                        "we'd": " would"}.get(low, ""))
        elif low in ("our", "ours"):
            out.append("their" if (named or we_named) else _possessive(voice, False, False))
            named = True
        elif low == "us":
            out.append("them")
        elif low in ("you", "you're", "you've", "you'll", "you'd", "your", "yours", "yourself",
                     "u", "ya"):
            if voice.addressee is None or voice.second_person:
                return None
            a = voice.addressee
            if a == "you":  # said to the person themself: "you" stays "you"
                out.append(tok)
            elif low in ("you", "u", "ya"):
                if nxt in ("guys", "all", "both", "two", "folks", "lot"):
                    return None  # "you guys": more people than the one addressed
                out.append(a)
                j = _next_word(tokens, i)
                agreed = {"are": "is", "were": "was", "have": "has", "do": "does",
                          "don't": "doesn't", "haven't": "hasn't", "aren't": "isn't"}
                if j is not None and tokens[j].lower() in agreed:
                    out.append(" " + agreed[tokens[j].lower()])  # only a subject "you" agrees
                    i = j
                elif j is not None and _you_subject(out[:-1]):
                    i = _agree(tokens, i, out, False)  # "sure you feel great" → "Jon feels"
            elif low in ("your", "yours"):
                out.append(f"{a}'s")
            elif low == "yourself":
                out.append("themself")
            else:
                out.append(a + {"you're": " is", "you've": " has", "you'll": " will",
                                "you'd": " would"}[low])
        else:
            out.append(tok)
        i += 1
    text = "".join(out)
    text = re.sub(r"\s+", " ", text).strip()
    return text


# Words after which "you" is a verb's subject ("I'm sure you feel", "glad you like it"),
# not its object ("thank you", "to you").
_BEFORE_SUBJECT = frozenset("sure that think hope know if when because and but so glad happy "
                            "bet guess as while since until once though although unless what how "
                            "where why who".split())


def _you_subject(before: list[str]) -> bool:
    words_before = [t for t in before if t.strip()]
    if not words_before:
        return True
    prev = words_before[-1].strip().lower()
    return prev in _BEFORE_SUBJECT or prev in (",", ".", "!", "-")


def _next_word(tokens: list[str], i: int) -> int | None:
    for j in range(i + 1, len(tokens)):
        if tokens[j].strip():
            return j if re.match(r"[A-Za-z]", tokens[j]) else None
    return None


def _agree(tokens: list[str], i: int, out: list[str], second: bool) -> int:
    """Make the verb after a new third-person subject agree; return the last index used."""
    j = _next_word(tokens, i)
    while j is not None and tokens[j].lower() in _ADVERBS:
        out.append(" " + tokens[j])
        i = j
        j = _next_word(tokens, j)
    if j is None:
        return i
    verb = tokens[j]
    low = verb.lower().replace("’", "'")
    if second:
        new = {"am": "are", "was": "were"}.get(low, verb)
    else:
        new = {"am": "is", "are": "is", "were": "was", "have": "has", "do": "does",
               "wanna": "wants to", "gotta": "has to", "gonna": "is going to",
               "don't": "doesn't", "haven't": "hasn't", "aren't": "isn't", "weren't": "wasn't",
               "'m": "is"}.get(low)
        if new is None:
            new = verb if (low in _MODALS or low in IRREGULAR_PAST
                           or (low.endswith("ed") and low not in _PRESENT_ED)
                           or low in _NOT_VERBS or low in ("was", "has", "does", "is")
                           or "'" in low or not low.isalpha()) else _inflect(verb)
    out.append(" " + new)
    return j


_PRESENT_ED = frozenset("need feed succeed proceed exceed bleed breed speed heed embed shed".split())


def _inflect(verb: str) -> str:
    low = verb.lower()
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if low.endswith("y") and len(low) > 2 and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _possessive(voice: Voice, named: bool, alone: bool) -> str:
    if voice.second_person:
        return "yours" if alone else "your"
    if named:
        return "theirs" if alone else "their"
    return f"{voice.name}'s"
