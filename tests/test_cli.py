"""The `engram` command as a person uses it: real subprocesses, real store, real model."""
from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

from tests.conftest import TEST_PASSPHRASE


def test_help_lists_every_command_with_help_text(cli) -> None:
    out = cli("--help").stdout
    for command in ("add", "search", "status", "forget", "export", "passphrase"):
        assert command in out
    proc = cli("search", "--help")
    assert "--data-dir" in proc.stdout and "--json" in proc.stdout and "--since" in proc.stdout


def test_status_before_anything_is_stored_creates_nothing(cli, data_dir: Path) -> None:
    info = json.loads(cli("status", "--json").stdout)
    assert info["initialised"] is False and info["events"] == 0
    assert not (data_dir / "engram.db").exists()


def test_add_search_status_roundtrip_with_json_shapes(cli, data_dir: Path) -> None:
    first = json.loads(cli("add", "Renewed the car insurance with Fidelidade", "--json",
                           "--at", "2024-03-04T10:00:00+00:00").stdout)
    assert first["status"] == "added"
    again = json.loads(cli("add", "Renewed the car insurance with Fidelidade", "--json",
                           "--at", "2024-03-04T10:00:00+00:00").stdout)
    assert again == {"id": first["id"], "ids": [first["id"]], "status": "already stored"}
    cli("add", "Printer fixed by reinstalling the CUPS driver")

    result = json.loads(cli("search", "car insurance", "--json").stdout)
    assert result["query"] == "car insurance"
    top = result["results"][0]
    assert top["id"] == first["id"]
    assert set(top) >= {"id", "kind", "source", "time", "title", "snippet", "score",
                        "external_id"}
    assert top["kind"] == "event" and top["source"] == "note"
    assert datetime.fromisoformat(top["time"]) == datetime(2024, 3, 4, 10, tzinfo=timezone.utc)
    assert "«insurance»" in top["snippet"]

    info = json.loads(cli("status", "--json").stdout)
    assert info["events"] == 2 and info["sources"] == {"note": 2}
    assert info["key_backend"].startswith("passphrase")
    assert info["embedding_model"].startswith("all-minilm-l6-v2")
    assert info["vectors_pending"] == 0 and info["database_bytes"] > 0

    human = cli("status").stdout
    assert "Items:" in human and "encrypt" in human.lower()


