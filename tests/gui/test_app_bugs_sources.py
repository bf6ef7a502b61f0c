"""Bug 7 (issue 15): Sources lists what came in from the CLI — a folder indexed once with
`engram index`, a chat export imported with `engram import` — with real file counts, while
the app is open. Real CLI (subprocesses), real store, real Sources view."""
from __future__ import annotations

import json

from app.views.sources import SourcesView


def test_cli_indexed_folders_and_chat_imports_are_listed(qtbot, ctx, cli, tmp_path):
    ctx.watch(interval_ms=200)
    view = SourcesView(ctx)
    qtbot.addWidget(view)
    view.resize(1000, 800)
    view.show()
    view.activate()
    docs = tmp_path / "handbook"
    (docs / "policies").mkdir(parents=True)
    (docs / "onboarding.md").write_text("# Onboarding\nAsk Rui for the badge on day one.\n")
    (docs / "policies" / "travel.md").write_text("# Travel\nBook trains over flights.\n")
    export = tmp_path / "lisbon.jsonl"
    export.write_text("\n".join(json.dumps({
        "conversation": "Lisbon trip", "id": f"m{i}", "speaker": who, "text": text,
        "timestamp": 1_700_000_000 + 60 * i}) for i, (who, text) in enumerate([
            ("Rui", "Shall we take the night train?"), ("You", "Yes, book two beds")])) + "\n")

    cli("index", str(docs))
    cli("import", str(export))

    def folder_rows() -> list[tuple[str, str]]:
        tree = view.folders.tree
        return [(tree.topLevelItem(i).text(0), tree.topLevelItem(i).text(1))
                for i in range(tree.topLevelItemCount())]

    qtbot.waitUntil(lambda: any(str(docs.resolve()) == f for f, _ in folder_rows()),
                    timeout=20000)
    status = dict(folder_rows())[str(docs.resolve())]
    assert status.startswith("2 files indexed once")
    qtbot.waitUntil(lambda: any("Lisbon trip" in view.chats.threads.item(i).text()
                                for i in range(view.chats.threads.count())), timeout=20000)
    threads = [view.chats.threads.item(i).text() for i in range(view.chats.threads.count())]
    assert any("Lisbon trip — 2 messages" in t for t in threads), threads
    assert any("Ana — 4 messages" in t for t in threads), threads  # the seeded conversation
    qtbot.waitUntil(lambda: view.stored_files == 2, timeout=20000)  # what `files` holds
    ctx.stop_watching()
