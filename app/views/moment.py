"""The full-size moment view: a screenshot large and zoomable, its OCR words selectable.

Opened by clicking a screenshot (Search, Timeline, Ask). It shows the largest
picture the event kept — the whole screen at viewing size, or the active
window at full size when full frames are kept — read from the encrypted store
into memory. Drag across words to select them (Ctrl+A all), Ctrl+C copies
them in reading order; the full text is beside the picture too. Ctrl+wheel or
+/- zoom, 0 fits, 1 is 100 %, Esc closes.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush, QColor, QImage, QKeySequence, QPainter, QPen, QPixmap, QShortcut, QWheelEvent,
)
from PySide6.QtWidgets import (
    QApplication, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView,
    QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSplitter, QStyleOptionGraphicsItem,
    QVBoxLayout, QWidget,
)

from app.models.search_results import when_text
from app.tasks import run_in_background
from app.views.common import image_from_bytes
from app.views.moment_words import PlacedWord, place_words, words_text
from core.moments import MomentPictures, read_moment

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.1, 8.0


@dataclass(frozen=True)
class LoadedMoment:
    """Read on a worker: the event's pictures and the decoded picture to show."""

    pictures: MomentPictures | None
    image: QImage | None
    words: tuple[PlacedWord, ...] = ()


def load_moment(store, event_id: int) -> LoadedMoment:
    pictures = read_moment(store.reader(), event_id)
    if pictures is None:
        return LoadedMoment(None, None)
    data, shot = pictures.best
    image = image_from_bytes(data)
    if image is None:
        return LoadedMoment(pictures, None)
    event = pictures.event
    words = place_words(event.text, event.meta, shot, (image.width(), image.height()))
    return LoadedMoment(pictures, image, tuple(words))


