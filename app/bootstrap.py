"""The composition root: the engine, the capture sources, the background runners and
the memory extractor are built here, from paths and settings, and nowhere else. Qt-free.

Front ends (the CLI, the desktop app, the daemon, `engram mcp`) call ``open_engine``
and ``build_sources``; what the runners report goes to callbacks given here, so
nothing is patched in after construction."""
from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from core import keys
from core.config import Paths, Settings, ensure_private_dir
from core.errors import EngramError, KeyUnavailable, ModelError, NotFound, UsageError
from core.item_limit import item_chars
from core.memory.service import MemoryService
from core.pipeline import EmbedderLike, Pipeline, Redactor, VectorBackfill
from core.retrieval import Retriever
from core.progress import Cancel
from core.store import Store
from core.store.reserve import Reserve, disk_full, is_full_oserror

if TYPE_CHECKING:  # loaded on first use: `engram add` should not pay for them
    from core.chat import Asker
    from core.memory.extract import ModelExtractor
    from core.memory.model_facts import SentenceFactWriter
    from core.models.embedding import Embedder
    from core.memory.runner import ConsolidationRunner
    from core.memory.types import ConsolidationReport
    from core.models.runtime import ChatRuntime
    from core.retention import RetentionReport, RetentionRunner
    from ingest.base import Source

log = logging.getLogger(__name__)

Ask = Callable[[str, bool], "str | None"]


@dataclass
class Engine:
    """Everything a front end (CLI, desktop app, daemon) talks to."""

    paths: Paths
    settings: Settings
    key: keys.DatabaseKey
    store: Store
    pipeline: Pipeline
    retriever: Retriever
    backfill: VectorBackfill
    memories: MemoryService
    embedder_error: str | None = None
    retention: RetentionRunner | None = None  # while the background runs
    _stop: Cancel = field(default_factory=Cancel)
    _threads: list[threading.Thread] = field(default_factory=list)
    _asker: Asker | None = None
    _chat_model: ChatRuntime | None = None
    _chat_checked: bool = False
    _consolidation: ConsolidationRunner | None = None
    memory_model_label: str = ""  # "too small to be trusted" when the chat model is

    def chat_model(self) -> ChatRuntime | None:
        """The chat runtime if a chat model is installed and selected, else None."""
        if not self._chat_checked:
            from core.models.catalog import chat_model_status

            self._chat_checked = True
            available, _ = chat_model_status(self.paths, self.settings)
            if available:
                from core.models.runtime import ChatRuntime

                self._chat_model = ChatRuntime.from_settings(self.paths, self.settings)
        return self._chat_model

    def reset_chat_model(self) -> None:
        """The chat model in settings changed: Ask and memory building pick up the new one.

        The old runtime is not closed here: background memory building may still
        be using it; it unloads its weights by itself when idle.
        """
        self._asker, self._chat_model, self._chat_checked = None, None, False

    def memory_extractor(self) -> ModelExtractor | SentenceFactWriter | None:
        """The model memory builder when a chat model is set up, else None (rules only).

        The runtime it uses belongs to the engine (``chat_model``) and closes with it.
        """
        runtime = self.chat_model()
        if runtime is None:
            return None
        from core.memory.consolidate import rule_config
        from core.memory.extract import ModelExtractor
        from core.models.trust import may_write_memories, model_trust, trust_after_check

        trust = model_trust(runtime.path)
        if may_write_memories(trust, self.settings):
            # About to write memories with it: the first time, a short self-check on load can
            # still find it untrustworthy (kept beside the model; Settings and the CLI show it).
            trust = trust_after_check(runtime)
        self.memory_model_label = trust.label  # shown by the CLI and Settings
        if not may_write_memories(trust, self.settings):
            return None  # too small to be trusted: rules only, unless turned on anyway

        owners = rule_config(self.settings).owner_names
        if not trust.trusted:
            # Turned on anyway: a model this small cannot write a batch's memories as JSON
            # (slow, mostly invented); it rewrites single sentences the rules left instead.
            from core.memory.model_facts import SentenceFactWriter

            return SentenceFactWriter(runtime, owner_names=owners)
        return ModelExtractor(runtime, owner_names=owners)

    def asker(self) -> Asker:
        """Ask (core.chat.Asker), with the chat model if one is installed and selected."""
        if self._asker is None:
            from core.chat import Asker
            from core.memory.search import core_profile_text
            from core.models.catalog import chat_model_status
            from core.threads import Threads

            _, message = chat_model_status(self.paths, self.settings)
            self._asker = Asker(self.retriever, self.pipeline, Threads(self.store),
                                # The person may keep answers extractive (a small model).
                                model=None if self.settings.get("ask_extractive_only")
                                else self.chat_model(),
                                how_to_get_model=message,
                                core_profile=lambda: core_profile_text(self.store.reader()))
        return self._asker

    def start_background(self, *,
                         on_memories: Callable[[ConsolidationReport], None] | None = None,
                         on_retention: Callable[[RetentionReport], None] | None = None) -> None:
        """Keep vectors complete, build memories and apply retention while the instance runs.

        ``on_memories`` / ``on_retention`` hear (on the runners' threads) about every
        batch of memories built and every retention run that forgot something.
        """
        from core.memory.runner import ConsolidationRunner
        from core.retention import RetentionRunner

        thread = threading.Thread(target=self.backfill.run, args=(self._stop,),
                                  name="vector-backfill", daemon=True)
        thread.start()
        self._threads.append(thread)
        self.retriever.start_index()  # fast vector search once loaded (large stores)
        self._consolidation = ConsolidationRunner(self, extractor=self.memory_extractor(),
                                                  on_done=on_memories)
        self._consolidation.start()
        self.retention = RetentionRunner(self.pipeline, self.settings, on_done=on_retention)
        self.retention.start()

    def close(self) -> None:
        self.retriever.close()
        if self._consolidation is not None:
            self._consolidation.stop()
        if self.retention is not None:
            self.retention.stop()
        self._stop.cancel()
        for thread in self._threads:
            thread.join(timeout=30)
        if self._chat_model is not None:
            self._chat_model.close()
        embedder = self.pipeline.embedder
        if embedder is not None and hasattr(embedder, "close"):
            embedder.close()
        self.store.close()


