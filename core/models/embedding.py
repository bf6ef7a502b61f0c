"""Sentence embeddings through llama.cpp, on the embedder's own model thread.

``Embedder`` turns texts into L2-normalised float32 vectors with a GGUF
embedding model (the built-in all-MiniLM-L6-v2, see ``minilm_gguf``). Every
llama.cpp call runs on one ``ModelThread``; a person's query
(``interactive=True``) goes ahead of queued background batches, which are
split into small jobs so a query never waits behind more than one of them.

llama.cpp is driven through its C API (as bound by llama-cpp-python) rather
than the ``Llama`` class: ``Llama(verbose=False)`` silences loading by
redirecting the process-wide stdout/stderr file descriptors, which loses other
threads' output and is unsafe when two models load at once; and ``Llama.embed``
truncates long inputs by cutting off the final [SEP] token, which changes the
vectors. Logging is silenced by ``import_llama()`` instead.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from core.errors import ModelError
from core.models import default_threads, import_llama
from core.models.minilm_gguf import TRAINED_MAX_TOKENS, read_gguf_metadata
from core.models.worker import BACKGROUND, INTERACTIVE, ModelThread

EMBEDDING_DIMS = 384

# Texts per background job: a query waits for at most one such job (≈60 ms).
BACKGROUND_JOB_TEXTS = 8
# Tokens per llama_decode (texts are packed up to this). 64–256 measured equal
# within noise here and 32 slower (per-decode overhead); the matmuls dominate,
# attention across the packed micro-batch is a few percent at this size.
TOKEN_BUDGET = 128
N_CTX = 512
# Room for one text at its full truncated length.
N_UBATCH = max(TOKEN_BUDGET, TRAINED_MAX_TOKENS)
N_SEQ_MAX = 64  # TOKEN_BUDGET / 2: the shortest input is [CLS] [SEP]
# Tokenising megabytes only to keep 256 tokens is waste; 32k characters hold
# far more than 256 tokens of any real text.
_MAX_CHARS = 32 * 1024

_FILE_TYPES = {0: "f32", 1: "f16", 7: "q8_0", 32: "bf16", 2: "q4_0", 3: "q4_1", 8: "q5_0",
               9: "q5_1", 15: "q4_k_m", 17: "q5_k_m", 18: "q6_k"}




class Embedder:
    """Embeds texts with a GGUF embedding model; the model loads on first use.

    Inputs longer than ``TRAINED_MAX_TOKENS`` (256) tokens, counted with the
    model's own tokenizer, are truncated (keeping the final [SEP]) exactly as
    sentence-transformers does; callers that need all of a long text must chunk
    it themselves. Empty strings embed like sentence-transformers embeds them.
    """

    def __init__(self, gguf_path: Path, *, n_threads: int | None = None,
                 idle_unload_seconds: float | None = None, workers: int | None = None) -> None:
        self.path = Path(gguf_path)
        if not self.path.is_file():
            raise ModelError(f"The embedding model {self.path} does not exist.")
        try:
            head = read_gguf_metadata(self.path, ("general.architecture", "general.name",
                                                  "general.file_type"))
            arch = str(head.get("general.architecture", ""))
            dims = read_gguf_metadata(self.path, (f"{arch}.embedding_length",)).get(
                f"{arch}.embedding_length")
        except (OSError, ValueError) as exc:
            raise ModelError(f"{self.path} is not a readable GGUF model: {exc}") from exc
        if not isinstance(dims, int):
            raise ModelError(f"{self.path} does not say its embedding size.")
        self.dims: int = dims
        name = str(head.get("general.name") or self.path.stem)
        dtype = _FILE_TYPES.get(head.get("general.file_type", -1), f"type{head.get('general.file_type')}")
        # The vector table is keyed by this: it changes exactly when the file does.
        self.identity: str = f"{name}:{dtype}:{file_sha256(self.path)[:12]}"
        # Independent single-threaded contexts scale across cores for bulk work
        # (imports, rebuilds) without ggml's threads spinning against each other;
        # a query goes to whichever context has the shortest queue.
        self.workers = workers or _default_workers()
        self.n_threads = n_threads or (1 if self.workers > 1 else default_threads())
        self._threads: list[ModelThread[_LoadedModel]] = [
            ModelThread(f"embed-{name}-{i}", self._load, unload=_LoadedModel.free,
                        idle_unload_seconds=idle_unload_seconds)
            for i in range(self.workers)]
        self._thread = self._threads[0]
        self._next = 0

    def embed(self, texts: Sequence[str], *, interactive: bool = False) -> np.ndarray:
        """Embed ``texts``: an ``(n, dims)`` float32 array of unit vectors, in order.

        ``interactive=True`` for a person's query: it runs before queued background work.
        """
        return self.submit(texts, interactive=interactive).result()

    def submit(self, texts: Sequence[str], *, interactive: bool = False) -> "Future[np.ndarray]":
        """Queue ``texts`` for embedding without waiting; the future holds ``embed``'s result."""
        texts = list(texts)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("Embedder.embed takes a sequence of str")
        result: Future[np.ndarray] = Future()
        if not texts:
            result.set_result(np.zeros((0, self.dims), dtype=np.float32))
            return result
        if interactive:
            least_busy = min(self._threads, key=lambda t: t.queued())
            return least_busy.submit(_embed_job(texts), priority=INTERACTIVE)
        # Background work goes in small jobs so an interactive job can run between them.
        parts = []
        for i in range(0, len(texts), BACKGROUND_JOB_TEXTS):
            worker = self._threads[self._next % len(self._threads)]
            self._next += 1
            parts.append(worker.submit(_embed_job(texts[i:i + BACKGROUND_JOB_TEXTS]),
                                       priority=BACKGROUND))
        _gather(parts, result)
        return result

    def count_tokens(self, texts: Sequence[str], *, interactive: bool = False) -> list[int]:
        """Tokens per text with the model's tokenizer, [CLS]/[SEP] included, before
        truncation: for chunkers that keep pieces within ``TRAINED_MAX_TOKENS``."""
        texts = list(texts)
        return self._thread.call(lambda m: [len(m.tokenize(t, truncate=False)) for t in texts],
                                 priority=INTERACTIVE if interactive else BACKGROUND)

    @property
    def loaded(self) -> bool:
        """True while the model is in memory."""
        return any(t.loaded for t in self._threads)

    def close(self) -> None:
        """Unload the model and stop its threads; queued work still completes first."""
        for thread in self._threads:
            thread.close()

    def _load(self) -> "_LoadedModel":
        return _LoadedModel.load(self.path, self.n_threads)


