"""Ask: a conversation over the person's memories, streamed, with clickable citations.

The answer arrives as a stream (``ask_adapter.answer``): the evidence first —
shown at once as numbered sources, below where the answer will be — then the
answer's tokens, then the citations actually used. The answer always stands
first under the question; the sources are one click away below it. Stop cancels between tokens. Without a chat model the
same stream gives an extractive answer, and a banner says how to get more.
"""
from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSplitter,
    QCheckBox, QProgressBar, QTextBrowser, QVBoxLayout, QWidget,
)

from app.tasks import Task, run_in_background, stream_in_background
from app.views import ask_adapter as adapter
from app.views.hit_detail import HitDetail
from app.windows.context import AppContext
from core import timefmt
from core.chat import attribution
from core.records import SearchHit

_CITE = re.compile(r"\[(\d+)\]")


class AskView(QWidget):
    title = "Ask"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.thread_id: int | None = None
        self.blocks: list[str | dict] = []   # finished turns: stored HTML, or this session's
        self.live: dict | None = None        # the answer being streamed
        self.task: Task | None = None
        self.events_seen: list[str] = []     # "evidence", "token", "done" (tests, order)
        self.evidence: dict[str, SearchHit] = {}  # "answer-n" → hit, for citation links
        self._answers = 0
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        split = QSplitter(Qt.Orientation.Horizontal)
        row.addWidget(split)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        self.new_thread = QPushButton("New conversation")
        self.threads = QListWidget()
        self.threads.setAccessibleName("Conversations")
        self.threads.setObjectName("threads")  # roomier rows (app.qss)
        self.threads.setSpacing(2)
        self.threads.setWordWrap(True)
        self.threads.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.delete_thread = QPushButton("Delete conversation")
        lcol.addWidget(self.new_thread)
        lcol.addWidget(self.threads, 1)
        lcol.addWidget(self.delete_thread)
        center = QWidget()
        ccol = QVBoxLayout(center)
        ccol.setContentsMargins(0, 0, 0, 0)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.get_model = QPushButton("Get a model…")
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.get_model)
        self.quotes_only = QCheckBox("Answer from quotes only")
        self.quotes_only.setToolTip("Short answers taken from your sources, without the model")
        self.quotes_only.setVisible(False)
        banner_row.addWidget(self.quotes_only)
        self.banner_box = QWidget()
        self.banner_box.setLayout(banner_row)
        self.banner_box.setVisible(False)
        ccol.addWidget(self.banner_box)
        self.transcript = QTextBrowser()
        self.transcript.setOpenLinks(False)
        self.transcript.setAccessibleName("Conversation")
        ccol.addWidget(self.transcript, 1)
        ask_row = QHBoxLayout()
        self.question = QLineEdit()
        self.question.setPlaceholderText("Ask about anything you saw, read or said…")
        self.ask_button = QPushButton("Ask")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setVisible(False)
        ask_row.addWidget(self.question, 1)
        # A visible "thinking…" beside the box while the model reads the prompt (a small
        # model can take many seconds before its first word).
        self.thinking = QLabel()
        self.thinking.setObjectName("thinking")
        self.thinking_bar = QProgressBar()
        self.thinking_bar.setRange(0, 0)
        self.thinking_bar.setTextVisible(False)
        self.thinking_bar.setFixedWidth(60)
        for w in (self.thinking, self.thinking_bar):
            w.setVisible(False)
            ask_row.addWidget(w)
        ask_row.addWidget(self.ask_button)
        ask_row.addWidget(self.stop_button)
        ccol.addLayout(ask_row)
        self.detail = HitDetail(ctx)
        self.detail.setVisible(False)
        split.addWidget(left)
        split.addWidget(center)
        split.addWidget(self.detail)
        split.setSizes([220, 620, 420])
        split.setStretchFactor(0, 0)  # a wider window widens the conversation, not the list
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 1)
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(40)  # tokens arrive faster than a person reads
        self._render_timer.timeout.connect(self.render)

        self.ask_button.clicked.connect(self.ask)
        self.question.returnPressed.connect(self.ask)
        self.stop_button.clicked.connect(self.stop)
        self.new_thread.clicked.connect(self.start_new_thread)
        self.delete_thread.clicked.connect(self.on_delete_thread)
        # Selection, not the current item: a list that gets focus makes its first row
        # current (without selecting it), which must not load another conversation.
        self.threads.itemSelectionChanged.connect(self.on_selection_changed)
        self.transcript.anchorClicked.connect(self.on_anchor)
        self.get_model.clicked.connect(lambda: ctx.nav.show_view.emit("settings"))
        self.quotes_only.toggled.connect(self.on_quotes_only)
        ctx.nav.settings_changed.connect(self.on_settings_changed)
        self.show_drafts: set[int] = set()
        self._loaded = False
        self._shown = 0  # bumped whenever the pane starts showing something else

    # -- view protocol ------------------------------------------------------------------------
    def activate(self) -> None:
        self.refresh_model_status()
        if not self._loaded:
            self._loaded = True
            self.load_threads()
            self.render()
        self.question.setFocus()

    def clear(self) -> None:
        if self.task is None:
            self.question.clear()
        self.detail.setVisible(False)

    def ask_now(self, text: str) -> None:
        """Quick ask from the tray: a new conversation with this question."""
        self.start_new_thread()
        self.question.setText(text)
        self.ask()

    # -- model status -------------------------------------------------------------------------
    def refresh_model_status(self) -> None:
        engine = self.ctx.engine

        def done(status: adapter.AskStatus) -> None:
            self.banner_box.setVisible(not status.has_model or bool(status.warning))
            self.get_model.setVisible(not status.has_model)
            self.quotes_only.setVisible(bool(status.warning))
            self.quotes_only.blockSignals(True)
            self.quotes_only.setChecked(status.extractive_only)
            self.quotes_only.blockSignals(False)
            if not status.has_model:
                self.banner.setText(
                    "<b>No chat model yet</b> — answers are short phrases taken from your "
                    "best matching sources, with the sources below them. A local model "
                    "(downloaded once, runs on this computer) writes full answers.")
            else:
                self.banner.setText(f"<b>Small model</b> — {html.escape(status.warning)}"
                                    if status.warning else "")
            self.banner.setToolTip(status.message)

        run_in_background(lambda: adapter.ask_status(engine), done, owner=self)

    def on_settings_changed(self) -> None:
        # A model added or chosen elsewhere (the CLI, Settings): the banner follows; the
        # engine already dropped its old Ask, so the next question uses the new model.
        if self._loaded:
            self.refresh_model_status()

    def on_quotes_only(self, on: bool) -> None:
        engine = self.ctx.engine
        run_in_background(lambda: adapter.set_extractive_only(engine, on),
                          lambda _r: None, owner=self)

    # -- threads ------------------------------------------------------------------------------
    def load_threads(self, select: int | None = None) -> None:
        engine = self.ctx.engine

        def done(threads: list[adapter.ThreadSummary]) -> None:
            self.threads.blockSignals(True)
            self.threads.clear()
            for t in threads:
                item = QListWidgetItem(f"{t.title}\n{timefmt.moment(t.updated)}")
                item.setData(Qt.ItemDataRole.UserRole, t.id)
                self.threads.addItem(item)
                if t.id == select:
                    self.threads.setCurrentItem(item)
            self.threads.blockSignals(False)
            self.delete_thread.setEnabled(bool(threads))

        run_in_background(lambda: adapter.list_threads(engine), done, owner=self)

    def start_new_thread(self) -> None:
        self.stop()
        self._shown += 1  # a conversation still loading must not replace the new one
        self.thread_id = None
        self.blocks = []
        self.live = None
        self.threads.blockSignals(True)
        self.threads.clearSelection()
        self.threads.setCurrentItem(None)
        self.threads.blockSignals(False)
        self.render()
        self.question.setFocus()

    def on_selection_changed(self) -> None:
        items = self.threads.selectedItems()
        self.on_thread_selected(items[0] if items else None, None)

    def on_thread_selected(self, item: QListWidgetItem | None, _prev: object) -> None:
        if item is None or self.task is not None or self.live is not None:
            return
        thread_id = item.data(Qt.ItemDataRole.UserRole)
        if thread_id == self.thread_id and (self.blocks or self.live is not None):
            # Already on screen (a list view also selects its first row when it gets
            # focus): reloading it would only lose what was shown, e.g. a stopped answer.
            return
        engine = self.ctx.engine
        self._shown += 1
        shown = self._shown

        def done(turns: tuple[adapter.StoredTurn, ...]) -> None:
            if shown != self._shown:
                return  # another conversation (or a new question) took the pane meanwhile
            self.thread_id = thread_id
            self.live = None
            self.blocks = [self._stored_turn_html(t) for t in turns]
            self.render()

        run_in_background(lambda: adapter.load_thread(engine, thread_id), done, owner=self)

    def on_delete_thread(self) -> None:
        item = self.threads.currentItem()
        if item is None:
            return
        from app.views.common import confirm

        if not confirm(self, "Delete conversation?", "Delete this conversation with Engram? "
                       "What you told Engram in it stays in your memories.", "Delete"):
            return
        thread_id = item.data(Qt.ItemDataRole.UserRole)
        engine = self.ctx.engine
        run_in_background(lambda: adapter.delete_thread(engine, thread_id),
                          lambda _r: (self.start_new_thread(), self.load_threads()), owner=self)

    # -- asking -------------------------------------------------------------------------------
    def ask(self) -> None:
        question = self.question.text().strip()
        if not question or self.task is not None:
            return
        self.question.clear()
        self._shown += 1
        self.events_seen = []
        self._answers += 1
        self.live = {"question": question, "evidence": (), "text": "", "done": None,
                     "looked_in": "", "no": self._answers}
        self.render()
        engine = self.ctx.engine
        thread_id = self.thread_id
        self._busy(True)
        self.task = stream_in_background(
            lambda job: adapter.answer(engine, question, thread_id, job.cancel),
            self.on_item, self.on_finished, self.on_failed, owner=self)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def on_item(self, item: object) -> None:
        live = self.live
        if live is None:
            return
        if isinstance(item, adapter.AskEvidence):
            self.events_seen.append("evidence")
            live["evidence"] = item.items
            live["looked_in"] = item.looked_in
            for n, hit in item.items:
                self.evidence[f"{live['no']}-{n}"] = hit
            self.thread_id = item.thread_id
            self.render()  # sources show at once, before any token
        elif isinstance(item, adapter.AskThinking):
            self.events_seen.append("thinking")
            live["thinking"] = item.sources
            self._set_thinking(f"Thinking… reading {item.sources} sources")
            self.render()  # "thinking…" while the model reads the sources
        elif isinstance(item, adapter.AskToken):
            self.events_seen.append("token")
            if not live["text"]:
                self._set_thinking("Writing…")
            live["text"] += item.text
            if not self._render_timer.isActive():
                self._render_timer.start()
        elif isinstance(item, adapter.AskDone):
            self.events_seen.append("done")
            live["done"] = item
            live["text"] = item.answer
            self.thread_id = item.thread_id
            self.render()

    def on_finished(self, _result: object) -> None:
        live = self.live
        stopped = self.task is not None and self.task.cancelled
        if live is not None:
            if stopped and live["done"] is None:
                live["text"] += " …(stopped)"
            self.blocks.append(live)
            self.live = None
        self.task = None
        self._busy(False)  # after the answer is kept: re-enabling moves focus around
        self.render()
        self.load_threads(select=self.thread_id)

    def on_failed(self, exc: BaseException) -> None:
        if self.live is not None:
            self.blocks.append(self._live_html(self.live) +
                               '<p style="color: #c0392b">The answer failed.</p>')
            self.live = None
        self.task = None
        self._busy(False)
        self.render()
        from app.dialogs.errors import present_error

        present_error(exc, self)

    def _set_thinking(self, text: str) -> None:
        self.thinking.setText(text)
        busy = bool(text)
        self.thinking.setVisible(busy)
        self.thinking_bar.setVisible(busy)

    def _busy(self, busy: bool) -> None:
        self._set_thinking("Looking through your memories…" if busy else "")
        self.ask_button.setVisible(not busy)
        self.stop_button.setVisible(busy)
        self.question.setEnabled(not busy)
        self.new_thread.setEnabled(not busy)

    # -- rendering ----------------------------------------------------------------------------
    def render(self) -> None:
        parts = [b if isinstance(b, str) else self._live_html(b) for b in self.blocks]
        if self.live is not None:
            parts.append(self._live_html(self.live))
        if not parts:
            parts = ["<p style='color: gray'>Ask a question — “what was the library Ana "
                     "recommended?”, “when did I last renew the car insurance?”. "
                     "Answers come "
                     "only from what Engram captured on this computer, with the sources "
                     "they come from.</p>"]
        self.transcript.setHtml("".join(parts))
        bar = self.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _live_html(self, live: dict) -> str:
        """Question, then the answer (or what is happening), then its sources below it."""
        out = [self._question_html(live["question"])]
        evidence = live["evidence"]
        done: adapter.AskDone | None = live["done"]
        no = live["no"]
        text = live["text"]
        if not text and done is None:
            out.append("<p style='color: gray'>" + (
                f"Thinking… the model is reading {live['thinking']} sources"
                if live.get("thinking") else "Looking through your memories…") + "</p>")
        if text and done is None and live.get("thinking"):  # a draft until it is checked
            out.append(f"<p style='color: gray'>{html.escape(text)}</p>")
        elif text:
            out.append(f"<p>{self._answer_html(text, {n for n, _ in evidence}, no)}</p>")
        if done is not None and done.citations and done.mode != "not-found":
            said = self._answer_html(attribution(done.citations), {n for n, _ in evidence}, no)
            out.append(f"<p style='color: gray; margin-top: 0'>{said}</p>")  # whose words
        if done is not None and done.mode == "model-fallback":
            out.append(f"<p style='color: gray'>The model's answer wasn't supported by its "
                       f"sources, so this is the answer taken from them. "
                       f"<a href='draft:{no}'>"
                       f"{'hide' if no in self.show_drafts else 'show'} model draft</a></p>")
            if no in self.show_drafts:
                out.append(f"<p style='color: gray'><i>{html.escape(done.draft or '(empty)')}"
                           f"</i></p>")
        if done is not None and done.notice and done.mode in ("model", "extractive"):
            out.append(f"<p style='color: gray'>{html.escape(done.notice)}</p>")
        if live["looked_in"]:
            out.append(f"<p style='color: gray'>Looked in: {html.escape(live['looked_in'])}</p>")
        if evidence:  # below the answer: one click away, never in front of it
            items = "".join(
                f"<li><a href='ev:{no}-{n}'>[{n}]</a> {html.escape(hit.title)} "
                f"<span style='color: gray'>· {hit.source} · "
                f"{timefmt.moment(hit.time)}</span></li>" for n, hit in evidence)
            out.append(f"<p style='color: gray; margin-bottom: 0'>Sources</p>"
                       f"<ol style='margin-top: 2px'>{items}</ol>")
        return "<div style='margin-bottom: 14px'>" + "".join(out) + "</div>"

    def _stored_turn_html(self, turn: adapter.StoredTurn) -> str:
        if turn.role == "user":
            return self._question_html(turn.text)
        by_n = {c.n: c for c in turn.citations}
        text = html.escape(turn.text).replace("\n", "<br>")
        text = _CITE.sub(lambda m: (f"<a href='{by_n[int(m.group(1))].kind}:"
                                    f"{by_n[int(m.group(1))].id}'>{m.group(0)}</a>")
                         if int(m.group(1)) in by_n else m.group(0), text)
        return f"<p>{text}</p>"

    @staticmethod
    def _question_html(text: str) -> str:
        return (f"<p style='margin-top: 12px'><b>You:</b> {html.escape(text)}</p>")

    @staticmethod
    def _answer_html(text: str, valid: set[int], no: int) -> str:
        escaped = html.escape(text).replace("\n", "<br>")
        return _CITE.sub(lambda m: f"<a href='ev:{no}-{m.group(1)}'>{m.group(0)}</a>"
                         if int(m.group(1)) in valid else m.group(0), escaped)

    # -- citations ----------------------------------------------------------------------------
    def on_anchor(self, url: QUrl) -> None:
        scheme, _, value = url.toString().partition(":")
        if scheme == "draft" and value.isdigit():
            self.show_drafts ^= {int(value)}
            self.render()
        elif scheme == "ev":
            hit = self.evidence.get(value)
            if hit is not None:
                self.open_hit(hit)
        elif scheme == "event" and value.isdigit():
            self.detail.setVisible(True)
            self.detail.show_event(int(value))

    def open_hit(self, hit: SearchHit) -> None:
        self.detail.setVisible(True)
        self.detail.show_hit(hit)
