"""The one place the app touches Ask (``core.chat``, ``core.threads``).

The Ask view only sees the small values defined here. Functions run on workers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from core.progress import Cancel
from core.records import SearchHit


@dataclass(frozen=True)
class AskEvidence:
    items: tuple[tuple[int, SearchHit], ...]
    thread_id: int
    looked_in: str = ""  # the time phrase the question was limited to, if any


@dataclass(frozen=True)
class AskThinking:
    sources: int  # the model is reading this many sources (prompt evaluation)


@dataclass(frozen=True)
class AskStatus:
    has_model: bool
    message: str          # how to get a model (no model) — shown as a tooltip
    warning: str = ""     # the chat model is too small to be trusted
    extractive_only: bool = False


@dataclass(frozen=True)
class AskToken:
    text: str


@dataclass(frozen=True)
class AskDone:
    answer: str
    citations: tuple[tuple[int, SearchHit], ...]
    thread_id: int
    mode: str          # "model", "extractive", "model-fallback" or "not-found"
    notice: str = ""
    draft: str = ""    # the model's unsupported answer (model-fallback): "show model draft"
    first_token_seconds: float | None = None


@dataclass(frozen=True)
class StoredCitation:
    n: int
    id: int
    kind: str
    title: str


@dataclass(frozen=True)
class StoredTurn:
    role: str
    text: str
    time: datetime
    citations: tuple[StoredCitation, ...]


@dataclass(frozen=True)
class ThreadSummary:
    id: int
    title: str
    updated: datetime


def model_status(engine: Any) -> tuple[bool, str]:
    from core.models.catalog import chat_model_status

    return chat_model_status(engine.paths, engine.settings)


EXTRACTIVE_ONLY = "ask_extractive_only"


def ask_status(engine: Any) -> AskStatus:
    """Whether Ask has a model, and a warning when that model is too small to trust."""
    from core.models.catalog import chat_model_status
    from core.models.trust import model_trust

    _, message = chat_model_status(engine.paths, engine.settings)
    only = bool(engine.settings.get(EXTRACTIVE_ONLY))
    warning = ""
    runtime = engine.chat_model()  # the model Ask would really use (None: no model)
    ok = runtime is not None
    if ok:
        trust = model_trust(runtime.path)
        if trust is not None and not trust.trusted:
            warning = (f"The chat model {runtime.path.name} is {trust.label}: its answers are "
                       "checked against your sources and replaced by quotes when they "
                       "aren't supported.")
    return AskStatus(ok, message, warning, only)


def set_extractive_only(engine: Any, on: bool) -> None:
    """Answer from quotes only (no model), or let the model write answers again."""
    engine.settings.set(EXTRACTIVE_ONLY, bool(on))
    engine.reset_chat_model()


def answer(engine: Any, question: str, thread_id: int | None,
           cancel: Cancel) -> Iterator[AskEvidence | AskToken | AskDone]:
    """The answer stream in the app's own terms: evidence, tokens, done."""
    from core.chat import Done, EvidenceFound, Thinking, Token

    for item in engine.asker().answer(question, thread_id, cancel=cancel):
        if isinstance(item, EvidenceFound):
            phrase = item.time_range.phrase if item.time_range else ""
            yield AskEvidence(tuple((e.n, e.hit) for e in item.evidence), item.thread_id,
                              phrase)
        elif isinstance(item, Thinking):
            yield AskThinking(item.sources)
        elif isinstance(item, Token):
            yield AskToken(item.text)
        elif isinstance(item, Done):
            yield AskDone(item.answer, tuple((c.n, c.hit) for c in item.citations),
                          item.thread_id, item.mode, item.notice or "", item.draft,
                          item.first_token_seconds)


def _threads(engine: Any) -> Any:
    from core.threads import Threads

    return Threads(engine.store)


def list_threads(engine: Any) -> list[ThreadSummary]:
    return [ThreadSummary(t.id, t.title, t.updated) for t in _threads(engine).list()]


def load_thread(engine: Any, thread_id: int) -> tuple[StoredTurn, ...]:
    thread = _threads(engine).get(thread_id)
    turns = []
    for t in thread.turns:
        cites = tuple(StoredCitation(int(c.get("n", 0)), int(c.get("id", 0)),
                                     str(c.get("kind", "event")), str(c.get("title", "")))
                      for c in t.citations if isinstance(c, dict) and "id" in c)
        turns.append(StoredTurn(t.role, t.text, t.time, cites))
    return tuple(turns)


def delete_thread(engine: Any, thread_id: int) -> None:
    _threads(engine).delete(thread_id)


def reset_asker(engine: Any) -> None:
    """After the chat model changed: the next question builds Ask with the new one."""
    engine.reset_chat_model()