"""The token loop that runs on a model thread, and the stream that carries its output.

``generate_on(llm, request, ...)`` is called only on the thread that owns
``llm``. It evaluates the prompt in chunks and samples token by token, checking
between chunks and tokens whether the request was cancelled or (for background
work) whether a person is waiting — so neither a long prompt nor a long answer
can hold the model hostage. ``TokenStream`` hands the pieces to another thread
through a one-slot queue: the model stays at most a token ahead of its reader,
so a cancel stops generation within a token.
"""
from __future__ import annotations

import codecs
import collections
import logging
import queue
import random
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal

import numpy as np

from core.errors import ModelError
from core.models import import_llama
from core.models.worker import INTERACTIVE
from core.progress import Cancel

log = logging.getLogger(__name__)

PREFILL_CHUNK = 128  # prompt tokens evaluated between two preemption checks
STALL_SECONDS = 300.0  # a reader that takes no token for this long is treated as gone

FinishReason = Literal["stop", "length", "cancelled", "preempted"]


class Preempted(ModelError):
    """Background generation stopped because a person's request was waiting."""


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling settings for one request."""

    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """What one generation produced and how it ended."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    seconds: float
    first_token_seconds: float | None  # from job start, prompt evaluation included
    preemptions: int = 0

    @property
    def tokens_per_second(self) -> float:
        """Generation speed after the first token (prompt evaluation excluded)."""
        gen = self.seconds - (self.first_token_seconds or 0.0)
        return (self.completion_tokens - 1) / gen if gen > 0 and self.completion_tokens > 1 else 0.0


@dataclass(frozen=True)
class Request:
    """One generation, as it crosses to the model thread: tokens, not text."""

    tokens: tuple[int, ...]
    stops: tuple[str, ...]
    options: GenerationOptions
    grammar: str | None
    priority: int
    cancel: Cancel


# -- llama.cpp's log ------------------------------------------------------------------
# ``import_llama()`` routes llama.cpp's log into the ``engram.llama`` logger (and
# off stderr). We keep its last lines: they say *why* a load failed ("unknown
# model architecture ...") where llama-cpp-python only raises "Failed to load".
_recent_log: collections.deque[str] = collections.deque(maxlen=8)
_installed = False


class _RecentLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _recent_log.append(record.getMessage())


def route_llama_logs() -> None:
    """Remember llama.cpp's recent warnings and errors (idempotent)."""
    global _installed
    if _installed:
        return
    import core.models as models

    import_llama()
    logger = getattr(models, "llama_log", None) or logging.getLogger("engram.llama")
    logger.addHandler(_RecentLines(level=logging.WARNING))
    _installed = True


def recent_llama_log() -> str:
    """The last error-looking lines llama.cpp logged (for error messages)."""
    lines = [ln for ln in _recent_log if any(w in ln.lower() for w in ("error", "fail", "unknown"))]
    return " | ".join(lines[-2:])


# -- the token loop -------------------------------------------------------------------
_checked_grammars: set[str] = set()


def _grammar(llm: Any, gbnf: str) -> Any:
    """A LlamaGrammar, checked first: 0.3.36 adds a NULL sampler (a crash) for a bad one."""
    llama = import_llama()
    if gbnf not in _checked_grammars:
        smpl = llama.llama_sampler_init_grammar(llm._model.vocab, gbnf.encode("utf-8"), b"root")
        if not smpl:
            raise ModelError(f"llama.cpp rejected a generation grammar: {recent_llama_log()}")
        llama.llama_sampler_free(smpl)
        _checked_grammars.add(gbnf)
    return llama.LlamaGrammar.from_string(gbnf, verbose=False)


def _prefill(llm: Any, tokens: list[int], interrupt: Callable[[], str | None]) -> str | None:
    """Evaluate the prompt in chunks, reusing the cached prefix; a reason if interrupted."""
    prefix = 0
    n_cached = int(llm.n_tokens)
    if n_cached and not (getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False)):
        m = min(n_cached, len(tokens))
        differ = np.nonzero(llm.input_ids[:m] != np.asarray(tokens[:m]))[0]
        prefix = int(differ[0]) if differ.size else m
    prefix = min(prefix, len(tokens) - 1)  # re-evaluate at least one token for fresh logits
    if prefix == 0:
        llm.reset()
    else:
        llm.n_tokens = prefix  # eval() drops the KV cache beyond this point
    for start in range(prefix, len(tokens), PREFILL_CHUNK):
        why = interrupt()
        if why:
            return why
        llm.eval(tokens[start:start + PREFILL_CHUNK])
    return None


class _TextOut:
    """Collects decoded text, holds back what may be the start of a stop string."""

    def __init__(self, stops: tuple[str, ...], emit: Callable[[str], bool] | None) -> None:
        self.stops = tuple(s for s in stops if s)
        self.emit = emit
        self.parts: list[str] = []
        self.pending = ""
        self.started = False
        self.reason: FinishReason | None = None

    def _send(self, text: str) -> bool:
        if self.emit is not None and not self.emit(text):
            self.reason = "cancelled"  # the reader is gone: this piece was never seen
            return False
        self.parts.append(text)
        return True

    def add(self, piece: str) -> bool:
        if not self.started:  # chat templates end in a newline; answers shouldn't start with one
            piece = piece.lstrip()
            self.started = bool(piece)
        self.pending += piece
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            head, self.pending = self.pending[:min(hits)], ""
            if head:
                self._send(head)
            self.reason = "stop"
            return False
        keep = max((k for s in self.stops for k in range(len(s) - 1, 0, -1)
                    if self.pending.endswith(s[:k])), default=0)
        ready = self.pending[:len(self.pending) - keep]
        self.pending = self.pending[len(ready):]
        return self._send(ready) if ready else True

    def flush(self) -> None:
        if self.pending:
            self._send(self.pending)
            self.pending = ""


