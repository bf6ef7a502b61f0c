"""Plain words for what the memory engine records in its own terms.

The engine's history keeps short internal notes ("another value of a
multi-valued attribute", actor "person"); a person reads "Added by Engram — one
of several", "Edited by you". Unknown notes pass through unchanged, so a new
engine reason is still shown, just not reworded.
"""
from __future__ import annotations

from core.units import plural

ACTIONS = {
    "add": "Added", "edit": "Edited", "pin": "Pinned", "unpin": "Unpinned",
    "delete": "Deleted", "undo": "Undone", "merge": "Seen again",
    "supersede": "Replaced by something newer", "revive": "In use again",
    "forget-source": "One of its sources was forgotten", "forgotten": "Forgotten",
}
ACTORS = {
    "person": "by you", "rules": "by Engram", "model": "by the chat model",
    "forget": "", "retention": "by the keep-for setting",
}
REASONS = {
    "new": "", "new fact": "",
    "continues the episode": "it continues the same episode",
    "same value: confirms it": "said again",
    "same value, said while it was still true": "said again while it was still true",
    "another value of a multi-valued attribute": "one of several things true at once",
    "a newer value replaces it": "a newer statement replaces it",
    "said again": "said again in other words",
    "duplicate of what was just seen": "the same as what was just seen",
    "seen again": "seen again another time",
    "the same procedure": "the same steps",
}
ORIGINS = {"rules": "found by Engram", "model": "written by the chat model",
           "person": "written by you"}


def change_text(action: str, actor: str, note: str = "") -> str:
    """A history entry in plain words: "Added by Engram — one of several things…"."""
    what = ACTIONS.get(action, action.replace("-", " ").capitalize())
    who = ACTORS.get(actor, f"by {actor}")
    why = REASONS.get(note.strip(), note.strip())
    return " ".join(p for p in (what, who) if p) + (f" — {why}" if why else "")


def evidence_text(sources: int, origin: str) -> str:
    """Where a memory comes from: "from 2 sources · found by Engram"."""
    where = plural(sources, "captured source") if sources else "no captured source"
    return f"from {where} · {ORIGINS.get(origin, origin)}"
