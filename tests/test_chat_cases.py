"""Issue 20's numbered cases, each as a minimal file, plus the chat parts of
issue 18 (deep nesting, FIFOs and devices, huge lines)."""
from __future__ import annotations

import json
import os
import threading
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core.errors import BadInput
from ingest.chats import detect_format, parse_export
from ingest.chats.common import MAX_MESSAGE_CHARS

UTC = timezone.utc


def read(path: Path, fmt: str = "auto", **kwargs: object):
    stream = parse_export(path, fmt, tz=UTC, **kwargs)  # type: ignore[arg-type]
    return list(stream), stream.report()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ── 1, 2: invisible marks ─────────────────────────────────────────────────────

def test_1_a_message_starting_with_a_mark_is_a_message(tmp_path: Path) -> None:
    path = write(tmp_path / "chat.txt", ["1/29/18, 23:58 - Alice: Hi",
                                         "1/29/18, 23:59 - Bob: \u200eHow about Locations?"])
    messages, report = read(path)
    assert [(m.speaker, m.text) for m in messages] == [
        ("Alice", "Hi"), ("Bob", "How about Locations?")]
    assert report.total == 2 and not report.ignored


@pytest.mark.parametrize("fmt", ["auto", "whatsapp"])
def test_2_a_mark_inside_the_bracket_as_the_first_line(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path / "_chat.txt", ["\ufeff[\ufeff29.01.18, 12:27:03] Dave: Test test",
                                          "[29.01.18, 12:28:00] Eve: ok"])
    assert detect_format(path) == "whatsapp"
    messages, _ = read(path, fmt)
    assert [(m.speaker, m.text, m.captured_at) for m in messages] == [
        ("Dave", "Test test", datetime(2018, 1, 29, 12, 27, 3, tzinfo=UTC)),
        ("Eve", "ok", datetime(2018, 1, 29, 12, 28, tzinfo=UTC))]


def test_2_a_marked_header_mid_file_after_a_notice_is_not_glued(tmp_path: Path) -> None:
    path = write(tmp_path / "WhatsApp Chat - Team.txt", [
        "[29.01.18, 12:00:00] Ana: first",
        "\u200e[29.01.18, 12:01:00] Team: \u200eAna added Dave",
        "\u200f[\u2068\u200e29.01.18, 12:27:03\u2069] Dave: Test test"])
    messages, report = read(path)
    assert [m.text for m in messages] == ["first", "Test test"]
    assert report.ignored == {"system notice": 1}


# ── 3: 12-hour clocks with hour 0 or 13-23 ───────────────────────────────────

def test_3_odd_twelve_hour_times_are_read_as_the_clock_means_them(tmp_path: Path) -> None:
    path = write(tmp_path / "chat.txt", ["1/29/18, 11:58 PM - Ana: a",
                                         "1/29/18, 23:59 PM - Bo: b",
                                         "1/30/18, 00:04 AM - Ana: c",
                                         "1/30/18, 12:04 AM - Bo: d"])
    messages, report = read(path)
    assert [m.captured_at.strftime("%m-%d %H:%M") for m in messages] == [
        "01-29 23:58", "01-29 23:59", "01-30 00:04", "01-30 00:04"]
    assert sum(report.notes.values()) == 2 and "24-hour" in next(iter(report.notes))


# ── 4: Slack bots, real names, ts ─────────────────────────────────────────────

def test_4_slack_bot_posts_real_names_and_ts_without_fake_microseconds(tmp_path: Path) -> None:
    root = tmp_path / "slack"
    (root / "general").mkdir(parents=True)
    (root / "users.json").write_text(json.dumps([
        {"id": "U1", "name": "hamza", "profile": {"real_name": "Hamza Faran",
                                                  "display_name": "hamza"}}]))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (root / "general" / "2018-01-29.json").write_text(json.dumps([
        {"type": "message", "user": "U1", "text": "hi", "ts": "1517270400.000200"},
        {"type": "message", "subtype": "bot_message", "username": "ci", "text": "",
         "ts": "1517270401.000300", "attachments": [{"fallback": "build #7 passed"}]}]))
    messages, report = read(root)
    assert [(m.speaker, m.text) for m in messages] == [("Hamza Faran", "hi"),
                                                       ("ci", "build #7 passed")]
    assert messages[0].captured_at == datetime(2018, 1, 30, 0, 0, tzinfo=UTC)
    assert messages[0].meta["ts"] == "1517270400.000200" and report.total == 2


