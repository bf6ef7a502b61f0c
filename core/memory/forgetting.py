"""Strength on a forgetting curve, reinforced by recall and new evidence (pure).

The curve is Ebbinghaus's exponential as MemoryBank uses it: retention
``R = exp(-t / S)``, where ``t`` is the time since the memory was last
reinforced and ``S`` its *stability* in days. Reinforcement resets ``t`` and
multiplies ``S`` (spacing effect: a memory recalled when it was nearly gone
gains more than one recalled twice in a minute). Strength is
``max(R, floor)``: importance raises the floor, and core memories (the
person's profile) and pinned ones never fade. A memory whose strength fell
below ``WEAK`` and that is older than ``MIN_WEAK_AGE`` drops out of default
retrieval; it is kept and ``--all`` shows it.

Every function takes ``now``: the clock is the caller's, so tests control it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

# Initial stability in days, before importance scales it (x0.5 … x1.5).
BASE_STABILITY = {"core": 3650.0, "episodic": 7.0, "semantic": 30.0, "procedural": 30.0}
MAX_STABILITY = 3650.0
RECALL_GROWTH = 2.0      # a recall doubles stability …
EVIDENCE_GROWTH = 1.5    # … new evidence for the same memory adds half again
SPACING_BONUS = 1.0      # extra growth when recalled at low retention
FLOOR_PER_IMPORTANCE = 0.2  # importance 1.0 → strength never below 0.2
WEAK = 0.12
MIN_WEAK_AGE = timedelta(days=7)


@dataclass(frozen=True)
class Curve:
    """The stored parameters of one memory's curve."""

    type: str
    importance: float
    stability: float
    reinforced_at: datetime
    created_at: datetime
    pinned: bool = False


def initial_stability(memory_type: str, importance: float) -> float:
    """Stability (days) a new memory starts with: important ones last longer."""
    base = BASE_STABILITY.get(memory_type, 30.0)
    return min(MAX_STABILITY, base * (0.5 + max(0.0, min(1.0, importance))))


def retention(stability: float, reinforced_at: datetime, now: datetime) -> float:
    """Fraction retained since the last reinforcement: exp(-days / stability)."""
    days = max(0.0, (now - reinforced_at).total_seconds() / 86400.0)
    return math.exp(-days / max(stability, 1e-6))


def floor(memory_type: str, importance: float, pinned: bool = False) -> float:
    """The lowest strength a memory can fall to."""
    if pinned or memory_type == "core":
        return 1.0
    return FLOOR_PER_IMPORTANCE * max(0.0, min(1.0, importance))


def strength(curve: Curve, now: datetime) -> float:
    """Strength in [0, 1] at ``now``."""
    return max(retention(curve.stability, curve.reinforced_at, now),
               floor(curve.type, curve.importance, curve.pinned))


def is_weak(curve: Curve, now: datetime) -> bool:
    """Weak and old: left out of default retrieval (still stored)."""
    return strength(curve, now) < WEAK and now - curve.created_at >= MIN_WEAK_AGE


def reinforce(curve: Curve, now: datetime, *, kind: str = "recall") -> tuple[float, datetime]:
    """New (stability, reinforced_at) after a recall or new evidence at ``now``.

    Growth is larger the more had been forgotten (spacing effect); a repeat
    within moments changes almost nothing beyond resetting the clock.
    """
    r = retention(curve.stability, curve.reinforced_at, now)
    base = RECALL_GROWTH if kind == "recall" else EVIDENCE_GROWTH
    growth = 1.0 + (base - 1.0 + SPACING_BONUS * (1.0 - r)) * (1.0 - r * 0.5)
    return min(MAX_STABILITY, curve.stability * growth), now


def rank_factor(strength_value: float, importance: float) -> float:
    """How much strength and importance scale a memory's search score (0.5 … 1.2)."""
    return (0.5 + 0.5 * strength_value) * (1.0 + 0.2 * max(0.0, min(1.0, importance)))
