"""Chat export parsers: real-shaped fixtures in tests/fixtures/chats, plus a few
files written here for cases that need a zip or a variation."""
from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.errors import BadInput
from core.records import Observation
from ingest.chats import FORMATS, ChatImport, detect_format, parse_export
from tests.conftest import locomo_dir

FIXTURES = Path(__file__).parent / "fixtures" / "chats"
LOCOMO = (locomo_dir() or Path("/nonexistent")) / "messages"
UTC = timezone.utc
LISBON = ZoneInfo("Europe/Lisbon")


def load(path: Path, **kwargs: object) -> tuple[list[Observation], ChatImport]:
    imported = parse_export(path, **kwargs)  # type: ignore[arg-type]
    return list(imported), imported


def by_text(observations: list[Observation]) -> dict[str, Observation]:
    return {o.text: o for o in observations}


# ── detection and the shared contract ─────────────────────────────────────────

@pytest.mark.parametrize("name, expected", [
    ("generic.jsonl", "jsonl"),
    ("chatgpt_conversations.json", "chatgpt"),
    ("chatgpt_truncated.json", "chatgpt"),
    ("claude_conversations.json", "claude"),
    ("WhatsApp Chat with Ana Souza.txt", "whatsapp"),
    ("WhatsApp Chat - Lisbon trip.txt", "whatsapp"),
    ("whatsapp_de.txt", "whatsapp"),
    ("telegram_result.json", "telegram"),
    ("slack_export", "slack"),
])
def test_detects_each_format(name: str, expected: str) -> None:
    assert detect_format(FIXTURES / name) == expected


def test_unknown_or_missing_files_are_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\nnothing to see\n")
    with pytest.raises(BadInput, match="not a chat export"):
        detect_format(notes)
    with pytest.raises(BadInput, match="no such file"):
        parse_export(tmp_path / "missing.json")
    with pytest.raises(BadInput, match="unknown chat format"):
        parse_export(notes, "icq")


@pytest.mark.parametrize("name", [
    "generic.jsonl", "chatgpt_conversations.json", "claude_conversations.json",
    "WhatsApp Chat with Ana Souza.txt", "WhatsApp Chat - Lisbon trip.txt", "whatsapp_de.txt",
    "telegram_result.json", "slack_export",
])
def test_reimport_gives_identical_ids_and_every_message_is_well_formed(name: str) -> None:
    first, report = load(FIXTURES / name, tz=LISBON)
    second, _ = load(FIXTURES / name, tz=LISBON)
    ids = [o.external_id for o in first]
    assert ids == [o.external_id for o in second]
    assert len(set(ids)) == len(ids), "ids must be unique within an import"
    assert first == second
    for o in first:
        assert o.source == "chat"
        assert o.captured_at.tzinfo is not None and o.captured_at.utcoffset().total_seconds() == 0
        assert o.text.strip() == o.text and o.text
        assert o.thread and o.external_id
        assert o.meta["format"] == report.format in FORMATS
        assert "conversation_id" in o.meta
        json.dumps(dict(o.meta))  # stored as JSON


def test_report_is_a_frozen_snapshot() -> None:
    observations, imported = load(FIXTURES / "generic.jsonl")
    report = imported.report()
    assert report.imported == len(observations) == 6
    assert report.format == "jsonl"
    with pytest.raises(AttributeError):
        report.imported = 0  # type: ignore[misc]


def test_stopping_early_releases_the_file() -> None:
    with parse_export(FIXTURES / "slack_export") as imported:
        first = next(iter(imported))
    assert first.thread == "#general"


# ── JSONL ─────────────────────────────────────────────────────────────────────

