"""Memories (edit persists, history, undo) and Settings (privacy forget, autostart, data)."""
from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QDateTime

from app.views.memories import MemoriesView
from app.views.settings import SettingsView


def test_editing_a_memory_persists_and_can_be_undone(qtbot, ctx):
    engine = ctx.engine
    memory_id = engine.memories.add("I live in Lisbon", "core").memory_id
    view = MemoriesView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10000)
    view.list.setCurrentIndex(view.model.index(0, 0))
    qtbot.waitUntil(lambda: view.details is not None and view.details.item.id == memory_id,
                    timeout=10000)
    assert view.editor.toPlainText() == "I live in Lisbon"
    assert "Written by you" in view.sources.item(0).text()
    view.editor.setPlainText("I live in Porto")
    view.save.click()
    qtbot.waitUntil(lambda: view.details is not None
                    and view.details.item.memory.text == "I live in Porto", timeout=10000)
    # Persisted in the store, not just on screen.
    stored = engine.memories.details(memory_id)
    assert stored.item.memory.text == "I live in Porto"
    actions = [c.action for c in stored.history]
    assert actions == ["add", "edit"]
    # Undo the edit from the history list (newest first).
    view.history.setCurrentRow(0)
    assert view.undo.isEnabled()
    view.undo.click()
    qtbot.waitUntil(lambda: view.details is not None
                    and view.details.item.memory.text == "I live in Lisbon", timeout=10000)
    assert engine.memories.details(memory_id).item.memory.text == "I live in Lisbon"
    assert "Core (1)" in view.tabs.tabText(0)
    view.pin.click()
    qtbot.waitUntil(lambda: view.details is not None and view.details.item.memory.pinned,
                    timeout=10000)
    assert view.pin.text() == "Unpin"


def test_deleting_a_memory(qtbot, ctx, confirm_yes, monkeypatch):
    monkeypatch.setattr("app.views.memories.confirm", lambda *a: True)
    memory_id = ctx.engine.memories.add("My locker is number 12", "core").memory_id
    view = MemoriesView(ctx)
    qtbot.addWidget(view)
    view.activate()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10000)
    view.list.setCurrentIndex(view.model.index(0, 0))
    qtbot.waitUntil(lambda: view.details is not None, timeout=10000)
    view.delete.click()
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=10000)
    assert ctx.engine.memories.details(memory_id) is None
    assert "No core memories" in view.empty.title.text()


def test_privacy_forget_an_app_and_a_time_range(qtbot, ctx, confirm_yes):
    from app.views.settings_privacy import PrivacyPanel
    from core.store import events as event_rows

    panel = PrivacyPanel(ctx)
    qtbot.addWidget(panel)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.app.count() >= 2, timeout=10000)
    panel.app.setCurrentText("Terminal")
    panel.on_forget_app()
    qtbot.waitUntil(lambda: "Forgot" in panel.result.text(), timeout=10000)
    db = ctx.engine.store.reader()
    assert event_rows.select_ids(db, app="Terminal") == []
    assert event_rows.select_ids(db, app="Firefox")
    # A range covering today's afternoon takes the conversation with it.
    from tests.gui.seed import at

    start = at(13, 30).astimezone()
    panel.since.setDateTime(QDateTime(start.date(), start.time()))
    end = (at(13, 30) + timedelta(hours=2)).astimezone()
    panel.until.setDateTime(QDateTime(end.date(), end.time()))
    panel.on_forget_range()
    qtbot.waitUntil(lambda: "Forgot 4 items" in panel.result.text(), timeout=10000)
    assert event_rows.select_ids(db, source="chat") == []
    assert confirm_yes == ["Forget for good?", "Forget for good?"]


def test_autostart_file_is_written_and_removed(qtbot, ctx, tmp_path, monkeypatch):
    from app.views.settings_system import StartupPanel, autostart_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    panel = StartupPanel(ctx)
    qtbot.addWidget(panel)
    assert not panel.at_login.isChecked()
    panel.at_login.setChecked(True)
    path = autostart_path()
    assert path == tmp_path / "config" / "autostart" / "engram.desktop"
    text = path.read_text()
    assert "Exec=env ENGRAM_START_HIDDEN=1" in text and "--data-dir" in text
    assert str(path) in panel.where.text()
    panel.at_login.setChecked(False)
    assert not path.exists()


