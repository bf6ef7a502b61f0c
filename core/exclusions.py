""""Never record this app": one click to add an app to the screen exclusions, one to undo.

The exclusions live in the settings (``screen_excluded_apps``), the same list
the Sources view edits and capture reads when it (re)starts; these functions
only keep the list tidy (no duplicates, nothing else touched) and report what
changed, so a front end can offer an exact undo.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

KEY = "screen_excluded_apps"


class SettingsStore(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class Exclusion:
    """What one "never record" did: ``added`` False when the app was already excluded."""

    app: str
    added: bool


def excluded_apps(settings: SettingsStore) -> list[str]:
    """The person's excluded apps as stored (a hand-edited string counts as one)."""
    raw = settings.get(KEY) or []
    if isinstance(raw, str):
        raw = [raw]
    return [str(v) for v in raw if str(v).strip()]


def is_excluded(settings: SettingsStore, app: str) -> bool:
    """True when ``app`` is on the list (case-insensitive, as capture compares names)."""
    name = app.strip().lower()
    return any(v.strip().lower() == name for v in excluded_apps(settings))


def never_record(settings: SettingsStore, app: str) -> Exclusion:
    """Add ``app`` to the excluded apps; capture must be restarted to apply it."""
    name = app.strip()
    if not name:
        raise ValueError("an app name is needed")
    if is_excluded(settings, name):
        return Exclusion(name, False)
    settings.set(KEY, [*excluded_apps(settings), name])
    return Exclusion(name, True)


def undo(settings: SettingsStore, exclusion: Exclusion) -> bool:
    """Take back ``exclusion`` if it added the app; True when the list changed."""
    if not exclusion.added:
        return False
    name = exclusion.app.strip().lower()
    kept = [v for v in excluded_apps(settings) if v.strip().lower() != name]
    if len(kept) == len(excluded_apps(settings)):
        return False
    settings.set(KEY, kept)
    return True