# ── 5: day/month order from all the file's dates ─────────────────────────────

def test_5_ambiguous_dates_are_ordered_by_the_whole_file(tmp_path: Path) -> None:
    path = write(tmp_path / "chat.txt", ["06/03/2017, 10:00 - A: x", "08/05/2017, 10:00 - B: y",
                                         "09/04/2017, 10:00 - A: z"])
    messages, _ = read(path)
    assert [m.captured_at.date().isoformat() for m in messages] == [
        "2017-06-03", "2017-08-05", "2017-09-04"]


# ── 6: Telegram variants ──────────────────────────────────────────────────────

def test_6_telegram_without_ids_entities_only_and_chats_list(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"chats": {"list": [{"type": "private_group", "messages": [
        {"date": "2020-01-01T10:00:00", "from": "Ana", "text": "no id"},
        {"date": "2020-01-01T10:01:00", "from": "Bo", "text": "",
         "text_entities": [{"type": "plain", "text": "only "}, {"type": "bold", "text": "here"}]},
    ]}]}}))
    assert detect_format(path) == "telegram"
    messages, report = read(path)
    assert [(m.speaker, m.text) for m in messages] == [("Ana", "no id"), ("Bo", "only here")]
    assert {m.thread for m in messages} == {"Telegram chat"} and report.total == 2
    assert len({m.external_id for m in messages}) == 2


def test_6_a_chat_without_a_name_is_named_after_its_id(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"id": 31, "type": "personal_chat", "messages": [
        {"id": 1, "type": "message", "date": "2020-01-01T10:00:00", "from": "A", "text": "x"}]}))
    (message,), _ = read(path)
    assert message.thread == "Telegram chat 31"


# ── 7: ChatGPT branches ───────────────────────────────────────────────────────

def test_7_each_branch_gets_its_own_neighbours_as_context() -> None:
    path = Path(__file__).parent / "fixtures" / "chats" / "corpus" / "chatgpt_branches.json"
    messages, _ = read(path)
    context = {m.text[:12]: m.meta["context"] for m in messages}
    assert context["Make it chea"] == {"before": "ChatGPT: Here is a plan: ```python days = "
                                       "['Alfama', 'Belém', 'Sintra'] print(days) ```",
                                       "after": "ChatGPT: Cheaper: stay in hostels."}
    assert context["Cheaper: sta"] == {"before": "You: Make it cheaper"}
    assert context["Sintra fits "] == {"before": "You: Add a day in Sintra"}
    assert context["Add a day in"]["after"] == "ChatGPT: Sintra fits on day 4."
    assert context["Day 1: Alfam"] == {"before": "You: Plan 3 days in Lisbon"}
    assert context["Plan 3 days "]["after"].startswith("ChatGPT: Here is a plan")
    assert {m.text[:12]: m.meta["branch"] for m in messages}["Make it chea"] == "alternate"


# ── 8: banner ─────────────────────────────────────────────────────────────────

def test_8_the_encryption_banner_is_not_a_message_even_unmarked(tmp_path: Path) -> None:
    path = write(tmp_path / "WhatsApp Chat - G.txt", [
        "[1/29/18, 11:58:00 PM] G: Messages to this group are now secured with end-to-end "
        "encryption. Tap for more info.",
        "[1/29/18, 11:59:00 PM] Ana: is this end-to-end encrypted?"])
    messages, report = read(path)
    assert [m.text for m in messages] == ["is this end-to-end encrypted?"]
    assert report.ignored == {"system notice": 1}


