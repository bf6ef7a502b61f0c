"""Ask: answers from the person's own memories, streamed, with citations.

``Asker.answer(question, thread_id)`` yields, in order:
1. ``EvidenceFound`` — the sources it will answer from (the UI shows them at once);
2. ``Token``s — the answer as it is written (none in no-model mode);
3. ``Done`` — the final answer text and the citations it actually used.

With a model, ``Thinking`` comes before the tokens (the model is reading), and the
model's answer is shown only when the guard (core.guard) finds it cited, of the
right shape and supported by what it cites; otherwise the extractive answer is
shown as ``model-fallback`` with the draft kept. Captured text is data, never
instructions: the model sees a few passages, each one line labelled ``[n]`` with
brackets, marker characters and special-token syntax removed (core.answer_prompt),
so nothing on a screen or in a chat can open a label, forge a citation or
impersonate a turn.
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Generator, Iterator, Literal, Sequence

import numpy as np

from core.citations import CitationFilter, cited_numbers, strip_invalid
from core.extractive import (NOT_FOUND, content_stems, instruction_like, order_for,
                             short_answer)
from core.answer_prompt import choose_passages, prompt_pieces, sanitize  # noqa: F401
from core.guard import (STOPS, MarkerFilter, answer_budget, answers_kind, dates_supported,
                        same_time, strip_framing, supported)
from core.pipeline import Pipeline
from core.question import analyse
from core.progress import Cancel
from core.replies import conversation_people, memory_sources, replies_to
from core.records import Observation, SearchFilters, SearchHit, utcnow
from core.retrieval import Retriever
from core.threads import Threads
from core.timeparse import TimeRange, extract_time_range

EVIDENCE_K = 8
REPLY_LOOKUPS = 5
HISTORY_TURNS = 6
# MiniLM cosine, question vs. passage: unrelated ≈ -0.05–0.15, answering ≈ 0.4–0.7.
STRONG_SIMILARITY = 0.35
WEAK_SIMILARITY = 0.2

_FOLLOW_UP = re.compile(r"^(and|but|so|what about|how about|then)\b|\b(he|she|they|him|her|them|"
                        r"it|that|this|there|then|those|these)\b", re.I)
_QUESTION = re.compile(r"\?\s*$|^(who|what|when|where|why|how|which|did|do|does|is|are|was|"
                       r"were|can|could|should|would|have|has)\b", re.I)


@dataclass(frozen=True)
class Evidence:
    n: int
    hit: SearchHit


@dataclass(frozen=True)
class EvidenceFound:
    evidence: tuple[Evidence, ...]
    time_range: TimeRange | None
    thread_id: int


@dataclass(frozen=True)
class Thinking:
    """The model is reading the evidence (prompt evaluation): show progress, not a blank."""

    sources: int


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Citation:
    n: int
    hit: SearchHit

    def to_json(self) -> dict[str, Any]:
        h = self.hit
        return {"n": self.n, "id": h.id, "kind": h.kind, "source": h.source,
                "time": h.time.isoformat(), "title": h.title,
                "external_id": h.provenance.external_id}


@dataclass(frozen=True)
class Done:
    answer: str
    citations: tuple[Citation, ...]
    thread_id: int
    mode: Literal["model", "extractive", "model-fallback", "not-found"]
    notice: str | None = None
    draft: str = ""  # the model's own answer when it was not shown (model-fallback)
    first_token_seconds: float | None = None  # with a model: time to its first token


AnswerEvent = EvidenceFound | Thinking | Token | Done


class ChatModel:
    """What Asker needs of a chat runtime (core.models.runtime.ChatRuntime fits)."""

    def fit(self, pieces: Sequence[Any], *, max_tokens: int) -> Any: ...
    def stream(self, messages: Any, options: Any = None, **kw: Any) -> Iterator[str]: ...


def looks_like_question(text: str) -> bool:
    return bool(_QUESTION.search(text.strip()))


class Asker:
    """Answers questions from search results, with or without a chat model."""

    def __init__(self, retriever: Retriever, pipeline: Pipeline, threads: Threads, *,
                 model: ChatModel | None = None, how_to_get_model: str = "",
                 core_profile: Callable[[], str] | None = None,
                 max_answer_tokens: int = 400) -> None:
        self.retriever = retriever
        self.pipeline = pipeline
        self.threads = threads
        self.model = model
        self.how_to_get_model = how_to_get_model
        self.core_profile = core_profile
        self.max_answer_tokens = max_answer_tokens
        # The last question's vector: evidence checks and sentence scoring share it.
        self._vector_cache: tuple[str, Any] | None = None

    # -- the stream ---------------------------------------------------------------
    def answer(self, question: str, thread_id: int | None = None, *,
               cancel: Cancel | None = None, now: datetime | None = None) -> Iterator[AnswerEvent]:
        question = " ".join(question.split())
        history = self.threads.get(thread_id).turns if thread_id is not None else ()
        if thread_id is None:
            thread_id = self.threads.create(question)
        self._remember_statement(thread_id, question)
        self.threads.add_turn(thread_id, "user", question)

        time_range = extract_time_range(question, now=now)
        query = self._retrieval_query(question, history)
        if time_range:  # the range filters; its words would only add noise
            query = re.sub(re.escape(time_range.phrase), " ", query, flags=re.I).strip() or query
        hits = self._evidence(query, time_range)
        notice = None
        if not hits and time_range is not None:
            # A time read from the question can be wrong ("in June" is read as this year's
            # June; the person meant the June they talked about): nothing in that range,
            # so all the memories are searched and the answer says it is from elsewhere.
            hits = self._evidence(query, None)
            if hits:
                notice = (f"Nothing found for “{time_range.phrase}”; answered from all your "
                          "memories.")
        evidence = tuple(Evidence(n, h) for n, h in enumerate(hits, 1))
        yield EvidenceFound(evidence, None if notice else time_range, thread_id)

        if not evidence:
            done = Done(NOT_FOUND + (f" (looked in: {time_range.phrase})" if time_range else ""),
                        (), thread_id, "not-found")
        elif self.model is None:
            done = replace(self._extractive(question, evidence, thread_id), notice=notice)
        else:
            # The extractive answer is the guard's fallback: computed first, it costs little.
            fallback = self._extractive(question, evidence, thread_id)
            yield Thinking(len(evidence))
            done = yield from self._generate(question, history, evidence, thread_id, cancel,
                                             now, fallback)
        self.threads.add_turn(thread_id, "assistant", done.answer,
                              [c.to_json() for c in done.citations])
        recalled = [c.hit.id for c in done.citations if c.hit.kind == "memory"]
        if recalled:  # a memory used in an answer is reinforced (forgetting curve)
            from core.memory.search import mark_recalled

            mark_recalled(self.pipeline.store, recalled)
        yield done

    def _extractive(self, question: str, evidence: Sequence[Evidence], thread_id: int) -> Done:
        numbered = [(evidence[i].n, evidence[i].hit)
                    for i in order_for(question, [e.hit for e in evidence])]
        people = conversation_people(self.pipeline.store, [e.hit for e in evidence])
        short = short_answer(question, numbered, self._similarity, people)
        by_n = {ev.n: ev.hit for ev in evidence}
        text, cited = short.text, list(short.cited)
        for n in short.cited:  # a memory answers: its source message is cited beside it
            hit = by_n[n]
            origin = next((ev.n for ev in evidence if hit.kind == "memory" and hit.sources
                           and ev.hit.kind == "event" and ev.hit.id == hit.sources[0]), None)
            if origin is not None and origin not in cited:
                cited.append(origin)
                text = text.replace(f"[{n}]", f"[{n}][{origin}]")
        cites = tuple(Citation(n, by_n[n]) for n in cited)
        mode = "not-found" if short.kind == "not-found" else "extractive"
        return Done(text, cites, thread_id, mode)

    # -- evidence ------------------------------------------------------------------
    def _retrieval_query(self, question: str, history: Sequence[Any]) -> str:
        """Follow-ups ("and what did she say after that?") carry the previous question."""
        previous = [t.text for t in history if t.role == "user"]
        if previous and (len(question.split()) <= 6 or _FOLLOW_UP.search(question)):
            return f"{previous[-1]} {question}"
        return question

    def _evidence(self, query: str, time_range: TimeRange | None) -> list[SearchHit]:
        filters = SearchFilters(since=time_range.since, until=time_range.until) \
            if time_range else SearchFilters()
        hits = self.retriever.search(query, filters, k=EVIDENCE_K)
        hits = [h for h, ok in zip(hits, self._supported(query, hits)) if ok]
        replies = replies_to(self.pipeline.store, hits[:REPLY_LOOKUPS])
        origins = memory_sources(self.pipeline.store, hits)
        out: list[SearchHit] = []
        seen = {(h.kind, h.id) for h in hits}
        for hit in hits:  # a question found in a chat comes with its reply,
            out.append(hit)  # a fact memory with the message it was taken from
            extra = replies.get(hit.id) if hit.kind == "event" else origins.get(hit.id)
            if extra is not None and ("event", extra.id) not in seen:
                seen.add(("event", extra.id))
                out.append(extra)
        return out

    def _supported(self, query: str, hits: Sequence[SearchHit]) -> list[bool]:
        """Whether each hit is really about the question (honest "not found")."""
        if not hits:
            return []
        embedder = self.pipeline.embedder
        wanted = content_stems(query)
        said = [content_stems(h.text or h.snippet) & wanted for h in hits]
        overlap = [bool(w) for w in said]
        if embedder is None:
            return overlap
        # A hit holding every content word of a question of two or more ("What did
        # Ana recommend?" → "Ana recommended tenacity …") answers it whatever its
        # cosine: short questions embed poorly against text that adds new words.
        # Who said a message counts as a word of it there: Ana's message is about Ana.
        whole = [len(wanted) >= 2 and (w | content_stems(h.provenance.speaker or "")) >= wanted
                 for w, h in zip(said, hits)]
        vecs = np.asarray(embedder.embed([query] + [(h.text or h.snippet)[:600] for h in hits],
                                         interactive=True))
        self._vector_cache = (query, vecs[0])
        sims = vecs[1:] @ vecs[0]
        return [bool(s >= STRONG_SIMILARITY or (s >= WEAK_SIMILARITY and o) or a)
                for s, o, a in zip(sims, overlap, whole)]

    def _similarity(self, question: str, texts: Sequence[str]) -> list[float]:
        """Cosine of the question and each text (the real embedder; 0s without one)."""
        embedder = self.pipeline.embedder
        if embedder is None or not texts:
            return [0.0] * len(texts)
        cached = self._vector_cache
        if cached is not None and cached[0] == question:
            vecs = np.asarray(embedder.embed([t[:400] for t in texts], interactive=True))
            return [float(x) for x in vecs @ cached[1]]
        vecs = np.asarray(embedder.embed([question] + [t[:400] for t in texts],
                                         interactive=True))
        return [float(x) for x in vecs[1:] @ vecs[0]]

    def _remember_statement(self, thread_id: int, text: str) -> None:
        """What the person tells Engram ("my daughter's name is Inês") becomes a source."""
        if looks_like_question(text) and not text.lower().startswith("remember"):
            return
        self.pipeline.submit([Observation(
            source="chat", captured_at=utcnow(), text=text, app="Engram", thread="Engram",
            speaker="You", external_id=f"engram:{thread_id}:{secrets.token_hex(6)}",
            meta={"told_to_engram": True},
        )])

    # -- model ----------------------------------------------------------------------
    def _generate(self, question: str, history: Sequence[Any], evidence: Sequence[Evidence],
                  thread_id: int, cancel: Cancel | None, now: datetime | None,
                  fallback: Done) -> Generator[Token, None, Done]:
        from core.models.generation import GenerationOptions

        started = time.perf_counter()
        q = analyse(question)
        numbered = [(ev.n, ev.hit) for ev in evidence]
        people = conversation_people(self.pipeline.store, [h for _, h in numbered])
        passages = choose_passages(question, numbered, self._similarity, people)
        turns = [(t.role, strip_framing(t.text)) for t in list(history)[-HISTORY_TURNS:]]
        profile = self.core_profile() if self.core_profile else ""
        pieces = prompt_pieces(question, q.kind, passages, history=turns, profile=profile,
                               today=(now or utcnow()).astimezone())
        budget = answer_budget(q.kind, self.max_answer_tokens)
        prompt = self.model.fit(pieces, max_tokens=budget)
        valid = {p.n for p in passages}  # only what the model was shown can be cited
        markers, cites_filter = MarkerFilter(), CitationFilter(valid)
        parts: list[str] = []
        first: float | None = None
        # Greedy: a short factual answer wants the model's most likely words, and the
        # same question gets the same answer.
        stream = self.model.stream(prompt.messages, GenerationOptions(
            max_tokens=budget, temperature=0.0, stop=STOPS), cancel=cancel)
        for piece in stream:
            out = cites_filter.feed(markers.feed(piece))
            if out:
                if first is None:
                    first = time.perf_counter() - started
                parts.append(out)
                yield Token(out)
        tail = cites_filter.feed(markers.flush()) + cites_filter.flush()
        if tail:
            if first is None:
                first = time.perf_counter() - started
            parts.append(tail)
            yield Token(tail)
        text = " ".join(strip_invalid(strip_framing("".join(parts)), valid).split())
        by_n = {ev.n: ev.hit for ev in evidence}
        cites = tuple(Citation(n, by_n[n]) for n in cited_numbers(text) if n in valid)
        report = getattr(prompt, "report", None)
        notice = None
        if report is not None and getattr(report, "dropped", ()):
            notice = f"Left out to fit the model's context: {', '.join(report.dropped)}"
        stopped = bool(cancel is not None and cancel.cancelled)
        says_not_found = text.lower().startswith(NOT_FOUND.lower()[:20])
        if says_not_found and fallback.mode == "not-found":
            return replace(fallback, first_token_seconds=first)
        # The cited item's own date supports a date: it is when the words were said.
        passages_said = [f"{c.hit.text or c.hit.snippet} ({describe_day(c.hit.time)})"
                         for c in cites]
        grounded = (not stopped and not says_not_found and bool(cites)
                    and not _PREMISE.match(fallback.answer)  # the premise is someone else's
                    and not any(instruction_like(c.hit.text or c.hit.snippet) for c in cites)
                    and answers_kind(text, q.kind, question, people)
                    and (q.kind != "when" or (dates_supported(
                        text, [(c.hit.text or c.hit.snippet, c.hit.time) for c in cites])
                        and same_time(text, fallback.answer, cites[0].hit.time.astimezone())))
                    and supported(text, question, passages_said, self._similarity))
        if not grounded:  # the draft stays available behind "show model draft"
            return replace(fallback, mode="model-fallback", draft=text, notice=notice,
                           first_token_seconds=first)
        return Done(text, cites, thread_id, "model", notice=notice, first_token_seconds=first)


# The extractive answer found the fact belongs to someone else ("I found that Melanie,
# not Caroline, …"): a model answer asserting it of the person asked about is not shown.
_PREMISE = re.compile(r"I found that .{1,60}, not .{1,60}, ")


def describe_day(moment: datetime) -> str:
    """'3 March 2023' (local time)."""
    local = moment.astimezone()
    return f"{local.day} {local:%B %Y}"


def attribution(cited: Sequence[tuple[int, SearchHit]]) -> str:
    """Whose words an answer rests on, one clause per citation, e.g.
    "Ana said it in a chat on 25 May 2023 [1]; from your memories [3]".

    Shown under a short answer: a claim from someone's message or from captured
    text is attributed to where it was seen, never made the app's own.
    """
    parts = []
    for n, hit in cited:
        local = hit.time.astimezone()
        day = f"{local.day} {local:%B %Y}"
        who = (hit.provenance.speaker or "").strip()
        if hit.kind == "memory":
            parts.append(f"from your memories [{n}]")
        elif hit.source == "chat" and who and who != "You":
            parts.append(f"{who} said it in a chat on {day} [{n}]")
        elif hit.source == "chat":
            parts.append(f"you said it on {day} [{n}]")
        elif hit.source == "note":
            parts.append(f"a note you wrote on {day} [{n}]")
        elif hit.source == "screen":
            app = hit.provenance.app or "an app"
            parts.append(f"seen on your screen in {app} on {day} [{n}]")
        else:
            parts.append(f"a {hit.source} captured on {day} [{n}]")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]