def test_data_dir_option_and_owner_only_permissions(cli, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other-home"
    cli("add", "stored elsewhere", "--data-dir", str(elsewhere))
    assert (elsewhere / "engram.db").exists()
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o700
    assert stat.S_IMODE((elsewhere / "engram.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((elsewhere / "key.json").stat().st_mode) == 0o600
    found = json.loads(cli("--data-dir", str(elsewhere), "search", "elsewhere", "--json").stdout)
    assert found["results"][0]["snippet"].startswith("stored «elsewhere»")


def test_search_filters_by_time_and_source(cli) -> None:
    cli("add", "kayak trip planning in spring", "--at", "2024-04-02T09:00:00")
    cli("add", "kayak repair kit ordered", "--at", "2024-06-20T09:00:00")
    within = json.loads(cli("search", "kayak", "--since", "2024-06-01", "--json").stdout)
    assert [r["snippet"] for r in within["results"]] == ["«kayak» repair kit ordered"]
    before = json.loads(cli("search", "kayak", "--until", "2024-05-01", "--json").stdout)
    assert [r["snippet"] for r in before["results"]] == ["«kayak» trip planning in spring"]
    none = json.loads(cli("search", "kayak", "--source", "chat", "--json").stdout)
    assert none["results"] == []


def test_forget_by_id_and_by_range(cli) -> None:
    a = json.loads(cli("add", "old gossip about the neighbours", "--json",
                       "--at", "2023-01-05").stdout)["id"]
    cli("add", "older gossip about the landlord", "--at", "2023-01-06")
    cli("add", "fresh gossip about the band", "--at", "2024-01-06")
    assert "Forgot 1 item." in cli("forget", str(a)).stdout
    missing = cli("forget", str(a), check=False)
    assert missing.returncode == 3 and "No item" in missing.stderr
    out = json.loads(cli("forget", "--since", "2023-01-01", "--until", "2023-12-31",
                         "--json").stdout)
    assert len(out["forgotten"]) == 1
    left = json.loads(cli("search", "gossip", "--json").stdout)["results"]
    assert [r["snippet"] for r in left] == ["fresh «gossip» about the band"]


def test_export_writes_documented_jsonl(cli, tmp_path: Path) -> None:
    cli("add", "exported note with ünïcode ✓", "--at", "2024-02-02T12:00:00+00:00")
    out = tmp_path / "export"
    proc = cli("export", "--out", str(out))
    assert "UNENCRYPTED" in proc.stderr
    lines = (out / "events.jsonl").read_text("utf-8").splitlines()
    row = json.loads(lines[0])
    assert row["text"] == "exported note with ünïcode ✓"
    assert row["started_at"] == "2024-02-02T12:00:00+00:00" and row["source"] == "note"
    assert "events.jsonl" in (out / "README.txt").read_text()
    refused = cli("export", "--out", str(out), check=False)
    assert refused.returncode == 2 and "not empty" in refused.stderr


def test_clean_errors_for_bad_input(cli, data_dir: Path) -> None:
    nothing = cli("search", "anything", check=False)
    assert nothing.returncode == 3 and "no Engram store" in nothing.stderr
    cli("add", "something")
    bad_time = cli("search", "x", "--since", "last blue moon", check=False)
    assert bad_time.returncode == 2 and "Can't read the time" in bad_time.stderr
    for proc in (nothing, bad_time):
        assert "Traceback" not in proc.stderr


def test_no_passphrase_and_no_terminal_says_what_to_do(cli, data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ENGRAM_PASSPHRASE"}
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "app", "add", "x"], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 2
    assert "ENGRAM_PASSPHRASE" in proc.stderr and "Traceback" not in proc.stderr
    assert not (data_dir / "engram.db").exists()


def test_change_passphrase_reencrypts_the_store(cli, data_dir: Path) -> None:
    cli("add", "survives the passphrase change")
    proc = cli("passphrase", env={"ENGRAM_NEW_PASSPHRASE": "a brand new secret"})
    assert "re-encrypted" in proc.stdout
    old = cli("search", "survives", check=False)
    assert old.returncode == 2
    new = cli("search", "survives", "--json", env={"ENGRAM_PASSPHRASE": "a brand new secret"})
    assert json.loads(new.stdout)["results"][0]["snippet"].startswith("«survives»")
    assert TEST_PASSPHRASE not in (data_dir / "key.json").read_text()


def test_retention_shows_usage_saves_and_applies(cli, data_dir: Path) -> None:
    cli("add", "ancient note about the old flat", "--at", "2020-03-01T10:00:00")
    cli("add", "a note from today")
    shown = json.loads(cli("retention", "--json").stdout)
    assert shown["policy"] == {"days": 0, "budget_bytes": 0, "sources": ["screen"],
                               "keep_memories": True}
    assert shown["usage"]["items"] == {"note": 2} and shown["usage"]["used_bytes"] > 0
    assert shown["would_forget"]["expired"] == 0

    saved = cli("retention", "--days", "30", "--sources", "note", "--budget", "2GB").stdout
    assert "Saved." in saved and "Keep captures: 30 days (note)" in saved
    assert "2.0 GB" in saved and "1 by age" in saved
    settings = json.loads((data_dir / "settings.json").read_text())
    assert (settings["retention_days"], settings["retention_sources"],
            settings["retention_budget_mb"]) == (30, ["note"], 2048)

    # No terminal to ask on: forgetting needs --yes, and nothing happens without it,
    # not even the new setting being saved.
    refused = cli("retention", "--apply", "--days", "7", check=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert json.loads((data_dir / "settings.json").read_text())["retention_days"] == 30
    refused = cli("retention", "--apply", "--json", check=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert len(json.loads(cli("search", "note", "--json").stdout)["results"]) == 2
    done = cli("retention", "--apply", "--yes").stdout
    assert "forgot 1 past the keep-for age" in done
    left = json.loads(cli("search", "note", "--json").stdout)["results"]
    assert [r["snippet"] for r in left] == ["a «note» from today"]

    bad = cli("retention", "--sources", "file", check=False)
    assert bad.returncode != 0 and "folder is watched" in bad.stderr
    bad = cli("retention", "--budget", "lots", check=False)
    assert bad.returncode != 0 and "not a size" in bad.stderr


def test_ask_says_when_it_answered_from_outside_the_time_asked(cli) -> None:
    """No model: nothing in the range read from the question, so all memories are
    searched — and the extractive answer says so (the notice was shown only for a model's)."""
    cli("add", "Ben painted a sunrise over the lake with watercolours")
    proc = cli("ask", "What did Ben paint in February?")
    assert "sunrise" in proc.stdout
    assert "Nothing found for" in proc.stderr and "february" in proc.stderr.lower()
