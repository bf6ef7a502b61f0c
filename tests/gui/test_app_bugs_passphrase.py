"""Bug 8 (issue 15): a weak passphrase is refused with a clear reason, and "Change
passphrase…" asks for the current one first. Real dialogs, a real passphrase-keyed
encrypted store (the tests' keyring is the failing one), real Argon2 check."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QWidget

from app.dialogs.passphrase import PassphraseDialog
from app.views.settings_system import SecurityPanel
from core.keys import passphrase_problem
from tests.conftest import TEST_PASSPHRASE

NEW = "lamp river cobalt seven"


def test_the_rule_refuses_short_and_trivial_passphrases():
    for weak in ("abc", "hunter2", "aaaaaaaaaaaa", "1234567890", "  abc   "):
        assert passphrase_problem(weak), weak
    assert "at least 10 characters" in passphrase_problem("abc")
    assert passphrase_problem(NEW) is None and passphrase_problem(TEST_PASSPHRASE) is None


def test_a_three_character_passphrase_is_refused_with_a_reason(qtbot):
    holder = QWidget()
    qtbot.addWidget(holder)
    dialog = PassphraseDialog("Choose a passphrase", confirm=True, parent=holder)
    dialog.show()
    dialog.field.setText("abc")
    dialog.again.setText("abc")
    dialog.accept()
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.error.isVisibleTo(dialog)
    assert "at least 10 characters" in dialog.error.text()
    dialog.field.setText(NEW)
    dialog.again.setText(NEW)
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_change_passphrase_asks_for_the_current_one(qtbot, ctx):
    assert ctx.engine.key.backend == "passphrase"
    changed: list[str] = []
    ctx.change_passphrase = changed.append
    panel = SecurityPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    panel.change.click()
    dialog = panel.dialog
    assert dialog.current is not None and dialog.current.isVisibleTo(dialog)
    dialog.field.setText(NEW)
    dialog.again.setText(NEW)
    dialog.accept()  # no current passphrase typed
    assert "current passphrase" in dialog.error.text() and not changed
    dialog.current.setText("not the passphrase at all")
    dialog.accept()
    qtbot.waitUntil(lambda: "not your current passphrase" in dialog.error.text(),
                    timeout=20000)
    assert dialog.isVisible() and not changed
    dialog.current.setText(TEST_PASSPHRASE)
    dialog.accept()
    qtbot.waitUntil(lambda: changed == [NEW], timeout=20000)


def test_a_weak_passphrase_typed_at_a_prompt_is_refused(tmp_path, monkeypatch):
    import keyring
    import pytest
    from keyring.backends import fail

    from core import keys
    from core.config import resolve_paths
    from core.errors import BadInput

    monkeypatch.delenv(keys.PASSPHRASE_ENV, raising=False)
    keyring.set_keyring(fail.Keyring())
    paths = resolve_paths(tmp_path / "home")
    with pytest.raises(BadInput) as err:
        keys.create_key(paths, lambda _prompt, _confirm: "abc")
    assert "at least 10 characters" in (err.value.hint or "")
    assert not keys.key_exists(paths)  # nothing was written
