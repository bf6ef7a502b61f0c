"""Bug 5 (issue 15): Search says "No matches" for gibberish, shows a screen seen twice
once, and its count is the number of results shown. Real store, real embedder, real view;
the same floor holds for the real `engram search`."""
from __future__ import annotations

from app.models.search_results import HitRole
from app.views.search import RESULTS, SearchView
from tests.gui.seed import SCREEN_TEXT, at, screen_observation

GIBBERISH = ("zxqvbn", "asdkjh qwpoei", "flibbertigibbet wug")


def make_view(qtbot, ctx) -> SearchView:
    view = SearchView(ctx)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    view.activate()
    return view


def search(qtbot, view: SearchView, text: str) -> None:
    view.box.setText(text)
    view.debounce.flush()
    qtbot.waitUntil(lambda: not view.searching and view.last_query == text, timeout=30000)


def test_gibberish_finds_no_matches(qtbot, ctx):
    view = make_view(qtbot, ctx)
    for query in GIBBERISH:
        search(qtbot, view, query)
        assert view.model.rowCount() == 0, [h.title for h in view.model.hits()]
        assert view.stack.currentWidget() is view.empty
        assert view.empty.title.text().startswith("No matches")
        assert view.status.text() == ""
    # A paraphrase without a shared word still finds its item by meaning.
    search(qtbot, view, "printer problem")
    assert view.model.rowCount() > 0
    assert "cups" in view.model.hits()[0].text


def test_a_screen_seen_twice_is_one_result_and_the_count_is_real(qtbot, ctx):
    engine = ctx.engine
    # The same page again later in the day: OCR read it with a line break and a stray bar,
    # so it is stored as a second moment; as a result it is the same thing.
    again = SCREEN_TEXT.replace(" tenacity for", "\ntenacity for") + " |"
    changes = engine.pipeline.submit([screen_observation(
        again, "Firefox", "Tenacity docs — Mozilla Firefox", at(16, 5), 5)])
    assert len(changes.added) == 1
    view = make_view(qtbot, ctx)
    search(qtbot, view, "tenacity retries")
    hits = view.model.hits()
    screens = [h for h in hits if h.source == "screen" and "Tenacity docs" in h.title]
    assert len(screens) == 1
    assert len(hits) < RESULTS
    assert view.status.text() == f"{len(hits)} results"
    assert view.model.index(0, 0).data(HitRole.Hit) is not None


def test_engram_search_says_no_matches_for_gibberish(seeded, cli):
    out = cli("search", "zxqvbn").stdout
    assert "No matches" in out and "[1]" not in out
    assert "cups" in cli("search", "printer problem").stdout
