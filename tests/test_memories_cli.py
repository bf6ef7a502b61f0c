"""`engram consolidate` and `engram memories …` as a person uses them: real subprocesses."""
from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from core.memory import rows
from core.records import Observation
from tests.test_memories import moving_chat, screen_hour


def submit(home: Path, observations: list[Observation]) -> None:
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    paths = resolve_paths(home)
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
    try:
        engine.pipeline.submit(observations)
    finally:
        engine.close()


def read(home: Path) -> dict[str, Any]:
    """Every memory as content (no times of writing), the cursor and the batch ledger."""
    from app.bootstrap import open_engine
    from core.config import Settings, resolve_paths

    paths = resolve_paths(home)
    engine = open_engine(paths, settings=Settings(paths.settings_path), ask=None)
    try:
        db = engine.store.reader()
        memories = [(m.id, m.type, m.title, m.text, m.sources, m.superseded_by, m.valid_until)
                    for m in rows.select(db)]
        batches = db.execute("SELECT first_event_id, last_event_id FROM memory_batches "
                             "ORDER BY id").fetchall()
        vectors = db.execute(f"SELECT count(*) FROM {engine.pipeline.space().table('memories')}"
                             ).fetchall()[0][0]
        return {"memories": memories, "cursor": rows.cursor(db), "batches": batches,
                "vectors": vectors}
    finally:
        engine.close()


def corpus() -> list[Observation]:
    return screen_hour()[::3] + moving_chat() + [Observation(
        source="note", captured_at=moving_chat()[0].captured_at,
        text="Renew passport:\n1. Book an appointment online\n2. Bring the old passport\n"
             "3. Pay the fee at the desk")]


# The crash is injected by this test's own launcher, not by a hook in production code:
# it wraps the batch writer so the process SIGKILLs itself inside the write transaction
# of the batch after ``after`` committed ones, then runs `engram` as usual.
KILLING_LAUNCHER = """
import os, runpy, signal, sys
import core.memory.consolidate as c
after, real, done = int(sys.argv[1]), c.apply_batch, [0]

def apply_batch(db, plan, *, now, before_commit=None):
    done[0] += 1
    if done[0] > after:
        before_commit = lambda: os.kill(os.getpid(), signal.SIGKILL)
    return real(db, plan, now=now, before_commit=before_commit)

c.apply_batch = apply_batch
sys.argv = ["engram"] + sys.argv[2:]
runpy.run_module("app", run_name="__main__")
"""


def killed_consolidation(after: int, *args: str) -> Any:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    return subprocess.run([sys.executable, "-c", KILLING_LAUNCHER, str(after), *args], cwd=REPO,
                          env=dict(os.environ), capture_output=True, text=True, timeout=120)


def test_consolidation_killed_midway_resumes_without_duplicates(cli, data_dir: Path,
                                                                tmp_path: Path) -> None:
    reference = tmp_path / "reference-home"
    events = corpus()
    submit(data_dir, events)
    submit(reference, events)

    killed = killed_consolidation(2, "consolidate", "--no-model", "--batch-size", "10")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    crashed = read(data_dir)
    # Two batches committed; the third died inside its transaction and left nothing.
    assert crashed["cursor"] == 20 and crashed["batches"] == [(1, 10), (11, 20)]

    resumed = json.loads(cli("consolidate", "--no-model", "--batch-size", "10", "--json").stdout)
    assert resumed["events"] == len(events) - 20 and resumed["pending"] == 0
    cli("--data-dir", str(reference), "consolidate", "--no-model", "--batch-size", "10")

    after, clean = read(data_dir), read(reference)
    assert after["memories"] == clean["memories"]  # same memories, same ids: nothing twice
    assert after["batches"] == clean["batches"]
    covered = [i for lo, hi in after["batches"] for i in range(lo, hi + 1)]
    assert covered == list(range(1, len(events) + 1))
    assert after["vectors"] == len(after["memories"])
    again = json.loads(cli("consolidate", "--no-model", "--json").stdout)
    assert again["events"] == 0 and read(data_dir)["memories"] == after["memories"]