def test_jsonl_reads_messages_and_reports_bad_lines() -> None:
    observations, imported = load(FIXTURES / "generic.jsonl")
    first = observations[0]
    assert first.external_id == "jsonl:lisbon-trip:m1"
    assert first.speaker == "Ana" and first.thread == "lisbon-trip"
    # Each message carries its neighbouring turns for search (ChatImport adds them).
    assert first.meta == {"format": "jsonl", "conversation_id": "lisbon-trip", "session": "s1",
                          "context": {"after": "Carlos: Great. Which terminal?"}}
    assert first.captured_at == datetime(2024, 1, 3, 9, 15, 30, tzinfo=UTC)
    texts = by_text(observations)
    assert texts["Terminal 1, I checked 👍"].captured_at == datetime(2024, 1, 4, 17, 21, tzinfo=UTC)
    assert "session" not in texts["Terminal 1, I checked 👍"].meta
    # the same id in another conversation is a different message
    assert texts["Next book: 『ノルウェイの森』"].external_id == "jsonl:book-club:m1"
    assert texts["Next book: 『ノルウェイの森』"].captured_at == datetime.fromtimestamp(1706816000, UTC)
    skipped = {s.where: s.describe() for s in imported.skipped}
    assert skipped == {
        "generic.jsonl, line 8": "not valid JSON",
        "generic.jsonl, line 9": "no timestamp",
        "generic.jsonl, line 11": "duplicate id ('m1' in 'book-club')",
        "generic.jsonl, line 12": "not a JSON object",
        "generic.jsonl, line 13": "truncated line (file cut off?)",
    }
    assert imported.ignored == {"empty message": 1}


def test_jsonl_without_ids_derives_distinct_stable_ones() -> None:
    observations, _ = load(FIXTURES / "generic.jsonl")
    oks = [o.external_id for o in observations if o.text == "ok"]
    assert len(oks) == 2 and oks[0] != oks[1]
    assert all(i and i.startswith("jsonl:lisbon-trip:h") for i in oks)


def test_jsonl_naive_timestamps_are_wall_clock_in_the_given_zone(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"conversation": "c", "timestamp": "2024-07-01T12:00:00",
                                "speaker": "A", "text": "noon in Lisbon"}) + "\n")
    (message,), _ = load(path, tz=LISBON)
    assert message.captured_at == datetime(2024, 7, 1, 11, 0, tzinfo=UTC)  # WEST is UTC+1


