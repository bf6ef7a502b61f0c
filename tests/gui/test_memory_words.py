"""Memories speak plainly: no engine terms in what the Memories view shows."""
from __future__ import annotations

from app.views.memory_words import change_text, evidence_text, plural


def test_history_and_evidence_in_plain_words() -> None:
    assert change_text("add", "rules", "another value of a multi-valued attribute") == \
        "Added by Engram — one of several things true at once"
    assert change_text("edit", "person") == "Edited by you"
    assert change_text("add", "rules", "new") == "Added by Engram"
    assert change_text("merge", "model", "a reason from a newer engine") == \
        "Seen again by the chat model — a reason from a newer engine"
    assert evidence_text(0, "person") == "from no captured source · written by you"
    assert evidence_text(1, "rules") == "from 1 captured source · found by Engram"
    assert plural(2, "memory", "memories") == "2 memories" and plural(1, "item") == "1 item"


def test_the_memories_view_shows_no_internal_terms(qtbot, ctx) -> None:
    from app.views.memories import MemoriesView

    ctx.engine.memories.add("My sister is called Rita", "core")
    view = MemoriesView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.details is not None, timeout=15000)
    qtbot.waitUntil(lambda: view.history.count() > 0, timeout=15000)
    shown = view.meta.text() + " ".join(view.history.item(i).text()
                                        for i in range(view.history.count()))
    shown += " ".join(view.sources.item(i).text() for i in range(view.sources.count()))
    for term in ("(s)", "by person", "multi-valued", "seen in 0", "by rules"):
        assert term not in shown, (term, shown)
    assert "Added by you" in shown and "written by you" in shown
