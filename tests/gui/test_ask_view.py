"""Ask: evidence shows before tokens (tiny real model), no-model mode, citations, threads."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from app.views.ask import AskView
from tests.tinymodel import make_tiny_chat_gguf


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_chat_gguf(tmp_path_factory.mktemp("tiny") / "tiny-chat.gguf")


def make_view(qtbot, ctx) -> AskView:
    view = AskView(ctx)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    view.activate()
    return view


def ask(qtbot, view: AskView, question: str) -> None:
    view.question.setText(question)
    view.ask()
    assert view.stop_button.isVisibleTo(view)
    qtbot.waitUntil(lambda: view.task is None, timeout=120000)


def test_no_model_answer_quotes_sources_and_explains_in_place(qtbot, ctx):
    view = make_view(qtbot, ctx)
    qtbot.waitUntil(lambda: view.banner_box.isVisibleTo(view), timeout=10000)
    assert "No chat model" in view.banner.text()
    ask(qtbot, view, "Which library did Ana recommend for retries?")
    assert view.events_seen[0] == "evidence" and view.events_seen[-1] == "done"
    html = view.transcript.toHtml()
    assert "Sources" in view.transcript.toPlainText()
    assert "ev:1-1" in html  # numbered, clickable sources
    # A citation opens its source in the detail pane.
    view.on_anchor(QUrl("ev:1-1"))
    assert view.detail.isVisibleTo(view)
    qtbot.waitUntil(lambda: view.detail.hit is not None, timeout=10000)
    assert view.detail.hit.id == view.evidence["1-1"].id
    # The conversation is stored and listed.
    qtbot.waitUntil(lambda: view.threads.count() == 1, timeout=10000)


def test_with_the_tiny_model_evidence_renders_before_tokens(qtbot, ctx, tiny_model):
    from core.chat import Asker
    from core.models.runtime import ChatRuntime
    from core.threads import Threads

    runtime = ChatRuntime(tiny_model, n_ctx=2048, idle_unload_seconds=None)
    engine = ctx.engine
    engine._asker = Asker(engine.retriever, engine.pipeline, Threads(engine.store),
                          model=runtime)
    rendered: list[tuple[str, str]] = []
    view = make_view(qtbot, ctx)
    original = view.on_item

    def spy(item) -> None:
        original(item)
        # What the person sees after each item, in order.
        rendered.append((type(item).__name__, view.transcript.toPlainText()))

    view.task = None
    view.on_item = spy
    try:
        ask(qtbot, view, "How did I fix the printer?")
    finally:
        engine._asker = None
        runtime.close()
    kinds = [k for k, _ in rendered]
    assert kinds[0] == "AskEvidence" and "AskToken" in kinds and kinds[-1] == "AskDone"
    first_evidence_text = rendered[0][1]
    assert "Sources" in first_evidence_text  # sources on screen before the first token
    assert view.events_seen.index("token") > view.events_seen.index("evidence")


def test_stop_cancels_the_stream(qtbot, ctx, tiny_model):
    from core.chat import Asker
    from core.models.runtime import ChatRuntime
    from core.threads import Threads

    runtime = ChatRuntime(tiny_model, n_ctx=4096, idle_unload_seconds=None)

    class Paced:
        """The real model, slowed to a person's reading pace so Stop lands mid-answer."""

        def fit(self, *a, **kw):
            return runtime.fit(*a, **kw)

        def stream(self, *a, **kw):
            for piece in runtime.stream(*a, **kw):
                time.sleep(0.02)
                yield piece

    engine = ctx.engine
    asker = Asker(engine.retriever, engine.pipeline, Threads(engine.store), model=Paced(),
                  max_answer_tokens=1000)
    engine._asker = asker
    view = make_view(qtbot, ctx)
    try:
        view.question.setText("How did I fix the printer?")
        view.ask()
        qtbot.waitUntil(lambda: "token" in view.events_seen or view.task is None,
                        timeout=60000)
        assert "token" in view.events_seen
        view.stop_button.click()
        qtbot.waitUntil(lambda: view.task is None, timeout=30000)
    finally:
        engine._asker = None
        runtime.close()
    assert view.events_seen.count("token") < 100
    assert "done" not in view.events_seen
    assert "(stopped)" in view.transcript.toPlainText()
    assert view.ask_button.isVisibleTo(view)
