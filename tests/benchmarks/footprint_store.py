"""Cached Engram data folders of N synthetic items for ``bench_footprint.py``.

A folder is what a person's data folder looks like after a year of use: an
encrypted store unlocked by a passphrase (``key.json``), the built-in embedding
model, settings with capture off (there is no screen here), every item with a
vector of the real model's space and memories already built. Items go through
the real write path (``open_engine`` + ``Pipeline.submit``, redaction on); the
texts come from ``synthetic.py`` (Zipf vocabulary, topic words, planted common
words) and so do the vectors (clustered and anisotropic like MiniLM's): the
embedder stand-in hands back the pre-generated vector of each item under the
real model's identity, because embedding 1M texts at ≈150/s would take ≈2 h.
Nothing in it is anyone's real data.

    python tests/benchmarks/footprint_store.py 100000      # build only
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks import synthetic as syn  # noqa: E402

VERSION = "footprint-v1"
PASSPHRASE = "footprint benchmark passphrase (synthetic data only)"
CONSOLIDATE_EVENTS = 20_000
CACHE = Path(os.environ.get("ENGRAM_BENCH_CACHE",
                            Path.home() / ".cache" / "engram" / "bench")) / VERSION


def env_for(home: Path) -> dict[str, str]:
    """Environment for the real `engram` on a cached folder (passphrase unlock)."""
    return {"ENGRAM_HOME": str(home), "ENGRAM_MODELS": str(CACHE / "models"),
            "ENGRAM_PASSPHRASE": PASSPHRASE,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def home_dir(n: int) -> Path:
    return CACHE / f"n{n}" / "home"


class SyntheticEmbedder:
    """Pre-generated item vectors under the real model's identity.

    Memory texts (built by consolidation) get vectors of random topics.
    """

    dims = syn.DIMS

    def __init__(self, identity: str, corpus: syn.Corpus) -> None:
        self.identity = identity
        self.corpus = corpus
        self.pending: np.ndarray | None = None
        self._salt = 2 * 10**9

    def embed(self, texts, *, interactive: bool = False) -> np.ndarray:
        if self.pending is not None and len(self.pending) == len(texts):
            vecs, self.pending = self.pending, None
            return vecs
        self._salt += 1
        topics = syn.item_topics(self.corpus, self._salt, len(texts))
        return syn.vectors(self.corpus, topics, salt=self._salt)


def real_identity() -> str:
    """The built-in model's identity (what the daemon's space is keyed by)."""
    from core.models.embedding import Embedder
    from core.models.minilm_gguf import ensure_builtin_gguf

    embedder = Embedder(ensure_builtin_gguf(CACHE / "models"))
    try:
        return embedder.identity
    finally:
        embedder.close()


def build(n: int, log=print) -> dict:
    """Build (or reuse) the cached folder of ``n`` items; return its build figures."""
    home = home_dir(n)
    info_path = home.parent / "build.json"
    if info_path.exists():
        return json.loads(info_path.read_text())
    shutil.rmtree(home.parent, ignore_errors=True)
    home.parent.mkdir(parents=True)
    os.environ.update(env_for(home))
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    corpus = syn.make_corpus()
    embedder = SyntheticEmbedder(real_identity(), corpus)
    paths = resolve_paths(home)
    settings = Settings(paths.settings_path)
    settings.set("screen_capture", False)  # no screen to read in a benchmark
    engine = open_engine(paths, settings=settings, ask=None, embedder=embedder)
    began = time.perf_counter()
    try:
        chunk = 8192
        for start in range(0, n, chunk):
            obs, vecs = syn.observations(corpus, start, min(chunk, n - start), n)
            for j in range(0, len(obs), 256):
                embedder.pending = vecs[j:j + 256]
                engine.pipeline.submit(obs[j:j + 256], batch_size=256)
            done = start + len(obs)
            if (start // chunk) % 8 == 0 or done == n:
                log(f"  built {done:,}/{n:,} ({done / (time.perf_counter() - began):,.0f} items/s)")
        insert_s = time.perf_counter() - began
        consolidated = settle_memories(engine)
    finally:
        engine.close()
    info = {"items": n, "insert_per_s": n / insert_s, "consolidated_events": consolidated,
            "built": time.strftime("%Y-%m-%d %H:%M"),
            "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    info_path.write_text(json.dumps(info))
    return info


def settle_memories(engine) -> int:
    """Build memories (rules, no model) from the first ``CONSOLIDATE_EVENTS`` events,
    then mark the rest as looked at.

    A year-old store has its memories built; the measured instance must not
    spend its run building them. Building them all takes ≈1 h per 100k
    synthetic items on this machine, so only a share is built (the memory
    table then holds a realistic tens of thousands of rows) and the cursor
    is moved past the rest. Returns how many events were consolidated.
    """
    from core.memory import rows
    from core.memory.consolidate import consolidate
    from core.records import utcnow

    db = engine.store.reader()
    target = min(CONSOLIDATE_EVENTS, rows.pending_events(db) + rows.cursor(db))
    while rows.cursor(engine.store.reader()) < target:
        consolidate(engine, max_batches=10)
    done = rows.cursor(engine.store.reader())
    last = engine.store.reader().execute("SELECT max(id) FROM events").fetchall()[0][0] or 0
    engine.store.write(lambda w: rows.set_cursor(w, int(last), utcnow()))
    return done


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(build(int(arg)))
