"""Settings as pages: Models, Privacy, Security, Capture, Data, About.

A list on the left picks the page (↑ ↓ or Ctrl+PgUp/PgDn); each page scrolls on its
own. The disk use is measured once per visit and the same figures go to every page
that shows them (Data, and Privacy's retention).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox, QHBoxLayout, QListWidget, QScrollArea, QStackedWidget, QVBoxLayout, QWidget,
)

from app.tasks import run_in_background
from app.views.settings_about import AboutPanel
from app.views.settings_models import ModelsPanel
from app.views.settings_privacy import PrivacyPanel
from app.views.settings_reach import ReachPanel
from app.views.settings_system import DataPanel, SecurityPanel, StartupPanel, measure_usage
from app.windows.context import AppContext

PAGES = ("Models", "Privacy", "Security", "Capture", "Data", "About")


class SettingsView(QWidget):
    title = "Settings"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.page_list = QListWidget()
        self.page_list.setObjectName("settingsPages")
        self.page_list.setAccessibleName("Settings pages")
        self.page_list.addItems(PAGES)
        self.page_list.setFixedWidth(160)
        self.pages = QStackedWidget()
        row.addWidget(self.page_list)
        row.addWidget(self.pages, 1)
        self.models = ModelsPanel(ctx)
        self.privacy = PrivacyPanel(ctx)
        self.reach = ReachPanel(ctx)
        self.security = SecurityPanel(ctx)
        self.startup = StartupPanel(ctx)
        self.data = DataPanel(ctx)
        self.about = AboutPanel(ctx)
        for sections in ((("Models", self.models),),
                         (("Privacy", self.privacy),),
                         (("Security", self.security),),
                         (("Shortcut and screenshots", self.reach),
                          ("Start at login", self.startup)),
                         (("Data", self.data),),
                         (("About", self.about),)):
            self.pages.addWidget(self._page(sections))
        self.page_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.page_list.setCurrentRow(0)
        ctx.nav.data_changed.connect(self.on_data_changed)
        ctx.nav.settings_changed.connect(self.on_settings_changed)
        self.usage = None  # the last measurement (core.retention.Usage), shown everywhere

    @staticmethod
    def _page(sections: tuple[tuple[str, QWidget], ...]) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        col = QVBoxLayout(body)
        for title, panel in sections:
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(panel)
            col.addWidget(box)
        col.addStretch(1)
        scroll.setWidget(body)
        return scroll

    def show_page(self, name: str) -> None:
        self.page_list.setCurrentRow(PAGES.index(name))

    def current_page(self) -> str:
        return PAGES[self.pages.currentIndex()]

    def refresh_usage(self) -> None:
        """Measure the disk use once; Data and Privacy show the same figures."""
        engine = self.ctx.engine

        def show(usage) -> None:  # noqa: ANN001
            self.usage = usage
            self.data.show_usage(usage)
            self.privacy.retention.show_usage(usage)

        run_in_background(lambda: measure_usage(engine), show, owner=self)

    def on_data_changed(self, _changes) -> None:
        if self.isVisible():  # usage and "last checked" after a forget or a retention run
            self.refresh_usage()

    def on_settings_changed(self) -> None:
        if self.isVisible():  # a model added or chosen from the CLI
            self.models.refresh()

    def activate(self) -> None:
        self.models.refresh()
        self.privacy.refresh(usage=False)
        self.reach.refresh()
        self.refresh_usage()
        self.about.refresh()

    def clear(self) -> None:
        pass
