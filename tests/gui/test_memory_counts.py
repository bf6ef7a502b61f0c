"""One definition of every count: `engram status` and the Memories tabs agree."""
from __future__ import annotations

import json
import re

from app.views.memories import MemoriesView
from core.memory import rows
from core.records import MEMORY_TYPES, utcnow


def test_status_and_the_memories_view_count_the_same_memories(qtbot, ctx, cli):
    memories = ctx.engine.memories
    lisbon = memories.add("I live in Lisbon", "core").memory_id
    porto = memories.add("I live in Porto", "core").memory_id
    job = memories.add("I work at the observatory", "core").memory_id
    memories.add("To restart nginx run systemctl restart nginx", "procedural")
    memories.add("Ana recommended the tenacity library", "semantic")

    def age(db) -> None:
        rows.update(db, lisbon, superseded_by=porto)   # replaced by a newer memory
        rows.update(db, job, valid_until=utcnow())     # no longer true, not replaced

    ctx.engine.store.write(age)

    view = MemoriesView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10000)
    shown = {}
    for n, memory_type in enumerate(MEMORY_TYPES):
        found = re.search(r"\((\d+)\)", view.tabs.tabText(n))
        assert found, view.tabs.tabText(n)
        if int(found[1]):
            shown[memory_type] = int(found[1])

    status = json.loads(cli("status", "--json").stdout)
    assert status["memories"] == shown == {"core": 1, "semantic": 1, "procedural": 1}


def test_a_memory_edit_reaches_every_view_through_one_data_changed(qtbot, ctx):
    from app.views.search import SearchView
    from app.views.timeline import TimelineView

    memory_id = ctx.engine.memories.add("I keep the spare key under the blue pot",
                                        "core").memory_id
    search, timeline = SearchView(ctx), TimelineView(ctx)
    for view in (search, timeline):
        qtbot.addWidget(view)
    reloads: list[str] = []
    search.refresh_after_change = lambda: reloads.append("search")
    timeline._loaded_once = True  # as after it was first shown
    timeline.reload = lambda live=False: reloads.append("timeline")
    view = MemoriesView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10000)
    view.list.setCurrentIndex(view.model.index(0, 0))
    qtbot.waitUntil(lambda: view.details is not None, timeout=10000)
    view.editor.setPlainText("I keep the spare key under the green pot")
    with qtbot.waitSignal(ctx.nav.data_changed, timeout=10000) as changed:
        view.save.click()
    assert changed.args[0].memories == (memory_id,)
    assert {"search", "timeline"} <= set(reloads)
