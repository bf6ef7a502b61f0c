"""The read (and one write) operations other programs reach the memory through.

``engram search|ask|status|memories list|timeline``, ``engram mcp`` and the
running instance's control channel all call these, so a request answered by
the running instance and one answered by a freshly opened store give the same
JSON. Every function takes an engine (anything with ``store``, ``retriever``,
``pipeline``, ``settings`` and ``asker()``) and returns plain JSON-able dicts:
they cross a process boundary as JSON.

``run(engine, request)`` dispatches a request dict ``{"op": …, …}``; a request
names only the operations listed in ``OPS``, with their arguments checked here,
so the control channel cannot be asked for anything else.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Mapping, Protocol, Sequence

from core.errors import NotFound, UsageError
from core.memory.types import Memory
from core.records import MEMORY_TYPES, Event, Observation, SearchFilters, SearchHit, utcnow

MAX_K = 100
ASK_TIMEOUT_SECONDS = 300.0
# A screen event seen once still stood for about one capture interval.
MIN_SCREEN_SECONDS = 5.0


class EngineLike(Protocol):
    store: Any
    retriever: Any
    pipeline: Any
    settings: Any
    memories: Any  # core.memory.service.MemoryService

    def asker(self) -> Any: ...


# -- search -------------------------------------------------------------------------
def filters_from(request: Mapping[str, Any]) -> SearchFilters:
    """Search filters from a request's ``since``/``until`` (ISO or "2 weeks ago"),
    ``sources``, ``apps``, ``types`` and ``memories`` (False: items only)."""
    from core.timeparse import parse_when

    since = parse_when(request["since"]) if request.get("since") else None
    until = parse_when(request["until"]) if request.get("until") else None
    if since and until and since >= until:
        raise UsageError("since must be before until.")
    types = tuple(_strings(request.get("types")))
    bad = [t for t in types if t not in MEMORY_TYPES]
    if bad:
        raise UsageError(f"Unknown memory type {bad[0]!r}; use one of {', '.join(MEMORY_TYPES)}.")
    return SearchFilters(since=since, until=until, sources=tuple(_strings(request.get("sources"))),
                         apps=tuple(_strings(request.get("apps"))), memory_types=types,  # type: ignore[arg-type]
                         include_memories=bool(request.get("memories", True)))


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """A search hit as JSON: ``SearchHit.to_json`` plus its type and image flag."""
    out = hit.to_json()
    out["has_image"] = hit.has_image
    return out


def search(engine: EngineLike, request: Mapping[str, Any]) -> dict[str, Any]:
    """``{"query", "results": [hit…]}`` — the best ``k`` hits for ``query``."""
    query = str(request.get("query") or "").strip()
    if not query:
        raise UsageError("The query is empty.")
    k = _int(request.get("k", 10), "k", 1, MAX_K)
    extra: dict[str, Any] = {}
    if request.get("vector") is not None:
        # A caller that already holds the query's embedding in the model's space
        # (the footprint benchmark): searching it measures search alone.
        extra["query_vector"] = _vector(request["vector"])
    from time import perf_counter

    began = perf_counter()
    hits = engine.retriever.search(query, filters_from(request), k=k, **extra)
    took_ms = (perf_counter() - began) * 1000
    return {"query": query, "results": [hit_json(h) for h in hits],
            **({"took_ms": round(took_ms, 3)} if request.get("timing") else {})}


def _vector(value: Any) -> Any:
    import numpy as np

    if (not isinstance(value, list) or not 0 < len(value) <= 4096
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)):
        raise UsageError("vector must be a list of up to 4096 numbers")
    return np.asarray(value, np.float32)


# -- ask ----------------------------------------------------------------------------
def ask(engine: EngineLike, request: Mapping[str, Any]) -> dict[str, Any]:
    """Ask through the public chat API (``Asker.answer``) and return its final state:
    ``{"answer", "mode", "thread", "notice", "citations", "evidence", "looked_in"}``."""
    from core.chat import Done, EvidenceFound

    question = " ".join(str(request.get("question") or "").split())
    if not question:
        raise UsageError("The question is empty.")
    thread = request.get("thread")
    thread_id = _int(thread, "thread", 1, None) if thread is not None else None
    evidence: tuple = ()
    looked_in = None
    done = None
    for item in engine.asker().answer(question, thread_id):
        if isinstance(item, EvidenceFound):
            evidence = item.evidence
            looked_in = item.time_range.phrase if item.time_range else None
        elif isinstance(item, Done):
            done = item
    if done is None:  # pragma: no cover - Asker always ends with Done
        raise RuntimeError("Ask ended without an answer")
    from core.extractive import best_passage

    draft = getattr(done, "draft", None)
    return {"answer": done.answer, "mode": done.mode, "thread": done.thread_id,
            "notice": done.notice, "looked_in": looked_in,
            "citations": [c.to_json() for c in done.citations],
            "evidence": [{"n": e.n, "quote": best_passage(e.hit.text or e.hit.snippet, question),
                          **hit_json(e.hit), "text": e.hit.text} for e in evidence],
            **({"draft": draft} if draft else {})}


# -- items and memories ----------------------------------------------------------------
def event_json(event: Event) -> dict[str, Any]:
    """A stored item with its full text and where it came from."""
    from core.retrieval import event_title

    return {"id": event.id, "kind": "event", "source": event.source,
            "time": event.started_at.isoformat(), "end_time": event.ended_at.isoformat(),
            "title": event_title(event), "text": event.text, "app": event.app,
            "window_title": event.title, "url": event.url, "path": event.path,
            "conversation": event.thread, "speaker": event.speaker,
            "external_id": event.external_id, "has_image": event.has_image}


def memory_json(m: Memory, now: datetime) -> dict[str, Any]:
    """A memory as JSON (the shape ``engram memories --json`` prints)."""
    from core.memory.search import is_weak, strength_of

    return {
        "id": m.id, "type": m.type, "title": m.title, "text": m.text, "fields": dict(m.fields),
        "current": m.current, "superseded_by": m.superseded_by,
        "valid_from": m.valid_from.isoformat(),
        "valid_until": m.valid_until.isoformat() if m.valid_until else None,
        "started_at": m.started_at.isoformat(), "ended_at": m.ended_at.isoformat(),
        "importance": round(m.importance, 3), "strength": round(strength_of(m, now), 4),
        "weak": is_weak(m, now), "pinned": m.pinned, "origin": m.origin,
        "recall_count": m.recall_count, "evidence_count": m.evidence_count,
        "created_at": m.created_at.isoformat(), "updated_at": m.updated_at.isoformat(),
        "last_recalled": m.last_recalled.isoformat() if m.last_recalled else None,
        "sources": list(m.sources),
    }


def get_item(engine: EngineLike, request: Mapping[str, Any]) -> dict[str, Any]:
    """One item (``kind`` "event", the default) or memory (``kind`` "memory") in full;
    a memory comes with the items it was built from."""
    from core.memory import rows as memory_rows
    from core.store import events as event_rows

    item_id = _int(request.get("id"), "id", 1, None)
    kind = str(request.get("kind") or "event")
    db = engine.store.reader()
    if kind == "event":
        found = event_rows.get_many(db, [item_id]).get(item_id)
        if found is None:
            raise NotFound(f"No item with id {item_id}.")
        return {"item": event_json(found)}
    if kind != "memory":
        raise UsageError("kind must be 'event' or 'memory'.")
    memory = memory_rows.get(db, item_id)
    if memory is None:
        raise NotFound(f"No memory with id {item_id}.")
    sources = event_rows.get_many(db, list(memory.sources))
    return {"memory": memory_json(memory, utcnow()),
            "sources": [event_json(sources[i]) for i in memory.sources if i in sources]}


def memories(engine: EngineLike, request: Mapping[str, Any]) -> dict[str, Any]:
    """Current memories (``all``: also superseded and faded ones), of ``types``,
    or the best matches for ``query``."""
    from core.memory import rows as memory_rows

    now = utcnow()
    types = tuple(_strings(request.get("types")))
    bad = [t for t in types if t not in MEMORY_TYPES]
    if bad:
        raise UsageError(f"Unknown memory type {bad[0]!r}; use one of {', '.join(MEMORY_TYPES)}.")
    query = str(request.get("query") or "").strip()
    limit = _int(request.get("limit", 200), "limit", 1, 10_000)
    db = engine.store.reader()
    if query:
        hits = engine.retriever.search(
            query, SearchFilters(memory_types=types or MEMORY_TYPES), k=min(limit, MAX_K))
        found_map = memory_rows.get_many(db, [h.id for h in hits])
        found = [found_map[h.id] for h in hits if h.id in found_map]
    else:
        found = [item.memory for item in engine.memories.list(
            *types, include_all=bool(request.get("all")))][:limit]
    return {"memories": [memory_json(m, now) for m in found]}


def add_note(pipeline: Any, text: str, at: datetime | None = None) -> dict[str, Any]:
    """Store a note through the pipeline (redacted, deduplicated, split when long).

    Returns ``{"id", "ids", "status"}``: the stored note's ids, or the ids it matched
    (after redaction "my PIN is 1234" and "my PIN is 9876" are the same note), with
    ``status`` "added" or "already stored". ``engram add`` and MCP ``remember`` share it.
    """
    text = text.strip()
    if not text:
        raise UsageError("The note is empty.")
    changes = pipeline.submit([Observation(source="note", captured_at=at or utcnow(),
                                           text=text)])
    ids = sorted(set(changes.added) | set(changes.matched))
    if not ids:  # only if the store lost a race with a forget
        raise UsageError("The note was not stored; try again.")
    return {"id": ids[0], "ids": ids,
            "status": "added" if changes.added else "already stored"}


def remember(engine: EngineLike, request: Mapping[str, Any]) -> dict[str, Any]:
    """Store a note (through the pipeline: redacted and deduplicated like any item)."""
    from core.timeparse import parse_when

    at = parse_when(request["at"]) if request.get("at") else None
    return add_note(engine.pipeline, str(request.get("text") or ""), at)


# -- timeline -----------------------------------------------------------------------------
def timeline(engine: EngineLike, request: Mapping[str, Any]) -> dict[str, Any]:
    """A local day: its episodes (episodic memories) and time per app and per source.

    ``day`` is ``YYYY-MM-DD``, ``today``, ``yesterday`` or anything ``parse_when``
    reads; screen time counts how long windows were seen, other items count as
    items.
    """
    from core.store import events as event_rows

    day = _day(request.get("day"))
    start = datetime.combine(day, time.min).astimezone()
    end = datetime.combine(day + timedelta(days=1), time.min).astimezone()
    db = engine.store.reader()
    seconds: dict[str, float] = defaultdict(float)
    items: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    first = last = None
    for event in event_rows.between(db, start, end):
        sources[event.source] += 1
        label = event.app or {"file": "Files", "chat": "Chats", "note": "Notes"}.get(
            event.source, event.source)
        items[label] += 1
        if event.source == "screen":
            s, e = max(event.started_at, start), min(end, max(
                event.ended_at, event.started_at + timedelta(seconds=MIN_SCREEN_SECONDS)))
            seconds[label] += max(0.0, (e - s).total_seconds())
        first = event.started_at if first is None else min(first, event.started_at)
        last = event.ended_at if last is None else max(last, event.ended_at)
    # A day's episodes however faded (as the app's timeline): only replaced ones are left out.
    episodes = engine.memories.episodes_between(start, end)
    apps = sorted(items, key=lambda a: (-seconds.get(a, 0.0), -items[a], a))
    return {
        "day": day.isoformat(), "first": first.isoformat() if first else None,
        "last": last.isoformat() if last else None, "items": sum(sources.values()),
        "sources": dict(sources.most_common()),
        "apps": [{"app": a, "screen_minutes": round(seconds.get(a, 0.0) / 60, 1),
                  "items": items[a]} for a in apps],
        "episodes": [{"id": m.id, "title": m.title, "text": m.text,
                      "start": m.started_at.isoformat(), "end": m.ended_at.isoformat(),
                      "sources": len(m.sources)}
                     for m in episodes],
    }


# -- status -------------------------------------------------------------------------------
def status(engine: EngineLike, request: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored and how search stands: the store's part of `engram status`."""
    from core.store import events as event_rows
    from core.store import files as file_rows

    db = engine.store.reader()
    sources = event_rows.counts_by_source(db)
    space = engine.pipeline.space()
    files = file_rows.summary(db)
    return {
        "events": sum(sources.values()), "sources": sources,
        "database_bytes": engine.store.size_bytes(), "database": str(engine.store.path),
        "embedding_model": space.model if space else None,
        "embedding_error": getattr(engine, "embedder_error", None),
        "vectors_state": space.state if space else "unavailable",
        "vectors_pending": engine.backfill.pending() if space else None,
        "files": {"indexed": files.indexed, "skipped": files.skipped,
                  "skipped_reasons": dict(files.reasons),
                  "problems": [{"path": p, "reason": r} for p, r in files.problems],
                  "partly_read": files.noted,
                  "notes": [{"path": p, "note": n} for p, n in files.notes]},
        "memories": engine.memories.counts(),
        "memories_pending_events": engine.memories.pending(),
        # Long-running instances keep vectors in memory (fast search at scale).
        "vector_index_items": len(index) if (index := _loaded_index(engine)) is not None
        else None,
        # Seconds from the instance asking for the index to its first full load.
        "vector_index_load_s": getattr(engine.retriever, "index_load_s", None),
    }