def generate_on(llm: Any, req: Request, *, emit: Callable[[str], bool] | None,
                preempt: Callable[[], bool]) -> Completion:
    """Run ``req`` on ``llm`` (call only on the thread that owns it)."""
    llama = import_llama()
    started = time.perf_counter()

    def interrupt() -> str | None:
        if req.cancel.cancelled:
            return "cancelled"
        if req.priority > INTERACTIVE and preempt():
            return "preempted"
        return None

    tokens = list(req.tokens)
    why = _prefill(llm, tokens, interrupt)
    if why:
        return Completion("", len(tokens), 0, why,  # type: ignore[arg-type]
                          time.perf_counter() - started, None)
    opts = req.options
    grammar = _grammar(llm, req.grammar) if req.grammar else None
    llm.set_seed(opts.seed if opts.seed is not None else random.randrange(2**31))
    decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
    out = _TextOut(req.stops, emit)
    vocab = llm._model.vocab  # noqa: SLF001 - needed for the end-of-generation check
    n, first, finish = 0, None, "length"
    gen = llm.generate(tokens, top_k=opts.top_k, top_p=opts.top_p, min_p=opts.min_p,
                       temp=opts.temperature, repeat_penalty=opts.repeat_penalty,
                       grammar=grammar, reset=True)
    try:
        for token in gen:
            if llama.llama_vocab_is_eog(vocab, token):
                finish = "stop"
                break
            n += 1
            if first is None:
                first = time.perf_counter() - started
            if not out.add(decoder.decode(llm.detokenize([token]))):
                finish = out.reason or "stop"
                break
            if n >= opts.max_tokens:
                break
            why = interrupt()
            if why:
                finish = why
                break
    finally:
        gen.close()
    if finish in ("stop", "length") and out.reason is None:
        out.pending += decoder.decode(b"", final=True)
        out.flush()
    return Completion("".join(out.parts), len(tokens), n, finish,  # type: ignore[arg-type]
                      time.perf_counter() - started, first)


# -- the stream -----------------------------------------------------------------------
class Channel:
    """The producer's end of a stream. The model thread holds only this, never the
    ``TokenStream`` — so dropping the stream really drops it and cancels."""

    def __init__(self, cancel: Cancel, stall_seconds: float = STALL_SECONDS) -> None:
        self.cancel = cancel
        self.queue: queue.Queue[str] = queue.Queue(maxsize=1)
        self._stall = stall_seconds

    def offer(self, piece: str) -> bool:
        """Hand over one piece; False when the reader has gone."""
        deadline = time.monotonic() + self._stall
        while not self.cancel.cancelled:
            try:
                self.queue.put(piece, timeout=0.05)
                return True
            except queue.Full:
                if time.monotonic() > deadline:
                    log.warning("token stream reader stalled; stopping generation")
                    return False
        return False


class TokenStream(Iterator[str]):
    """Text pieces of one generation, in order, as the model produces them.

    ``cancel()`` (or dropping the stream, or leaving a ``with`` block) stops the
    generation before its next token. After iteration ends, ``result`` holds the
    ``Completion`` (text, token counts, finish reason, timings).
    """

    def __init__(self, channel: Channel, future: "Future[Completion]") -> None:
        self._channel = channel
        self._future = future
        self._done = False

    def __iter__(self) -> "TokenStream":
        return self

    def __next__(self) -> str:
        q, fut = self._channel.queue, self._future
        while not self._done:
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                pass
            # Every put happened before the job returned: done + empty means finished.
            if fut.done() and q.empty():
                self._done = True
                if fut.cancelled():
                    break
                result = fut.result()  # re-raises a load or generation error
                if result.finish_reason == "preempted":
                    raise Preempted("Background generation gave way to an interactive request.")
        raise StopIteration

    @property
    def result(self) -> Completion | None:
        """The Completion once generation has finished normally, else None."""
        fut = self._future
        if not fut.done() or fut.cancelled() or fut.exception() is not None:
            return None
        return fut.result()

    def wait(self, timeout: float | None = None) -> Completion:
        """Block until generation has stopped; the Completion (finish_reason says how)."""
        try:
            return self._future.result(timeout)
        except BaseException:
            if self._future.cancelled():
                return Completion("", 0, 0, "cancelled", 0.0, None)
            raise

    def cancel(self) -> None:
        """Stop generating (before the next token) and end iteration."""
        self._channel.cancel.cancel()
        self._done = True
        self._future.cancel()  # still queued: it never runs
        try:
            self._channel.queue.get_nowait()  # unblock a producer waiting to hand over
        except queue.Empty:
            pass

    close = cancel

    def __enter__(self) -> "TokenStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def __del__(self) -> None:
        if not getattr(self, "_done", True):
            self.cancel()
