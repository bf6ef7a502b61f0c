"""Whether a window may be captured: password managers, private browsing, exclusions.

Pure: ``should_capture(window, settings)`` looks only at the window's app,
process and title. It runs before every grab, so a window that must not be
recorded is never OCR'd, not just filtered afterwards.

Rules, in order:

1. Unknown window (no backend, nothing focused): not captured unless
   ``capture_unknown`` — without a window we cannot rule out a password manager.
2. Engram's own windows (a memory of the memory app is noise, and may show
   recalled secrets).
3. Password managers and credential prompts (KeePassXC, 1Password, Bitwarden,
   Seahorse, pinentry…), by app/process name or by a title segment that names
   one ("Vault.kdbx - KeePassXC", "Bitwarden Web Vault — Mozilla Firefox").
4. Private / incognito browser windows, recognised by their title suffixes.
5. The person's own excluded apps and title patterns. A pattern is a
   case-insensitive glob ("*bank*"), or a regex when written ``re:<regex>``.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ingest.screen.window import WindowInfo

# Normalised (lowercase, alphanumerics only) app/process names and their display names.
DEFAULT_EXCLUDED_APPS: Mapping[str, str] = {
    "keepassxc": "KeePassXC", "keepass": "KeePass", "keepass2": "KeePass",
    "1password": "1Password", "bitwarden": "Bitwarden", "enpass": "Enpass",
    "lastpass": "LastPass", "dashlane": "Dashlane", "protonpass": "Proton Pass",
    "seahorse": "Passwords and Keys", "orggnomeseahorseapplication": "Passwords and Keys",
    "gnomekeyring": "GNOME Keyring", "pinentry": "pinentry", "gcrprompter": "GNOME password prompt",
    "kwalletmanager": "KWallet", "kwalletmanager5": "KWallet", "ksshaskpass": "ksshaskpass",
    "sshaskpass": "ssh-askpass", "keychainaccess": "Keychain Access", "passwords": "Passwords",
    "policykitagent": "polkit", "polkitgnomeauthenticationagent1": "polkit",
}
# Window titles that belong to a password manager whatever the app reports.
DEFAULT_EXCLUDED_TITLES: tuple[str, ...] = ("Passwords and Keys", "Unlock Keyring",
                                            "Unlock Database - KeePassXC")

# Names that mark a password manager when they are a whole title segment.
_TITLE_NAMES = frozenset({"keepassxc", "keepass", "1password", "bitwarden", "enpass",
                          "lastpass", "dashlane", "protonpass", "kwalletmanager"})

_SEGMENT_SPLIT = re.compile(r"\s+[-—–|·]\s+")
# (title pattern, browser, app pattern the window must come from or None for any).
# Firefox: "{page} — Mozilla Firefox Private Browsing" (browser.ftl); Chromium
# family: accessible titles "{page} (Incognito)", Brave "(Private)", Edge "[InPrivate]".
_PRIVATE_TITLE: tuple[tuple[re.Pattern[str], str, re.Pattern[str] | None], ...] = (
    (re.compile(r"(?:^|[-—–]\s*)(?:[\w. ]*(?:Firefox|LibreWolf|Waterfox|Floorp)[\w. ]*\s)?"
                r"Private Browsing\s*$"), "Firefox", None),
    (re.compile(r"\(Incognito\)\s*$|^New Incognito [Tt]ab\b"), "Chrome/Chromium", None),
    (re.compile(r"(?:^|[-—–]\s*)Incognito\s*$"), "Chrome/Chromium",
     re.compile(r"(?i)chrom|vivaldi|opera")),
    (re.compile(r"\[InPrivate\]|^New InPrivate [Tt]ab\b|(?:^|[-—–]\s*)InPrivate\s*(?:[-—–]|$)"),
     "Edge", None),
    (re.compile(r"\((?:Private|Private with Tor)\)\s*$|^New Private [Tt]ab\b"), "Brave", None),
    (re.compile(r"(?:^|[-—–]\s*)Private(?: Window)?(?: with Tor)?\s*$"), "Brave",
     re.compile(r"(?i)brave")),
)
_ALWAYS_PRIVATE_APPS = {"torbrowser": "Tor Browser"}


@dataclass(frozen=True)
class Decision:
    """The answer for one window, with a reason a person can read in the tray."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class PrivacySettings:
    """What the person chose; defaults are the safe ones."""

    excluded_apps: tuple[str, ...] = ()
    excluded_titles: tuple[str, ...] = ()
    capture_unknown: bool = False
    capture_private_windows: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PrivacySettings:
        """Build from settings keys ``screen_excluded_apps``, ``screen_excluded_titles``,
        ``screen_capture_unknown_windows``, ``screen_capture_private_windows``."""
        def strings(key: str) -> tuple[str, ...]:
            raw = values.get(key) or ()
            if isinstance(raw, str):
                raw = [raw]
            return tuple(str(v) for v in raw if str(v).strip())
        return cls(excluded_apps=strings("screen_excluded_apps"),
                   excluded_titles=strings("screen_excluded_titles"),
                   capture_unknown=bool(values.get("screen_capture_unknown_windows", False)),
                   capture_private_windows=bool(values.get("screen_capture_private_windows",
                                                           False)))


