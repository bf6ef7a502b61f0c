"""Add, merge, supersede or ignore: what a new candidate does to stored memories (pure).

Mem0's update step, with STALE's lesson that a later fact must invalidate an
earlier one explicitly, never by silent overwrite:

1. An episode that continues a stored one (same app/conversation, within the
   gap) is merged into it.
2. A fact with a key (subject + attribute):
   - the same value as a current memory → **merge** (reinforce, add the source);
     the same value as a superseded one, stated while it was still true →
     merge into that historical memory;
   - a single-valued attribute with a different value → **supersede** the
     current memory when the candidate is newer ("lives in Lisbon" →
     "lives in Porto" months later), or be added **already superseded** by the
     memory that followed it when the candidate is older (an old chat imported
     late must not overturn what is known now);
   - a multi-valued attribute (likes, sister, working on) → add beside;
   - a model's other value never supersedes a memory of the rules or the person
     (**ignore**): the model adds and rewrites, it does not lower what the rules found.
3. A near-duplicate of a current memory (cosine ≥ ``DUPLICATE``, or the same
   normalized text) → **ignore** when seen again within ``REPEAT_WINDOW`` (the
   same screen a moment later: no new evidence), else **merge** (seen again
   another day: it is repeated, so reinforce it).
4. A procedure close to a stored one (cosine ≥ ``PROCEDURE_SIMILAR`` and
   steps overlapping ≥ ``STEP_OVERLAP``) → merge, taking the fuller list.
5. Otherwise **add**, linked to close neighbours and to facts about the same subject.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Sequence

from core.memory.procedures import steps_signature
from core.memory.statements import normalize_value
from core.memory.text import normalize, overlap
from core.memory.types import Candidate, Memory

DUPLICATE = 0.95
# A person saying the same thing again in other words ("I'm looking into counseling" in
# May, "I want to work in counseling" in June): one fact, with both sentences as sources.
RESTATED = 0.85
PROCEDURE_SIMILAR = 0.85
STEP_OVERLAP = 0.6
RELATED = 0.75
REPEAT_WINDOW = timedelta(hours=1)
MAX_LINKS = 5

Action = Literal["add", "merge", "supersede", "add_superseded", "ignore"]


@dataclass(frozen=True)
class Neighbour:
    """A stored memory near the candidate; ``similarity`` is cosine (0 when found by key)."""

    memory: Memory
    similarity: float = 0.0


@dataclass(frozen=True)
class Decision:
    """What to do with a candidate.

    ``target``: the memory merged into / superseded / that supersedes the
    candidate (``add_superseded``). ``refine``: a merge replaces the target's
    text and fields with the candidate's (a fuller version of the same thing).
    ``links``: (memory id, kind) to link the result with.
    """

    action: Action
    target: int | None = None
    reason: str = ""
    refine: bool = False
    links: tuple[tuple[int, str], ...] = ()


def decide(candidate: Candidate, neighbours: Sequence[Neighbour]) -> Decision:
    """The policy decision for ``candidate`` against its ``neighbours`` (see module doc)."""
    if candidate.type == "episodic" and candidate.extends is not None:
        return Decision("merge", candidate.extends, "continues the episode", refine=True)
    if candidate.fact_key:
        keyed = _decide_fact(candidate, [n for n in neighbours
                                         if n.memory.fact_key == candidate.fact_key])
        if keyed is not None:
            return keyed
    duplicate = _duplicate(candidate, neighbours)
    if duplicate is not None:
        return duplicate
    if candidate.type == "procedural":
        refined = _similar_procedure(candidate, neighbours)
        if refined is not None:
            return refined
    return Decision("add", None, "new", links=_links(candidate, neighbours))


def _decide_fact(candidate: Candidate, same_key: Sequence[Neighbour]) -> Decision | None:
    value = normalize_value(str(candidate.fields.get("value", "")))
    for n in same_key:
        m = n.memory
        if normalize_value(str(m.fields.get("value", ""))) != value:
            continue
        if m.current:
            return Decision("merge", m.id, "same value: confirms it", refine=_fuller(candidate, m))
        if m.valid_until is not None and candidate.valid_from < m.valid_until:
            return Decision("merge", m.id, "same value, said while it was still true")
    links = _links(candidate, same_key)
    if not candidate.fields.get("single"):
        return Decision("add", None, "another value of a multi-valued attribute", links=links)
    current = [n.memory for n in same_key if n.memory.current]
    if not current:
        later = [n.memory for n in same_key if n.memory.valid_from > candidate.valid_from]
        if later:
            successor = min(later, key=lambda m: m.valid_from)
            return Decision("add_superseded", successor.id,
                            "an older value; a later statement replaced it", links=links)
        return Decision("add", None, "new fact", links=links)
    newest = max(current, key=lambda m: m.valid_from)
    if candidate.origin == "model" and newest.origin != "model":
        # The model adds and rewrites; it never overturns what the rules read in the person's
        # own words (or what the person wrote): a small model's other value is more likely its
        # misreading than news. The rules themselves supersede when a later message says so.
        return Decision("ignore", newest.id, "the model disagrees with a fact read by the rules")
    if candidate.valid_from >= newest.valid_from:
        return Decision("supersede", newest.id, "a newer value replaces it", links=links)
    later = [n.memory for n in same_key if n.memory.valid_from > candidate.valid_from]
    successor = min(later, key=lambda m: m.valid_from)
    return Decision("add_superseded", successor.id,
                    "an older value; a later statement replaced it", links=links)


def _duplicate(candidate: Candidate, neighbours: Sequence[Neighbour]) -> Decision | None:
    text = normalize(candidate.text)
    best: Neighbour | None = None
    for n in neighbours:
        m = n.memory
        if m.type != candidate.type or not m.current or _other_session(candidate, m):
            continue
        same_text = normalize(m.text) == text
        if not same_text and n.similarity < (RESTATED if _restates(candidate, m) else DUPLICATE):
            continue
        if best is None or (same_text, n.similarity) > (normalize(best.memory.text) == text,
                                                          best.similarity):
            best = n
    if best is None:
        return None
    m = best.memory
    if "sentence" in candidate.fields and "sentence" in m.fields:
        return Decision("merge", m.id, "said again")  # another sentence: more evidence
    # Still looking at the same thing (a screen a few seconds later): no new evidence.
    lo, hi = m.started_at - REPEAT_WINDOW, m.ended_at + REPEAT_WINDOW
    if lo <= candidate.started_at <= hi:
        return Decision("ignore", m.id, "duplicate of what was just seen")
    refine = candidate.type == "procedural" and _more_steps(candidate, m)
    return Decision("merge", m.id, "seen again", refine=refine)


def _other_session(candidate: Candidate, memory: Memory) -> bool:
    """Episodes of two named chat sessions: two conversations however alike they read
    ("On 9 July Gina and Jon talked…" / "On 16 March…"), never one seen again."""
    a, b = candidate.group_key or "", memory.group_key or ""
    return (candidate.type == "episodic" and a != b and a.startswith("chat|")
            and b.startswith("chat|") and not a.endswith("|") and not b.endswith("|"))


def _fuller(candidate: Candidate, memory: Memory) -> bool:
    """The candidate says what the memory says and more: "You work at Siemens" →
    "You work at Siemens as a data engineer" (the merge takes its words; history keeps both)."""
    old, new = normalize(memory.text), normalize(candidate.text)
    return new.startswith(old + " ")


def _restates(candidate: Candidate, memory: Memory) -> bool:
    """Both are sentence facts about the same subject, of the same kind and time."""
    a, b = candidate.fields, memory.fields
    return ("sentence" in a and "sentence" in b and a.get("subject") == b.get("subject")
            and a.get("kind") == b.get("kind") and a.get("when") == b.get("when"))


def _similar_procedure(candidate: Candidate, neighbours: Sequence[Neighbour]) -> Decision | None:
    steps = steps_signature(list(candidate.fields.get("steps", ())))
    best: tuple[float, Memory] | None = None
    for n in neighbours:
        m = n.memory
        if m.type != "procedural" or not m.current or n.similarity < PROCEDURE_SIMILAR:
            continue
        shared = overlap(steps, steps_signature(list(m.fields.get("steps", ()))))
        if shared >= STEP_OVERLAP and (best is None or shared > best[0]):
            best = (shared, m)
    if best is None:
        return None
    return Decision("merge", best[1].id, "the same procedure",
                    refine=_more_steps(candidate, best[1]))


def _more_steps(candidate: Candidate, memory: Memory) -> bool:
    return len(candidate.fields.get("steps", ())) > len(memory.fields.get("steps", ()))


def _links(candidate: Candidate, neighbours: Sequence[Neighbour]) -> tuple[tuple[int, str], ...]:
    links: list[tuple[int, str]] = []
    subject = str(candidate.fields.get("subject", "")).lower()
    for n in sorted(neighbours, key=lambda n: -n.similarity):
        m = n.memory
        if not m.current:
            continue
        if subject and str(m.fields.get("subject", "")).lower() == subject:
            links.append((m.id, "subject"))
        elif n.similarity >= RELATED:
            links.append((m.id, "related"))
        if len(links) >= MAX_LINKS:
            break
    return tuple(links)