def _loaded_index(engine: EngineLike) -> Any:
    loaded = getattr(engine.retriever, "vector_index", None)
    return loaded() if callable(loaded) else None


# -- dispatch -----------------------------------------------------------------------------
OPS: dict[str, Callable[[EngineLike, Mapping[str, Any]], dict[str, Any]]] = {
    "search": search, "ask": ask, "get_item": get_item, "memories": memories,
    "timeline": timeline, "remember": remember, "status": status,
}


def run(engine: EngineLike, request: Mapping[str, Any]) -> dict[str, Any]:
    """Answer one request ``{"op": name, …arguments}`` with the operation ``name``."""
    op = OPS.get(str(request.get("op")))
    if op is None:
        raise UsageError(f"unknown request {request.get('op')!r}")
    return op(engine, request)


# -- argument checks ------------------------------------------------------------------------
def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UsageError(f"expected a string or a list of strings, got {value!r}")


def _int(value: Any, name: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UsageError(f"{name} must be a whole number.")
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{name} must be a whole number.") from None
    if number < low or (high is not None and number > high):
        raise UsageError(f"{name} must be between {low} and {high}." if high is not None
                         else f"{name} must be at least {low}.")
    return number


def _day(value: Any) -> date:
    from core.timeparse import parse_when

    if value is None or value == "" or value == "today":
        return datetime.now().astimezone().date()
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        return parse_when(text).astimezone().date()