def _default_workers() -> int:
    """One context per core, at most two: more only adds memory on a laptop."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


def _embed_job(texts: list[str]) -> Callable[["_LoadedModel"], np.ndarray]:
    return lambda model: model.embed(texts)


def _gather(parts: list["Future[np.ndarray]"], result: "Future[np.ndarray]") -> None:
    """Complete ``result`` with the stacked results of ``parts``, or the first error
    (the parts not yet started are then cancelled: their work would be thrown away)."""
    lock = threading.Lock()
    state = {"remaining": len(parts), "settled": False}

    def on_done(part: "Future[np.ndarray]") -> None:
        with lock:  # decide under the lock, act outside it (callbacks run user code)
            state["remaining"] -= 1
            if state["settled"]:
                return
            failed = part.cancelled() or part.exception() is not None
            if not failed and state["remaining"] > 0:
                return
            state["settled"] = True
        if not failed:
            result.set_result(np.concatenate([p.result() for p in parts]))
            return
        result.set_exception(ModelError("Embedding was cancelled.") if part.cancelled()
                             else part.exception())  # type: ignore[arg-type]
        for other in parts:
            other.cancel()  # not yet started: its work would be thrown away

    for part in parts:
        part.add_done_callback(on_done)


@dataclass
class _LoadedModel:
    """A model and context owned by the model thread."""

    llama: Any
    model: Any
    ctx: Any
    vocab: Any
    batch: Any
    n_embd: int
    add_sep: bool

    @classmethod
    def load(cls, path: Path, n_threads: int) -> "_LoadedModel":
        llama = import_llama()
        model = llama.llama_model_load_from_file(str(path).encode(), llama.llama_model_default_params())
        if not model:
            raise ModelError(f"llama.cpp could not load the embedding model {path}.")
        params = llama.llama_context_default_params()
        params.embeddings = True
        params.n_ctx = N_CTX
        params.n_batch = params.n_ubatch = N_UBATCH
        params.n_seq_max = N_SEQ_MAX
        params.kv_unified = True  # causal embedding models share one cache between sequences
        params.n_threads = params.n_threads_batch = n_threads
        ctx = llama.llama_init_from_model(model, params)
        if not ctx:
            llama.llama_model_free(model)
            raise ModelError(f"llama.cpp could not create a context for {path}.")
        if llama.llama_pooling_type(ctx) == llama.LLAMA_POOLING_TYPE_NONE:
            llama.llama_free(ctx)
            llama.llama_model_free(model)
            raise ModelError(f"{path} is not a sentence-embedding model (it has no pooling).")
        vocab = llama.llama_model_get_vocab(model)
        return cls(llama=llama, model=model, ctx=ctx, vocab=vocab,
                   batch=llama.llama_batch_init(N_UBATCH, 0, 1),
                   n_embd=llama.llama_model_n_embd(model),
                   add_sep=bool(llama.llama_vocab_get_add_sep(vocab)))

    def free(self) -> None:
        self.llama.llama_batch_free(self.batch)
        self.llama.llama_free(self.ctx)
        self.llama.llama_model_free(self.model)

    def tokenize(self, text: str, *, truncate: bool = True) -> list[int]:
        """Token ids with [CLS]/[SEP], truncated to TRAINED_MAX_TOKENS keeping the [SEP]."""
        data = (text[:_MAX_CHARS] if truncate else text).encode("utf-8", errors="replace")
        buf = (self.llama.llama_token * (len(data) + 8))()
        n = self.llama.llama_tokenize(self.vocab, data, len(data), buf, len(buf), True, False)
        if n < 0:  # buffer too small: -n is the size needed
            buf = (self.llama.llama_token * -n)()
            n = self.llama.llama_tokenize(self.vocab, data, len(data), buf, len(buf), True, False)
        ids = buf[:n]
        if truncate and len(ids) > TRAINED_MAX_TOKENS:
            ids = ids[:TRAINED_MAX_TOKENS - 1] + ids[-1:] if self.add_sep else ids[:TRAINED_MAX_TOKENS]
        return ids

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.n_embd), dtype=np.float32)
        group: list[list[int]] = []
        start = n_tokens = 0
        for i, ids in enumerate(self.tokenize(t) for t in texts):
            if group and (n_tokens + len(ids) > TOKEN_BUDGET or len(group) == N_SEQ_MAX):
                out[start:i] = self._decode(group)
                group, start, n_tokens = [], i, 0
            group.append(ids)
            n_tokens += len(ids)
        out[start:] = self._decode(group)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _decode(self, seqs: list[list[int]]) -> np.ndarray:
        llama, batch = self.llama, self.batch
        n = 0
        for seq_id, ids in enumerate(seqs):
            for pos, token in enumerate(ids):
                batch.token[n] = token
                batch.pos[n] = pos
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq_id
                batch.logits[n] = True  # pooled models need every token's output
                n += 1
        batch.n_tokens = n
        memory = llama.llama_get_memory(self.ctx)
        if memory:  # encoder-only models (BERT) have none; causal ones must start clean
            llama.llama_memory_clear(memory, True)
        rc = llama.llama_decode(self.ctx, batch)
        if rc != 0:
            raise ModelError(f"llama.cpp failed to embed a batch (llama_decode returned {rc}).")
        vectors = np.empty((len(seqs), self.n_embd), dtype=np.float32)
        for seq_id in range(len(seqs)):
            ptr = llama.llama_get_embeddings_seq(self.ctx, seq_id)
            if not ptr:
                raise ModelError("llama.cpp returned no embedding for a sequence.")
            vectors[seq_id] = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)),
                                                    shape=(self.n_embd,))
        return vectors


def file_sha256(path: Path) -> str:
    """SHA-256 of ``path``, cached in a sidecar file keyed by size and mtime.

    Hashing the 46 MB model takes ≈0.1 s; the sidecar makes later starts free.
    A sidecar that cannot be written (read-only folder) only costs the rehash.
    """
    st = path.stat()
    sidecar = path.with_name(f".{path.name}.sha256.json")
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        cached = json.loads(sidecar.read_text("utf-8"))
        if cached.get("size") == stamp["size"] and cached.get("mtime_ns") == stamp["mtime_ns"]:
            return str(cached["sha256"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    try:
        tmp = sidecar.with_name(f"{sidecar.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**stamp, "sha256": sha}), "utf-8")
        os.replace(tmp, sidecar)
    except OSError:
        pass
    return sha
