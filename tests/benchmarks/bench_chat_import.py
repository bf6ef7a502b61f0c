"""Chat import benchmark: time from `engram import` to searchable, 10,000 messages.

    .venv/bin/python -m pytest -m benchmark tests/benchmarks/bench_chat_import.py -s

Writes a generated JSONL export of 10,000 chat messages (several conversations,
chat-length sentences), runs the real `engram import` in a fresh data dir and
then `engram search` for one of the last messages; the target is ≤ 60 s on
this machine, embeddings included. Then, in-process, where the time goes:
parsing, redaction, store writes (pipeline without embeddings) and embedding
alone. ``ENGRAM_BENCH_THREADS=N`` sets the embedder's threads (settings
``model_threads``); default: the embedder's own choice.
"""
from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.benchmarks.cli_run import engram, fresh_home

MESSAGES = 10_000
TARGET_S = 60.0

pytestmark = pytest.mark.benchmark

_PEOPLE = ["Ana", "Ben", "Carla", "Dev", "Eun-ji", "Farid"]
_OPENERS = ["Hey", "So", "Honestly", "By the way", "Quick one", "Ok", "Haha", "Wait"]
_BODIES = [
    "did you book the train to {place} for {day}",
    "the {thing} broke again so I ordered a new one from the shop near {place}",
    "I finally finished the {thing} project and it looks great",
    "can you send me the photos from {place} when you get a chance",
    "my sister is visiting on {day} so I can't make the {thing} meetup",
    "the doctor said the {thing} results are fine, no worries",
    "we should try that new restaurant in {place} on {day}",
    "I'm reading a book about {thing} and it's surprisingly good",
    "remember to bring the {thing} to the office on {day}",
    "the landlord wants to fix the {thing} on {day} morning",
]
_PLACES = ["Lisbon", "Porto", "Sintra", "Cascais", "Braga", "Faro", "Coimbra", "Evora"]
_THINGS = ["bike", "laptop", "garden", "pottery", "marathon", "guitar", "kitchen", "camera"]
_DAYS = ["Monday", "Tuesday", "Friday", "Saturday", "Sunday", "next week", "tomorrow"]


def write_export(path: Path, n: int, seed: int = 5) -> str:
    """A JSONL export of ``n`` messages; returns the text of a late, unique one."""
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, 9, tzinfo=timezone.utc)
    needle = ""
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            conv = f"chat-{i % 12}"
            body = rng.choice(_BODIES).format(place=rng.choice(_PLACES),
                                              thing=rng.choice(_THINGS), day=rng.choice(_DAYS))
            text = f"{rng.choice(_OPENERS)}, {body}" + rng.choice(["", "!", "?", " :)"])
            if i == n - 17:
                text = "The spare key for the allotment shed is under the blue flowerpot"
                needle = text
            when = start + timedelta(minutes=7 * i)
            out.write(json.dumps({"conversation": conv, "session": f"s{i // 200}",
                                  "timestamp": when.isoformat(), "speaker": rng.choice(_PEOPLE),
                                  "text": text, "id": f"m{i}"}) + "\n")
    return needle


def test_import_10k_messages_to_searchable(tmp_path: Path, models_dir: Path) -> None:
    export = tmp_path / "export.jsonl"
    needle = write_export(export, MESSAGES)
    env = fresh_home(tmp_path, models_dir)
    threads = os.environ.get("ENGRAM_BENCH_THREADS")
    load = os.getloadavg()[0]

    started = time.perf_counter()
    result = json.loads(engram(["import", str(export), "--json"], env).stdout)
    imported_s = time.perf_counter() - started
    hits = json.loads(engram(["search", "where is the key for the shed", "--json"],
                             env).stdout)["results"]
    searchable_s = time.perf_counter() - started
    assert result["imported"] == MESSAGES
    assert hits and hits[0]["snippet"].replace("«", "").replace("»", "") in needle or any(
        h["external_id"].endswith(f":m{MESSAGES - 17}") for h in hits[:3])

    print(f"\nChat import, {MESSAGES:,} messages (load average {load:.1f} on "
          f"{os.cpu_count()} cores, embedder threads: {threads or 'default'})")
    print(f"  engram import          {imported_s:7.1f} s  ({MESSAGES / imported_s:,.0f} msg/s)")
    print(f"  + first search         {searchable_s - imported_s:7.1f} s")
    print(f"  import → searchable    {searchable_s:7.1f} s  (target ≤ {TARGET_S:.0f} s)")
    breakdown(export, tmp_path, models_dir, int(threads) if threads else None)


def breakdown(export: Path, tmp_path: Path, models_dir: Path, threads: int | None) -> None:
    """Where the time goes, stage by stage, in-process."""
    from app.bootstrap import make_redactor
    from core.models.embedding import Embedder
    from core.models.minilm_gguf import ensure_builtin_gguf
    from core.pipeline import Pipeline, embedding_text
    from core.store import Store
    from ingest.chats import parse_export

    t0 = time.perf_counter()
    observations = list(parse_export(export, "jsonl"))
    t1 = time.perf_counter()
    redact = make_redactor()
    for o in observations:
        redact(o.text)
    t2 = time.perf_counter()
    (tmp_path / "w").mkdir()
    store = Store(tmp_path / "w" / "engram.db", "ab" * 32, backups_dir=tmp_path / "w" / "b")
    try:
        Pipeline(store, None, redact).submit(observations, embed=False)
    finally:
        store.close()
    t3 = time.perf_counter()
    embedder = Embedder(ensure_builtin_gguf(models_dir), n_threads=threads)
    embedder.embed(["warm up"])
    sample = [embedding_text(o.title, o.speaker, o.text) for o in observations[:2000]]
    t4 = time.perf_counter()
    embedder.embed(sample)
    t5 = time.perf_counter()
    embedder.close()
    per_s = len(sample) / (t5 - t4)
    print("  where the time goes (in-process):")
    print(f"    parse JSONL          {t1 - t0:7.2f} s")
    print(f"    redact               {t2 - t1:7.2f} s")
    print(f"    store (no vectors)   {t3 - t2:7.2f} s  (dedupe, events, keyword index)")
    print(f"    embed                {len(observations) / per_s:7.1f} s  "
          f"({per_s:,.0f} messages/s on {embedder.n_threads} thread(s), "
          f"measured on {len(sample):,})")