def make_redactor(settings: Settings | None = None) -> Redactor:
    """Secrets filters as the person set them (Settings › Privacy), read at each
    call; every filter on without settings."""
    from core.redact import redactor

    return redactor(settings if settings is not None else {})


def open_embedder(paths: Paths, settings: Settings) -> Embedder:
    """The built-in embedding model; converted from its pip package on first use."""
    from core.models.embedding import Embedder
    from core.models.minilm_gguf import ensure_builtin_gguf

    gguf = ensure_builtin_gguf(paths.models_dir)
    threads = int(settings.get("model_threads") or 0) or None
    return Embedder(gguf, n_threads=threads)


def store_exists(paths: Paths) -> bool:
    return paths.db_path.exists() or keys.key_exists(paths)


def unlock(paths: Paths, ask: Ask | None, *, create: bool) -> keys.DatabaseKey:
    if keys.key_exists(paths):
        return keys.load_key(paths, ask)
    if paths.db_path.exists():
        raise KeyUnavailable(
            f"The store at {paths.data_dir} has no key record (key.json is missing), "
            "so it cannot be opened.",
            hint="Restore key.json from a backup of that folder.",
        )
    if not create:
        raise NotFound(f"There is no Engram store at {paths.data_dir} yet.",
                       hint="Add something first, e.g. `engram add \"my first note\"`.")
    ensure_private_dir(paths.data_dir)
    try:
        return keys.create_key(paths, ask)
    except UsageError:
        if keys.key_exists(paths):  # another process created it a moment ago
            return keys.load_key(paths, ask)
        raise


def open_engine(paths: Paths, *, settings: Settings, ask: Ask | None, create: bool = True,
                background: bool = False, embedder: EmbedderLike | None = None,
                make_room: bool = False,
                on_memories: Callable[[ConsolidationReport], None] | None = None,
                on_retention: Callable[[RetentionReport], None] | None = None) -> Engine:
    """Unlock and open the store, load (lazily) the embedding model, wire the pipeline.

    With ``background`` the runners start too (see ``Engine.start_background``).
    ``embedder`` overrides the built-in model (tests of pure logic only).
    ``make_room``: the caller is about to delete (forget, retention), so on a full
    disk the reserve file is given back to open the store at all. A store that
    cannot be created (a full disk) leaves no folder behind.
    """
    new_folder = not paths.data_dir.exists()
    try:
        ensure_private_dir(paths.data_dir)
        key = unlock(paths, ask, create=create)
        reserve = Reserve(paths.data_dir)
        store = Store(paths.db_path, key.sqlite_hexkey(), backups_dir=paths.backups_dir,
                      reserve=reserve, make_room=make_room)
    except BaseException as exc:
        if new_folder:
            # Everything in it was made just now, by this call: key record, empty file.
            shutil.rmtree(paths.data_dir, ignore_errors=True)
        if is_full_oserror(exc):
            raise disk_full(paths.data_dir) from exc
        raise
    reserve.ensure()
    embedder_error = None
    try:
        if embedder is None:
            embedder = open_embedder(paths, settings)
    except (ModelError, OSError) as exc:
        # Search still works by keywords; status says why vectors are missing.
        embedder_error = str(exc)
        log.warning("embedding model unavailable: %s", exc)
        embedder = None
    try:
        pipeline = Pipeline(store, embedder, make_redactor(settings),
                            item_chars=item_chars(settings.get("item_max_kb")))
        engine = Engine(paths=paths, settings=settings, key=key, store=store,
                        pipeline=pipeline, retriever=Retriever(pipeline),
                        backfill=VectorBackfill(pipeline),
                        memories=MemoryService(store, pipeline, settings),
                        embedder_error=embedder_error)
        pipeline.space()
    except BaseException:
        store.close()
        raise
    if background:
        engine.start_background(on_memories=on_memories, on_retention=on_retention)
    return engine


def build_sources(engine: Engine) -> list[Source]:
    """The capture sources the person switched on in settings, wired to this engine."""
    sources: list[Source] = []
    settings = engine.settings
    if settings.get("screen_capture", True):
        from ingest.screen.source import ScreenSource

        sources.append(ScreenSource.from_settings(settings))
    if settings.get("watched_folders"):
        from ingest.files.watcher import FolderWatcher

        sources.append(FolderWatcher.from_settings(engine.pipeline, settings))
    return sources


__all__ = ["Engine", "build_sources", "open_engine", "store_exists", "unlock", "EngramError"]
