"""One style sheet, two palettes, and dates the way the system's locale writes them."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QLocale
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app import theme
from core import timefmt


def test_light_and_dark_share_one_complete_style_sheet(qtbot) -> None:
    app = QApplication.instance()
    try:
        for choice, dark in (("dark", True), ("light", False)):
            theme.apply_theme(app, choice)
            assert theme.colors().dark is dark
            window = app.palette().color(QPalette.ColorRole.Window)
            assert (window.lightness() < 128) is dark
            qss = app.styleSheet()
            rules = re.sub(r"/\*.*?\*/|url\([^)]*\)", "", qss, flags=re.S)
            assert qss and "@" not in rules, "a colour left unfilled"
            for url in re.findall(r"url\(([^)]*)\)", qss):
                assert Path(url).is_file(), url
            # Text stays readable on its background in both themes.
            text = app.palette().color(QPalette.ColorRole.Text)
            base = app.palette().color(QPalette.ColorRole.Base)
            assert abs(text.lightness() - base.lightness()) > 150
    finally:
        theme.apply_theme(app, "light")
        timefmt.use(None)


def test_dates_follow_the_locale(qtbot) -> None:
    us = theme.locale_time_style(QLocale("en_US"))
    de = theme.locale_time_style(QLocale("de_DE"))
    when = datetime(2025, 3, 4, 15, 7).astimezone()
    now = datetime(2026, 6, 1, 12, 0).astimezone()
    assert timefmt.moment(when, now=now, s=us) == "Mar 4, 2025, 3:07 PM"
    assert timefmt.moment(when, now=now, s=de) == "4 März 2025 15:07"
    assert theme.locale_time_style(QLocale.c()) == timefmt.DEFAULT
