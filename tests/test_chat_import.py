"""`engram import`: every chat fixture through the real CLI, real store and model."""
from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "chats"

# fixture → (format, messages, query, conversation, speaker, external id prefix)
CASES = {
    "generic.jsonl": ("jsonl", 6, "TAP 1352 seat", "lisbon-trip", "Ana",
                      "jsonl:lisbon-trip:m1"),
    "chatgpt_conversations.json": ("chatgpt", 8, "Cascais seaside walk",
                                   "Day trip from Lisbon", "ChatGPT", "chatgpt:"),
    "claude_conversations.json": ("claude", 5, "starter smells like acetone",
                                  "Sourdough starter", "You", "claude:"),
    "WhatsApp Chat with Ana Souza.txt": ("whatsapp", 7, "Rua Augusta address", "Ana Souza",
                                         "Ben", "whatsapp:Ana Souza:"),
    "WhatsApp Chat - Lisbon trip.txt": ("whatsapp", 8, "Alfama walking tour", "Lisbon trip",
                                        "Ana", "whatsapp:Lisbon trip:"),
    "whatsapp_de.txt": ("whatsapp", 3, "Treffen wir uns", "whatsapp_de", "Lena", "whatsapp:"),
    "telegram_result.json": ("telegram", 7, "tiered storage Kafka", "Marta", "Rui",
                             "telegram:4242:"),
    "slack_export": ("slack", 8, "Postgres 16 upgrade", "#engineering", "Ben Okafor",
                     "slack:C02ENG:"),
}


def run_import(cli, path: Path, *args: str) -> dict:
    return json.loads(cli("import", str(path), "--json", *args).stdout)


def test_each_export_is_imported_findable_and_reimport_adds_nothing(cli) -> None:
    for name, (fmt, messages, *_rest) in CASES.items():
        result = run_import(cli, FIXTURES / name)
        assert result["format"] == fmt, name
        assert result["messages"] == messages and result["imported"] == messages, (name, result)
        assert result["already_present"] == 0

    for name, (_fmt, _n, query, conversation, speaker, ext) in CASES.items():
        hits = json.loads(cli("search", query, "--json", "-k", "3").stdout)["results"]
        top = hits[0]
        assert top["source"] == "chat", (name, hits)
        assert (top["conversation"], top["speaker"]) == (conversation, speaker), (name, top)
        assert top["external_id"].startswith(ext), (name, top)

    # Search output for a person names who said it, and where.
    text = cli("search", "Postgres 16 upgrade", "-k", "1").stdout
    assert "Ben Okafor" in text and "#engineering" in text

    total = json.loads(cli("status", "--json").stdout)["sources"]["chat"]
    for name, (_fmt, messages, *_rest) in CASES.items():
        again = run_import(cli, FIXTURES / name)
        assert again["imported"] == 0 and again["already_present"] == messages, name
    assert json.loads(cli("status", "--json").stdout)["sources"]["chat"] == total


def test_summary_reports_what_was_skipped_and_left_out(cli) -> None:
    result = run_import(cli, FIXTURES / "generic.jsonl")
    reasons = [s["reason"] for s in result["skipped"]]
    assert len(reasons) == 5 and "no timestamp" in reasons
    assert any("truncated" in r for r in reasons)
    assert result["ignored"] == {"empty message": 1}
    text = cli("import", str(FIXTURES / "slack_export")).stdout
    assert "Imported 8 new messages" in text
    assert "engineering/2024-03-05.json" in text and "cut off" in text


def test_a_newer_export_adds_only_what_is_new(cli, tmp_path: Path) -> None:
    lines = [json.dumps({"conversation": "family", "timestamp": f"2024-06-0{d}T10:00:00Z",
                         "speaker": "Mum", "text": f"Day {d}: the garden needs watering",
                         "id": f"f{d}"}) for d in range(1, 8)]
    older = tmp_path / "family-june.jsonl"
    older.write_text("\n".join(lines[:4]) + "\n", "utf-8")
    assert run_import(cli, older)["imported"] == 4
    newer = tmp_path / "family-july.jsonl"
    newer.write_text("\n".join(lines) + "\n", "utf-8")
    result = run_import(cli, newer)
    assert (result["imported"], result["already_present"]) == (3, 4)


def test_a_truncated_export_gives_one_clear_error_and_stores_nothing(cli, data_dir: Path,
                                                                    tmp_path: Path) -> None:
    proc = cli("import", str(FIXTURES / "chatgpt_truncated.json"), check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("engram: error: chatgpt_truncated.json: not valid JSON")
    assert "line" in lines[0] and "cut off" in lines[0]
    assert "Traceback" not in proc.stderr
    assert json.loads(cli("status", "--json").stdout)["initialised"] is False

    # With a store already holding things: still nothing added, nothing broken.
    run_import(cli, FIXTURES / "whatsapp_de.txt")
    before = json.loads(cli("status", "--json").stdout)["events"]
    cut = tmp_path / "conversations.json"
    cut.write_bytes((FIXTURES / "chatgpt_conversations.json").read_bytes()[:3000])
    proc = cli("import", str(cut), "--json", check=False)
    assert proc.returncode == 2 and "cut off" in json.loads(proc.stdout)["error"]
    assert json.loads(cli("status", "--json").stdout)["events"] == before
    missing = cli("import", str(tmp_path / "nope.json"), check=False)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_json_report_counts_per_reason_and_adds_up(cli) -> None:
    result = run_import(cli, FIXTURES / "corpus" / "WhatsApp Chat with Road crew.txt")
    assert result["messages"] == result["imported"] == 8
    assert result["ignored"] == {"system notice": 3, "deleted message": 1}
    assert result["skipped_by_reason"] == {}
    assert list(result["notes"].values()) == [2]
    assert result["read"] == 12
    jsonl = run_import(cli, FIXTURES / "generic.jsonl")
    assert jsonl["skipped_by_reason"]["no timestamp"] == 1
    assert sum(jsonl["skipped_by_reason"].values()) == len(jsonl["skipped"])
    assert jsonl["read"] == jsonl["messages"] + len(jsonl["skipped"]) + sum(
        jsonl["ignored"].values())


def test_importing_a_fifo_is_refused_at_once(cli, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "chat.txt"
    os.mkfifo(fifo)
    proc = cli("import", str(fifo), check=False, timeout=60)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr
    assert "Traceback" not in proc.stderr
