"""Guards on a model's answer: nothing of the prompt's framing reaches the person, and an
answer is shown as grounded only when the evidence it cites supports it.

- ``MarkerFilter`` works on the token stream: evidence delimiters (``⟦nonce n⟧``),
  the nonce itself, special tokens (``<|im_end|>``, ``</s>``, ``[INST]`` …) and role
  markers at the start of a line ("assistant:") are removed. A piece that may be
  the first half of one of them is held back until the next piece decides it, so
  half a delimiter never reaches the UI.
- ``strip_framing`` does the same to a whole text (the final answer).
- ``supported`` checks an answer against the passages it cites, sentence by sentence:
  each sentence's content words must mostly appear there, or it must be a close
  paraphrase (embedding cosine) adding no more than a couple of words of its own.
- ``answers_kind`` checks the answer has the shape its question asks for (a date for
  *when*, a number for *how many*).
- ``dates_supported``: a date in an answer must be one its cited items say (named in
  the text, resolved against when it was said, or that day itself).
  ``same_time``: nor may it move the date the sources' own reading resolved.
- ``answer_budget`` fits the token limit to the kind of question (a short answer and
  its citation: one line, so generation also stops at the first newline).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Callable, Sequence

from core.question import QUESTION_WORDS, Kind, root, words
from core.retrieval import STOPWORDS
from core.temporal import find_times, span_for

# Literal strings that are the start of something to strip; a stream tail that is a
# prefix of one of them is held back.
_OPENERS = ("⟦", "<|", "</s", "<s>", "[INST", "[/INST", "<<SYS", "<</SYS", "im_start",
            "im_end", "eot_id", "<end_of_turn", "<start_of_turn")
_ROLE = re.compile(r"(^|\n)[ \t]*(system|assistant|user|developer|question|evidence|answer)"
                   r"[ \t]*:[ \t]*", re.I)
_ROLE_WORDS = ("system", "assistant", "user", "developer", "question", "evidence", "answer")
_FRAMING = re.compile(
    r"⟦[^⟧\n]{0,40}⟧|⟦|⟧|<\|[^|>\n]{0,40}\|>|</?s>|\[/?INST\]|<</?SYS>>|"
    r"<(?:start|end)_of_turn>|\b(?:im_start|im_end|eot_id)\b|<\||\|>", re.I)
_OPENING = re.compile(r"⟦[^⟧/\s]{0,16}\s*(\d{1,3})\s*⟧")
HOLD_LIMIT = 48  # a held tail longer than any marker is released


def strip_framing(text: str, nonce: str = "") -> str:
    """``text`` without delimiters, the nonce, special tokens or leading role markers."""
    # A model that opens a quote marker ("⟦ab12cd 3⟧") is pointing at evidence 3: keep
    # that as a citation (it is checked like any other), drop the marker itself.
    text = _OPENING.sub(lambda m: f" [{m.group(1)}] ", text)
    if nonce:
        text = re.sub(rf"/?{re.escape(nonce)}(?:\s+\d{{1,3}})?", "", text)
    text = _FRAMING.sub("", text)
    text = _ROLE.sub(lambda m: m.group(1), text)
    return text


class MarkerFilter:
    """Feed streamed pieces in; get text out with the prompt's framing removed."""

    def __init__(self, nonce: str = "") -> None:
        self.nonce = nonce
        self._held = ""
        self._at_line_start = True

    def feed(self, piece: str) -> str:
        buffer = self._held + piece
        keep = self._unsafe_tail(buffer)
        ready, self._held = buffer[:len(buffer) - keep], buffer[len(buffer) - keep:]
        return self._clean(ready)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return self._clean(held)

    def _clean(self, text: str) -> str:
        if not text:
            return ""
        prefix = "" if self._at_line_start else "\x00"  # role markers only at line starts
        cleaned = strip_framing(prefix + text, self.nonce).lstrip("\x00")
        self._at_line_start = text.endswith("\n")
        return cleaned

    def _unsafe_tail(self, buffer: str) -> int:
        """How many characters at the end of ``buffer`` could still become framing."""
        longest = 0
        candidates = list(_OPENERS)
        if self.nonce:
            candidates.append(self.nonce)
        for opener in candidates:  # the tail is a prefix of an opener
            for k in range(min(len(opener), len(buffer)), 0, -1):
                if buffer.endswith(opener[:k]):
                    longest = max(longest, k)
                    break
        # An opened marker not closed yet ("⟦2cda", "<|im_") is held whole.
        for start, end in (("⟦", "⟧"), ("<|", "|>"), ("[INST", "]"), ("[/INST", "]"),
                           ("<<SYS", ">>"), ("<</SYS", ">>")):
            i = buffer.rfind(start)
            if i != -1 and end not in buffer[i + len(start):] \
                    and len(buffer) - i <= HOLD_LIMIT:
                longest = max(longest, len(buffer) - i)
        # A line that so far could be a role marker ("assist", "user:").
        line_start = buffer.rfind("\n") + 1
        if line_start > 0 or self._at_line_start:
            line = buffer[line_start:].lstrip().lower()
            if line and len(line) <= 12 and any(w.startswith(line.rstrip(":").rstrip())
                                               or line.startswith(w) for w in _ROLE_WORDS):
                longest = max(longest, len(buffer) - line_start)
        return longest


# -- grounding ----------------------------------------------------------------------
Similarity = Callable[[str, Sequence[str]], Sequence[float]]
MIN_WORD_SUPPORT = 0.6
MIN_MEANING_SUPPORT = 0.55


