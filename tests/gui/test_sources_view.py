"""Sources: a long chat import shows progress and can be cancelled; folders; exclusions."""
from __future__ import annotations

import json
from pathlib import Path

from app.views.chat_import import ChatImportPanel
from app.views.sources import SourcesView
from app.windows.shell import JobsBar

MESSAGES = 3000


def write_export(path: Path, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"conversation": "team", "id": f"m{i}", "speaker": "Ana",
                                 "timestamp": 1_700_000_000 + 60 * i,
                                 "text": f"Message {i}: the deploy checklist step {i % 37} "
                                         f"mentions bucket b{i}"}) + "\n")
    return path


def test_a_long_import_shows_progress_and_can_be_cancelled(qtbot, ctx, tmp_path):
    export = write_export(tmp_path / "team.jsonl", MESSAGES)
    panel = ChatImportPanel(ctx)
    bar = JobsBar(ctx.jobs)
    qtbot.addWidget(panel)
    qtbot.addWidget(bar)
    panel.show()
    formats: list[str] = []
    task = panel.start(export)
    task.progressed.connect(lambda p: formats.append(panel.progress.format()))
    assert panel.cancel.isVisibleTo(panel) and panel.progress.isVisibleTo(panel)
    assert ctx.jobs.rowCount() == 1 and "Importing team.jsonl" in bar.label.text()
    qtbot.waitUntil(lambda: any("messages" in f for f in formats), timeout=30000)
    panel.cancel.click()
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=60000)
    summary = panel.summary
    assert summary.cancelled
    assert 0 < summary.added < MESSAGES
    assert "Stopped importing team.jsonl" in panel.result.text()
    assert not panel.cancel.isVisibleTo(panel)
    qtbot.waitUntil(lambda: ctx.jobs.rowCount() == 0, timeout=5000)
    # What was stored stays; importing again adds exactly the rest.
    stored = ctx.engine.store.reader().execute(
        "SELECT count(*) FROM events WHERE source = 'chat' AND thread = 'team'").fetchall()[0][0]
    assert stored == summary.added


def test_import_completes_with_a_summary(qtbot, ctx, tmp_path):
    export = write_export(tmp_path / "small.jsonl", 40)
    panel = ChatImportPanel(ctx)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.imported, timeout=60000) as signal:
        panel.start(export)
    summary = signal.args[0]
    assert not summary.cancelled and summary.added == 40 and summary.format == "jsonl"
    assert "40 new messages" in panel.result.text()
    with qtbot.waitSignal(panel.imported, timeout=60000) as again:
        panel.start(export)
    assert again.args[0].added == 0 and again.args[0].already == 40


def test_a_broken_export_is_reported_and_nothing_is_written(qtbot, ctx, tmp_path):
    from app.dialogs.errors import presenter

    bad = tmp_path / "bad.jsonl"
    bad.write_text("this is not json\n")
    panel = ChatImportPanel(ctx)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(presenter().presented, timeout=30000) as shown:
        panel.start(bad)
    assert shown.args[0] == "error"
    assert "failed" in panel.result.text()


def test_sources_view_shows_status_and_saves_settings(qtbot, ctx, tmp_path, monkeypatch):
    restarts: list[int] = []
    ctx.restart_capture = lambda: restarts.append(1)
    view = SourcesView(ctx)
    qtbot.addWidget(view)
    view.activate()
    assert view.source_list.count() == 1 and "idle: running" in view.source_list.item(0).text()
    view.pause60.click()
    qtbot.waitUntil(lambda: view.resume.isEnabled(), timeout=5000)
    assert "paused until" in view.summary.text()
    view.resume.click()
    qtbot.waitUntil(lambda: not view.resume.isEnabled(), timeout=5000)
    view._add_pattern(view.apps, "screen_excluded_apps", "Signal")
    view._add_pattern(view.titles, "screen_excluded_titles", "Bank")
    assert ctx.engine.settings.get("screen_excluded_apps") == ["Signal"]
    assert ctx.engine.settings.get("screen_excluded_titles") == ["Bank"]
    qtbot.waitUntil(lambda: bool(restarts), timeout=5000)  # capture restarts with the new settings
    view.apps.setCurrentRow(0)
    view._remove_selected(view.apps, "screen_excluded_apps")
    assert ctx.engine.settings.get("screen_excluded_apps") == []


def test_adding_a_folder_indexes_it_with_status(qtbot, ctx, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "printer.md").write_text("# Printer\nRestart cups to fix the office printer.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    restarts: list[int] = []
    ctx.restart_capture = lambda: restarts.append(1)
    view = SourcesView(ctx)
    qtbot.addWidget(view)
    panel = view.folders
    task = panel.add_folder(folder)
    assert task is not None
    qtbot.waitUntil(lambda: panel.task is None, timeout=60000)
    assert ctx.engine.settings.get("watched_folders") == [str(folder.resolve())]
    qtbot.waitUntil(lambda: restarts == [1], timeout=5000)
    assert "Indexed" in panel.result.text()
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 1
                    and "files indexed" in panel.tree.topLevelItem(0).text(1), timeout=10000)
    status = panel.tree.topLevelItem(0).text(1)
    assert status.startswith("1 files indexed, 1 skipped")
    assert panel.tree.topLevelItem(0).childCount() == 1  # the skipped file and why
    hits = ctx.engine.retriever.search("office printer cups")
    assert any(h.source == "file" for h in hits)
