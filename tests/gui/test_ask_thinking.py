"""Ask shows that it is working: "thinking…" beside the box until the first word, then
"Writing…", and nothing once the answer is in (tiny real model through llama.cpp)."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.views.ask import AskView
from tests.tinymodel import make_tiny_chat_gguf


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_chat_gguf(tmp_path_factory.mktemp("tiny") / "tiny-chat.gguf")


def test_a_visible_thinking_state_until_the_answer_is_written(qtbot, ctx, tiny_model):
    from core.chat import Asker
    from core.models.runtime import ChatRuntime
    from core.threads import Threads

    runtime = ChatRuntime(tiny_model, n_ctx=2048, idle_unload_seconds=None)
    engine = ctx.engine
    engine._asker = Asker(engine.retriever, engine.pipeline, Threads(engine.store),
                          model=runtime)
    view = AskView(ctx)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    view.activate()
    seen: list[tuple[str, bool, str]] = []
    original = view.on_item

    def spy(item) -> None:
        original(item)
        seen.append((type(item).__name__, view.thinking.isVisibleTo(view),
                     view.thinking.text()))

    view.on_item = spy
    try:
        view.question.setText("How did I fix the printer?")
        view.ask()
        assert view.thinking.isVisibleTo(view) and view.thinking_bar.isVisibleTo(view)
        assert "memories" in view.thinking.text()
        qtbot.waitUntil(lambda: view.task is None, timeout=120000)
    finally:
        engine._asker = None
        runtime.close()
    kinds = [k for k, _v, _t in seen]
    assert "AskThinking" in kinds and "AskToken" in kinds
    thinking = next(s for s in seen if s[0] == "AskThinking")
    assert thinking[1] and thinking[2].startswith("Thinking…")
    first_token = next(s for s in seen if s[0] == "AskToken")
    assert first_token[1] and first_token[2] == "Writing…"
    assert not view.thinking.isVisibleTo(view) and not view.thinking_bar.isVisibleTo(view)