def test_jsonl_that_is_not_jsonl_fails_before_importing(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text("hello there\n{}\n")
    with pytest.raises(BadInput, match=r"chat.jsonl, line 1: not valid JSON"):
        parse_export(path)


@pytest.mark.skipif(not LOCOMO.is_dir(), reason="shared LoCoMo sample not present")
def test_jsonl_reads_the_locomo_sample() -> None:
    for path in sorted(LOCOMO.glob("*.jsonl")):
        observations, imported = load(path)
        lines = sum(1 for line in path.open() if line.strip())
        assert len(observations) == lines and not imported.skipped
        assert len({o.external_id for o in observations}) == lines
        assert all(o.meta.get("session") for o in observations)


# ── ChatGPT ───────────────────────────────────────────────────────────────────

def test_chatgpt_keeps_the_current_branch_as_main_and_marks_the_edit() -> None:
    observations, imported = load(FIXTURES / "chatgpt_conversations.json")
    trip = [o for o in observations if o.thread == "Day trip from Lisbon"]
    branch = {o.meta["message_id"]: o.meta["branch"] for o in trip}
    assert branch == {"u1": "alternate", "a1": "alternate", "u1b": "main", "a1b": "main",
                      "u2": "main", "a2": "main"}
    conversation = "6790a1b2-0000-4000-8000-00000000c0de"
    assert trip[0].external_id == f"chatgpt:{conversation}:u1"
    assert trip[0].speaker == "You" and trip[1].speaker == "ChatGPT"
    assert trip[0].app == "ChatGPT" and trip[0].url == f"https://chatgpt.com/c/{conversation}"
    assert trip[1].meta["model"] == "gpt-4o" and trip[0].meta["role"] == "user"
    assert imported.ignored == {"system message": 1, "message to a tool": 1, "tool message": 1,
                                "hidden message": 1, "empty message": 1}


def test_chatgpt_null_create_time_takes_the_previous_time_on_its_branch() -> None:
    observations, _ = load(FIXTURES / "chatgpt_conversations.json")
    texts = by_text(observations)
    cascais = texts["Cascais: 40 minutes from Cais do Sodré, beaches and a seaside walk."]
    assert cascais.meta["time_estimated"] is True
    assert cascais.captured_at == datetime.fromtimestamp(1704067302.0, UTC)  # tool output's
    haiku_prompt = texts["Écris un haïku sur le café ☕"]
    assert haiku_prompt.captured_at == datetime.fromtimestamp(1706000000.0, UTC)  # conversation's
    assert haiku_prompt.thread == "Untitled conversation"
    assert haiku_prompt.meta["branch"] == "main"  # no current_node: newest branch is main


def test_chatgpt_multimodal_parts_and_attachments_become_notes() -> None:
    observations, _ = load(FIXTURES / "chatgpt_conversations.json")
    (photo,) = [o for o in observations if o.meta["message_id"] == "u2"]
    assert photo.text == "Is this the right station?\n[attached: station.jpg]"


def test_chatgpt_reports_a_broken_conversation_and_keeps_the_rest() -> None:
    observations, imported = load(FIXTURES / "chatgpt_conversations.json")
    assert len(observations) == 8
    (skipped,) = imported.skipped
    assert skipped.where == "chatgpt_conversations.json: conversation 2"


def test_chatgpt_truncated_file_fails_naming_where(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        parse_export(FIXTURES / "chatgpt_truncated.json")
    message = str(caught.value)
    assert "chatgpt_truncated.json" in message and "line 58" in message
    assert "cut off" in message and caught.value.hint


def test_chatgpt_reads_the_export_zip(tmp_path: Path) -> None:
    archive = tmp_path / "chatgpt-export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURES / "chatgpt_conversations.json", "conversations.json")
        z.writestr("chat.html", "<html>…</html>")
        z.writestr("user.json", "{}")
    assert detect_format(archive) == "chatgpt"
    from_zip, _ = load(archive)
    plain, _ = load(FIXTURES / "chatgpt_conversations.json")
    assert [o.external_id for o in from_zip] == [o.external_id for o in plain]


def test_chatgpt_folder_with_conversations_json(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "chatgpt_conversations.json", tmp_path / "conversations.json")
    assert detect_format(tmp_path) == "chatgpt"
    observations, _ = load(tmp_path)
    assert len(observations) == 8


def test_chatgpt_top_level_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text('{"mapping_count": 3}')
    with pytest.raises(BadInput, match="expected a list of conversations"):
        parse_export(path, "chatgpt")


# ── Claude ────────────────────────────────────────────────────────────────────

def test_claude_messages_text_blocks_attachments_and_artifacts() -> None:
    observations, imported = load(FIXTURES / "claude_conversations.json")
    texts = [o.text for o in observations]
    assert texts[:4] == [
        "My starter smells like acetone 😬 — is it dead?",
        "Not dead — it's hungry. Feed it 1:1:1 twice a day.",  # thinking left out
        "Here's my feeding log\n[attached: feeding-log.csv]",  # listed twice, noted once
        "I made you a schedule.\n[artifact: Feeding schedule]",
    ]
    first = observations[0]
    assert first.speaker == "You" and observations[1].speaker == "Claude"
    assert first.external_id == ("claude:3f0c9d1e-1111-4a2b-9c3d-5e6f7a8b9c0d:"
                                 "m0000001-0000-4000-8000-000000000001")
    assert first.thread == "Sourdough starter" and first.app == "Claude"
    german = observations[4]
    assert german.text.startswith("Übersetze bitte") and german.thread == "Untitled conversation"
    assert german.captured_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    reasons = sorted(s.reason for s in imported.skipped)
    assert reasons == ["message is not an object", "no readable created_at",
                       "not a conversation (no chat_messages)"]


def test_claude_export_zip_is_not_mistaken_for_slack(tmp_path: Path) -> None:
    archive = tmp_path / "data-2024-05-01.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURES / "claude_conversations.json", "conversations.json")
        z.writestr("users.json", '[{"uuid": "u1", "full_name": "Rui"}]')
        z.writestr("projects.json", "[]")
    assert detect_format(archive) == "claude"
    observations, _ = load(archive)
    assert len(observations) == 5


def test_claude_branches_when_the_export_records_them(tmp_path: Path) -> None:
    def message(uuid: str, parent: str, text: str) -> dict[str, object]:
        return {"uuid": uuid, "parent_message_uuid": parent, "sender": "human", "text": text,
                "content": [{"type": "text", "text": text}],
                "created_at": "2024-05-01T10:00:00Z"}
    conversation = {"uuid": "c1", "name": "Branches", "current_leaf_message_uuid": "b",
                    "chat_messages": [message("r", "root", "start"), message("a", "r", "old"),
                                      message("b", "r", "new")]}
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conversation]))
    observations, _ = load(path)
    assert {o.text: o.meta["branch"] for o in observations} == {
        "start": "main", "old": "alternate", "new": "main"}
    # Each branch's neighbours are its own: "new" does not follow "old".
    assert {o.text: o.meta["context"] for o in observations} == {
        "start": {"after": "You: new"}, "old": {"before": "You: start"},
        "new": {"before": "You: start"}}