def test_memories_list_show_edit_delete_undo(cli, data_dir: Path) -> None:
    submit(data_dir, moving_chat())
    human = cli("consolidate", "--no-model").stdout
    assert "Consolidated 5 events in 1 batch (rule-based)." in human
    # Core: where the person lives (Lisbon superseded by Porto) and "You love the light here."
    assert "core        2 added, 0 merged, 1 superseded" in human

    listed = json.loads(cli("memories", "list", "--json").stdout)["memories"]
    assert "You love the light here." in [m["text"] for m in listed if m["type"] == "core"]
    core = [m for m in listed if m["type"] == "core" and "moved to" in m["text"]]
    assert [m["text"] for m in core] == ["You moved to Porto."]
    porto = core[0]
    assert porto["current"] and porto["strength"] == 1.0 and porto["sources"]
    everything = json.loads(cli("memories", "list", "--all", "--type", "core", "--json").stdout)
    lisbon = next(m for m in everything["memories"] if "Lisbon" in m["text"])
    assert lisbon["superseded_by"] == porto["id"] and not lisbon["current"]
    text = cli("memories", "list", "--all").stdout
    assert "Core (3)" in text and f"[superseded by #{porto['id']}]" in text

    shown = json.loads(cli("memories", "show", str(lisbon["id"]), "--json").stdout)
    assert [s["text"] for s in shown["sources"]] == [
        "Hi Ana! Guess what, I moved to Lisbon last month."]
    assert [c["action"] for c in shown["history"]] == ["add", "supersede"]
    assert {"id": porto["id"], "kind": "supersedes", "type": "core",
            "text": "You moved to Porto."} in shown["links"]
    history = json.loads(cli("memories", "history", str(lisbon["id"]), "--json").stdout)
    supersede = history["history"][1]
    assert supersede["related_id"] == porto["id"] and supersede["before"]["superseded_by"] is None

    edit = json.loads(cli("memories", "edit", str(porto["id"]), "You live in Porto, by the river.",
                          "--json").stdout)
    assert edit["undoable"]
    edited = json.loads(cli("memories", "show", str(porto["id"]), "--json").stdout)["memory"]
    assert edited["text"] == "You live in Porto, by the river." and edited["fields"]["edited"]
    cli("memories", "undo", str(edit["change_id"]))
    assert json.loads(cli("memories", "show", str(porto["id"]), "--json").stdout)[
        "memory"]["text"] == "You moved to Porto."
    twice = cli("memories", "undo", str(edit["change_id"]), check=False)
    assert twice.returncode == 2 and "already undone" in twice.stderr

    deleted = json.loads(cli("memories", "delete", str(porto["id"]), "--json").stdout)
    now_core = json.loads(cli("memories", "list", "--type", "core", "--json").stdout)["memories"]
    # What it had replaced, worded as the dated sentence it was read from ("last month").
    assert [m["text"] for m in now_core if "moved" in m["text"]] == [
        "You moved to Lisbon in February 2024."]
    out = cli("memories", "undo", str(deleted["change_id"])).stdout
    assert out.startswith(f"Undid change {deleted['change_id']}")
    restored = json.loads(cli("memories", "list", "--type", "core", "--json").stdout)["memories"]
    assert [(m["id"], m["text"], m["sources"]) for m in restored if "moved" in m["text"]] == [
        (porto["id"], "You moved to Porto.", porto["sources"])]

    added = json.loads(cli("memories", "add", "My name is Ben", "--json").stdout)
    mine = json.loads(cli("memories", "show", str(added["memory_id"]), "--json").stdout)
    assert mine["memory"]["origin"] == "person" and mine["sources"] == []
    missing = cli("memories", "show", "999", check=False)
    assert missing.returncode == 3 and "No memory with id 999" in missing.stderr


def test_search_finds_memories_after_consolidation_and_forget_removes_them(cli, data_dir) -> None:
    submit(data_dir, moving_chat())
    cli("consolidate", "--no-model")
    listed = json.loads(cli("memories", "list", "--type", "semantic", "--json").stdout)
    ana = next(m for m in listed["memories"] if "Siemens" in m["text"])
    (source,) = ana["sources"]
    cli("forget", str(source), "--yes")
    gone = cli("memories", "show", str(ana["id"]), check=False)
    assert gone.returncode == 3
    history = json.loads(cli("memories", "history", str(ana["id"]), "--json").stdout)["history"]
    assert history[-1]["action"] == "forgotten"
    assert all(c["before"] is None and c["after"] is None for c in history)
