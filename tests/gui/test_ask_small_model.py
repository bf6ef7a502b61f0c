"""Ask with a chat model labelled too small (real SmolLM2, real widgets): a visible warning,
answers checked, the answer above its sources, and a switch to answers from quotes only."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.views.ask import AskView
from app.views.ask_adapter import AskToken
from tests.test_answers_model import LEAK


@pytest.fixture
def data_dir(data_dir: Path, tmp_path: Path, models_dir: Path, monkeypatch) -> Path:
    """This test's own models folder (the session's one stays without a chat model): the
    built-in embedding model linked in, the chat model imported by the test itself."""
    own = tmp_path / "models"
    own.mkdir()
    for item in models_dir.iterdir():
        (own / item.name).symlink_to(item)
    monkeypatch.setenv("ENGRAM_MODELS", str(own))
    return data_dir


def ask(qtbot, view: AskView, question: str) -> None:
    view.question.setText(question)
    view.ask()
    qtbot.waitUntil(lambda: view.task is None, timeout=180000)


def test_small_model_warns_answers_first_and_can_switch_to_quotes(qtbot, ctx, smollm2):
    from core.models import install

    engine = ctx.engine
    model, in_use = install.add_local(engine.paths, engine.settings, smollm2, role="chat")
    assert in_use and model.role == "chat"
    engine.reset_chat_model()
    view = AskView(ctx)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.banner_box.isVisibleTo(view), timeout=30000)
    # The warning names the model and says what is done about it.
    assert "Small model" in view.banner.text()
    assert "too small to be trusted" in view.banner.text()
    assert view.quotes_only.isVisibleTo(view) and not view.quotes_only.isChecked()
    assert not view.get_model.isVisibleTo(view)

    # What the person sees at each step of the stream (real widgets, real SmolLM2).
    seen: list[tuple[str, bool, str, str]] = []
    original = view.on_item

    def spy(item) -> None:
        original(item)
        seen.append((type(item).__name__, view.thinking.isVisibleTo(view),
                     view.thinking.text(), view.transcript.toPlainText()))
        if isinstance(item, AskToken):
            tokens.append(item.text)

    tokens: list[str] = []
    view.on_item = spy
    ask(qtbot, view, "Which library did Ana recommend for retries?")
    view.on_item = original
    assert "thinking" in view.events_seen  # the model read the sources: progress shown
    kinds = [k for k, *_ in seen]
    assert kinds.index("AskEvidence") < kinds.index("AskThinking") < kinds.index("AskToken")
    # While the model reads the prompt: a visible busy state and a line in the pane.
    _, visible, label, pane = seen[kinds.index("AskThinking")]
    assert visible and label.startswith("Thinking… reading")
    assert "the model is reading" in pane and "Sources" in pane
    _, visible, label, _ = seen[kinds.index("AskToken")]
    assert visible and label == "Writing…"
    # Nothing of the prompt's framing ever reaches the view, not even for one token.
    for text in tokens + [s[3] for s in seen]:
        assert not LEAK.search(text), text
    done = view.blocks[-1]["done"]
    assert done is not None and done.mode in ("model", "model-fallback")
    assert done.first_token_seconds is not None and done.first_token_seconds > 0
    if done.mode == "model":
        assert done.citations  # shown as grounded only with a citation
    else:
        # "show model draft" shows what streamed (spacing aside)
        assert done.draft and done.draft.replace(" ", "") == "".join(tokens).replace(" ", "")
    shown = view.transcript.toPlainText()
    answer_line = " ".join(done.answer.split()[:3])
    assert answer_line and answer_line in shown
    assert shown.index(answer_line) < shown.index("Sources")  # the answer first

    # The person switches answers to quotes only: no model runs for the next one.
    view.quotes_only.setChecked(True)
    qtbot.waitUntil(lambda: bool(engine.settings.get("ask_extractive_only")), timeout=10000)
    ask(qtbot, view, "Which library did Ana recommend for retries?")
    assert "thinking" not in view.events_seen and "token" not in view.events_seen
    done = view.blocks[-1]["done"]
    assert done.mode == "extractive" and done.citations
    assert "[" in done.answer and "Sources" in view.transcript.toPlainText()
    shown = view.transcript.toPlainText()  # whose words, under the answer, above the sources
    assert "Ana said it in a chat on" in shown or "seen on your screen" in shown.lower()
    # The switch is remembered: a new view shows it checked, the warning still there.
    again = AskView(ctx)
    qtbot.addWidget(again)
    again.show()
    again.activate()
    qtbot.waitUntil(lambda: again.quotes_only.isChecked(), timeout=30000)
    assert again.banner_box.isVisibleTo(again) and "Small model" in again.banner.text()
