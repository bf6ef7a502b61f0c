"""Timeline: a day's activity chart, its episodes, and a scrubber over its screenshots.

A day is read once, off the UI thread, into a frozen ``DayData``; the chart,
the episode list and the scrubber all draw from it. Deleting a moment or an
hour goes through ``pipeline.forget`` (the same path as `engram forget`) and
the day is read again from the summary it returns.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from PySide6.QtCore import QDate, QModelIndex, Qt
from PySide6.QtWidgets import (
    QDateEdit, QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QPushButton,
    QSplitter, QVBoxLayout, QWidget,
)

from app.models.sessions import EpisodeListModel, EpisodeRole, span_text
from app.tasks import run_in_background, run_op
from app.views.activity_chart import ActivityChart
from app.views.common import confirm, minutes_text, wrap_rows
from app.views.hit_detail import HitDetail
from app.views.timeline_scrubber import Moment, Scrubber
from app.views.timeline_days import AppTotals, DayMarks, TypedDay
from app.windows.context import AppContext
from core import timefmt
from core.activity import DayData, activity_label, read_day
from core.days import app_totals
from core.records import Changes, Event
from core.units import plural


@dataclass(frozen=True)
class Day(DayData):
    """A day as the view draws it: the engine's ``DayData`` and its screenshots."""

    moments: tuple[Moment, ...] = ()


def load_day(engine, day: date) -> Day:
    data = read_day(engine.memories, day)
    moments = tuple(Moment(e.id, e.started_at, activity_label(e), e.title or "", True)
                    for e in data.events if e.has_image)
    return Day(**{f.name: getattr(data, f.name) for f in fields(DayData)}, moments=moments)


