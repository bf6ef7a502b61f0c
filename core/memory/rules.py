"""The rule-based builder: events → memory candidates, no chat model needed (pure).

- facts: first-person statements (``statements.py``) said by the person
  (a note, chat speaker "You" or one of ``owner_names``) become core memories
  ("You moved to Porto"); said by someone else in a chat, semantic memories
  about that speaker ("Ana works at Siemens"). An assistant's "I" is not a fact
  about anyone; screen and file text is not a person speaking, so no facts.
- procedures: numbered steps and shell commands (``procedures.py``) anywhere.
- episodes: drafts from ``episodes.group_events``; ``episode_candidate`` turns
  a draft (possibly joined with a stored episode's events) into a candidate.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from core.memory.episodes import EpisodeDraft, describe, group_events, worth_keeping
from core.memory.facts import Fact, Voice, facts_from_text
from core.memory.procedures import procedures
from core.memory.statements import Statement, statements
from core.memory.text import normalize
from core.memory.types import SELF, Candidate
from core.records import Event

ASSISTANT_SPEAKERS = frozenset({"chatgpt", "claude", "assistant", "gemini", "copilot",
                                "engram", "bard", "bot", "system"})
IMPORTANCE = {"core": 0.9, "self_semantic": 0.6, "semantic": 0.5, "procedural": 0.5}


@dataclass(frozen=True)
class RuleConfig:
    """What the rules need to know about the person: the names they chat under."""

    owner_names: tuple[str, ...] = ()


def speaker_subject(event: Event, config: RuleConfig) -> str | None:
    """Who "I" is in ``event``: ``SELF``, a speaker's name, or None (not a person's claim)."""
    if event.source == "note":
        return SELF
    if event.source != "chat":
        return None
    speaker = (event.speaker or "").strip()
    role = str(event.meta.get("role") or "")
    if role == "assistant" or speaker.lower() in ASSISTANT_SPEAKERS:
        return None
    owners = {n.lower() for n in config.owner_names} | {"you", "me"}
    if role == "user" or speaker.lower() in owners:
        return SELF
    return speaker or None


def fact_candidate(event: Event, subject: str, st: Statement) -> Candidate:
    """A core/semantic candidate for one statement by ``subject`` in ``event``."""
    is_self = subject == SELF
    memory_type = "core" if is_self and st.core else "semantic"
    subject_name = "You" if is_self else subject
    text = st.self_text if is_self else st.other_text.format(s=subject)
    importance = IMPORTANCE["core"] if memory_type == "core" else (
        IMPORTANCE["self_semantic"] if is_self else IMPORTANCE["semantic"])
    return Candidate(
        type=memory_type, title=text, text=text + ".", sources=(event.id,),
        valid_from=event.started_at, started_at=event.started_at, ended_at=event.ended_at,
        importance=importance, origin="rules",
        fields={"subject": SELF if is_self else subject, "subject_name": subject_name,
                "attribute": st.attribute, "value": st.value, "single": st.single},
        fact_key=fact_key(subject, st.attribute),
        entities=" ".join(dict.fromkeys([subject_name, st.value])),
    )


def fact_key(subject: str, attribute: str) -> str:
    """The identity facts share when they can confirm or supersede each other."""
    return f"{' '.join(subject.lower().split())}|{attribute}"


# Structured statements whose values are names and places stay clean; free-text values
# ("a fan of both classical like Bach") are left to the sentence facts.
_CLEAN_KINDS = ("place", "name")
# Screen text is somebody's only where the person writes: editors, notes, mail.
WRITING_APPS = ("code", "vim", "nvim", "emacs", "gedit", "kate", "sublime", "notepad", "notes",
                "obsidian", "logseq", "joplin", "typora", "writer", "word", "docs", "mail",
                "thunderbird", "outlook", "textedit", "zed")


def voice_of(event: Event, config: RuleConfig, addressees: dict[str, str]) -> Voice | None:
    """Who "I" (and "you") are in ``event``; None when its text is nobody's own words."""
    if event.source == "screen":
        app = (event.app or "").lower()
        return Voice("You") if any(w in app for w in WRITING_APPS) else None
    if event.source == "file":
        return Voice("You")
    subject = speaker_subject(event, config)
    if subject is None:
        return None
    if subject == SELF:
        return Voice("You")
    return Voice(subject, addressees.get(f"{event.thread}|{subject}"))


def addressees_of(events: Sequence[Event], config: RuleConfig) -> dict[str, str]:
    """"thread|speaker" → the one other person in a two-person conversation."""
    people: dict[str, set[str]] = {}
    for event in events:
        if event.source == "chat" and event.speaker:
            people.setdefault(event.thread or "", set()).add(event.speaker)
    out: dict[str, str] = {}
    owners = {n.lower() for n in config.owner_names} | {"you", "me"}
    for thread, names in people.items():
        if len(names) != 2:
            continue
        a, b = sorted(names)
        out[f"{thread}|{a}"] = "you" if b.lower() in owners else b
        out[f"{thread}|{b}"] = "you" if a.lower() in owners else a
    return out