# ── issue 18: deep nesting, FIFOs, devices, huge lines ───────────────────────

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("name, text", [
    ("conversations.json", DEEP),
    ("conversations.json", '[{"mapping": {"a": {"message": ' + DEEP + '}}}]'),
    ("claude.json", '[{"chat_messages": [' + DEEP + "]}]"),
    ("result.json", '{"messages": [' + DEEP + "]}"),
])
def test_deep_nesting_in_json_exports_is_a_clear_error_or_a_skipped_unit(
        tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    for fmt in ("chatgpt", "claude", "telegram"):
        try:
            messages, report = read(path, fmt)
        except BadInput:
            continue
        assert messages == [] or all(m.text for m in messages)


def test_deep_nesting_in_slack_day_files_skips_that_file(tmp_path: Path) -> None:
    (tmp_path / "general").mkdir()
    (tmp_path / "channels.json").write_text('[{"id": "C1", "name": "general"}]')
    (tmp_path / "general" / "2020-01-01.json").write_text(DEEP)
    (tmp_path / "general" / "2020-01-02.json").write_text(
        '[{"type": "message", "user": "U", "text": "kept", "ts": "1577923200.000100"}]')
    messages, report = read(tmp_path)
    assert [m.text for m in messages] == ["kept"]
    assert [s.reason for s in report.skipped] == ["day file not readable"]
    with pytest.raises(BadInput, match="nested too deeply"):
        (tmp_path / "users.json").write_text(DEEP)
        read(tmp_path)


def test_a_deep_jsonl_line_is_reported_and_the_lines_around_it_kept(tmp_path: Path) -> None:
    good = {"conversation": "c", "timestamp": "2020-01-01T00:00:00+00:00", "speaker": "A"}
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join([json.dumps({**good, "text": "before"}), DEEP,
                               '{"a": ' + DEEP[:50_000], json.dumps({**good, "text": "after"})])
                    + "\n")
    messages, report = read(path)
    assert [m.text for m in messages] == ["before", "after"]
    assert [(s.where, s.reason) for s in report.skipped] == [
        ("chat.jsonl, line 2", "JSON nested too deeply"),
        ("chat.jsonl, line 3", "JSON nested too deeply")]