class TimelineView(QWidget):
    title = "Timeline"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.data: Day | None = None
        self.selected_hour: int | None = None
        self._generation = 0
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.prev_day = QPushButton("◀")
        self.prev_day.setToolTip("Previous day")
        self.prev_day.setFixedWidth(36)
        self.day_edit = QDateEdit(QDate.currentDate())
        self.day_edit.setCalendarPopup(True)
        self.day_edit.setDisplayFormat("dddd d MMMM yyyy")
        self.day_edit.setMaximumDate(QDate.currentDate().addDays(1))
        self.next_day = QPushButton("▶")
        self.next_day.setToolTip("Next day")
        self.next_day.setFixedWidth(36)
        self.today = QPushButton("Today")
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self.jump = QPushButton()
        self.jump.setVisible(False)
        # Days with data marked in the calendar; a day can be typed in words.
        self.day_marks = DayMarks(self.day_edit, ctx.engine.store, self)
        self.typed_day = TypedDay()
        for w in (self.prev_day, self.day_edit, self.next_day, self.today, self.typed_day):
            top.addWidget(w)
        top.addSpacing(12)
        top.addWidget(self.summary, 1)
        top.addWidget(self.jump)
        layout.addLayout(top)
        self.chart = ActivityChart()
        layout.addWidget(self.chart)
        self.totals = AppTotals()
        self.totals.setVisible(False)
        layout.addWidget(self.totals)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        self.episodes_title = QLabel("Episodes")
        self.episodes_title.setObjectName("heading")
        lcol.addWidget(self.episodes_title)
        self.episodes = QListView()
        self.episodes.setObjectName("episodes")  # roomier rows (app.qss)
        self.episode_model = EpisodeListModel(self)
        self.episodes.setModel(self.episode_model)
        wrap_rows(self.episodes)
        lcol.addWidget(self.episodes, 3)
        self.items_title = QLabel("Sources")
        self.items_title.setObjectName("heading")
        lcol.addWidget(self.items_title)
        self.items_hint = QLabel("Click a bar of the chart or a session to list what was "
                                 "captured then.")
        self.items_hint.setObjectName("hint")
        self.items_hint.setWordWrap(True)
        lcol.addWidget(self.items_hint)
        self.items = wrap_rows(QListWidget())
        lcol.addWidget(self.items, 2)
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        self.scrubber = Scrubber()
        rcol.addWidget(self.scrubber)
        actions = QHBoxLayout()
        self.delete_moment = QPushButton("Delete this moment…")
        self.delete_hour = QPushButton("Delete this hour…")
        actions.addStretch(1)
        actions.addWidget(self.delete_moment)
        actions.addWidget(self.delete_hour)
        rcol.addLayout(actions)
        self.detail = HitDetail(ctx, allow_forget=False)
        self.detail.show_timeline_button = False
        self._focus_event: int | None = None  # "Show in Timeline": pick it once loaded
        rcol.addWidget(self.detail, 1)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([360, 760])
        layout.addWidget(split, 1)

        self.prev_day.clicked.connect(lambda: self.shift_day(-1))
        self.next_day.clicked.connect(lambda: self.shift_day(1))
        self.today.clicked.connect(lambda: self.day_edit.setDate(QDate.currentDate()))
        self.day_edit.dateChanged.connect(lambda _d: self.reload())
        self.chart.hour_clicked.connect(self.on_hour_clicked)
        self.episodes.selectionModel().currentChanged.connect(self.on_episode)
        self.items.currentItemChanged.connect(self.on_item)
        self.scrubber.moment_changed.connect(self.on_moment)
        self.delete_moment.clicked.connect(self.on_delete_moment)
        self.delete_hour.clicked.connect(self.on_delete_hour)
        self.jump.clicked.connect(self.on_jump)
        self.typed_day.day_entered.connect(self.set_day)
        ctx.nav.data_changed.connect(self.on_data_changed)
        ctx.nav.captured.connect(self.on_captured)
        self._loaded_once = False

    # -- view protocol ------------------------------------------------------------------------
    def activate(self) -> None:
        if not self._loaded_once:
            self._loaded_once = True
            self.reload()

    def clear(self) -> None:
        self.chart.select_hour(None)
        self.selected_hour = None
        self.episodes.clearSelection()
        self.items.clear()
        self._update_buttons()

    def day(self) -> date:
        return self.day_edit.date().toPython()

    def set_day(self, day: date) -> None:
        if day == self.day():
            self.reload()
        else:
            self.day_edit.setDate(QDate(day.year, day.month, day.day))

    def show_moment(self, event_id: int, when: datetime) -> None:
        """Open the day of ``when`` at the moment ``event_id`` (0: just the day)."""
        self._loaded_once = True
        self._focus_event = event_id or None
        self.set_day(when.astimezone().date())

    def shift_day(self, days: int) -> None:
        self.day_edit.setDate(self.day_edit.date().addDays(days))

    # -- loading ------------------------------------------------------------------------------
    def reload(self, live: bool = False) -> None:
        """Read the day again. ``live``: new captures or a change made elsewhere — keep
        what the person is looking at; otherwise (another day) nothing of the old day
        stays on screen, not even for the moment the new one loads."""
        self._generation += 1
        generation = self._generation
        day = self.day()
        engine = self.ctx.engine
        keep = (self.current_event_id(), self.selected_hour) if live else (None, None)
        if not live:
            self.chart.set_activity(None)
            self.summary.setText("Loading…")
            self._forget_shown()

        def done(data: Day) -> None:
            if generation == self._generation:
                self.show_day(data, *keep)

        run_in_background(lambda: load_day(engine, day), done, owner=self)

    def _forget_shown(self) -> None:
        self.selected_hour = None
        self.chart.select_hour(None)
        self.items.clear()
        self.items_title.setText("Sources")
        self.items_hint.setVisible(True)
        self.scrubber.set_moments([])
        self.detail.clear()
        self._update_buttons()

    def show_day(self, data: Day, keep_event: int | None = None,
                 keep_hour: int | None = None) -> None:
        followed = (self.data is not None and self.data.moments
                    and keep_event == self.data.moments[-1].event_id)
        self._forget_shown()
        self.data = data
        self.chart.set_activity(data.activity)
        self.episode_model.set_episodes(data.episodes)
        self.episodes_title.setText(
            "Episodes" if data.episodes_are_memories
            else "Sessions (grouped by app and pauses)")
        self.items.clear()
        self.scrubber.set_moments(list(data.moments))
        self.totals.set_totals(app_totals(data.events, data.day), self.chart.color)
        self.day_marks.refresh()
        on_screen = sum(s for h in range(24) for label, s in data.activity.hours[h]) \
            if data.events else 0
        if data.events:
            self.detail.empty.set_text("Nothing selected", "Pick a moment, an hour of the "
                                       "chart or a session to see what was captured.")
        else:  # true and in view: this day has nothing, whatever else is selected
            self.detail.clear()
            self.detail.empty.set_text("Nothing captured on this day",
                                       "Pick another day with ◀ ▶ or the calendar.")
        if data.events:
            self.summary.setText(f"{len(data.events)} items · {minutes_text(on_screen)} "
                                 f"of activity · {len(data.moments)} screenshots")
            self.jump.setVisible(False)
        else:
            self.summary.setText("Nothing captured on this day.")
            if data.latest is not None and data.latest.astimezone().date() != data.day:
                latest = data.latest.astimezone().date()
                self.jump.setText(f"Go to {timefmt.day(latest)}")
                self.jump.setVisible(True)
            else:
                self.jump.setVisible(False)
                if self.ctx.capture.snapshot().state == "capturing":  # true while it is on
                    self.summary.setText("Nothing captured yet — Engram is capturing, and "
                                         "activity shows up here by the hour.")
                else:
                    self.summary.setText(
                        "Nothing captured yet. Turn on screen capture or add folders in "
                        "Sources, or import a chat export — activity shows up here by the hour.")
        focus, self._focus_event = self._focus_event, None
        if focus is not None and any(e.id == focus for e in data.events):
            keep_event, followed = focus, False  # "Show in Timeline": that moment
        if keep_hour is not None and data.events:
            self.chart.select_hour(keep_hour)
            self.on_hour_clicked(keep_hour)
        kept = keep_event is not None and not followed and (
            self.scrubber.jump_to_event(keep_event)
            or keep_event in {e.id for e in data.events})
        if kept and self.detail.hit is None:
            self.detail.show_event(keep_event)
        elif not kept and data.moments:  # the latest screenshot, and it follows new ones
            self.scrubber.jump_to_event(data.moments[-1].event_id)
        self._update_buttons()

    def on_jump(self) -> None:
        if self.data and self.data.latest:
            self.set_day(self.data.latest.astimezone().date())

    def on_data_changed(self, changes: Changes) -> None:
        # Any write (import, forget, indexing) may touch the day shown: read it again.
        if self._loaded_once:
            self.reload(live=True)

    def on_captured(self) -> None:
        if self._loaded_once:
            self.reload(live=True)

    # -- interaction --------------------------------------------------------------------------
    def on_hour_clicked(self, hour: int) -> None:
        if self.data is None or self.data.day != self.day():
            return  # the day shown is changing: its hours are not on screen
        self.selected_hour = hour
        start = datetime.combine(self.data.day, datetime.min.time()).astimezone() \
            + timedelta(hours=hour)
        in_hour = [e for e in self.data.events
                   if e.started_at.astimezone().hour == hour
                   and e.started_at.astimezone().date() == self.data.day]
        self._fill_items(in_hour, timefmt.span(start, start + timedelta(hours=1), with_day=False))
        self.scrubber.jump_to_time(start)
        self._update_buttons()

    def on_episode(self, current: QModelIndex, _previous: QModelIndex) -> None:
        episode = current.data(EpisodeRole.Episode) if current.isValid() else None
        if episode is None or self.data is None:
            return
        wanted = set(episode.event_ids)
        events = [e for e in self.data.events if e.id in wanted]
        self._fill_items(events, f"{span_text(episode)} {episode.label}")
        for e in events:
            if e.has_image and self.scrubber.jump_to_event(e.id):
                return
        if events:
            self.detail.show_event(events[0].id)

    def _fill_items(self, events: list[Event], caption: str) -> None:
        self.items.clear()
        self.items_hint.setVisible(False)
        self.items_title.setText(f"Sources · {caption} · {len(events)}")
        for e in events:
            text = f"{timefmt.clock(e.started_at, seconds=True)}  {activity_label(e)} — " \
                   f"{e.title or e.text[:60]}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            self.items.addItem(item)

    def on_item(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is None:
            return
        event_id = item.data(Qt.ItemDataRole.UserRole)
        if not self.scrubber.jump_to_event(event_id):
            self.detail.show_event(event_id)

    def on_moment(self, moment: Moment) -> None:
        self.detail.show_event(moment.event_id)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.delete_moment.setEnabled(self.current_event_id() is not None)
        self.delete_hour.setEnabled(self.current_hour() is not None)

    def current_event_id(self) -> int | None:
        if self.detail.hit is not None and self.detail.hit.kind == "event":
            return self.detail.hit.id
        moment = self.scrubber.current()
        return moment.event_id if moment else None

    def current_hour(self) -> int | None:
        if self.selected_hour is not None:
            return self.selected_hour
        moment = self.scrubber.current()
        return moment.time.astimezone().hour if moment else None

    # -- deleting -----------------------------------------------------------------------------
    def on_delete_moment(self) -> None:
        event_id = self.current_event_id()
        if event_id is None:
            return
        if confirm(self, "Delete this moment?",
                   "Delete this item everywhere: its text, screenshot and search index "
                   "entries. This cannot be undone.", "Delete"):
            self.forget([event_id])

    def on_delete_hour(self) -> None:
        hour = self.current_hour()
        if hour is None or self.data is None:
            return
        start = datetime.combine(self.data.day, datetime.min.time()).astimezone() \
            + timedelta(hours=hour)
        end = start + timedelta(hours=1)
        ids = [e.id for e in self.data.events if e.started_at < end and e.ended_at >= start]
        if not ids:
            return
        if confirm(self, "Delete this hour?",
                   f"Delete everything captured between {timefmt.clock(start)} and "
                   f"{timefmt.clock(end)} on "
                   f"{timefmt.day(self.data.day, long=True, relative=False)} — "
                   f"{plural(len(ids), 'item')}, with their screenshots and index entries. "
                   "This cannot be undone.", f"Delete {len(ids)} items"):
            self.forget(ids)

    def forget(self, ids: list[int]) -> None:
        pipeline = self.ctx.engine.pipeline

        # The summary reaches every view, this one included (it reloads the day).
        run_op(self, self.ctx.nav, lambda: pipeline.forget(ids), lambda _c: self.detail.clear())
