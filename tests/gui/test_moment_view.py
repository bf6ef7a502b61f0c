"""The full-size moment view and "Show in Timeline", with real widgets on a real store.

A screen event is stored the way capture stores it: a thumbnail of the active
window and a viewing image of the whole screen (WebP, in the encrypted store),
word boxes in frame pixels. The moment view must place the words on the large
picture, let a drag select them and Ctrl+C copy them, and zoom.
"""
from __future__ import annotations

import io
from datetime import date

from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from app.views.hit_detail import HitDetail
from app.views.moment import MomentWindow, open_moment
from core.records import Observation
from ingest.screen.frame import Rect
from ingest.screen.screentext import BOX_FORMAT, encode_boxes
from tests.gui.seed import IMAGE_SIZE, at, screenshot

WORDS = "Invoice 2024-117 garden shed due Friday".split()


def store_screen_moment(engine) -> int:
    """A 720×450 "screen" with WORDS; thumbnail = the window (left half), view = all."""
    png, boxes = screenshot(WORDS)
    screen = Image.open(io.BytesIO(png)).convert("RGB")
    window = Rect(0, 0, IMAGE_SIZE[0] // 2, IMAGE_SIZE[1])
    thumb, view = io.BytesIO(), io.BytesIO()
    screen.crop((0, 0, window.width, window.height)).save(thumb, format="WEBP", quality=50)
    screen.save(view, format="WEBP", quality=80)
    obs = Observation(
        source="screen", captured_at=at(8, 30), text=" ".join(WORDS), app="Mousepad",
        title="shed.txt - Mousepad", image=thumb.getvalue(), full_image=view.getvalue(),
        meta={"boxes": encode_boxes([Rect(*b) for b in boxes]), "boxes_format": BOX_FORMAT,
              "shot": [0, 0, window.width, window.height],
              "full_shot": [0, 0, IMAGE_SIZE[0], IMAGE_SIZE[1]], "full_kind": "view"})
    (event_id,) = engine.pipeline.submit([obs]).added
    return event_id


def loaded(qtbot, window: MomentWindow) -> MomentWindow:
    qtbot.waitUntil(lambda: window.loaded is not None, timeout=15000)
    return window


def test_moment_view_shows_the_whole_screen_with_selectable_words(qtbot, ctx, seeded):
    engine, _info = seeded
    event_id = store_screen_moment(engine)
    window = MomentWindow(engine.store)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    window.show_event(event_id)
    loaded(qtbot, window)
    assert window.loaded.image.width() == IMAGE_SIZE[0]  # the viewing image, not the thumb
    assert "whole screen" in window.meta.text()
    items = sorted(window.view.word_items(), key=lambda i: i.word.index)
    assert [i.word.text for i in items] == WORDS
    # Drag a rubber band across the first two words, as a person would.
    view = window.view
    first, second = items[0].sceneBoundingRect(), items[1].sceneBoundingRect()
    start = view.mapFromScene(first.topLeft()) - QPoint(3, 3)
    end = view.mapFromScene(second.bottomRight()) + QPoint(3, 3)
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     start)
    QTest.mouseMove(view.viewport(), (start + end) / 2)
    QTest.mouseMove(view.viewport(), end)
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier, end)
    assert [w.text for w in view.selected_words()] == WORDS[:2] or \
        sorted(w.text for w in view.selected_words()) == sorted(WORDS[:2])
    assert window.copy_button.isEnabled() and window.copy_button.text() == "Copy 2 words"
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "Invoice 2024-117"
    QTest.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    window.copy_selection()
    assert QGuiApplication.clipboard().text().split() == WORDS
    # Zoom: + zooms in, 0 fits again.
    fitted = view.zoom()
    QTest.keyClick(view, Qt.Key.Key_Plus)
    assert view.zoom() > fitted * 1.2
    QTest.keyClick(view, Qt.Key.Key_0)
    assert abs(view.zoom() - fitted) < 1e-6
    window.actual.click()
    assert view.zoom() == 1.0 and window.zoom_label.text() == "100 %"


def test_clicking_a_screenshot_opens_it_large_and_show_in_timeline_goes_there(qtbot, ctx,
                                                                              seeded):
    from app.windows.shell import Shell

    engine, _info = seeded
    event_id = store_screen_moment(engine)
    shell = Shell(ctx)
    qtbot.addWidget(shell)
    shell.resize(1300, 850)
    shell.show()
    shell.show_view("search")
    detail: HitDetail = shell.views["search"].detail
    detail.show_event(event_id)
    qtbot.waitUntil(lambda: detail.loaded is not None and detail.screenshot.image() is not None,
                    timeout=15000)
    assert detail.screenshot.image().width() == IMAGE_SIZE[0] // 2  # thumbnail: the window
    assert not detail.in_timeline.isHidden()
    QTest.mouseClick(detail.screenshot, Qt.MouseButton.LeftButton)
    window = loaded(qtbot, ctx.nav.moment_window)
    assert window.isVisible() and window.loaded.pictures.event.id == event_id
    assert window.never_button.text() == "Never record Mousepad"
    # "Show in Timeline" from the moment window: the day, at that moment.
    window.timeline_button.click()
    timeline = shell.views["timeline"]
    assert shell.current() == "timeline" and not window.isVisible()
    qtbot.waitUntil(lambda: timeline.data is not None and timeline.detail.hit is not None
                    and timeline.current_event_id() == event_id, timeout=15000)
    assert timeline.day() == date.today()
    assert timeline.detail.in_timeline.isHidden()  # no "Show in Timeline" inside it


def test_show_in_timeline_from_a_search_hit_on_another_day(qtbot, ctx, seeded):
    from datetime import timedelta

    from app.windows.shell import Shell

    engine, _info = seeded
    old_day = date.today() - timedelta(days=9)
    (note_id,) = engine.pipeline.submit([Observation(
        source="note", captured_at=at(16, 45, old_day),
        text="Sharpened the hedge trimmer blades")]).added
    shell = Shell(ctx)
    qtbot.addWidget(shell)
    shell.show()
    search = shell.views["search"]
    search.set_query("hedge trimmer")
    qtbot.waitUntil(lambda: search.detail.hit is not None and search.detail.hit.id == note_id,
                    timeout=20000)
    search.detail.in_timeline.click()
    timeline = shell.views["timeline"]
    qtbot.waitUntil(lambda: timeline.data is not None and timeline.data.day == old_day
                    and timeline.detail.hit is not None, timeout=15000)
    assert timeline.current_event_id() == note_id


def test_show_in_timeline_from_an_ask_citation(qtbot, ctx, seeded):
    from app.views.ask import AskView
    from core.retrieval import event_hit
    from core.store import events as event_rows

    engine, info = seeded
    view = AskView(ctx)
    qtbot.addWidget(view)
    view.show()
    chat_id = info["ids"][-1]
    event = event_rows.get_many(engine.store.reader(), [chat_id])[chat_id]
    view.open_hit(event_hit(event, "", 0.0))  # what clicking citation [n] does
    assert not view.detail.in_timeline.isHidden()
    with qtbot.waitSignal(ctx.nav.show_in_timeline) as shown:
        view.detail.in_timeline.click()
    assert shown.args == [chat_id, event.started_at]
