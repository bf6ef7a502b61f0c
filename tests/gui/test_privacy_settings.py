"""Settings › Privacy: secrets filters and retention, on the real engine and widgets."""
from __future__ import annotations

import os
from datetime import timedelta

from core.records import Observation, utcnow


def stored_text(engine, text: str) -> str:
    ids = engine.pipeline.submit([Observation(source="note", captured_at=utcnow(),
                                              text=text)]).added
    return engine.store.reader().execute("SELECT text FROM events WHERE id = ?",
                                         (ids[0],)).fetchall()[0][0]


def old_capture(text: str, days: float) -> Observation:
    start = utcnow() - timedelta(days=days)
    return Observation(source="screen", captured_at=start, ended_at=start + timedelta(minutes=3),
                       text=text, app="Firefox", title="Old page", image=os.urandom(30_000))


def test_secrets_filters_and_own_words_reach_what_is_stored(qtbot, ctx):
    from app.views.privacy_redaction import RedactionPanel

    panel = RedactionPanel(ctx)
    qtbot.addWidget(panel)
    settings = ctx.engine.settings
    assert all(box.isChecked() for box in panel.kinds.values())
    assert panel.warning.isHidden()
    panel.kinds["card"].setChecked(False)
    assert settings.get("redact_off") == ["card"]
    assert not panel.warning.isHidden() and "payment card numbers" in panel.warning.text()
    assert panel.add("Project  Bluebird")
    assert not panel.add("project bluebird")  # already listed, any case
    assert settings.get("redact_terms") == ["Project Bluebird"]
    # The running engine follows at once: cards kept, the person's words removed.
    assert stored_text(ctx.engine, "Paid 4111 1111 1111 1111 for project bluebird") == \
        "Paid 4111 1111 1111 1111 for [redacted:custom]"
    with qtbot.waitSignal(ctx.nav.search_for, timeout=2000) as sig:
        panel.find_term.click()
    assert sig.args == ["Project Bluebird"]
    panel.remove_term.click()
    panel.kinds["card"].setChecked(True)
    assert settings.get("redact_terms") == [] and settings.get("redact_off") == []
    assert stored_text(ctx.engine, "Paid 4242 4242 4242 4242 for Project Bluebird") == \
        "Paid [redacted:card] for Project Bluebird"


def test_retention_shows_usage_asks_then_forgets_old_captures(qtbot, ctx, confirm_yes):
    from app.views.privacy_retention import RetentionPanel
    from core.store import events as event_rows

    engine = ctx.engine
    engine.pipeline.submit([old_capture("forty days old page", 40),
                            old_capture("fifty days old page", 50)])
    db = engine.store.reader()
    today_before = len(event_rows.select_ids(db, since=utcnow() - timedelta(days=2)))
    panel = RetentionPanel(ctx)
    qtbot.addWidget(panel)
    panel.refresh()
    qtbot.waitUntil(lambda: "screenshots" in panel.usage.text(), timeout=10000)
    oldest = (utcnow() - timedelta(days=50)).astimezone()
    assert f"5 screen captures (since {oldest.day} {oldest:%b %Y})" in panel.usage.text()
    assert panel.bar.isHidden()
    assert not panel.apply_button.isEnabled()

    panel.age.setCurrentIndex(panel.age.findData(30))
    assert panel.apply_button.isEnabled() and panel.revert_button.isEnabled()
    with qtbot.waitSignal(ctx.nav.data_changed, timeout=20000) as sig:
        panel.apply_button.click()
    assert confirm_yes == ["Forget old captures?"]
    qtbot.waitUntil(lambda: "Saved: forgot 2 past the keep-for age" in panel.result.text(),
                    timeout=20000)
    assert len(sig.args[0].removed) == 2
    assert engine.settings.get("retention_days") == 30
    assert event_rows.select_ids(db, until=utcnow() - timedelta(days=30)) == []
    assert len(event_rows.select_ids(db, since=utcnow() - timedelta(days=2))) == today_before
    assert not panel.apply_button.isEnabled()

    # A budget with room to spare: saved without asking, shown as a bar.
    panel.budget.setCurrentIndex(panel.budget.findData(1024))
    panel.apply_button.click()
    qtbot.waitUntil(lambda: "Nothing is past keeping" in panel.result.text(), timeout=20000)
    assert confirm_yes == ["Forget old captures?"]
    assert engine.settings.get("retention_budget_mb") == 1024
    qtbot.waitUntil(lambda: not panel.bar.isHidden(), timeout=10000)
    assert "of 1.0 GB budget" in panel.bar.format()


def test_retention_cancelled_changes_nothing_and_revert_restores(qtbot, ctx, monkeypatch):
    from app.views.privacy_retention import RetentionPanel

    asked = []
    monkeypatch.setattr("app.views.privacy_retention.confirm",
                        lambda *a: asked.append(a[1]) or False)
    engine = ctx.engine
    engine.pipeline.submit([old_capture("an old page", 100)])
    panel = RetentionPanel(ctx)
    qtbot.addWidget(panel)
    panel.age.setCurrentIndex(panel.age.findData(7))
    panel.keep_memories.setChecked(False)
    panel.apply_button.click()
    qtbot.waitUntil(lambda: panel.result.text() == "Not changed.", timeout=20000)
    assert asked == ["Forget old captures?"]
    assert engine.settings.get("retention_days") == 0
    assert engine.store.reader().execute(
        "SELECT count(*) FROM events WHERE text = 'an old page'").fetchall()[0][0] == 1
    panel.revert_button.click()
    assert panel.age.currentData() == 0 and panel.keep_memories.isChecked()
    assert not panel.apply_button.isEnabled()


def test_a_value_set_elsewhere_is_shown(qtbot, ctx):
    from app.views.privacy_retention import RetentionPanel

    ctx.engine.settings.set("retention_days", 45)
    panel = RetentionPanel(ctx)
    qtbot.addWidget(panel)
    assert panel.age.currentText() == "45 days" and not panel.apply_button.isEnabled()


def test_privacy_settings_picture(qtbot, ctx, tmp_path):
    """The whole Privacy group rendered (kept for a person to look at)."""
    from pathlib import Path

    from app.views.settings import SettingsView

    view = SettingsView(ctx)
    qtbot.addWidget(view)
    view.resize(980, 1500)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: "screenshots" in view.privacy.retention.usage.text(), timeout=10000)
    qtbot.wait(200)
    image = view.privacy.grab().toImage()
    assert image.width() > 600 and image.height() > 400
    out = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
    out.mkdir(parents=True, exist_ok=True)
    assert image.save(str(out / "settings-privacy.png"))