def test_mcp_writes_are_off_until_allowed_in_settings(qtbot, ctx):
    from app.mcp import Backend
    from app.views.settings_system import SecurityPanel

    engine = ctx.engine
    panel = SecurityPanel(ctx)
    qtbot.addWidget(panel)
    backend = Backend(engine.paths, engine.settings)  # what `engram mcp` asks each call
    assert not panel.mcp_writes.isChecked() and not backend.writes_allowed()
    panel.mcp_writes.setChecked(True)
    assert engine.settings.get("mcp_allow_writes") is True and backend.writes_allowed()
    panel.mcp_writes.setChecked(False)
    assert not backend.writes_allowed()
    backend.close()


def test_settings_view_shows_models_data_and_security(qtbot, ctx):
    view = SettingsView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.models.model.rowCount() > 0, timeout=10000)
    qtbot.waitUntil(lambda: "items" in view.data.items.text(), timeout=10000)
    assert "9 items: 4 chat, 1 file, 1 note, 3 screen" in view.data.items.text()
    assert str(ctx.engine.paths.data_dir) == view.data.folder.text()
    assert "passphrase" in view.security.key.text()
    assert "No chat model" in view.models.status.text()
    names = [view.models.model.row(n).name for n in range(view.models.model.rowCount())]
    assert "all-minilm-l6-v2" in names


def test_importing_a_gguf_model_from_settings(qtbot, ctx, tmp_path):
    from core.models import install
    from core.models.catalog import chat_model_status
    from tests.tinymodel import make_tiny_chat_gguf

    # The models folder is shared by the whole test session: a name of its own, and
    # removed again at the end.
    gguf = make_tiny_chat_gguf(tmp_path / "gui-import-test.gguf")
    view = SettingsView(ctx)
    qtbot.addWidget(view)
    view.activate()
    panel = view.models
    task = panel.import_file(gguf)
    try:
        assert ctx.jobs.rowCount() == 1
        qtbot.waitUntil(lambda: task.done, timeout=60000)
        assert task.error is None, task.error
        qtbot.waitUntil(lambda: "is installed" in panel.status.text()
                        or "Chat model" in panel.status.text(), timeout=10000)
        ok, _ = chat_model_status(ctx.engine.paths, ctx.engine.settings)
        assert ok  # the first chat model imported is put to use
    finally:
        qtbot.waitUntil(lambda: task.done, timeout=60000)
        if task.error is None:
            install.remove(ctx.engine.paths, ctx.engine.settings, "gui-import-test")


def test_building_memories_from_the_view_shows_progress_and_fills_the_tabs(qtbot, ctx):
    from core.records import Observation, utcnow

    ctx.engine.pipeline.submit([Observation(
        source="chat", captured_at=utcnow(), text="My daughter's name is Inês.",
        speaker="You", thread="Family", app="WhatsApp", external_id="wa:family:1")])
    view = MemoriesView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: "not yet turned into memories" in view.build_status.text(),
                    timeout=10000)
    view.build.click()
    assert ctx.jobs.rowCount() == 1 and view.build_cancel.isVisibleTo(view)
    qtbot.waitUntil(lambda: view.build_task is None, timeout=120000)
    assert "new memories" in view.build_status.text()
    qtbot.waitUntil(lambda: view.model.rowCount() > 0 or view.tabs.currentIndex() != 0,
                    timeout=10000)
    texts = [view.model.index(n, 0).data() for n in range(view.model.rowCount())]
    assert any("Inês" in t for t in texts), texts
    view.tabs.setCurrentIndex(1)  # episodic: the seeded sessions became episodes
    qtbot.waitUntil(lambda: view.model.rowCount() > 0, timeout=10000)