class WordItem(QGraphicsRectItem):
    """An invisible, selectable box over one OCR word; selected words are tinted."""

    def __init__(self, word: PlacedWord) -> None:
        super().__init__(QRectF(word.x, word.y, word.width, word.height))
        self.word = word
        self.setFlag(QGraphicsRectItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setToolTip(word.text)
        self.setCursor(Qt.CursorShape.IBeamCursor)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self.isSelected():
            painter.fillRect(self.rect().adjusted(-1, -1, 1, 1), QBrush(QColor(60, 110, 240, 90)))


class ZoomView(QGraphicsView):
    """The picture with rubber-band word selection and zoom (Ctrl+wheel, keys)."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.pixmap_item: QGraphicsPixmapItem | None = None
        self.fitted = True

    def set_picture(self, image: QImage | None, words: tuple[PlacedWord, ...]) -> None:
        scene = self.scene()
        scene.clear()
        self.pixmap_item = None
        if image is None:
            return
        self.pixmap_item = scene.addPixmap(QPixmap.fromImage(image))
        self.pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        for word in words:
            scene.addItem(WordItem(word))
        scene.setSceneRect(QRectF(0, 0, image.width(), image.height()))
        self.fit()

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self.resetTransform()
        self.scale(factor, factor)
        self.fitted = False
        self.zoom_changed.emit(factor)

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom() * step)

    def fit(self) -> None:
        if self.pixmap_item is None:
            return
        self.fitInView(self.pixmap_item, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:  # a small picture is shown 1:1, never blown up
            self.resetTransform()
        self.fitted = True
        self.zoom_changed.emit(self.zoom())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        if self.fitted:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt name
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)
            event.accept()
            return
        super().wheelEvent(event)

    def word_items(self) -> list[WordItem]:
        return [i for i in self.scene().items() if isinstance(i, WordItem)]

    def selected_words(self) -> list[PlacedWord]:
        return [i.word for i in self.scene().selectedItems() if isinstance(i, WordItem)]

    def select_all(self) -> None:
        for item in self.word_items():
            item.setSelected(True)


class MomentWindow(QWidget):
    """A window of its own; ``show_in_timeline(event_id, time)`` and
    ``never_record(app)`` are carried out by whoever opened it."""

    show_in_timeline = Signal(int, object)
    never_record = Signal(str)

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.store = store
        self.loaded: LoadedMoment | None = None
        self.event_id: int | None = None
        self._generation = 0
        self.setWindowTitle("Engram — moment")
        self.resize(1100, 720)
        col = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setObjectName("detailTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QLabel()
        self.meta.setObjectName("hint")
        self.meta.setWordWrap(True)
        col.addWidget(self.title)
        col.addWidget(self.meta)
        bar = QHBoxLayout()
        self.zoom_out = QPushButton("−")
        self.zoom_out.setToolTip("Zoom out (-)")
        self.zoom_label = QLabel("100 %")
        self.zoom_in = QPushButton("+")
        self.zoom_in.setToolTip("Zoom in (+)")
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit the window (0)")
        self.actual = QPushButton("Actual size")
        self.actual.setToolTip("Actual size (1)")
        self.copy_button = QPushButton("Copy selected words")
        self.copy_button.setToolTip("Drag across words on the picture to select them "
                                    "(Ctrl+A selects all), then Ctrl+C")
        self.timeline_button = QPushButton("Show in Timeline")
        self.never_button = QPushButton("Never record this app")
        for w in (self.zoom_out, self.zoom_label, self.zoom_in, self.fit_button, self.actual):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.copy_button, self.timeline_button, self.never_button):
            bar.addWidget(w)
        col.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.view = ZoomView()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setPlaceholderText("No text was read in this moment.")
        split.addWidget(self.view)
        split.addWidget(self.text)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([820, 260])
        col.addWidget(split, 1)
        self.note = QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        col.addWidget(self.note)

        self.zoom_in.clicked.connect(lambda: self.view.zoom_by(ZOOM_STEP))
        self.zoom_out.clicked.connect(lambda: self.view.zoom_by(1 / ZOOM_STEP))
        self.fit_button.clicked.connect(self.view.fit)
        self.actual.clicked.connect(lambda: self.view.set_zoom(1.0))
        self.copy_button.clicked.connect(self.copy_selection)
        self.timeline_button.clicked.connect(self.on_timeline)
        self.never_button.clicked.connect(self.on_never)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.view.scene().selectionChanged.connect(self._selection_changed)
        for keys, slot in (("Escape", self.close), ("+", lambda: self.view.zoom_by(ZOOM_STEP)),
                           ("=", lambda: self.view.zoom_by(ZOOM_STEP)),
                           ("-", lambda: self.view.zoom_by(1 / ZOOM_STEP)),
                           ("0", self.view.fit), ("1", lambda: self.view.set_zoom(1.0)),
                           ("Ctrl+A", self.view.select_all)):
            QShortcut(QKeySequence(keys), self, activated=slot)
        copy = QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), self.view)
        copy.activated.connect(self.copy_selection)
        self._selection_changed()

    # -- loading ------------------------------------------------------------------------------
    def show_event(self, event_id: int) -> None:
        self._generation += 1
        generation = self._generation
        self.event_id = event_id
        self.title.setText("Loading…")
        self.meta.setText("")
        store = self.store

        def done(loaded: LoadedMoment) -> None:
            if generation == self._generation:
                self.present(loaded)

        run_in_background(lambda: load_moment(store, event_id), done, owner=self)

    def present(self, loaded: LoadedMoment) -> None:
        self.loaded = loaded
        pictures = loaded.pictures
        if pictures is None:
            self.title.setText("This moment is gone")
            self.meta.setText("It was forgotten or deleted.")
            self.view.set_picture(None, ())
            self.text.setPlainText("")
            for w in (self.timeline_button, self.never_button, self.copy_button):
                w.setEnabled(False)
            return
        event = pictures.event
        self.setWindowTitle(f"Engram — {event.title or event.app or 'moment'}")
        self.title.setText(html.escape(event.title or "(untitled)"))
        what = {"view": "the whole screen", "frame": "the active window at full size"}.get(
            pictures.large_kind, "the active window (small thumbnail: no larger picture kept)")
        when = when_text(event.started_at)
        if event.ended_at and event.ended_at != event.started_at:
            when += f" – {event.ended_at.astimezone():%H:%M}"
        self.meta.setText(f"{html.escape(event.app or 'Screen')} · {when} · shows {what}")
        self.view.set_picture(loaded.image, loaded.words)
        self.text.setPlainText(event.text)
        self.timeline_button.setEnabled(True)
        self.never_button.setEnabled(bool(event.app))
        self.never_button.setText(f"Never record {event.app}" if event.app
                                  else "Never record this app")
        if loaded.image is None:
            self.note.setText("No picture was kept for this moment; its text is on the right.")
        elif not loaded.words:
            self.note.setText("The words of this moment have no place on the picture "
                              "(stored before word positions were kept); copy them from the "
                              "text on the right.")
        else:
            self.note.setText("Drag across words to select them; Ctrl+C copies. "
                              "Ctrl+wheel or +/- zooms, 0 fits.")
        self._selection_changed()

    # -- actions ------------------------------------------------------------------------------
    def _selection_changed(self) -> None:
        n = len(self.view.selected_words())
        self.copy_button.setEnabled(n > 0)
        self.copy_button.setText(f"Copy {n} word{'s' if n != 1 else ''}" if n
                                 else "Copy selected words")

    def selected_text(self) -> str:
        return words_text(self.view.selected_words())

    def copy_selection(self) -> None:
        if self.text.hasFocus() and self.text.textCursor().hasSelection():
            self.text.copy()
            return
        text = self.selected_text()
        if text:
            QApplication.clipboard().setText(text)

    def on_timeline(self) -> None:
        if self.loaded and self.loaded.pictures:
            event = self.loaded.pictures.event
            self.show_in_timeline.emit(event.id, event.started_at)

    def on_never(self) -> None:
        if self.loaded and self.loaded.pictures and self.loaded.pictures.event.app:
            self.never_record.emit(self.loaded.pictures.event.app)


def open_moment(ctx, event_id: int, parent: QWidget | None = None) -> MomentWindow:
    """Show ``event_id`` in the app's one moment window (made on first use)."""
    nav = ctx.nav
    window = getattr(nav, "moment_window", None)
    if window is None:
        window = MomentWindow(ctx.engine.store, parent.window() if parent else None)
        window.show_in_timeline.connect(
            lambda eid, when: (window.close(), nav.show_in_timeline.emit(eid, when)))
        window.never_record.connect(nav.never_record)
        nav.moment_window = window  # one per app: the navigator lives as long as the views
    window.show_event(event_id)
    window.show()
    window.raise_()
    window.activateWindow()
    return window
