"""Changing the embedding model: vectors rebuild in the background, keywords meanwhile."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.bootstrap import open_engine
from core.config import Settings, resolve_paths
from core.models.embedding import Embedder
from core.models.minilm_gguf import builtin_source_dir, convert
from core.records import Observation, utcnow
from core.store import vector_codes, vectors

NOTES = [
    "Ana suggested I read a wonderful book about a lighthouse keeper",
    "Dentist appointment moved to Thursday afternoon",
    "The build server runs out of disk every Monday",
]


@pytest.fixture(scope="module")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same network quantised differently: a real model change (new identity)."""
    out = tmp_path_factory.mktemp("other-model") / "minilm-q8_0.gguf"
    convert(builtin_source_dir(), out, dtype="q8_0")
    return out


def test_model_change_rebuilds_vectors_and_falls_back_to_keywords(data_dir: Path,
                                                                  other_model: Path) -> None:
    paths = resolve_paths(data_dir)
    settings = Settings(paths.settings_path)
    first = open_engine(paths, settings=settings, ask=None)
    first.pipeline.submit([Observation("note", utcnow(), t) for t in NOTES])
    old_space = first.pipeline.space()
    assert first.retriever.search("novel recommendation", k=1)[0].text == NOTES[0]
    first.close()

    second = open_engine(paths, settings=settings, ask=None, embedder=Embedder(other_model))
    try:
        space = second.pipeline.space()
        assert space.model != old_space.model and space.state == "building"
        # Meanwhile: keyword search works, meaning-only queries find nothing.
        assert second.retriever.search("dentist", k=1)[0].text == NOTES[1]
        assert second.retriever.search("novel recommendation", k=3) == []
        assert second.backfill.pending() == len(NOTES)

        second.start_background()
        deadline = time.monotonic() + 60
        while second.pipeline.space().state != "ready" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert second.pipeline.space().state == "ready"
        db = second.store.reader()
        assert [s.model for s in vectors.all_spaces(db)] == [space.model]  # old one dropped
        assert db.execute("SELECT count(*) FROM sqlite_schema WHERE name = ?",
                          (old_space.table("events"),)).fetchall() == [(0,)]
        assert second.retriever.search("novel recommendation", k=1)[0].text == NOTES[0]
        # The in-memory index follows: it loads for the new space, and the old
        # space's compact codes went with its vectors.
        deadline = time.monotonic() + 60
        while (second.retriever.vector_index() is None
               or second.retriever.vector_index().space.id != space.id):
            assert time.monotonic() < deadline
            second.retriever.search("novel recommendation", k=1)  # asks for the reload
            time.sleep(0.1)
        assert len(second.retriever.vector_index()) == len(NOTES)
        assert vector_codes.exists(db, space.id) and not vector_codes.exists(db, old_space.id)
        assert second.retriever.search("novel recommendation", k=1)[0].text == NOTES[0]
    finally:
        second.close()
