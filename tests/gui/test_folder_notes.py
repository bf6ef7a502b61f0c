"""Sources › Folders shows what was left out of a file that was indexed in part."""
from __future__ import annotations

from app.views.sources import SourcesView
from tests import pdfs


def test_a_page_without_a_readable_text_layer_is_shown_under_its_folder(qtbot, ctx, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "harbour.pdf").write_bytes(pdfs.glyph_name_pdf(recoverable=False))
    ctx.restart_capture = lambda: None
    view = SourcesView(ctx)
    qtbot.addWidget(view)
    panel = view.folders
    assert panel.add_folder(folder) is not None
    qtbot.waitUntil(lambda: panel.task is None, timeout=60000)
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 1
                    and "files indexed" in panel.tree.topLevelItem(0).text(1), timeout=10000)
    top = panel.tree.topLevelItem(0)
    assert top.text(1).startswith("1 files indexed, 0 skipped")
    children = [(top.child(n).text(0), top.child(n).text(1)) for n in range(top.childCount())]
    assert children == [(str(folder.resolve() / "harbour.pdf"),
                         "partly read: page 2: no readable text layer "
                         "(glyph names instead of text)")]