# ── WhatsApp ──────────────────────────────────────────────────────────────────

def test_whatsapp_android_us_layout() -> None:
    observations, imported = load(FIXTURES / "WhatsApp Chat with Ana Souza.txt",
                                  tz=ZoneInfo("America/New_York"))
    assert [o.speaker for o in observations] == ["Ana Souza", "Ben", "Ana Souza", "Ana Souza",
                                                 "Ben", "Ana Souza", "Ben"]
    first = observations[0]
    assert first.thread == "Ana Souza" and first.app == "WhatsApp"
    assert first.text == "Happy new year!! 🎉"
    # 12/31/23 9:41 PM in New York (EST, UTC-5); U+202F before PM; month first
    assert first.captured_at == datetime(2024, 1, 1, 2, 41, tzinfo=UTC)
    plan = observations[1]
    assert plan.text == ("Thanks! Here's the plan for tomorrow:\n1. Brunch at 11\n"
                         "2. Walk to the river\n\nBring a jacket.")
    assert observations[2].text == "[media omitted]" and observations[2].meta["media"] is True
    assert observations[3].text == "Feliz ano novo 🥂" and observations[3].meta["edited"] is True
    assert observations[3].captured_at == datetime(2024, 1, 1, 5, 0, tzinfo=UTC)  # 12:00 AM
    assert observations[4].text == "Address: Rua Augusta 24, Lisboa"
    assert observations[5].text == "[attached: IMG-20240102-WA0003.jpg]\nLook at the sunrise"
    assert observations[6].captured_at == datetime(2024, 1, 13, 15, 1, tzinfo=UTC)
    assert imported.ignored == {"system notice": 2, "deleted message": 1}
    assert not imported.skipped


def test_whatsapp_iphone_layout_day_first_from_a_later_line() -> None:
    observations, imported = load(FIXTURES / "WhatsApp Chat - Lisbon trip.txt", tz=LISBON)
    assert observations[0].thread == "Lisbon trip"
    # "03/01/2024" is 3 January: "15/01/2024" further down settles the order.
    assert observations[0].captured_at == datetime(2024, 1, 3, 9, 15, 30, tzinfo=UTC)
    assert observations[1].text == "Great. Which terminal?\nTerminal 1 I think"
    assert [o.text for o in observations[2:5]] == [
        "[image omitted]", "[attached: 00000012-PHOTO-2024-01-04-18-21-00.jpg]",
        "[document omitted: Itinerary.pdf • 2 pages]"]
    assert observations[5].text == "Don't forget: the Alfama walking tour is at 10:00"
    oks = [o.external_id for o in observations if o.text == "ok"]
    assert len(oks) == 2 and oks[0] != oks[1]
    assert imported.ignored == {"system notice": 2}