def _finishes(call, seconds: float = 10.0) -> BaseException | None:
    """Run ``call`` in a thread; fail the test if it does not return in time."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, "the import did not return (it blocked or kept reading)"
    return outcome[0]


@pytest.mark.parametrize("fmt", ["auto", "whatsapp", "jsonl", "chatgpt", "claude", "telegram",
                                 "slack"])
def test_a_fifo_is_refused_before_reading(tmp_path: Path, fmt: str) -> None:
    fifo = tmp_path / "conversations.json"
    os.mkfifo(fifo)
    error = _finishes(lambda: parse_export(fifo, fmt))
    assert isinstance(error, BadInput) and "not a regular file" in str(error)


@pytest.mark.parametrize("fmt", ["auto", "whatsapp", "jsonl", "chatgpt", "telegram"])
def test_dev_zero_is_refused_before_reading(fmt: str) -> None:
    error = _finishes(lambda: parse_export(Path("/dev/zero"), fmt))
    assert isinstance(error, BadInput) and "not a regular file" in str(error)


def test_a_50_mb_whatsapp_line_is_cut_with_a_note_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "chat.txt"
    with path.open("w", encoding="utf-8") as out:
        out.write("1/1/24, 10:00 - Ana: ")
        chunk = "x" * (1024 * 1024)
        for _ in range(50):
            out.write(chunk)
        out.write("\n1/1/24, 10:01 - Bo: after\n")
    started = time.monotonic()
    messages, report = read(path)
    assert time.monotonic() - started < 60
    big, after = messages
    assert len(big.text) < MAX_MESSAGE_CHARS + 100 and big.meta["cut"] is True
    assert big.text.endswith("more characters not imported]")
    assert after.text == "after" and sum(report.notes.values()) == 1


def test_a_zip_bomb_sized_slack_member_is_refused(tmp_path: Path, monkeypatch) -> None:
    from ingest.chats import slack
    monkeypatch.setattr(slack, "MAX_SMALL_FILE", 1000)
    archive = tmp_path / "slack.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("channels.json", '[{"id": "C1", "name": "general"}]')
        z.writestr("general/2020-01-01.json", "[" + " " * 5000 + "]")
    _, report = read(archive)
    assert [s.reason for s in report.skipped] == ["day file not readable"]


@pytest.mark.parametrize("lines, expected", [
    (["18-01-29, 23:58 - A: x", "18-01-30, 00:10 - B: y", "18-02-01, 09:00 - A: z"],
     ["2018-01-29 23:58", "2018-01-30 00:10", "2018-02-01 09:00"]),       # yy-mm-dd
    (["[12.3.2022 klo 14.08.18] Aino: moi", "[13.3.2022 klo 9.05.00] Eero: hei"],
     ["2022-03-12 14:08", "2022-03-13 09:05"]),                           # Finnish iPhone
    (["[2019/12/31 23:59:59] A: x", "[2020/01/01 0:00:01] B: y"],
     ["2019-12-31 23:59", "2020-01-01 00:00"]),                           # yyyy/mm/dd
    (["31/12/23, 11:59 pm - A: x", "01/01/24, 12:01 am - B: y"],
     ["2023-12-31 23:59", "2024-01-01 00:01"]),                           # dd/mm, 12h
])
def test_date_layouts_are_read_from_the_whole_file(tmp_path: Path, lines: list[str],
                                                   expected: list[str]) -> None:
    messages, report = read(write(tmp_path / "chat.txt", lines))
    assert [m.captured_at.strftime("%Y-%m-%d %H:%M") for m in messages] == expected
    assert report.total == len(lines)


def test_slack_blocks_replace_the_cannot_be_displayed_placeholder(tmp_path: Path) -> None:
    (tmp_path / "alerts").mkdir()
    (tmp_path / "channels.json").write_text('[{"id": "C9", "name": "alerts"}]')
    (tmp_path / "alerts" / "2021-12-08.json").write_text(json.dumps([
        {"type": "message", "subtype": "bot_message", "bot_id": "B1", "username": "leads",
         "text": "This content can't be displayed.", "ts": "1638940475.000900",
         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "New lead #42"}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*City:* Porto"}}]}]))
    (message,), _ = read(tmp_path)
    assert message.text == "New lead #42\n*City:* Porto" and message.speaker == "leads"


@pytest.mark.parametrize("line, expected", [
    ("3/6/18, 1:55 p.m. - a: m", "2018-03-06 13:55:00"),
    ("03-06-2018, 01.55 PM - a: m", "2018-03-06 13:55:00"),
    ("13.06.18 21.25.15: a: m", "2018-06-13 21:25:15"),
    ("[06.13.18 21:25:15] a: m", "2018-06-13 21:25:15"),
    ("13.6.2018 klo 21.25.15 - a: m", "2018-06-13 21:25:15"),
    ("13. 6. 2018. 21:25:15 a: m", "2018-06-13 21:25:15"),
    ("2018. 6. 13. 오후 9:25 - a: m", "2018-06-13 21:25:00"),
    ("2018/6/13 下午9:25 - a: m", "2018-06-13 21:25:00"),
    ("13/06/2018 a las 21:25 - a: m", "2018-06-13 21:25:00"),
])
def test_header_layouts_of_many_locales(tmp_path: Path, line: str, expected: str) -> None:
    (message,), _ = read(write(tmp_path / "chat.txt", [line]))
    assert (message.speaker, message.text) == ("a", "m")
    assert message.captured_at.strftime("%Y-%m-%d %H:%M:%S") == expected


def test_a_body_line_starting_with_a_date_and_time_stays_in_its_message(tmp_path: Path) -> None:
    path = write(tmp_path / "chat.txt", ["13.06.18, 21:25 - Ana: agenda:",
                                         "14.06.18 10:00 meeting room 2"])
    (message,), _ = read(path)
    assert message.text == "agenda:\n14.06.18 10:00 meeting room 2"


def test_mixed_layouts_in_one_file_and_names_of_non_contacts(tmp_path: Path) -> None:
    path = write(tmp_path / "chat.txt", [
        "[05.05.23, 15:48:11] James: Hi here",
        "[11/8/21, 9:41:32 AM] User name: Message 123",
        "1/23/23, 3:19 AM - User 2: Bye!",
        "1/23/23, 3:22_AM - User 1: And let me know if anything changes",
        "[1/24/21, 12:41:03 PM] ~\u202fUser name 2: Of course!",
        "[2023/5/4, 16:13:23] ~ User 2: See you!"])
    messages, report = read(path)
    assert [(m.speaker, m.captured_at.strftime("%Y-%m-%d %H:%M")) for m in messages] == [
        ("James", "2023-05-05 15:48"), ("User name", "2021-11-08 09:41"),
        ("User 2", "2023-01-23 03:19"), ("User 1", "2023-01-23 03:22"),
        ("User name 2", "2021-01-24 12:41"), ("User 2", "2023-05-04 16:13")]
    assert report.total == 6


def test_iphone_notices_said_by_whoever_said_the_banner(tmp_path: Path) -> None:
    # The file was renamed: the chat's name is not the group's.
    path = write(tmp_path / "family.txt", [
        "\u200e[1/2/24, 10:00:00 AM] Silva family: \u200eMessages and calls are end-to-end "
        "encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.",
        "\u200e[1/2/24, 10:00:01 AM] Silva family: \u200eRui added Marta",
        "[1/2/24, 10:01:00 AM] Marta: \u200eI added the photos"])
    messages, report = read(path)
    assert [(m.speaker, m.text) for m in messages] == [("Marta", "I added the photos")]
    assert report.ignored == {"system notice": 2}


@pytest.mark.parametrize("fmt", ["whatsapp", "jsonl", "chatgpt", "claude", "telegram", "slack"])
def test_each_parser_called_directly_refuses_a_fifo(tmp_path: Path, fmt: str) -> None:
    from ingest.chats.detect import PARSERS
    from ingest.chats.common import ParseOptions

    fifo = tmp_path / "export"
    os.mkfifo(fifo)
    error = _finishes(lambda: PARSERS[fmt](fifo, ParseOptions()))
    assert isinstance(error, BadInput) and "not a regular file" in str(error)


def test_json_exports_saved_with_a_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"name": "N", "id": 1, "messages": [
        {"id": 1, "type": "message", "date": "2020-01-01T10:00:00", "from": "A",
         "text": "hi"}]}).encode())
    assert detect_format(path) == "telegram"
    (message,), _ = read(path)
    assert message.text == "hi"


def test_a_deep_first_jsonl_line_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    good = {"conversation": "c", "timestamp": "2020-01-01T00:00:00+00:00", "text": "kept"}
    path = tmp_path / "chat.jsonl"
    path.write_text(DEEP + "\n" + json.dumps(good) + "\n")
    messages, report = read(path)
    assert [m.text for m in messages] == ["kept"]
    assert [s.reason for s in report.skipped] == ["JSON nested too deeply"]


def test_the_import_summary_says_how_odd_clocks_were_read(tmp_path: Path) -> None:
    from core.records import Changes
    from ingest.chats.importer import import_export

    path = write(tmp_path / "chat.txt", ["1/29/18, 23:59 PM - Bo: late", "1/30/18, 9:00 AM - A: x"])
    seen: list[str] = []

    def sink(batch):  # a pure-logic stand-in for the store: records what arrives
        seen.extend(o.text for o in batch)
        return Changes()
    summary = import_export(path, sink)
    assert seen == ["late", "x"]
    assert "Read with care: 1 × 12-hour time with hour 0 or 13–23" in summary.text()
