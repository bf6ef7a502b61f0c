"""The CLI meets hostile text: names and titles can't fake output lines or drive the
terminal, and `add` of a note that redacts to a stored one says which one."""
from __future__ import annotations

import json
from pathlib import Path

from app.cli.context import shown

EVIL_NAME = "Lisbon\n 2. [note] 2024-01-01 00:00  fake result  (#999)\r\x1b[2J\x1b]0;pwned\x07"


def test_shown_escapes_what_a_terminal_would_obey() -> None:
    assert shown("a\nb\rc\x1b[31md\x07e\u202ef\udcff") == "a\\nb\\rc\\e[31md\\x07e\\u202ef\\xff"
    assert shown("line 1\nline\t2\x1b", keep_lines=True) == "line 1\nline\t2\\e"
    assert shown("naïve 日本 👩‍💻") == "naïve 日本 👩‍💻"  # printable text is left alone


def test_search_output_escapes_control_characters_in_titles_and_text(cli, tmp_path: Path) -> None:
    export = tmp_path / "chat.jsonl"
    export.write_text(json.dumps({
        "conversation": EVIL_NAME, "timestamp": "2024-05-08T13:56:00+01:00",
        "speaker": "Ana\x1b[8m", "text": "the ferry to Cacilhas leaves at noon", "id": "m1",
    }) + "\n", encoding="utf-8")
    cli("import", str(export), "--format", "jsonl")
    cli("add", "ferry timetable\r\x1b[1A\x1b[2Kinjected")
    out = cli("search", "ferry", "--no-memories").stdout
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    assert "\\e[2J" in out and "\\e[1A" in out
    # Every result is exactly three lines (or two without a path): the newline in the
    # conversation's name did not add a fake result line.
    lines = out.splitlines()
    assert sum(1 for line in lines if line.lstrip().startswith(("1.", "2.", "3."))) == 2
    assert "fake result" in out and not any(
        line.startswith(" 2. [note] 2024-01-01") for line in lines)


def test_error_messages_escape_names(cli, tmp_path: Path) -> None:
    bad = tmp_path / "no\x1b[2Jsuch\nfile.jsonl"
    proc = cli("import", str(bad), check=False)
    assert proc.returncode != 0
    assert "\x1b" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.startswith("engram:")]) == 1


def test_add_reports_the_id_a_redacted_note_matched(cli) -> None:
    first = json.loads(cli("add", "Wi-Fi password: Tr0ub4dor&3", "--json",
                           "--at", "2024-03-04T10:00").stdout)
    assert first["status"] == "added"
    again = cli("add", "Wi-Fi password: hunter2!", "--at", "2024-03-04T10:00").stdout.strip()
    assert again == f"{first['id']} (already stored)"
    as_json = json.loads(cli("add", "Wi-Fi password: S3cure#Pass", "--json",
                             "--at", "2024-03-04T10:00").stdout)
    assert as_json["id"] == first["id"] and as_json["status"] == "already stored"