def test_whatsapp_dotted_dates_name_override_and_bom() -> None:
    observations, _ = load(FIXTURES / "whatsapp_de.txt", name="Jörg", tz=LISBON)
    assert [o.speaker for o in observations] == ["Jörg", "Lena", "Jörg"]
    assert observations[0].thread == "Jörg" and observations[0].external_id.startswith(
        "whatsapp:Jörg:")
    assert observations[0].captured_at == datetime(2024, 2, 5, 21, 41, tzinfo=UTC)
    assert observations[1].text == "Gut! Treffen wir uns am 06.03.?"
    assert observations[2].text == "[media omitted]"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_whatsapp_date_order_guess_and_override(tmp_path: Path) -> None:
    ambiguous = _write(tmp_path / "WhatsApp Chat with Bo.txt",
                       ["03/04/24, 10:00 AM - Bo: hi", "03/05/24, 10:00 AM - Bo: again"])
    guessed, _ = load(ambiguous, tz=UTC)
    assert guessed[0].captured_at.date().isoformat() == "2024-03-04"  # 12h clock: US order
    forced, _ = load(ambiguous, tz=UTC, day_first=True)
    assert forced[0].captured_at.date().isoformat() == "2024-04-03"
    twenty_four = _write(tmp_path / "other.txt", ["03/04/2024, 10:00 - Bo: hi"])
    (message,), _ = load(twenty_four, tz=UTC)
    assert message.captured_at.date().isoformat() == "2024-04-03"  # 24h clock: day first


def test_whatsapp_impossible_date_is_skipped_with_its_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "chat.txt", ["12/20/24, 9:00 PM - Bo: fine",
                                          "02/30/24, 9:00 PM - Bo: never happened",
                                          "and its second line"])
    observations, imported = load(path, tz=UTC)
    assert [o.text for o in observations] == ["fine"]
    assert [(s.where, s.reason) for s in imported.skipped] == [
        ("chat.txt, line 2", "impossible date or time")]


def test_whatsapp_longer_export_keeps_earlier_ids(tmp_path: Path) -> None:
    lines = ["[15/01/2024, 07:05:00] Ana: ok", "[15/01/2024, 07:05:00] Ana: ok"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    short, _ = load(_write(tmp_path / "a" / "chat.txt", lines), tz=UTC)
    longer, _ = load(_write(tmp_path / "b" / "chat.txt",
                            lines + ["[16/01/2024, 08:00:00] Ana: ok"]), tz=UTC)
    assert [o.external_id for o in longer][:2] == [o.external_id for o in short]


def test_whatsapp_export_zip_named_after_the_chat(tmp_path: Path) -> None:
    archive = tmp_path / "WhatsApp Chat - Lisbon trip.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURES / "WhatsApp Chat - Lisbon trip.txt", "_chat.txt")
        z.writestr("00000012-PHOTO-2024-01-04-18-21-00.jpg", b"\xff\xd8\xff")
    assert detect_format(archive) == "whatsapp"
    from_zip, _ = load(archive, tz=LISBON)
    plain, _ = load(FIXTURES / "WhatsApp Chat - Lisbon trip.txt", tz=LISBON)
    assert from_zip == plain


def test_whatsapp_refuses_a_file_that_is_not_a_chat(tmp_path: Path) -> None:
    path = _write(tmp_path / "notes.txt", ["Shopping list:", "12/31/23, 9:41 PM - Bo: hi"])
    with pytest.raises(BadInput, match=r"notes.txt, line 1: not a WhatsApp chat line"):
        parse_export(path, "whatsapp")


# ── Telegram ──────────────────────────────────────────────────────────────────

def test_telegram_full_export() -> None:
    observations, imported = load(FIXTURES / "telegram_result.json", tz=LISBON)
    marta = [o for o in observations if o.thread == "Marta"]
    assert [o.text for o in marta] == [
        "Did you see the new Kafka docs?",
        "Yes! Tiered storage is finally GA: https://kafka.apache.org/documentation/ 🎉",
        "[photo]\nmy new desk setup",
        "[sticker 👍]",
        "a message from an account that no longer exists",
        "this thread (https://example.org/t/1) explains the migration",
    ]
    assert marta[0].external_id == "telegram:4242:2" and marta[0].app == "Telegram"
    assert marta[1].meta["reply_to"] == 2 and marta[5].meta["edited"] is True
    assert marta[4].speaker == "Deleted account"
    assert marta[0].captured_at == datetime.fromtimestamp(1704448920, UTC)
    (club,) = [o for o in observations if o.thread == "Book club"]
    assert club.speaker == "Inês"
    assert club.captured_at == datetime(2024, 2, 1, 19, 30, tzinfo=UTC)  # old "date", Lisbon winter
    assert imported.ignored == {"service message": 2, "empty message": 1}
    # The chat "Broken" has no messages at all: nothing of it is lost, nothing reported.
    assert sorted(s.reason for s in imported.skipped) == [
        "message is not an object", "no readable date"]


def test_telegram_single_chat_export(tmp_path: Path) -> None:
    chat = {"name": "Saved", "type": "saved_messages", "id": 99, "messages": [
        {"id": 1, "type": "message", "date": "2024-01-01T10:00:00", "date_unixtime": "1704103200",
         "from": "Rui", "from_id": "user1", "text": ["see ", {"type": "code", "text": "ls -la"}]}]}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(chat, ensure_ascii=False))
    assert detect_format(path) == "telegram"
    (message,), _ = load(path)
    assert message.text == "see ls -la" and message.external_id == "telegram:99:1"


