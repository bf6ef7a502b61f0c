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
