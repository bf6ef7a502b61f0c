"""Bug 1 (issue 15): Ask always shows the conversation that is selected.

Real Ask view, real encrypted store, real embedder, no chat model (extractive answers):
after an answer finishes, and after a quick ask, the selected conversation in the list
is the new one and the pane shows that conversation's text — never another thread's.
"""
from __future__ import annotations

from PySide6.QtCore import Qt

from app.views.ask import AskView

FIRST = "How did I fix the printer?"
SECOND = "Which library did Ana recommend for retries?"
THIRD = "When did I renew the car insurance?"


def make_view(qtbot, ctx) -> AskView:
    view = AskView(ctx)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    view.activateWindow()
    view.activate()
    return view


def ask(qtbot, view: AskView, question: str) -> None:
    view.question.setText(question)
    view.ask()
    qtbot.waitUntil(lambda: view.task is None, timeout=120000)


def selected_thread(view: AskView) -> int | None:
    items = view.threads.selectedItems()
    return items[0].data(Qt.ItemDataRole.UserRole) if items else None


def settle(qtbot, view: AskView, question: str) -> None:
    """Wait until the list is reloaded with the thread of ``question`` selected."""
    def ready() -> bool:
        current = view.threads.currentItem()
        return (current is not None and question[:20] in current.text()
                and selected_thread(view) == view.thread_id)

    qtbot.waitUntil(ready, timeout=20000)
    qtbot.wait(300)  # any stray reload of another thread would land now


def test_a_finished_answer_stays_on_screen_with_its_thread_selected(qtbot, ctx):
    view = make_view(qtbot, ctx)
    ask(qtbot, view, FIRST)
    settle(qtbot, view, FIRST)
    first_id = view.thread_id
    view.new_thread.click()
    ask(qtbot, view, SECOND)
    settle(qtbot, view, SECOND)
    text = view.transcript.toPlainText()
    assert SECOND in text and FIRST not in text
    assert view.thread_id != first_id and selected_thread(view) == view.thread_id
    # Picking the first conversation shows it, and only it.
    for row in range(view.threads.count()):
        if view.threads.item(row).data(Qt.ItemDataRole.UserRole) == first_id:
            view.threads.setCurrentRow(row)
    qtbot.waitUntil(lambda: FIRST in view.transcript.toPlainText(), timeout=20000)
    assert SECOND not in view.transcript.toPlainText()


def test_quick_ask_shows_the_new_conversation(qtbot, ctx):
    view = make_view(qtbot, ctx)
    ask(qtbot, view, FIRST)
    settle(qtbot, view, FIRST)
    # Select the old conversation, as a person reading it would, then quick-ask.
    view.threads.setCurrentRow(0)
    view.threads.setFocus()
    view.ask_now(THIRD)
    qtbot.waitUntil(lambda: view.task is None, timeout=120000)
    settle(qtbot, view, THIRD)
    text = view.transcript.toPlainText()
    assert THIRD in text and FIRST not in text
    stored = [t.title for t in __import__("app.views.ask_adapter", fromlist=["x"])
              .list_threads(ctx.engine)]
    assert len(stored) == 2