def sentence_fact_candidate(event: Event, fact: Fact) -> Candidate:
    """A candidate for one sentence fact: core for the person's lasting traits, else semantic."""
    is_self = fact.subject == "You"
    lasting = fact.kind in ("relation", "preference", "skill", "state")
    memory_type = "core" if is_self and lasting else "semantic"
    importance = IMPORTANCE["core"] if memory_type == "core" else (
        IMPORTANCE["self_semantic"] if is_self else IMPORTANCE["semantic"])
    fields: dict[str, object] = {
        "subject": SELF if is_self else fact.subject, "subject_name": fact.subject,
        "kind": fact.kind, "sentence": fact.sentence,
        "when": fact.when.to_json() if fact.when else None, "single": False}
    names = [w for w in fact.text.split() if w[:1].isupper()][:6]
    return Candidate(
        type=memory_type, title=fact.text.rstrip("."), text=fact.text, sources=(event.id,),
        valid_from=event.started_at, started_at=event.started_at, ended_at=event.ended_at,
        importance=importance + (0.05 if fact.when else 0.0), origin="rules", fields=fields,
        entities=" ".join(dict.fromkeys([fact.subject] + [n.strip(".,!?'\"") for n in names])),
    )


def fact_candidates(events: Sequence[Event], config: RuleConfig) -> list[Candidate]:
    """Structured statements and sentence facts of every event that is someone's own words."""
    out: list[Candidate] = []
    addressees = addressees_of(events, config)
    for event in events:
        voice = voice_of(event, config, addressees)
        if voice is None:
            continue
        subject = SELF if voice.name == "You" else voice.name
        keyed: list[Candidate] = []
        if event.source in ("chat", "note"):
            for st in statements(event.text):
                if st.attribute.startswith(("relation:", "favorite:")) or st.attribute == "pet" \
                        or _kind_of(st.attribute) in _CLEAN_KINDS:
                    keyed.append(fact_candidate(event, subject, st))
        anchor = event.started_at.astimezone()  # "yesterday" is a day on the person's calendar
        well_formed = event.source in ("screen", "file")
        for fact in facts_from_text(event.text, voice, anchor, require_well_formed=well_formed,
                                    opinions=event.source == "chat"):
            fuller = next((n for n, c in enumerate(keyed) if _extends(fact.text, c.text)), None)
            if fuller is None:
                out.append(sentence_fact_candidate(event, fact))
            else:  # "You work at Siemens" + "… as a data engineer": one fact, the fuller words
                keyed[fuller] = with_sentence(keyed[fuller], fact)
        out += keyed
    return out


def _extends(sentence_fact: str, statement: str) -> bool:
    """Whether a sentence fact says the statement and more ("… Siemens as a data engineer")."""
    a, b = normalize(sentence_fact), normalize(statement)
    return a.startswith(b + " ") or a == b


def with_sentence(cand: Candidate, fact: Fact) -> Candidate:
    """A keyed statement candidate worded as the fuller sentence fact that contains it."""
    fields = dict(cand.fields, kind=fact.kind, sentence=fact.sentence,
                  when=fact.when.to_json() if fact.when else None)
    return replace(cand, title=fact.text.rstrip("."), text=fact.text, fields=fields)


def _kind_of(attribute: str) -> str:
    from core.memory.statements import PATTERNS

    return next((p.kind for p in PATTERNS if p.attribute == attribute), "free")


def procedure_candidates(events: Sequence[Event]) -> list[Candidate]:
    out: list[Candidate] = []
    for event in events:
        context = event.title or event.thread or event.app
        for proc in procedures(event.text, context=context):
            where = event.app or event.thread or event.source
            out.append(Candidate(
                type="procedural", title=proc.title, text=proc.text, sources=(event.id,),
                valid_from=event.started_at, started_at=event.started_at,
                ended_at=event.ended_at,
                importance=IMPORTANCE["procedural"] + (0.1 if len(proc.steps) >= 4 else 0.0),
                origin="rules",
                fields={"steps": list(proc.steps), "commands": proc.commands,
                        "from_event": event.id, "where": where},
                entities=where or "",
            ))
    return out


def episode_candidate(draft: EpisodeDraft, *, config: RuleConfig,
                      extends: int | None = None, extends_updated: float | None = None,
                      ) -> Candidate | None:
    """The candidate for ``draft`` (its events may include a stored episode's), or None
    when there is too little to remember."""
    events = sorted(draft.events, key=lambda e: (e.started_at, e.id))
    if not worth_keeping(draft.kind, events):
        return None
    d = describe(draft.group_key, events, owner_names=config.owner_names)
    return Candidate(
        type="episodic", title=d.title, text=d.text, sources=tuple(e.id for e in events),
        valid_from=events[0].started_at, started_at=events[0].started_at,
        ended_at=max(e.ended_at for e in events), importance=d.importance, origin="rules",
        fields=d.fields, group_key=draft.group_key, entities=d.entities,
        extends=extends, extends_updated=extends_updated,
    )


def build(events: Sequence[Event], config: RuleConfig) -> tuple[list[Candidate], list[EpisodeDraft]]:
    """Facts and procedures from ``events``, and the episode drafts to finish against
    the store (they may continue stored episodes)."""
    return (fact_candidates(events, config) + procedure_candidates(events),
            group_events(events))


__all__ = ["RuleConfig", "build", "episode_candidate", "fact_candidate", "fact_key",
           "fact_candidates", "procedure_candidates", "speaker_subject"]
