"""Search against a real engine: seeded hits, highlighted screenshots, conversations, forget."""
from __future__ import annotations

from app.models.search_results import HitRole
from app.views.search import SearchView


def make_view(qtbot, ctx) -> SearchView:
    view = SearchView(ctx)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    view.activate()
    return view


def search(qtbot, view: SearchView, text: str) -> None:
    view.box.setText(text)
    qtbot.waitUntil(lambda: not view.searching and view.last_query == text
                    and view.model.rowCount() > 0, timeout=30000)


def test_search_shows_the_seeded_screen_hit_and_its_highlighted_screenshot(qtbot, ctx):
    view = make_view(qtbot, ctx)
    search(qtbot, view, "tenacity retries")
    sources = {h.source for h in view.model.hits()}
    assert {"screen", "chat"} <= sources  # the screen and the conversation both match
    view.filters.source.setCurrentIndex(view.filters.source.findData("screen"))
    qtbot.waitUntil(lambda: not view.searching and view.model.rowCount() > 0
                    and all(h.source == "screen" for h in view.model.hits()), timeout=30000)
    first = view.model.index(0, 0)
    hit = first.data(HitRole.Hit)
    assert hit.source == "screen" and hit.provenance.app == "Firefox"
    assert "<b>" in first.data(HitRole.SnippetHtml)  # «matches» rendered bold
    # The first result is opened at once; its screenshot arrives off-thread.
    qtbot.waitUntil(lambda: view.detail.loaded is not None
                    and view.detail.screenshot.image() is not None, timeout=10000)
    assert view.detail.hit.id == hit.id
    boxes = view.detail.screenshot.highlights
    assert boxes, "matched words are boxed on the screenshot"
    assert all(0 <= x < 1 and 0 <= y < 1 for x, y, _w, _h in boxes)
    # Thumbnails for screen hits reach the list.
    qtbot.waitUntil(lambda: first.data(HitRole.Thumbnail) is not None, timeout=10000)


def test_a_newer_query_supersedes_an_older_one(qtbot, ctx):
    view = make_view(qtbot, ctx)
    view.box.setText("tenacity")
    view.debounce.flush()             # the first search is running…
    view.box.setText("car insurance")  # …and is replaced before it can show
    qtbot.waitUntil(lambda: view.last_query == "car insurance" and not view.searching,
                    timeout=30000)
    qtbot.wait(300)  # any late result of the first query would land now
    assert view.last_query == "car insurance"
    assert view.model.hit(0).source == "note"


def test_chat_hit_shows_the_message_in_its_conversation(qtbot, ctx):
    view = make_view(qtbot, ctx)
    view.filters.source.setCurrentIndex(view.filters.source.findData("chat"))
    search(qtbot, view, "nicer than our loop")
    hit = view.model.hit(0)
    assert hit.source == "chat"
    qtbot.waitUntil(lambda: view.detail.loaded is not None
                    and len(view.detail.loaded.conversation) > 1, timeout=10000)
    text = view.detail.text.toPlainText()
    assert "Have you tried the tenacity library" in text   # the message before
    assert "I'll try it tomorrow" in text                   # and after
    assert not view.detail.screenshot.isVisible()


def test_file_hit_offers_to_open_the_file_and_its_folder(qtbot, ctx):
    view = make_view(qtbot, ctx)
    search(qtbot, view, "invoice garden shed")
    assert view.model.hit(0).source == "file"
    assert view.detail.open_file.isVisible() and view.detail.open_folder.isVisible()


def test_forget_from_the_detail_removes_the_item_everywhere(qtbot, ctx, confirm_yes):
    view = make_view(qtbot, ctx)
    search(qtbot, view, "car insurance Allianz")
    hit = view.model.hit(0)
    with qtbot.waitSignal(view.detail.forgotten, timeout=10000):
        view.detail.on_forget()
    assert confirm_yes == ["Forget this item?"]
    assert ctx.engine.retriever.search("Allianz") == [] or all(
        h.id != hit.id for h in ctx.engine.retriever.search("Allianz"))


def test_keyboard_down_moves_from_the_box_to_the_results_and_escape_clears(qtbot, ctx):
    from PySide6.QtCore import Qt

    view = make_view(qtbot, ctx)
    search(qtbot, view, "tenacity")
    view.box.setFocus()
    qtbot.keyClick(view.box, Qt.Key.Key_Down)
    assert view.results.hasFocus() or view.focusWidget() is view.results
    view.clear()
    assert view.box.text() == "" and view.model.rowCount() == 0


def test_memories_come_with_results_and_filter_by_type(qtbot, ctx):
    ctx.engine.memories.add("I prefer the tenacity library for retries", "core")
    view = make_view(qtbot, ctx)
    assert view.filters.memory.isEnabled()
    view.filters.memory.setCurrentIndex(view.filters.memory.findData("core"))
    search(qtbot, view, "tenacity retries")
    hits = view.model.hits()
    assert hits and all(h.kind == "memory" and h.memory_type == "core" for h in hits)
    assert view.model.index(0, 0).data(HitRole.Where) == "Core memory"
    qtbot.waitUntil(lambda: view.detail.hit is not None and view.detail.hit.kind == "memory",
                    timeout=10000)
    assert "tenacity" in view.detail.text.toPlainText()
