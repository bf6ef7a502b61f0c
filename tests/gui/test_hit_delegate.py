"""Result rows: no text overflows its rect, nothing overlaps, the row fits its lines.

Measured with ``QFontMetrics`` on the delegate's own layout, at widths from a
narrow sidebar to a wide window, with a long title, a long unbroken path, a long
snippet with matches, and a row picked (bold words are wider).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage
from PySide6.QtWidgets import QListView, QStyleOptionViewItem

from app.models.search_results import SearchResultsModel
from app.views.hit_delegate import ELLIPSIS, HitDelegate, marked_runs, wrap_runs
from core.records import Provenance, SearchHit

LONG_TITLE = ("Quarterly planning agenda for the Lisbon offsite with budget review, hiring plan "
              "and the roadmap for the second half — Mozilla Firefox")
LONG_SNIPPET = ("…the «tenacity» library retries with exponential backoff and jitter; "
                "Ana said it is much nicer than our hand-written loop because it handles "
                "«retries», timeouts and logging in one decorator, and the docs at "
                "https://tenacity.readthedocs.io/en/latest/api.html#tenacity.retry show how "
                "to stop after a number of attempts…")
UNBROKEN = "«" + "x" * 300 + "»"


def hits() -> list[SearchHit]:
    now = datetime.now(timezone.utc)
    return [
        SearchHit(id=1, kind="event", source="screen", time=now, title=LONG_TITLE,
                  snippet=LONG_SNIPPET, score=1.0, provenance=Provenance(app="Firefox"),
                  has_image=True),
        SearchHit(id=2, kind="event", source="file", time=now - timedelta(days=400),
                  title="invoice-117.md", snippet=UNBROKEN, score=0.9,
                  provenance=Provenance(path="/home/someone/" + "very-long-folder/" * 12
                                        + "invoice-117.md")),
        SearchHit(id=3, kind="memory", source="chat", time=now - timedelta(days=1),
                  title="Ana", snippet="short", score=0.8, provenance=Provenance(),
                  memory_type="semantic"),
        SearchHit(id=4, kind="event", source="chat", time=now, title="", snippet="",
                  score=0.7, provenance=Provenance(thread="Ana", app="WhatsApp")),
    ]


def text_width(piece) -> int:
    return piece.width()


@pytest.mark.parametrize("width", [180, 260, 420, 640, 1200])
@pytest.mark.parametrize("point_size", [9.0, 11.0, 14.0])
def test_no_text_overflows_its_rect(qtbot, width: int, point_size: float) -> None:
    model = SearchResultsModel()
    model.set_hits(hits(), "tenacity retries")
    delegate = HitDelegate()
    font = QFont()
    font.setPointSizeF(point_size)
    height = delegate.row_height(font)
    row = QRect(0, 0, width, height)
    for r in range(model.rowCount()):
        layout = delegate.layout(row, font, model.index(r, 0))
        rects = [layout.thumb] + [p.rect for p in layout.pieces]
        for piece in layout.pieces:
            assert piece.width() <= piece.rect.width(), (width, point_size, piece.role,
                                                         piece.runs)
            assert row.contains(piece.rect) or piece.rect.width() == 0, (piece.role, piece.rect)
            fm = QFontMetrics(piece.font)
            assert piece.rect.height() >= fm.height() - 1
        for i, a in enumerate(rects):
            for b in rects[i + 1:]:
                assert not a.intersects(b), (width, a, b)
        roles = [p.role for p in layout.pieces]
        assert roles[:2] == ["title", "when"] or width < 200


def test_long_text_is_elided_not_dropped(qtbot) -> None:
    model = SearchResultsModel()
    model.set_hits(hits(), "")
    delegate = HitDelegate()
    font = QFont()
    layout = delegate.layout(QRect(0, 0, 520, delegate.row_height(font)), font, model.index(0, 0))
    by_role = {p.role: p for p in layout.pieces}
    assert by_role["title"].runs[0][0].endswith(ELLIPSIS)
    assert by_role["when"].runs[0][0].startswith("Today")  # the time is never cut
    snippet = [by_role["snippet0"], by_role["snippet1"]]
    assert snippet[1].runs[-1][0] == ELLIPSIS
    assert ("tenacity", True) in snippet[0].runs  # matches stay bold
    # A path is elided in the middle: both its start and its file name stay visible.
    layout = delegate.layout(QRect(0, 0, 520, delegate.row_height(font)), font, model.index(1, 0))
    where = next(p for p in layout.pieces if p.role == "where").runs[0][0]
    assert where.startswith("File") and where.endswith("invoice-117.md") and ELLIPSIS in where
    when = next(p for p in layout.pieces if p.role == "when").runs[0][0]
    assert str((datetime.now() - timedelta(days=400)).year) in when  # another year: shown


def test_wrapping_breaks_words_longer_than_a_line(qtbot) -> None:
    fm = QFontMetrics(QFont())
    bold = QFont()
    bold.setBold(True)
    lines = wrap_runs(marked_runs(UNBROKEN), 150, fm, QFontMetrics(bold), 2)
    assert len(lines) == 2
    assert lines[1][-1] == (ELLIPSIS, False)
    assert marked_runs("a «b» c") == [("a ", False), ("b", True), (" c", False)]


def test_rows_paint_in_a_real_list_without_a_horizontal_scroll_bar(qtbot) -> None:
    view = QListView()
    model = SearchResultsModel(view)
    model.set_hits(hits(), "")
    view.setModel(model)
    view.setItemDelegate(HitDelegate(view))
    view.setUniformItemSizes(True)
    view.resize(340, 500)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    model.set_thumbnail(1, QImage(720, 450, QImage.Format.Format_RGB32))
    view.setCurrentIndex(model.index(0, 0))
    assert view.horizontalScrollBar().maximum() == 0
    rect = view.visualRect(model.index(0, 0))
    assert rect.height() == HitDelegate().row_height(view.font())
    assert rect.width() <= view.viewport().width()
    # Painting at 2x (high-DPI): the icons and text draw without errors.
    image = QImage(QSize(680, 1000), QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(2.0)
    view.viewport().render(image)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    assert HitDelegate().sizeHint(option, model.index(0, 0)).width() == 0


@pytest.mark.parametrize("source,memory_type", [("screen", None), ("file", None), ("chat", None),
                                                ("note", None), ("assistant", None),
                                                ("chat", "semantic"), ("chat", "core")])
def test_every_source_has_its_own_icon_crisp_at_2x(qtbot, source, memory_type) -> None:
    from app.views.source_icons import icon_name, source_icon

    icon = source_icon(source, QColor("#000000"), memory_type)
    pixmap = icon.pixmap(QSize(28, 28), 2.0)
    assert (pixmap.width(), pixmap.height()) == (56, 56)  # drawn for 2x, not scaled up
    image = pixmap.toImage()
    inked = sum(1 for y in range(56) for x in range(56) if image.pixelColor(x, y).alpha() > 128)
    assert 40 < inked < 56 * 56 // 2
    names = {icon_name(s) for s in ("screen", "file", "chat", "note", "assistant")}
    assert len(names) == 5
