"""NFKC at the pipeline's door: what is folded, what is kept, and the migration of old stores."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.records import Observation, utcnow
from core.store import Store
from core.store import db as store_db
from core.store import migrations
from core.textnorm import normalize_text


@pytest.mark.parametrize("raw, folded", [
    ("misﬁts and efﬁcient", "misfits and efficient"),   # ligatures
    ("ＡＰＩ ｋｅｙ ２０２４", "API key 2024"),              # full-width letters and digits
    ("ﻻ ﺍﻟﻌﺮﺑﻴﺔ", "لا العربية"),                          # Arabic presentation forms
    ("ｶﾀｶﾅ", "カタカナ"),                                  # half-width katakana
    ("𝐛𝐨𝐥𝐝 ℍ", "bold H"),                                 # mathematical letters
    ("５０ ㎞", "50 km"),
    ("a\u00a0b", "a b"),                                   # no-break space
])
def test_compatibility_characters_are_folded(raw: str, folded: str) -> None:
    assert normalize_text(raw) == folded
    assert normalize_text(folded) == folded  # idempotent


@pytest.mark.parametrize("kept", [
    "10⁶ m² and H₂O",          # super/subscripts carry meaning: not 106, m2
    "1½ cups, ¾ full",          # fractions: not 11⁄2
    "don´t ¨ ¸",                # spacing accents: NFKC would insert a space
    "ㅋㅋㅋ ㄱㄴ",               # Hangul compatibility jamo render on their own
    "日本語（にほんご）、です！",   # full-width CJK punctuation stays
])
def test_what_nfkc_must_not_change_is_kept(kept: str) -> None:
    assert normalize_text(kept) == kept


def test_canonical_forms_are_composed() -> None:
    assert normalize_text("cafe\u0301 ﬁ") == "café fi"


def test_pipeline_folds_text_before_storing_and_search_finds_the_plain_word(engine) -> None:
    engine.pipeline.submit([Observation("note", utcnow(), "The misﬁts were efﬁcient at ＡＰＩ design",
                                        title="Notes on misﬁts")])
    hit = engine.retriever.search("misfits")[0]
    assert hit.text == "The misfits were efficient at API design"
    # A query typed with the ligature (pasted from a PDF) finds it too.
    assert engine.retriever.search("efﬁcient")[0].text == hit.text
    db = engine.store.reader()
    assert db.execute("SELECT title FROM events").fetchall() == [("Notes on misfits",)]


def test_pipeline_keeps_identifiers_byte_for_byte(engine) -> None:
    obs = Observation("file", utcnow(), "ﬁle contents", path="/tmp/ﬁle.txt",
                      external_id="file:/tmp/ﬁle.txt#0:x", url="https://ex.ample/ﬁ")
    engine.pipeline.submit([obs])
    row = engine.store.reader().execute("SELECT text, path, external_id, url FROM events").fetchall()
    assert row == [("file contents", "/tmp/ﬁle.txt", "file:/tmp/ﬁle.txt#0:x",
                    "https://ex.ample/ﬁ")]


def test_migration_renormalises_an_old_store_with_a_backup_first(tmp_path: Path) -> None:
    path, key, backups = tmp_path / "old.db", os.urandom(32).hex(), tmp_path / "backups"
    before = migrations.MIGRATIONS[:migrations.MIGRATIONS.index(migrations.m009_normalize_text)]
    conn = store_db.connect(path, key, writer=True)
    migrations.migrate(conn, hexkey=key, db_path=path, backups_dir=backups, migrations=before)
    with conn:  # rows as an older Engram stored them: ligatures as-is
        for n, (text, ext) in enumerate([("misﬁts in the ﬁeld", "file:/a.pdf#0:h"),
                                         ("plain ascii", None),
                                         ("the misﬁts", None), ("the misfits", None)]):
            conn.execute(
                "INSERT INTO events(id, source, started_at, ended_at, text, title, external_id, "
                "content_hash, meta, stored_at) VALUES (?, 'note', 0, 0, ?, ?, ?, ?, ?, 0)",
                (n + 1, text, "ﬁle title" if n < 2 else None, ext,
                 migrations._content_hash("note", None, None, None, None, None, None, text),
                 json.dumps({"context": {"before": "efﬁcient"}}, ensure_ascii=False)))
        conn.execute("INSERT INTO memories(id, type, title, text, fields, entities, "
                     "reinforced_at, created_at, updated_at, valid_from, started_at, ended_at, "
                     "origin) VALUES (1, 'semantic', 'ﬁsh', 'Ana likes ﬁsh', ?, 'Ana', 0, 0, 0, "
                     "0, 0, 0, 'rules')", (json.dumps({"object": "ﬁsh"}, ensure_ascii=False),))
    conn.close()

    store = Store(path, key, backups_dir=backups)
    assert "m009_normalize_text" in store.applied_migrations
    assert list(backups.glob("old-*-before-m009_normalize_text.db"))
    db = store.reader()
    texts = dict(db.execute("SELECT id, text FROM events").fetchall())
    assert texts[1] == "misfits in the field"
    found = {r[0] for r in db.execute(
        "SELECT rowid FROM events_fts WHERE events_fts MATCH 'misfits'")}
    assert 1 in found
    assert 1 not in {r[0] for r in db.execute(
        "SELECT rowid FROM events_fts WHERE events_fts MATCH 'misﬁts'")}
    # Chat context (its own keyword column) is folded too.
    assert {r[0] for r in db.execute(
        "SELECT rowid FROM events_fts WHERE events_fts MATCH 'context:efficient'")} >= {1, 2}
    # Folding "the misﬁts" would duplicate the note "the misfits": it is kept as it was.
    assert texts[3] == "the misﬁts" and texts[4] == "the misfits"
    memory = db.execute("SELECT title, text, fields FROM memories").fetchall()[0]
    assert memory[:2] == ("fish", "Ana likes fish") and json.loads(memory[2]) == {"object": "fish"}
    assert {r[0] for r in db.execute(
        "SELECT rowid FROM memories_fts WHERE memories_fts MATCH 'fish'")} == {1}
    store.close()
