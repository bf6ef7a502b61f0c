"""The app's look in one place: Fusion, a light and a dark palette that follow the
system (and its later changes), one style sheet with the palette's colours filled
in, and dates written the way the system's locale writes them.

``ENGRAM_THEME=light|dark`` (or the ``theme`` setting) overrides the system's
choice; the screenshot test uses it to photograph both themes on one display.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from core import timefmt


@dataclass(frozen=True)
class Colors:
    """The few colours the style sheet and custom painting use beyond the palette."""

    dark: bool
    window: str
    base: str
    alt: str
    text: str
    muted: str
    border: str
    hover: str
    accent: str
    accent_text: str
    sidebar: str
    link: str
    mark: str  # the background behind matched words


LIGHT = Colors(dark=False, window="#f4f5f7", base="#ffffff", alt="#f7f8fa", text="#1f2328",
               muted="#636c76", border="#d0d7de", hover="#eaeef2", accent="#2f6fde",
               accent_text="#ffffff", sidebar="#eceef1", link="#1f5fc8", mark="#fff1a8")
# Inputs lighter than the window in dark: Fusion outlines check boxes with a darker
# window colour, which would vanish on a darker base.
DARK = Colors(dark=True, window="#1b1c1f", base="#25272b", alt="#2a2c31", text="#e6e8eb",
              muted="#9aa1a9", border="#3d4046", hover="#32353b", accent="#4c82f7",
              accent_text="#ffffff", sidebar="#232427", link="#8ab4f8", mark="#5c4d12")

_current = LIGHT
_choice: str | None = None  # "light", "dark" or "system"; None: ENGRAM_THEME, else system


def colors() -> Colors:
    """The colours in use now (light or dark)."""
    return _current


def _palette(c: Colors) -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    for role, value in ((roles.Window, c.window), (roles.WindowText, c.text),
                        (roles.Base, c.base), (roles.AlternateBase, c.alt),
                        (roles.Text, c.text), (roles.Button, c.base if not c.dark else "#2f3237"),
                        (roles.ButtonText, c.text), (roles.ToolTipBase, c.base),
                        (roles.ToolTipText, c.text), (roles.PlaceholderText, c.muted),
                        (roles.Highlight, c.accent), (roles.HighlightedText, c.accent_text),
                        (roles.Link, c.link), (roles.BrightText, "#ffffff")):
        p.setColor(role, QColor(value))
    # Fusion draws frames and bevels from these; derived from the window colour.
    window = QColor(c.window)
    for role, factor in ((roles.Light, 130 if c.dark else 115), (roles.Midlight, 115),
                         (roles.Mid, 140 if c.dark else 120), (roles.Dark, 160),
                         (roles.Shadow, 220)):
        shade = window.lighter(factor) if role in (roles.Light, roles.Midlight) else \
            window.darker(factor)
        p.setColor(role, shade)
    disabled = QColor(c.muted)
    disabled.setAlpha(150)
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, roles.Highlight, QColor(c.border))
    return p


def style_sheet(c: Colors) -> str:
    """The application's style sheet with ``c``'s colours filled in."""
    from importlib import resources

    try:
        qss = resources.files("resources").joinpath("style", "app.qss").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return ""
    style = resources.files("resources").joinpath("style")
    images = {"chevron": f"chevron-{'dark' if c.dark else 'light'}.svg", "check": "check.svg"}
    values = {**vars(c), **{k: Path(str(style.joinpath(v))).as_posix() for k, v in images.items()}}
    # Longest names first: "@accent_text" is not "@accent" followed by "_text".
    for name, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        qss = qss.replace(f"@{name}", str(value))
    return qss


def wanted_dark(app: QGuiApplication, choice: str | None = None) -> bool:
    """Dark when asked for (``ENGRAM_THEME`` / the setting), else when the system is."""
    choice = (choice or _choice or os.environ.get("ENGRAM_THEME") or "system").lower()
    if choice in ("light", "dark"):
        return choice == "dark"
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app, choice: str | None = None) -> None:
    """Fusion with Engram's palette and style sheet, light or dark like the system
    (``choice`` "light"/"dark" fixes one; "system" follows the system again)."""
    global _choice
    if choice is not None:
        _choice = choice
    app.setStyle("Fusion")

    def follow() -> None:
        global _current
        _current = DARK if wanted_dark(app) else LIGHT
        app.setPalette(_palette(_current))
        app.setStyleSheet(style_sheet(_current))

    follow()
    if not getattr(app, "_engram_follows_scheme", False):
        app._engram_follows_scheme = True
        app.styleHints().colorSchemeChanged.connect(lambda _s: follow())
    timefmt.use(locale_time_style(QLocale.system()))


def locale_time_style(loc: QLocale) -> timefmt.TimeStyle:
    """The formatter's style from a Qt locale (which also reads Windows' and macOS'
    regional settings); the C locale keeps the formatter's unambiguous default."""
    if loc.language() == QLocale.Language.C:
        return timefmt.DEFAULT
    fmt = QLocale.FormatType
    # Qt's weekdays are 1 = Monday … 7 = Sunday, as the formatter's.
    return timefmt.style_from_formats(
        loc.dateFormat(fmt.LongFormat), loc.timeFormat(fmt.ShortFormat),
        months=tuple(loc.monthName(m, fmt.LongFormat) for m in range(1, 13)),
        months_short=tuple(loc.monthName(m, fmt.ShortFormat) for m in range(1, 13)),
        weekdays=tuple(loc.dayName(d, fmt.LongFormat) for d in range(1, 8)),
        weekdays_short=tuple(loc.dayName(d, fmt.ShortFormat) for d in range(1, 8)))
