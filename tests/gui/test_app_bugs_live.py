"""Bug 3 (issue 15): model, settings and source changes made elsewhere apply live.

A model added with the real `engram models add` (SmolLM2-135M-Instruct, real llama.cpp)
while the app runs is used by the next question, with no restart.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.views.ask import AskView


@pytest.fixture
def data_dir(data_dir: Path, tmp_path: Path, models_dir: Path, monkeypatch) -> Path:
    """A private models folder (the built-in embedder linked in), so the model this test
    adds stays out of the session's shared one."""
    private = tmp_path / "models"
    private.mkdir()
    for f in models_dir.iterdir():
        if f.is_file():
            os.link(f, private / f.name)
    monkeypatch.setenv("ENGRAM_MODELS", str(private))
    return data_dir


def ask(qtbot, view: AskView, question: str) -> str:
    view.question.setText(question)
    view.ask()
    qtbot.waitUntil(lambda: view.task is None, timeout=180000)
    done = view.blocks[-1]["done"]
    assert done is not None
    return done.mode


def test_a_model_added_from_the_cli_answers_the_next_question(qtbot, ctx, cli, smollm2):
    ctx.watch(interval_ms=200)
    view = AskView(ctx)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    view.activate()
    qtbot.waitUntil(lambda: view.get_model.isVisibleTo(view), timeout=10000)
    assert ask(qtbot, view, "How did I fix the printer?") in ("extractive", "not-found")

    cli("models", "add", str(smollm2), "--role", "chat")
    qtbot.waitUntil(lambda: not view.get_model.isVisibleTo(view), timeout=20000)
    assert ctx.engine.settings.get("chat_model")  # the app re-read what the CLI chose
    mode = ask(qtbot, view, "Which library did Ana recommend for retries?")
    ctx.stop_watching()
    assert mode in ("model", "model-fallback")
    assert "thinking" in view.events_seen  # the model really read the sources


def test_a_folder_watched_from_the_cli_restarts_capture_and_reaches_sources(qtbot, ctx, cli,
                                                                           tmp_path):
    from app.views.sources import SourcesView

    restarts: list[str] = []
    ctx.restart_capture = lambda: restarts.append("restart")
    ctx.watch(interval_ms=200)
    view = SourcesView(ctx)
    qtbot.addWidget(view)
    view.show()
    view.activate()
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "bread.md").write_text("# Bread\n500 g flour, 350 g water, a pinch of salt.\n")
    cli("watch", "add", str(folder))
    qtbot.waitUntil(lambda: bool(restarts), timeout=20000)  # the folder watcher starts
    assert ctx.engine.settings.get("watched_folders") == [str(folder.resolve())]
    tree = view.folders.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 1
                    and tree.topLevelItem(0).text(0) == str(folder.resolve())
                    and tree.topLevelItem(0).text(1).startswith("1 files indexed"),
                    timeout=20000)
    ctx.stop_watching()