# ── Slack ─────────────────────────────────────────────────────────────────────

def test_slack_folder_export() -> None:
    observations, imported = load(FIXTURES / "slack_export")
    general = [o for o in observations if o.thread == "#general"]
    review = general[0]
    assert review.text == ("@Ben Okafor can you review PR #42 (https://github.com/acme/api/pull/42)"
                           "? It fixes the <timeout> bug & adds retries")
    assert review.speaker == "Ana Souza" and review.external_id == "slack:C01GEN:1709546460.000200"
    assert review.meta["thread_ts"] == "1709546460.000200" and review.meta["reply"] is False
    replies = [o for o in general if o.meta.get("reply")]
    assert [o.text for o in replies] == ["On it :eyes:", "Approved, ship it 🚀"]
    assert all(o.meta["thread_ts"] == "1709546460.000200" for o in replies)
    texts = by_text(observations)
    assert texts["Deployed api v2.3.1 to production"].speaker == "deploybot"
    assert texts["[file: architecture.png]"].speaker == "Ana Souza"
    assert texts["@here standup moves to 10:30, details in #engineering"]
    assert texts["Hi all, I'm the new contractor"].speaker == "Zoë Guest"
    assert texts["Postgres 16 upgrade done ✅ — mail ops@acme.test if you see errors"].thread \
        == "#engineering"
    assert len(observations) == 8 and len(general) == 7
    assert imported.ignored == {"channel_join event": 1}
    (skipped,) = imported.skipped
    assert skipped.where == "slack_export:engineering/2024-03-05.json"
    assert "not valid JSON" in skipped.describe()


def test_slack_zip_with_a_top_folder(tmp_path: Path) -> None:
    archive = tmp_path / "Acme Slack export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in sorted((FIXTURES / "slack_export").rglob("*.json")):
            z.write(file, "Acme Slack export/" + file.relative_to(FIXTURES / "slack_export")
                    .as_posix())
    assert detect_format(archive) == "slack"
    from_zip, _ = load(archive)
    plain, _ = load(FIXTURES / "slack_export")
    assert [o.external_id for o in from_zip] == [o.external_id for o in plain]


def test_slack_broken_users_json_refuses_the_export(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "slack_export", tmp_path / "export")
    (tmp_path / "export" / "users.json").write_text('[{"id": "U1", "name": ')
    with pytest.raises(BadInput, match=r"users.json: not valid JSON"):
        parse_export(tmp_path / "export")
