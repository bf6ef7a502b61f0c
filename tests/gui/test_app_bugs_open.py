"""Bug 6 (issue 15): opening a file hit the desktop cannot open says so, and offers
"Show in folder" and "Copy path". Real detail pane over a real stored file event; the
offscreen platform has no launcher at all, like a desktop without a handler."""
from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from app.views.hit_detail import HitDetail
from core.records import Observation
from tests.gui.seed import at


def test_a_file_nothing_opens_is_explained_with_a_way_out(qtbot, ctx, tmp_path):
    path = tmp_path / "garden shed quote.qxz"  # no application handles this type
    path.write_text("Garden shed quote: 1,200 EUR including delivery")
    added = ctx.engine.pipeline.submit([Observation(
        source="file", captured_at=at(15, 0), text=path.read_text(), path=str(path),
        title=path.name, external_id=f"{path}#0")]).added
    detail = HitDetail(ctx)
    qtbot.addWidget(detail)
    detail.show()
    detail.show_event(added[0])
    qtbot.waitUntil(lambda: detail.hit is not None and detail.open_file.isVisibleTo(detail),
                    timeout=10000)
    detail.open_file.click()
    box = detail.could_not_open
    assert box is not None and box.isVisible()
    assert "No application" in box.text() and path.name in box.text()
    assert str(path) in box.informativeText()
    assert box.show_folder.isVisibleTo(box) and box.copy_path.isVisibleTo(box)
    QGuiApplication.clipboard().clear()
    box.copy_path.click()
    assert QGuiApplication.clipboard().text() == str(path)
    # A file that was moved away is said to be gone, not silently ignored.
    path.unlink()
    detail.open_file.click()
    assert "no longer" in detail.could_not_open.text()
    detail.could_not_open.close()
