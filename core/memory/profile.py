"""The core profile: what Engram believes about the person, derived from their facts (pure).

Sections: the person's name, the people around them (relations they named,
and the people they talk with most), places, work, ongoing projects and
plans, preferences. Every item names the memories it rests on, so the
Memories view can open them and a person can see why Engram thinks so.
Only current memories count: a superseded "lives in Lisbon" is history.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Sequence

from core.memory.types import SELF, Memory

SECTIONS = ("name", "people", "places", "work", "projects", "preferences")
_PLACES = {"lives_in": "lives in", "from": "is from", "born_in": "was born in"}
_WORK = {"works_at": "works at", "job": "works as", "studies": "studies"}
_PROJECTS = {"working_on": "working on", "learning": "learning"}
_PREFERENCES = ("likes", "prefers", "dislikes")
MAX_PER_SECTION = 12


@dataclass(frozen=True)
class ProfileItem:
    """One line of the profile and the memories it is derived from."""

    section: str
    text: str
    memory_ids: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"section": self.section, "text": self.text, "memories": list(self.memory_ids)}


@dataclass(frozen=True)
class Profile:
    """The person's name (when known) and the profile's items, section by section."""

    owner: str | None
    items: tuple[ProfileItem, ...]

    def section(self, name: str) -> list[ProfileItem]:
        return [i for i in self.items if i.section == name]

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "sections": {
            s: [i.to_json() for i in self.section(s)] for s in SECTIONS}}


def build_profile(memories: Sequence[Memory], *, owner_names: Sequence[str] = ()) -> Profile:
    """The profile from ``memories`` (any order; superseded ones are ignored)."""
    current = [m for m in memories if m.current and m.type in ("core", "semantic")]
    items: list[ProfileItem] = []
    owner = owner_names[0] if owner_names else None
    same: dict[tuple[str, str], list[int]] = defaultdict(list)  # (section, text) → ids
    talkers: Counter[str] = Counter()
    talker_ids: dict[str, list[int]] = defaultdict(list)
    for m in sorted(current, key=lambda m: (m.valid_from, m.id)):
        f = m.fields
        subject = str(f.get("subject") or "")
        attribute = str(f.get("attribute") or "")
        value = str(f.get("value") or "")
        kind = str(f.get("kind") or "")
        if subject != SELF:
            if subject:
                talkers[subject] += 1
                talker_ids[subject].append(m.id)
            continue
        if attribute == "name" and value:
            owner = value
            same[("name", value)].append(m.id)
        elif attribute.startswith("relation:") and value:
            same[("people", f"{value}, your {attribute.split(':', 1)[1]}")].append(m.id)
        elif attribute == "partner" and value:
            same[("people", f"{value}, your partner")].append(m.id)
        elif attribute in _PLACES and value:
            same[("places", f"You {_PLACES[attribute].replace('lives', 'live')} {value}")
                 ].append(m.id)
        elif attribute in _WORK and value:
            verb = _WORK[attribute].replace("works", "work").replace("studies", "study")
            same[("work", f"You {verb} {value}")].append(m.id)
        elif attribute in _PROJECTS and value:
            same[("projects", f"You are {_PROJECTS[attribute]} {value}")].append(m.id)
        elif kind == "plan":
            same[("projects", m.text.rstrip("."))].append(m.id)
        elif attribute in _PREFERENCES or attribute.startswith("favorite:") or kind == "preference":
            same[("preferences", m.text.rstrip("."))].append(m.id)
    for (section, text), ids in same.items():
        items.append(ProfileItem(section, text, tuple(ids)))
    for name, _n in talkers.most_common(MAX_PER_SECTION):
        items.append(ProfileItem("people", name, tuple(talker_ids[name][:20])))
    ordered: list[ProfileItem] = []
    for section in SECTIONS:
        ordered += [i for i in items if i.section == section][:MAX_PER_SECTION]
    return Profile(owner=owner, items=tuple(ordered))


def load_profile(db: Any, *, owner_names: Sequence[str] = ()) -> Profile:
    """The profile from the store's current core and semantic memories."""
    from core.memory import rows

    memories = rows.select(db, "type IN ('core', 'semantic') AND superseded_by IS NULL "
                               "AND valid_until IS NULL", order="id")
    return build_profile(memories, owner_names=owner_names)
