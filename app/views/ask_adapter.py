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
class AskToken:
    text: str


@dataclass(frozen=True)
class AskDone:
    answer: str
    citations: tuple[tuple[int, SearchHit], ...]
    thread_id: int
    mode: str          # "model", "extractive", "model-fallback" or "not-found"
    notice: str = ""


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


def answer(engine: Any, question: str, thread_id: int | None,
           cancel: Cancel) -> Iterator[AskEvidence | AskToken | AskDone]:
    """The answer stream in the app's own terms: evidence, tokens, done."""
    from core.chat import Done, EvidenceFound, Token

    for item in engine.asker().answer(question, thread_id, cancel=cancel):
        if isinstance(item, EvidenceFound):
            phrase = item.time_range.phrase if item.time_range else ""
            yield AskEvidence(tuple((e.n, e.hit) for e in item.evidence), item.thread_id,
                              phrase)
        elif isinstance(item, Token):
            yield AskToken(item.text)
        elif isinstance(item, Done):
            yield AskDone(item.answer, tuple((c.n, c.hit) for c in item.citations),
                          item.thread_id, item.mode, item.notice or "")


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