def claim_words(answer: str, question: str) -> set[str]:
    """The content words an answer adds beyond the question (roots)."""
    asked = {root(w) for w in words(question)}
    text = re.sub(r"\[\d{1,3}\]", " ", answer)
    return {root(w) for w in words(text)
            if w not in STOPWORDS and w not in QUESTION_WORDS and root(w) not in asked
            and not w.isdigit() or (w.isdigit() and len(w) == 4)}


def supported(answer: str, question: str, passages: Sequence[str],
              similarity: Similarity | None = None) -> bool:
    """Whether the cited ``passages`` support ``answer``.

    Most of the answer's own content words must appear in what it cites; failing
    that, its meaning must be close to one of the cited passages.
    """
    if not passages:
        return False
    claims = claim_words(answer, question)
    if not claims:  # nothing beyond the question's words: it says nothing checkable
        return False
    cited = {root(w) for p in passages for w in words(p)}
    # Every sentence that adds words must hold up on its own: a supported opening
    # cannot carry an invented second sentence.
    for sentence in _SENTENCE_END.split(answer):
        own = claim_words(sentence, question)
        if own and not _holds(sentence, own, cited, passages, similarity):
            return False
    return True


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“'(\[])")
MAX_UNSUPPORTED_PARAPHRASE = 2  # words a paraphrase may add beyond what it cites


def _holds(sentence: str, claims: set[str], cited: set[str], passages: Sequence[str],
           similarity: Similarity | None) -> bool:
    found = len(claims & cited)
    if found / len(claims) >= MIN_WORD_SUPPORT:
        return True
    # A paraphrase: close in meaning, and adding at most a couple of words of its own.
    if similarity is None or len(claims) - found > MAX_UNSUPPORTED_PARAPHRASE:
        return False
    text = re.sub(r"\[\d{1,3}\]", " ", sentence)
    return max(similarity(text, list(passages))) >= MIN_MEANING_SUPPORT


_MONTH = (r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|"
          r"sep(t|tember)?|oct(ober)?|nov(ember)?|dec(ember)?")
_ABSOLUTE_TIME = re.compile(rf"\b(({_MONTH})\b|(19|20)\d\d\b|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b|"
                            r"\d{1,2}(:\d\d)?\s*(am|pm)\b|\d\d:\d\d\b)", re.I)
_NUMBER = re.compile(r"\b(\d+(\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|"
                     r"eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|dozen|once|"
                     r"twice|none|no|zero|several|a few|many)\b", re.I)
_YES_NO = re.compile(r"^\W*(yes|no|not|never|nope|yeah|likely|probably|maybe)\b", re.I)


def answers_kind(answer: str, kind: Kind, question: str, people: Sequence[str] = ()) -> bool:
    """Whether ``answer`` has the shape its question asks for.

    A *when* answer holds an absolute date or time (a relative "last week" is the
    evidence's, not the answer's, frame), a *how many* answer a number, a yes/no
    answer starts with one; and no answer but a *who* one may be only the names
    of the people talking ("Gina [3]" to "Where is Jon's internship?").
    """
    text = re.sub(r"\[\d{1,3}\]", " ", answer)
    if kind == "when" and not _ABSOLUTE_TIME.search(text):
        return False
    if kind == "count" and not _NUMBER.search(text):
        return False
    if kind == "yesno" and not _YES_NO.search(text):
        return False
    names = {root(w) for p in people for w in words(p)}
    return kind == "who" or bool(claim_words(text, question) - names)


def dates_supported(answer: str, cited: Sequence[tuple[str, datetime]]) -> bool:
    """Whether the dates ``answer`` gives are ones its cited items say.

    ``cited``: each cited item's text and when it was said or seen. An item's dates
    are the times its text names, read against that moment ("last Saturday"), or,
    when it names none, the day itself. Every date in the answer must overlap one.
    """
    if not cited:
        return False
    text = re.sub(r"\[\d{1,3}\]", " ", answer)
    given = [m.span for m in find_times(text, cited[0][1].astimezone())]
    if not given:
        return False
    said = []
    for passage, moment in cited:
        local = moment.astimezone()
        spans = [m.span for m in find_times(passage, local)]
        said += spans or [span_for(local.date(), local.date() + timedelta(days=1), "day")]
    return all(any(g.start < s.end and s.start < g.end for s in said) for g in given)


def same_time(answer: str, reading: str, anchor: datetime) -> bool:
    """Whether ``answer`` gives the very dates of ``reading`` (True if that has none).

    ``reading`` is the sources' own answer (core.extractive), which resolves what was
    said ("yesterday", said on 20 January → 19 January; "in May" → May 2023); a model
    shown only the day each note was said tends to copy that day instead, more
    precise or less than what was said. Where the reading has a date it is the
    authority: a model's answer may word it, not move it.
    """
    theirs = [m.span for m in find_times(re.sub(r"\[\d{1,3}\]", " ", reading), anchor)]
    ours = [m.span for m in find_times(re.sub(r"\[\d{1,3}\]", " ", answer), anchor)]
    return not theirs or bool(ours) and all(
        any((g.start, g.end) == (s.start, s.end) for s in theirs) for g in ours)


_BUDGET: dict[Kind, int] = {"when": 16, "who": 16, "where": 16, "count": 16, "yesno": 24,
                            "what": 24, "why": 40, "how": 40}


def answer_budget(kind: Kind, ceiling: int) -> int:
    """Tokens a short answer to this kind of question needs (never above ``ceiling``)."""
    return max(1, min(ceiling, _BUDGET.get(kind, 64)))


STOPS = ("\n", "Question:", "\nQuestion", "\nEvidence", "\nUser:", "\nuser:",
         "<|im_end|>", "<|im_start|>", "</s>")
