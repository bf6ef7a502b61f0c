"""Settings as pages (issue 15): one page each for Models, Privacy, Security, Capture, Data
and About; an Export button; a model table that shows every row; disk sizes measured
once and shown the same on every page. Real view, real store, real export."""
from __future__ import annotations

import json

from app.views.settings import PAGES, SettingsView
from core.units import format_bytes


def make_view(qtbot, ctx) -> SettingsView:
    view = SettingsView(ctx)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    view.activate()
    return view


def test_each_section_is_its_own_page(qtbot, ctx):
    view = make_view(qtbot, ctx)
    assert PAGES == ("Models", "Privacy", "Security", "Capture", "Data", "About")
    assert view.page_list.count() == len(PAGES) and view.pages.count() == len(PAGES)
    owners = {"Models": view.models, "Privacy": view.privacy, "Security": view.security,
              "Capture": view.reach, "Data": view.data, "About": view.about}
    for name in PAGES:
        view.show_page(name)
        assert view.current_page() == name
        assert owners[name].isVisible()
        others = [w for n, w in owners.items() if n != name]
        assert not any(w.isVisible() for w in others), name
    # Keyboard: the page list moves with the arrow keys.
    view.page_list.setCurrentRow(0)
    view.page_list.setFocus()
    from PySide6.QtCore import Qt
    qtbot.keyClick(view.page_list, Qt.Key.Key_Down)
    assert view.current_page() == "Privacy"


def test_the_model_table_shows_every_row(qtbot, ctx):
    view = make_view(qtbot, ctx)
    view.show_page("Models")
    table = view.models.table
    qtbot.waitUntil(lambda: view.models.model.rowCount() > 3, timeout=10000)
    qtbot.wait(100)
    last = view.models.model.rowCount() - 1
    rect = table.visualRect(view.models.model.index(last, 0))
    assert rect.isValid() and rect.bottom() <= table.viewport().height()
    assert table.verticalScrollBar().maximum() == 0


def test_sizes_are_measured_once_and_read_the_same_everywhere(qtbot, ctx):
    view = make_view(qtbot, ctx)
    qtbot.waitUntil(lambda: view.usage is not None, timeout=15000)
    qtbot.waitUntil(lambda: "used" in view.data.size.text(), timeout=10000)
    used = format_bytes(view.usage.used_bytes)
    assert used in view.data.size.text()
    assert used in view.privacy.retention.usage.text()
    assert format_bytes(view.usage.file_bytes) in view.privacy.retention.usage.text()
    assert format_bytes(view.usage.file_bytes) in view.data.size.text()


def test_export_writes_everything_from_the_data_page(qtbot, ctx, tmp_path):
    view = make_view(qtbot, ctx)
    view.show_page("Data")
    assert view.data.export.isVisible()
    out = tmp_path / "engram-export"
    task = view.data.start_export(out)
    qtbot.waitUntil(lambda: task.done, timeout=60000)
    assert task.error is None, task.error
    assert "Exported 9 items" in view.data.export_result.text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest
    assert view.data.export.isEnabled()
