"""The chat model runtime: one thread owns the llama.cpp model; everyone else asks.

``ChatRuntime`` loads the chat GGUF lazily on its ``ModelThread``, unloads it
after ``idle_unload_seconds`` and serves three kinds of requests:

* ``stream(...)`` — a ``TokenStream`` of text pieces, cancellable between tokens
  (``cancel()``, a ``core.progress.Cancel``, or just stop iterating);
* ``complete(...)`` — the whole text, for background work;
* ``generate_json(...)`` — output constrained by a JSON-schema grammar, parsed,
  validated, retried a bounded number of times, or a ``StructuredOutputError``
  that carries the count of attempts and why each failed.

Interactive requests run before background ones. Background generation checks
``interactive_waiting()`` between prompt chunks and between tokens and, when a
person is waiting, **aborts and reports "preempted"**; ``complete`` and
``generate_json`` then resubmit it behind the interactive job (re-doing its
prompt, most of which the KV cache still holds when nothing else ran). We chose
abort-and-retry over pause-and-resume because a paused llama.cpp generation
cannot survive another request using the same context (its KV cache and grammar
state are overwritten), and keeping a copy of the KV state costs hundreds of MB.

Prompt size is checked against the explicit ``n_ctx``: a prompt plus its
``max_tokens`` that doesn't fit raises ``ContextOverflow`` — the runtime never
truncates silently; ``fit()`` assembles prompts by priority (``budget.py``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from core.config import Paths, Settings
from core.errors import Cancelled, ModelError
from core.models import default_threads, new_llama
from core.models.budget import AssembledPrompt, ContextOverflow, Piece, fit_prompt
from core.models.generation import (
    Channel, Completion, GenerationOptions, Preempted, Request, TokenStream,
    generate_on, recent_llama_log, route_llama_logs,
)
from core.models.gguf_file import GGUFInfo, read_gguf
from core.models.grammar import InvalidOutput, json_grammar
from core.models.prompts import ChatMessage, ChatTemplate, messages_from
from core.models.worker import BACKGROUND, INTERACTIVE, ModelThread
from core.progress import Cancel

__all__ = [
    "BACKGROUND", "INTERACTIVE", "ChatRuntime", "Completion",
    "GenerationOptions", "Preempted", "RuntimeStats", "StructuredOutputError",
    "StructuredResult", "TokenStream", "probe_loadable",
]

STRUCTURED_OPTIONS = GenerationOptions(max_tokens=512, temperature=0.2)
RETRY_MIN_TEMPERATURE = 0.6  # a retry at the same low temperature tends to repeat the failure
Messages = Sequence[ChatMessage | Mapping[str, Any]] | str




class StructuredOutputError(ModelError):
    """No attempt produced JSON that validates; ``attempts`` and ``failures`` say why."""

    def __init__(self, attempts: int, failures: Sequence[str]) -> None:
        super().__init__(
            f"The model did not produce valid structured output in {attempts} attempt(s): "
            + "; ".join(failures[-3:]),
            hint="A larger model, a simpler schema or a higher max_tokens usually helps.",
        )
        self.attempts = attempts
        self.failures = tuple(failures)


@dataclass(frozen=True)
class StructuredResult:
    """A validated JSON value and how many attempts it took."""

    value: Any
    text: str
    attempts: int
    failures: tuple[str, ...]  # why earlier attempts were rejected
    completion: Completion


@dataclass(frozen=True)
class RuntimeStats:
    """Counters since start: what the runtime did, including every failure and retry."""

    loads: int = 0
    generations: int = 0
    tokens_generated: int = 0
    preemptions: int = 0
    cancellations: int = 0
    structured_ok: int = 0
    structured_retries: int = 0
    structured_failures: int = 0


def probe_loadable(path: Path) -> None:
    """Check that llama.cpp can read ``path`` (architecture, vocabulary) without its weights."""
    route_llama_logs()
    try:
        llm = new_llama(model_path=str(path), vocab_only=True, n_ctx=8, n_batch=8)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"llama.cpp cannot load {path.name}: {recent_llama_log() or exc}",
                         hint="The model's architecture may be newer than this Engram's "
                              "llama.cpp; pick another model.") from exc
    llm.close()


class ChatRuntime:
    """Owner of one chat model (see module doc). Thread-safe; ``close()`` when done."""

    def __init__(self, model_path: str | Path, *, n_ctx: int = 4096, n_threads: int | None = None,
                 n_batch: int = 256, idle_unload_seconds: float | None = 300.0,
                 name: str = "chat") -> None:
        self.path = Path(model_path)
        self.info: GGUFInfo = read_gguf(self.path)  # a bad file fails here, not mid-chat
        if self.info.is_embedding_model:
            raise ModelError(f"{self.path.name} is an embedding model ({self.info.architecture}), "
                             "not a chat model.")
        if idle_unload_seconds is not None and idle_unload_seconds <= 0:
            idle_unload_seconds = None  # a zero timeout would make the model thread spin
        # Never ask for more context than the model was trained on.
        self.n_ctx = min(n_ctx, self.info.context_length or n_ctx)
        self.n_threads = n_threads or default_threads()
        self.n_batch = max(8, min(n_batch, self.n_ctx))
        self._stats = RuntimeStats()
        self._stats_lock = threading.Lock()
        self._vocab_lock = threading.Lock()
        self._vocab: Any = None
        self._template: ChatTemplate | None = None
        self._active: int | None = None
        self._active_cancel: Cancel | None = None
        self._closing = False
        self._thread: ModelThread[Any] = ModelThread(
            name, self._load, unload=lambda llm: llm.close(),
            idle_unload_seconds=idle_unload_seconds)

    @classmethod
    def from_settings(cls, paths: Paths, settings: Settings) -> "ChatRuntime":
        """The runtime for the chat model in use; ``ModelError`` (with the way out) if none.

        Ask ``catalog.chat_model_status`` first to offer no-model mode instead.
        """
        from core.models.catalog import model_for_role

        model = model_for_role(paths, settings, "chat")
        idle = settings.get("chat_idle_unload_seconds")
        return cls(model.path, n_ctx=int(settings.get("chat_context_tokens", 4096)),
                   n_threads=int(settings.get("model_threads") or 0) or None,
                   idle_unload_seconds=float(idle) if idle else None)

    # -- lifecycle ----------------------------------------------------------------
    def _load(self) -> Any:
        route_llama_logs()
        try:
            llm = new_llama(
                model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                n_threads_batch=self.n_threads, n_batch=self.n_batch, n_ubatch=self.n_batch)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"The chat model {self.path.name} could not be loaded: "
                             f"{recent_llama_log() or exc}",
                             hint="Not enough memory, a damaged file, or an architecture "
                                  "this llama.cpp doesn't know. Try a smaller or another "
                                  "model.") from exc
        self._bump(loads=1)
        return llm

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory now (they load on demand)."""
        return self._thread.loaded

    @property
    def active_priority(self) -> int | None:
        """Priority of the generation running now (None when idle): 'busy building memories'."""
        return self._active

    def unload(self) -> None:
        """Give the model's memory back now (it reloads on the next request)."""
        self._thread.unload_now()

    def close(self) -> None:
        """Stop the running generation, drop queued ones, free the model."""
        self._closing = True
        active = self._active_cancel
        if active is not None:
            active.cancel()
        self._thread.close()
        with self._vocab_lock:
            if self._vocab is not None:
                self._vocab.close()
                self._vocab = None

    def stats(self) -> RuntimeStats:
        """A snapshot of the counters."""
        with self._stats_lock:
            return self._stats

    def _bump(self, **deltas: int) -> None:
        with self._stats_lock:
            self._stats = replace(self._stats, **{
                k: getattr(self._stats, k) + v for k, v in deltas.items()})

    # -- tokens and budget ----------------------------------------------------------
    def _tokenizer(self) -> tuple[Any, ChatTemplate]:
        """A vocabulary-only instance: counting never loads (or waits for) the weights."""
        if self._vocab is None:
            route_llama_logs()
            try:
                vocab = new_llama(model_path=str(self.path), vocab_only=True, n_ctx=8,
                                  n_batch=8)
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelError(f"Cannot read the vocabulary of {self.path.name}: "
                                 f"{recent_llama_log() or exc}") from exc
            text = vocab._model.token_get_text  # noqa: SLF001 - no public accessor in 0.3.36
            bos, eos = vocab.token_bos(), vocab.token_eos()
            self._template = ChatTemplate(self.info.chat_template,
                                          bos_token=text(bos) if bos >= 0 else "",
                                          eos_token=text(eos) if eos >= 0 else "")
            self._vocab = vocab
        assert self._template is not None
        return self._vocab, self._template

    def prompt_tokens(self, messages: Messages) -> tuple[list[int], tuple[str, ...]]:
        """The exact tokens (chat template applied) and stop strings for ``messages``."""
        with self._vocab_lock:
            vocab, template = self._tokenizer()
            formatted = template.format(messages_from(messages))
            tokens = vocab.tokenize(formatted.text.encode("utf-8"),
                                    add_bos=not formatted.added_special, special=True)
        return tokens, formatted.stop

    def count_tokens(self, messages: Messages) -> int:
        """Tokens the prompt for ``messages`` takes, counted by the model's tokenizer."""
        return len(self.prompt_tokens(messages)[0])

    def prompt_budget(self, max_tokens: int) -> int:
        """Tokens available to a prompt that leaves room for ``max_tokens`` of answer."""
        return self.n_ctx - max_tokens

    def fit(self, pieces: Sequence[Piece], *, max_tokens: int) -> AssembledPrompt:
        """Assemble ``pieces`` by priority into what fits beside ``max_tokens`` of answer."""
        return fit_prompt(pieces, count_tokens=self.count_tokens,
                          budget=self.prompt_budget(max_tokens), n_ctx=self.n_ctx)

    def _request(self, messages: Messages, options: GenerationOptions, priority: int,
                 cancel: Cancel | None, grammar: str | None) -> Request:
        if options.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        tokens, stops = self.prompt_tokens(messages)
        if not tokens:
            raise ModelError("The prompt is empty after applying the chat template.")
        if len(tokens) + options.max_tokens > self.n_ctx:
            raise ContextOverflow(len(tokens) + options.max_tokens, self.n_ctx, n_ctx=self.n_ctx)
        return Request(tokens=tuple(tokens), stops=stops + options.stop, options=options,
                       grammar=grammar, priority=priority, cancel=cancel or Cancel())

    def _job(self, req: Request, emit: Callable[[str], bool] | None) -> Callable[[Any], Completion]:
        def run(llm: Any) -> Completion:
            if self._closing:  # shutting down: queued work is dropped, not run
                return Completion("", len(req.tokens), 0, "cancelled", 0.0, None)
            self._active, self._active_cancel = req.priority, req.cancel
            try:
                result = generate_on(llm, req, emit=emit,
                                     preempt=lambda: self._thread.interactive_waiting())
            finally:
                self._active = self._active_cancel = None
            self._bump(generations=1, tokens_generated=result.completion_tokens,
                       cancellations=int(result.finish_reason == "cancelled"))
            return result
        return run

    # -- generation ---------------------------------------------------------------
    def stream(self, messages: Messages, options: GenerationOptions | None = None, *,
               priority: int = INTERACTIVE, cancel: Cancel | None = None,
               grammar: str | None = None) -> TokenStream:
        """Start generating; iterate the returned stream for text pieces as they come.

        Stops between tokens on ``cancel``/``TokenStream.cancel()`` or when the
        consumer drops the stream. A BACKGROUND stream raises ``Preempted`` from
        iteration when it gives way to a person (the caller may start again).
        """
        req = self._request(messages, options or GenerationOptions(), priority, cancel, grammar)
        channel = Channel(req.cancel)
        try:
            future = self._thread.submit(self._job(req, channel.offer), priority=priority)
        except RuntimeError as exc:
            raise ModelError("The chat model has been shut down.") from exc
        return TokenStream(channel, future)

    def complete(self, messages: Messages, options: GenerationOptions | None = None, *,
                 priority: int = BACKGROUND, cancel: Cancel | None = None,
                 grammar: str | None = None, max_preemptions: int = 1000) -> Completion:
        """Generate the whole answer. Preempted background work is re-run (counted).

        Raises ``Cancelled`` if ``cancel`` fires, ``ContextOverflow`` if the prompt
        plus ``max_tokens`` exceeds ``n_ctx``.
        """
        req = self._request(messages, options or GenerationOptions(), priority, cancel, grammar)
        preemptions = 0
        while True:
            try:
                fut = self._thread.submit(self._job(req, None), priority=priority)
            except RuntimeError as exc:
                raise ModelError("The chat model has been shut down.") from exc
            while True:  # poll so a cancel also removes a job still in the queue
                try:
                    result = fut.result(timeout=0.1)
                    break
                except TimeoutError:
                    if req.cancel.cancelled and fut.cancel():
                        raise Cancelled("Generation was cancelled before it started.") from None
            if result.finish_reason == "cancelled":
                raise Cancelled("Generation was cancelled.")
            if result.finish_reason != "preempted":
                return replace(result, preemptions=preemptions)
            preemptions += 1
            self._bump(preemptions=1)
            if preemptions > max_preemptions:
                raise Preempted(f"Background generation gave way {preemptions} times; "
                                "try again when the model is less busy.")

    def generate_json(self, messages: Messages, schema: Mapping[str, Any],
                      options: GenerationOptions | None = None, *, attempts: int = 3,
                      priority: int = BACKGROUND, cancel: Cancel | None = None
                      ) -> StructuredResult:
        """Generate a JSON value that validates against ``schema``.

        Output is constrained by a grammar built from the schema, parsed and
        validated; invalid output is retried up to ``attempts`` times in total
        (new seed, temperature at least 0.6). Raises ``StructuredOutputError``
        (a ModelError carrying the attempts and reasons) — never returns an
        empty or partial value.
        """
        grammar = json_grammar(schema)
        base = options or STRUCTURED_OPTIONS
        failures: list[str] = []
        for attempt in range(1, max(1, attempts) + 1):
            opts = base if attempt == 1 else replace(
                base, temperature=max(base.temperature, RETRY_MIN_TEMPERATURE),
                seed=None if base.seed is None else base.seed + attempt)
            completion = self.complete(messages, opts, priority=priority, cancel=cancel,
                                       grammar=grammar.gbnf)
            try:
                value = grammar.parse(completion.text)
            except InvalidOutput as exc:
                why = str(exc)
                if completion.finish_reason == "length":
                    why = f"stopped at max_tokens={opts.max_tokens} before the JSON closed"
                failures.append(f"attempt {attempt}: {why}")
                if attempt < attempts:
                    self._bump(structured_retries=1)
                continue
            self._bump(structured_ok=1)
            return StructuredResult(value=value, text=completion.text, attempts=attempt,
                                    failures=tuple(failures), completion=completion)
        self._bump(structured_failures=1)
        raise StructuredOutputError(len(failures), failures)
