"""Every item model passes pytest-qt's model tester, filled with real data."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from PySide6.QtGui import QImage

from app.models.jobs import JobList, JobRole
from app.models.memories import MemoryListModel
from app.models.models_table import ModelsTableModel
from app.models.search_results import HitRole, SearchResultsModel, marked_to_html
from app.models.sessions import Episode, EpisodeListModel
from app.tasks import run_in_background
from core.records import Provenance, SearchHit


def hit(n: int, source: str = "screen") -> SearchHit:
    return SearchHit(id=n, kind="event", source=source,
                     time=datetime(2024, 3, 1, 9, n, tzinfo=timezone.utc), title=f"Item {n}",
                     snippet=f"about «thing» number {n} <script>", score=1.0 / n,
                     provenance=Provenance(app="Firefox"), has_image=source == "screen")


def test_search_results_model(qtmodeltester, qtbot, ctx):
    hits = ctx.engine.retriever.search("tenacity", k=10)
    assert hits
    model = SearchResultsModel()
    model.set_hits(hits, "tenacity")
    # One check; the tester then keeps watching every later change of the model.
    qtmodeltester.check(model, force_py=True)
    model.set_hits([hit(1), hit(2, "chat"), hit(3, "file")])
    model.set_thumbnail(1, QImage(8, 8, QImage.Format.Format_RGB32))
    index = model.index(0, 0)
    assert index.data(HitRole.Thumbnail) is not None
    assert index.data(HitRole.SnippetHtml) == "about <b>thing</b> number 1 &lt;script&gt;"
    assert model.needing_thumbnails() == []
    model.clear()


def test_marked_snippets_are_escaped_and_bolded():
    assert marked_to_html("a «b» <i>c</i> & d") == "a <b>b</b> &lt;i&gt;c&lt;/i&gt; &amp; d"


def test_episode_model(qtmodeltester):
    now = datetime.now(timezone.utc)
    model = EpisodeListModel()
    qtmodeltester.check(model, force_py=True)
    model.set_episodes([Episode("Docs", "Firefox", now, now + timedelta(minutes=30), (1, 2)),
                        Episode("Shell", "Terminal", now, now, (3,))])
    assert model.rowCount() == 2 and "Firefox — Docs" in model.index(0, 0).data()


def test_job_list_model(qtmodeltester, qtbot):
    import threading

    model = JobList()
    qtmodeltester.check(model, force_py=True)
    release = threading.Event()

    def work(job):
        job.report(1, 4, "files")
        release.wait(10)
        return "done"

    task = run_in_background(work, with_job=True)
    model.add("Indexing", task)
    qtbot.waitUntil(lambda: model.index(0, 0).data(JobRole.Fraction) == 0.25, timeout=5000)
    assert model.index(0, 0).data(JobRole.Label) == "1 of 4 · files"
    release.set()
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=5000)


def test_models_table_model(qtmodeltester, data_dir):
    from core.config import Settings, resolve_paths
    from core.models import catalog

    paths = resolve_paths(data_dir)
    rows = catalog.list_models(paths, Settings(paths.settings_path))
    assert rows
    model = ModelsTableModel()
    qtmodeltester.check(model, force_py=True)
    model.set_rows(rows)
    model.set_downloading(rows[0].name, 0.5)
    assert model.index(0, 3).data() == "downloading 50%"


def test_memory_list_model(qtmodeltester, ctx):
    ctx.engine.memories.add("My daughter's name is Inês", "core")
    items = ctx.engine.memories.list("core")
    model = MemoryListModel()
    qtmodeltester.check(model, force_py=True)
    model.set_items(items)
    assert "Inês" in model.index(0, 0).data()