def _norm(name: str) -> str:
    name = name.strip().lower()
    if name.endswith(".exe"):
        name = name[:-4]
    return re.sub(r"[^0-9a-z]", "", name)


def _name_parts(name: str) -> set[str]:
    """"pinentry-gtk-2" → {"pinentrygtk2", "pinentry", "gtk", "2"}; same for reverse-DNS ids."""
    return {_norm(name)} | {_norm(p) for p in re.split(r"[-_. /\\]+", name) if p}


def _password_manager(window: WindowInfo) -> str | None:
    for name in (window.app, window.process):
        if name:
            for part in _name_parts(name):
                if part in DEFAULT_EXCLUDED_APPS:
                    return DEFAULT_EXCLUDED_APPS[part]
    title = (window.title or "").strip()
    if title in DEFAULT_EXCLUDED_TITLES:
        return title
    for segment in _SEGMENT_SPLIT.split(title):
        words = segment.split()
        # "KeePassXC", "Proton Pass", "Bitwarden Web Vault" — not "How to use Bitwarden".
        if not words or len(words) > 3:
            continue
        for key in (_norm(segment), _norm(words[0]), _norm("".join(words[:2]))):
            if key in _TITLE_NAMES:
                return DEFAULT_EXCLUDED_APPS[key]
    return None


def _private_window(window: WindowInfo) -> str | None:
    for part in _name_parts(window.app or "") | _name_parts(window.process or ""):
        if part in _ALWAYS_PRIVATE_APPS:
            return _ALWAYS_PRIVATE_APPS[part]
    title = window.title or ""
    app = " ".join(n for n in (window.app, window.process) if n)
    for pattern, browser, app_pattern in _PRIVATE_TITLE:
        if pattern.search(title) and (app_pattern is None or app_pattern.search(app)):
            return browser
    return None


def _pattern_matches(pattern: str, text: str) -> bool:
    if pattern.startswith("re:"):
        try:
            return re.search(pattern[3:], text, re.IGNORECASE) is not None
        except re.error:
            return False  # a broken user pattern must not stop capture decisions
    return fnmatch.fnmatchcase(text.lower(), pattern.lower())


def _user_excluded_app(window: WindowInfo, apps: Iterable[str]) -> str | None:
    names = [n for n in (window.app, window.process) if n]
    for wanted in apps:
        for name in names:
            if any(c in wanted for c in "*?[") or wanted.startswith("re:"):
                if _pattern_matches(wanted, name):
                    return wanted
            elif _norm(wanted) in _name_parts(name):
                return wanted
    return None


def _is_engram(window: WindowInfo) -> bool:
    names = [n for n in (window.app, window.process) if n]
    if any("engram" in _name_parts(n) for n in names):
        return True
    return (window.title or "").lstrip().lower().startswith("engram")


def should_capture(window: WindowInfo | None, settings: PrivacySettings) -> Decision:
    """Decide whether ``window`` may be captured now; the reason says why not."""
    if window is None:
        if settings.capture_unknown:
            return Decision(True, "active window unknown (allowed by settings)")
        return Decision(False, "active window unknown")
    if _is_engram(window):
        return Decision(False, "Engram's own window")
    manager = _password_manager(window)
    if manager:
        return Decision(False, f"excluded app: {manager}")
    browser = _private_window(window)
    if browser and not settings.capture_private_windows:
        return Decision(False, f"private browser window ({browser})")
    app = _user_excluded_app(window, settings.excluded_apps)
    if app:
        return Decision(False, f"excluded app: {app}")
    title = window.title or ""
    for pattern in settings.excluded_titles:
        if _pattern_matches(pattern, title):
            return Decision(False, f"excluded title: {pattern}")
    return Decision(True, "allowed")
