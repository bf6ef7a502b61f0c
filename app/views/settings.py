"""Settings: models, privacy, security, start at login, data folder — one scrolling page."""
from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QScrollArea, QVBoxLayout, QWidget

from app.views.settings_about import AboutPanel
from app.views.settings_models import ModelsPanel
from app.views.settings_privacy import PrivacyPanel
from app.views.settings_reach import ReachPanel
from app.views.settings_system import DataPanel, SecurityPanel, StartupPanel
from app.windows.context import AppContext


class SettingsView(QWidget):
    title = "Settings"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        col = QVBoxLayout(body)
        self.models = ModelsPanel(ctx)
        self.privacy = PrivacyPanel(ctx)
        self.reach = ReachPanel(ctx)
        self.security = SecurityPanel(ctx)
        self.startup = StartupPanel(ctx)
        self.data = DataPanel(ctx)
        self.about = AboutPanel(ctx)
        for title, panel in (("Models", self.models), ("Privacy", self.privacy),
                             ("Shortcut and screenshots", self.reach),
                             ("Security", self.security), ("Start and appearance", self.startup),
                             ("Data", self.data), ("About", self.about)):
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(panel)
            col.addWidget(box)
        col.addStretch(1)
        ctx.nav.data_changed.connect(self.on_data_changed)

    def on_data_changed(self, _changes) -> None:
        if self.isVisible():  # usage and "last checked" after a forget or a retention run
            self.data.refresh()
            self.privacy.retention.refresh()

    def activate(self) -> None:
        self.models.refresh()
        self.privacy.refresh()
        self.reach.refresh()
        self.data.refresh()
        self.about.refresh()

    def clear(self) -> None:
        pass
