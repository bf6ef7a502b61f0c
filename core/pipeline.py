"""The one path by which anything enters the store.

``submit(observations)``: size limit (``core/item_limit.py``) → normalise (NFKC,
see ``core/textnorm.py``) → redact → split long text into parts → dedupe by
stable identity → event row (its keyword index follows by trigger) → embedding.
Re-submitting what is already stored adds nothing and costs one indexed lookup
per item.

Vectors are derived state: when the embedder is missing or fails, events are
stored anyway and ``VectorBackfill`` fills their vectors later (the same
mechanism rebuilds every vector after the embedding model changes).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Sequence

import apsw
import numpy as np

from core.memory.forget import on_events_expired, on_events_forgotten
from core.progress import Cancel, Progress, ProgressFn
from core.item_limit import DEFAULT_ITEM_CHARS, cap_observation, split_observation
from core.filebook import FileBook
from core.records import Changes, Observation, Relocate, Relocation, Retract, SinkItem
from core.store import Store
from core.store import events as event_rows
from core.store import vectors
from core.textnorm import normalize_text, normalize_value

log = logging.getLogger(__name__)

# A redactor returns the cleaned text and how many secrets of each kind it removed.
Redactor = Callable[[str], "tuple[str, Mapping[str, int]]"]

EMBED_TEXT_CHARS = 2000


class EmbedderLike(Protocol):
    identity: str
    dims: int

    def embed(self, texts: Sequence[str], *, interactive: bool = False) -> np.ndarray: ...


def embedding_text(title: str | None, speaker: str | None, text: str) -> str:
    """What the embedder sees for an item: who said it and where, then the text."""
    head = " — ".join(p for p in (title, speaker) if p)
    body = f"{head}: {text}" if head else text
    return body[:EMBED_TEXT_CHARS]


class Pipeline:
    """Turns observations into stored, searchable events."""

    def __init__(self, store: Store, embedder: EmbedderLike | None,
                 redactor: Redactor | None = None, *,
                 item_chars: int = DEFAULT_ITEM_CHARS) -> None:
        self.store = store
        self.embedder = embedder
        self.redactor = redactor
        # The longest text stored as one item; longer text becomes parts (core.item_limit).
        self.item_chars = item_chars
        self._space_lock = threading.Lock()
        self._space: vectors.Space | None = None
        # What the folder indexer remembers per file, lent to it instead of the store.
        self.files = FileBook(store)

    # -- vectors ------------------------------------------------------------------
    def space(self) -> vectors.Space | None:
        """The vector space of the current embedder (created on first use)."""
        if self.embedder is None:
            return None
        with self._space_lock:
            if self._space is None:
                model, dims = self.embedder.identity, self.embedder.dims
                self._space = self.store.write(lambda db: vectors.ensure_space(db, model, dims))
            return self._space

    def refresh_space(self) -> vectors.Space | None:
        with self._space_lock:
            self._space = None
        return self.space()

    # -- submit ---------------------------------------------------------------------
    def redact(self, obs: Observation) -> Observation:
        if self.redactor is None:
            return obs
        text, counts = self.redactor(obs.text)
        title, title_counts = self.redactor(obs.title) if obs.title else (obs.title, {})
        # URLs carry tokens too (?access_token=…, user:password@host).
        url, url_counts = self.redactor(obs.url) if obs.url else (obs.url, {})
        found: dict[str, int] = {}
        for part in (counts, title_counts, url_counts):
            for k, v in part.items():
                found[k] = found.get(k, 0) + v
        found = {k: v for k, v in found.items() if v}
        if not found:
            return obs
        return replace(obs, text=text, title=title, url=url, meta={**obs.meta, "redacted": found})

    def normalize(self, obs: Observation) -> Observation:
        """``obs`` with its readable text Unicode-normalised (NFKC, with care).

        Text, title, speaker, thread and chat context are folded, so search
        sees "fi", not "ﬁ"; identifiers (path, URL, app, external id) are kept
        byte for byte: they name things outside Engram. Runs before redaction,
        so a card number in full-width digits is caught too.
        """
        changed: dict[str, object] = {}
        for name in ("text", "title", "speaker", "thread"):
            value = getattr(obs, name)
            if isinstance(value, str) and (folded_value := normalize_text(value)) != value:
                changed[name] = folded_value
        context = obs.meta.get("context") if obs.meta else None
        if context is not None:
            folded = normalize_value(context)
            if folded != context:
                changed["meta"] = {**obs.meta, "context": folded}
        return replace(obs, **changed) if changed else obs

    def take(self, items: Sequence[SinkItem]) -> Changes:
        """A source's sink: store observations, retract and relocate events, in order.

        Consecutive observations are stored together (one embedding batch).
        """
        changes, run = Changes(), []
        for item in [*items, None]:
            if isinstance(item, Observation):
                run.append(item)
                continue
            if run:
                changes, run = changes + self.submit(run), []
            if isinstance(item, Retract):
                changes = changes + self.forget(item.event_ids, scrub=item.scrub)
            elif isinstance(item, Relocate):
                changes = changes + self.relocate(item.relocations)
        return changes

    def submit(self, observations: Iterable[Observation], *, batch_size: int = 256,
               progress: ProgressFn | None = None, total: int | None = None,
               embed: bool = True) -> Changes:
        """Store ``observations``; return what was added and what was already there."""
        changes = Changes()
        done = 0
        for batch in _batches(observations, batch_size):
            changes = changes + self._submit_batch(batch, embed=embed)
            done += len(batch)
            if progress:
                progress(Progress(done, total))
        return changes

    def _submit_batch(self, batch: list[Observation], *, embed: bool) -> Changes:
        # Capped before normalising and redacting (their time is bounded whatever came
        # in), split after (a part boundary never cuts a secret or a marker in two).
        limit = self.item_chars
        batch = [part for o in batch if o.text and o.text.strip()
                 for part in split_observation(
                     self.redact(self.normalize(cap_observation(o, limit))), limit)]
        known = event_rows.existing_identities(self.store.reader(), batch)
        fresh: list[Observation] = []
        matched: list[int] = []
        seen: set[tuple] = set()
        for obs in batch:
            ident = event_rows.identity(obs)
            if ident in known:
                matched.append(known[ident])
                continue
            if ident in seen:
                continue
            seen.add(ident)
            fresh.append(obs)
        duplicates = len(batch) - len(fresh)
        if not fresh:
            return Changes(duplicates=duplicates, matched=tuple(matched))
        vecs = self._embed_batch(fresh) if embed else None
        space = self.space() if vecs is not None else None

        def write(db) -> list[int]:
            added, added_vecs = [], []
            for n, obs in enumerate(fresh):
                event_id = event_rows.insert(db, obs)
                if event_id is not None:
                    added.append(event_id)
                    added_vecs.append(n)
            if space is not None and added:
                vectors.put(db, space, "events", added, vecs[added_vecs])
            return added

        added = self.store.write(write)
        return Changes(added=tuple(added), duplicates=duplicates + len(fresh) - len(added),
                       matched=tuple(matched))

    # -- forget / relocate --------------------------------------------------------------
    def forget(self, ids: Iterable[int], *, scrub: bool = True,
               keep_memories: bool = False) -> Changes:
        """Delete events everywhere (row, keyword index, images, vectors) and the memories
        built only from them, in one transaction.

        Returns ``Changes``: ``removed`` the event ids that existed, ``memories``
        the memories removed or re-derived because of it.

        ``scrub`` (the person's own forget, a deleted file) also merges the
        keyword index so the deleted terms are gone from its pages, and folds
        the WAL so old page images don't linger. Replacing the changed chunks
        of a file skips that costly merge: the text lives on in the file anyway.
        ``keep_memories`` (retention) keeps what was learned from the events.
        """
        ids = list(ids)
        if not ids:
            return Changes()
        cascade = on_events_expired if keep_memories else on_events_forgotten

        def forget_in(db: apsw.Connection) -> Changes:
            removed = event_rows.delete(db, ids)
            # An event and what was learned only from it go together, or not at all.
            outcome = cascade(db, removed)
            return Changes(removed=tuple(removed), memories=outcome.removed + outcome.updated)

        # On a full disk the reserve file makes room for the deletion (core/store/reserve).
        changes = self.store.with_room(lambda: self.store.write(forget_in))
        if changes.removed and scrub:
            self.store.compact()
        return changes

    def relocate(self, relocations: Sequence[Relocation]) -> Changes:
        """Move events to a new path / identity, keeping their ids (a renamed file).

        Where the new title changes what the embedder sees, the vector is
        recomputed so meaning search matches the new name; if embedding fails
        the old vector stays (stale in the name only) rather than none.
        """
        if not relocations:
            return Changes()
        if self.redactor is not None:  # a new file name is as unvetted as new text
            relocations = [replace(r, title=self.redactor(normalize_text(r.title))[0])
                           if r.title else r for r in relocations]
        else:
            relocations = [replace(r, title=normalize_text(r.title)) if r.title else r
                           for r in relocations]
        current = event_rows.get_many(self.store.reader(), [r.event_id for r in relocations])
        stale, texts = [], []
        for r in relocations:
            event = current.get(r.event_id)
            if event is None:
                continue
            text = embedding_text(r.title, event.speaker, event.text)
            if text != embedding_text(event.title, event.speaker, event.text):
                stale.append(r)
                texts.append(text)
        vecs = None
        if stale and self.embedder is not None:
            try:
                vecs = self.embedder.embed(texts)
            except Exception:
                log.exception("embedding failed; relocated items keep their old vectors")
        space = self.space() if vecs is not None else None

        def write(db) -> list[int]:
            updated = event_rows.relocate(db, relocations)
            if space is not None and vecs is not None:
                alive = set(updated)
                keep = [n for n, r in enumerate(stale) if r.event_id in alive]
                if keep:
                    vectors.put(db, space, "events", [stale[n].event_id for n in keep],
                                vecs[keep])
            return updated

        return Changes(updated=tuple(self.store.write(write)))

    def _embed_batch(self, batch: Sequence[Observation]) -> np.ndarray | None:
        if self.embedder is None:
            return None
        texts = [embedding_text(o.title, o.speaker, o.text) for o in batch]
        try:
            return self.embedder.embed(texts)
        except Exception:
            # The events still get stored; VectorBackfill retries their vectors.
            log.exception("embedding failed; vectors will be filled in later")
            return None


class VectorBackfill:
    """Fills missing vectors in the current space; marks a rebuilt space ready."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def pending(self) -> int:
        space = self.pipeline.space()
        if space is None:
            return 0
        db = self.pipeline.store.reader()
        total = db.execute("SELECT count(*) FROM events").fetchall()[0][0]
        return total - vectors.count(db, space, "events")

    def run_once(self, batch_size: int = 128) -> int:
        """Embed one batch of events lacking vectors; return how many were done."""
        pipeline = self.pipeline
        space, embedder = pipeline.space(), pipeline.embedder
        if space is None or embedder is None:
            return 0
        db = pipeline.store.reader()
        ids = vectors.missing(db, space, "events", batch_size)
        if not ids:
            if space.state != "ready":
                pipeline.store.write(lambda w: vectors.mark_ready(w, space))
                pipeline.refresh_space()
            return 0
        rows = event_rows.get_many(db, ids)
        ids = [i for i in ids if i in rows]
        texts = [embedding_text(rows[i].title, rows[i].speaker, rows[i].text) for i in ids]
        vecs = embedder.embed(texts)

        def write(w) -> None:
            # Events forgotten meanwhile must not get vectors back.
            alive = {r[0] for r in w.execute(
                f"SELECT id FROM events WHERE id IN ({','.join('?' * len(ids))})", ids)}
            keep = [n for n, i in enumerate(ids) if i in alive]
            vectors.put(w, space, "events", [ids[n] for n in keep], vecs[keep])

        pipeline.store.write(write)
        return len(ids)

    def run(self, stop: Cancel, *, idle_wait: float = 5.0) -> None:
        """Loop until ``stop`` is cancelled (background thread body)."""
        while not stop.cancelled:
            try:
                done = self.run_once()
            except Exception:
                log.exception("vector backfill failed; retrying later")
                done = 0
            if not done:
                stop.wait(idle_wait)


def _batches(items: Iterable[Observation], size: int) -> Iterator[list[Observation]]:
    batch: list[Observation] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
