"""The reply to a question found in a conversation: where its answer usually is.

Search often finds the *question* of a chat ("What pet do you have?") because
it shares the words of the person's question; the answer is in the next message
of the same conversation. ``replies_to`` fetches that message for each hit
that asks something, so Ask can quote and cite it.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Sequence

from core.records import SearchHit, to_epoch
from core.retrieval import event_hit
from core.store.events import COLUMNS, row_to_event
from core.store.store import Store

# A reply comes soon after the message it answers; the time bound keeps the
# lookup on the (source, started_at) index however large the store is.
REPLY_WINDOW = timedelta(days=1)


def asks_something(text: str) -> bool:
    """Whether a message contains a question (a sentence ending in "?")."""
    return "?" in text.rstrip()[-200:]


def replies_to(store: Store, hits: Sequence[SearchHit]) -> dict[int, SearchHit]:
    """For each chat hit that asks something, the next message of its conversation.

    Keyed by the hit's id; hits with no later message (or not chat events) are absent.
    """
    wanted = [h for h in hits if h.kind == "event" and h.source == "chat"
              and h.provenance.thread and asks_something(h.text or h.snippet)]
    if not wanted:
        return {}
    db = store.reader()
    out: dict[int, SearchHit] = {}
    for hit in wanted:
        start = to_epoch(hit.time)
        row = next(iter(db.execute(
            f"SELECT {COLUMNS} FROM events WHERE source = 'chat' AND started_at >= ? "
            "AND started_at <= ? AND thread = ? AND id > ? ORDER BY id LIMIT 1",
            (start, start + REPLY_WINDOW.total_seconds(), hit.provenance.thread, hit.id))),
            None)
        if row is not None:
            event = row_to_event(row)
            if event.speaker != hit.provenance.speaker:  # a reply, not a follow-on message
                out[hit.id] = event_hit(event, event.text[:200], hit.score * 0.9)
    return out


def conversation_people(store: Store, hits: Sequence[SearchHit]) -> tuple[str, ...]:
    """Who speaks in the conversations the hits come from (around the hits' times).

    Lets Ask tell "a person the question is about" from any capitalised word, even
    when none of that person's messages made it into the evidence.
    """
    chats = [h for h in hits if h.kind == "event" and h.source == "chat" and h.provenance.thread]
    if not chats:
        return ()
    threads = sorted({h.provenance.thread for h in chats if h.provenance.thread})
    start = to_epoch(min(h.time for h in chats)) - REPLY_WINDOW.total_seconds()
    end = to_epoch(max(h.time for h in chats)) + REPLY_WINDOW.total_seconds()
    marks = ",".join("?" * len(threads))
    rows = store.reader().execute(
        "SELECT DISTINCT speaker FROM events WHERE source = 'chat' AND started_at >= ? "
        f"AND started_at <= ? AND thread IN ({marks}) AND speaker IS NOT NULL",
        (start, end, *threads))
    return tuple(sorted(r[0] for r in rows if r[0]))


def memory_sources(store: Store, hits: Sequence[SearchHit]) -> dict[int, SearchHit]:
    """For each fact memory among ``hits`` (semantic or core), the message it was taken from.

    Keyed by the memory hit's id. An answer resting on a memory cites this source
    too, so the person can read what was really said. Episodes (built from many
    messages) are left out: no single message is their source.
    """
    from core.store.events import get_many

    wanted = {h.id: h.sources[0] for h in hits if h.kind == "memory" and h.sources
              and h.memory_type in ("semantic", "core")}
    if not wanted:
        return {}
    events = get_many(store.reader(), sorted(set(wanted.values())))
    return {mid: event_hit(events[eid], events[eid].text[:200], 0.0)
            for mid, eid in wanted.items() if eid in events}
