"""Schema migrations: named functions, one transaction each, backup first.

A migration is recorded in ``schema_migrations`` inside its own transaction, so
a crash between two migrations leaves the first applied and recorded and the
second not started; the next open applies only what is missing. Before any
migration runs on a store that already holds data, the file is copied (still
encrypted, with the same key) into ``backups/``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import apsw

Migration = Callable[[apsw.Connection], None]
KEEP_BACKUPS = 3

_PEOPLE = "trim(coalesce({r}.speaker,'') || ' ' || coalesce({r}.thread,'') || ' ' || coalesce({r}.app,''))"


def m001_events(db: apsw.Connection) -> None:
    """Events, their images, and keyword search over them."""
    new, old = _PEOPLE.format(r="new"), _PEOPLE.format(r="old")
    db.execute(
        f"""
        CREATE TABLE events(
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL NOT NULL,
            text TEXT NOT NULL,
            app TEXT, title TEXT, url TEXT, path TEXT, thread TEXT, speaker TEXT,
            external_id TEXT,
            content_hash BLOB NOT NULL,
            meta TEXT NOT NULL DEFAULT '{{}}',
            stored_at REAL NOT NULL
        );
        CREATE UNIQUE INDEX events_external ON events(source, external_id)
            WHERE external_id IS NOT NULL;
        CREATE UNIQUE INDEX events_content ON events(source, content_hash)
            WHERE external_id IS NULL;
        CREATE INDEX events_started ON events(started_at);
        CREATE INDEX events_source_started ON events(source, started_at);
        CREATE INDEX events_app_started ON events(app, started_at) WHERE app IS NOT NULL;

        CREATE TABLE event_images(
            event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
            mime TEXT NOT NULL,
            data BLOB NOT NULL,
            full_data BLOB
        );

        -- Keyword index over a view, so snippets are read from the events table.
        CREATE VIEW events_fts_content AS
            SELECT id, coalesce(title, '') AS title, text,
                   {_PEOPLE.format(r='events')} AS people
            FROM events;
        CREATE VIRTUAL TABLE events_fts USING fts5(
            title, text, people,
            content='events_fts_content', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
            INSERT INTO events_fts(rowid, title, text, people)
            VALUES (new.id, coalesce(new.title, ''), new.text, {new});
        END;
        CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
            INSERT INTO events_fts(events_fts, rowid, title, text, people)
            VALUES ('delete', old.id, coalesce(old.title, ''), old.text, {old});
        END;
        CREATE TRIGGER events_fts_update AFTER UPDATE OF title, text, speaker, thread, app
        ON events BEGIN
            INSERT INTO events_fts(events_fts, rowid, title, text, people)
            VALUES ('delete', old.id, coalesce(old.title, ''), old.text, {old});
            INSERT INTO events_fts(rowid, title, text, people)
            VALUES (new.id, coalesce(new.title, ''), new.text, {new});
        END;
        """
    )


def m002_vector_spaces(db: apsw.Connection) -> None:
    """Vectors are derived state, keyed by the embedding model that made them."""
    db.execute(
        """
        CREATE TABLE vector_spaces(
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL UNIQUE,
            dims INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('building', 'ready')),
            created_at REAL NOT NULL
        );
        """
    )


def m003_search_index(db: apsw.Connection) -> None:
    """What fast search at a million items needs.

    ``vector_changes``: the log in-memory vector indexes catch up from (see
    ``core/store/vector_changes.py``); forgetting an event logs its id for every
    space. ``events_fts_vocab``: per-term document counts, so a search can leave
    out terms so common that ranking them costs much and tells little.
    """
    db.execute(
        """
        CREATE TABLE vector_changes(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            collection TEXT NOT NULL,
            space_id INTEGER,            -- NULL: removed from every space
            item_id INTEGER NOT NULL
        );
        CREATE TRIGGER events_vector_changes AFTER DELETE ON events BEGIN
            INSERT INTO vector_changes(collection, space_id, item_id)
            VALUES ('events', NULL, old.id);
        END;
        CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab(events_fts, 'row');
        """
    )


def m004_files(db: apsw.Connection) -> None:
    """What the folder indexer knows about each file, so a re-scan costs a stat.

    ``files``: one row per file seen in an indexed folder: its size and mtime
    when last read, whether it was indexed or skipped, and why it was skipped
    (shown by ``engram status``). The chunk identities (path + position +
    content hash) are the events' external ids; ``events_path`` finds a file's
    events (and a moved folder's) without a scan of every event.
    """
    db.execute(
        """
        CREATE TABLE files(
            path TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('indexed', 'skipped')),
            problem TEXT,
            kind TEXT,
            chunks INTEGER NOT NULL DEFAULT 0,
            checked_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX events_path ON events(path) WHERE path IS NOT NULL;
        """
    )


def m005_threads(db: apsw.Connection) -> None:
    """Conversations with Engram itself (Ask), kept inside the encrypted store."""
    db.execute(
        """
        CREATE TABLE threads(
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE thread_turns(
            id INTEGER PRIMARY KEY,
            thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            text TEXT NOT NULL,
            citations TEXT NOT NULL DEFAULT '[]',
            created_at REAL NOT NULL
        );
        CREATE INDEX thread_turns_thread ON thread_turns(thread_id, id);
        """
    )


_MEMORY_ENTITIES = "coalesce({r}.entities, '')"


def m006_memories(db: apsw.Connection) -> None:
    """Memories (core, episodic, semantic, procedural), their sources, links and history.

    ``memories``: one row per memory; ``fields`` holds the structured fields of
    its type as JSON; ``fact_key`` ("subject|attribute") finds the facts a new
    statement may confirm or supersede, ``group_key`` the episode a new event
    may continue. Strength is stored as the parameters of a forgetting curve
    (``stability`` in days, ``reinforced_at``), evaluated at read time.
    ``memory_sources`` ties a memory to the events it came from; ``event_id``
    has no foreign key on purpose: forgetting an event must find the memories
    built from it (``core/memory/forget.py``) after the event row is gone.
    ``memory_history`` records every change (snapshots before/after, sources
    added/removed) so a change can be shown and undone; ``memory_cursor`` is the
    consolidation's position in the events, advanced in the same transaction
    as the memories written from a batch, with ``memory_batches`` its ledger.
    Vector tables for spaces that already exist are created here; spaces made
    later get theirs from ``vectors.ensure_space``.
    """
    new, old = _MEMORY_ENTITIES.format(r="new"), _MEMORY_ENTITIES.format(r="old")
    db.execute(
        f"""
        CREATE TABLE memories(
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: history refers to ids
            type TEXT NOT NULL CHECK (type IN ('core', 'episodic', 'semantic', 'procedural')),
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            fields TEXT NOT NULL DEFAULT '{{}}',
            entities TEXT NOT NULL DEFAULT '',
            fact_key TEXT,
            group_key TEXT,
            importance REAL NOT NULL DEFAULT 0.5,
            stability REAL NOT NULL DEFAULT 30.0,
            reinforced_at REAL NOT NULL,
            recall_count INTEGER NOT NULL DEFAULT 0,
            evidence_count INTEGER NOT NULL DEFAULT 1,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            last_recalled REAL,
            valid_from REAL NOT NULL,
            valid_until REAL,
            started_at REAL NOT NULL,
            ended_at REAL NOT NULL,
            superseded_by INTEGER REFERENCES memories(id) ON DELETE SET NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            origin TEXT NOT NULL  -- rules, model, person
        );
        CREATE INDEX memories_type ON memories(type, updated_at);
        CREATE INDEX memories_fact ON memories(fact_key) WHERE fact_key IS NOT NULL;
        CREATE INDEX memories_group ON memories(group_key, ended_at) WHERE group_key IS NOT NULL;
        CREATE INDEX memories_superseded ON memories(superseded_by)
            WHERE superseded_by IS NOT NULL;

        CREATE TABLE memory_sources(
            memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            event_id INTEGER NOT NULL,
            PRIMARY KEY (memory_id, event_id)
        ) WITHOUT ROWID;
        CREATE INDEX memory_sources_event ON memory_sources(event_id);

        CREATE TABLE memory_links(
            a INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            b INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,  -- subject, episode, supersedes, refines, related
            PRIMARY KEY (a, b, kind),
            CHECK (a < b)
        ) WITHOUT ROWID;
        CREATE INDEX memory_links_b ON memory_links(b);

        CREATE TABLE memory_history(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            change_id INTEGER NOT NULL,      -- rows of one change share it (= first row id)
            memory_id INTEGER NOT NULL,      -- no foreign key: history outlives a delete
            action TEXT NOT NULL,
            actor TEXT NOT NULL,             -- rules, model, person, forget
            at REAL NOT NULL,
            before TEXT,                     -- JSON snapshot, NULL: did not exist
            after TEXT,                      -- JSON snapshot, NULL: does not exist
            sources_added TEXT NOT NULL DEFAULT '[]',
            sources_removed TEXT NOT NULL DEFAULT '[]',
            related_id INTEGER,
            note TEXT,
            scrubbed INTEGER NOT NULL DEFAULT 0,  -- content removed (a source was forgotten)
            undone_by INTEGER
        );
        CREATE INDEX memory_history_memory ON memory_history(memory_id, id);
        CREATE INDEX memory_history_change ON memory_history(change_id);

        CREATE TABLE memory_cursor(
            name TEXT PRIMARY KEY,
            last_event_id INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL
        );
        CREATE TABLE memory_batches(
            id INTEGER PRIMARY KEY,
            first_event_id INTEGER NOT NULL,
            last_event_id INTEGER NOT NULL,
            events INTEGER NOT NULL,
            counts TEXT NOT NULL,
            at REAL NOT NULL
        );

        CREATE VIEW memories_fts_content AS
            SELECT id, title, text, entities FROM memories;
        CREATE VIRTUAL TABLE memories_fts USING fts5(
            title, text, entities,
            content='memories_fts_content', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
            INSERT INTO memories_fts(rowid, title, text, entities)
            VALUES (new.id, new.title, new.text, {new});
        END;
        CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, title, text, entities)
            VALUES ('delete', old.id, old.title, old.text, {old});
        END;
        CREATE TRIGGER memories_fts_update AFTER UPDATE OF title, text, entities ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, title, text, entities)
            VALUES ('delete', old.id, old.title, old.text, {old});
            INSERT INTO memories_fts(rowid, title, text, entities)
            VALUES (new.id, new.title, new.text, {new});
        END;
        CREATE TRIGGER memories_vector_changes AFTER DELETE ON memories BEGIN
            INSERT INTO vector_changes(collection, space_id, item_id)
            VALUES ('memories', NULL, old.id);
        END;
        """
    )
    for space_id, dims in db.execute("SELECT id, dims FROM vector_spaces").fetchall():
        db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS vec_memories_{int(space_id)} USING vec0("
                   f"embedding float[{int(dims)}] distance_metric=cosine)")


def m007_event_id_watermark(db: apsw.Connection) -> None:
    """Event ids are never reused, even after the newest events are forgotten.

    Memories, vectors and the search index's change log refer to events by id;
    SQLite's default rowid would hand a forgotten event's id to the next one.
    """
    db.execute(
        """
        CREATE TABLE id_watermarks(name TEXT PRIMARY KEY, last_id INTEGER NOT NULL);
        INSERT INTO id_watermarks(name, last_id)
            SELECT 'events', coalesce(max(id), 0) FROM events;
        CREATE TRIGGER events_id_watermark AFTER DELETE ON events BEGIN
            UPDATE id_watermarks SET last_id = max(last_id, old.id) WHERE name = 'events';
        END;
        """
    )


_CONTEXT = ("trim(coalesce(json_extract({r}.meta, '$.context.before'), '') || ' ' || "
            "coalesce(json_extract({r}.meta, '$.context.after'), ''))")


def m008_event_context(db: apsw.Connection) -> None:
    """Keyword search also sees a chat message's neighbouring turns (low weight).

    A reply such as "They were awestruck." holds none of the words of the
    question it answers; the turns around it do. Chat importers put them in
    ``meta.context``; the keyword index gets a fourth column, ``context``.
    """
    new, old = _PEOPLE.format(r="new"), _PEOPLE.format(r="old")
    new_ctx, old_ctx = _CONTEXT.format(r="new"), _CONTEXT.format(r="old")
    db.execute(
        f"""
        DROP TABLE events_fts_vocab;
        DROP TRIGGER events_fts_insert;
        DROP TRIGGER events_fts_delete;
        DROP TRIGGER events_fts_update;
        DROP TABLE events_fts;
        DROP VIEW events_fts_content;
        CREATE VIEW events_fts_content AS
            SELECT id, coalesce(title, '') AS title, text,
                   {_PEOPLE.format(r='events')} AS people,
                   {_CONTEXT.format(r='events')} AS context
            FROM events;
        CREATE VIRTUAL TABLE events_fts USING fts5(
            title, text, people, context,
            content='events_fts_content', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
            INSERT INTO events_fts(rowid, title, text, people, context)
            VALUES (new.id, coalesce(new.title, ''), new.text, {new}, {new_ctx});
        END;
        CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
            INSERT INTO events_fts(events_fts, rowid, title, text, people, context)
            VALUES ('delete', old.id, coalesce(old.title, ''), old.text, {old}, {old_ctx});
        END;
        CREATE TRIGGER events_fts_update AFTER UPDATE OF title, text, speaker, thread, app, meta
        ON events BEGIN
            INSERT INTO events_fts(events_fts, rowid, title, text, people, context)
            VALUES ('delete', old.id, coalesce(old.title, ''), old.text, {old}, {old_ctx});
            INSERT INTO events_fts(rowid, title, text, people, context)
            VALUES (new.id, coalesce(new.title, ''), new.text, {new}, {new_ctx});
        END;
        INSERT INTO events_fts(events_fts) VALUES ('rebuild');
        CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab(events_fts, 'row');
        """
    )


_NORMALIZE_BATCH = 2000


def m009_normalize_text(db: apsw.Connection) -> None:
    """Re-normalise stored text the way the pipeline now does at its door (NFKC, with care).

    Events' text, title, speaker, thread and chat context, and memories' title,
    text, entities and fields. The keyword indexes follow through their update
    triggers (each changed row is taken out of the index and put back), so
    "misﬁts" stored before is found as "misfits" after. Paths, URLs, apps and
    external ids are identities and stay byte for byte; vectors stay (they are
    derived from nearly the same text). An event whose folded text would
    duplicate another event's content identity is left as it was: nothing is
    dropped by a migration.
    """
    import json

    from core.textnorm import normalize_text, normalize_value

    def fold(value: str | None) -> str | None:
        return normalize_text(value) if value is not None else None

    last = 0
    while True:
        rows = db.execute(
            "SELECT id, source, app, title, url, path, thread, speaker, text, meta "
            "FROM events WHERE id > ? ORDER BY id LIMIT ?", (last, _NORMALIZE_BATCH)).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        for event_id, source, app, title, url, path, thread, speaker, text, meta in rows:
            if all(v is None or v.isascii() for v in (title, thread, speaker, text, meta)):
                continue
            new = (fold(title), fold(thread), fold(speaker), normalize_text(text))
            new_meta = meta
            if meta and not meta.isascii():
                try:
                    loaded = json.loads(meta)
                except ValueError:  # a damaged row stays as it is; the store still opens
                    loaded = None
                if isinstance(loaded, dict) and "context" in loaded:
                    loaded["context"] = normalize_value(loaded["context"])
                    new_meta = json.dumps(loaded, ensure_ascii=False, default=str)
            if new == (title, thread, speaker, text) and new_meta == meta:
                continue
            db.execute(
                "UPDATE OR IGNORE events SET title = ?, thread = ?, speaker = ?, text = ?, "
                "meta = ?, content_hash = ? WHERE id = ?",
                (*new, new_meta, _content_hash(source, app, new[0], url, path, new[1], new[2],
                                               new[3]), event_id))
    if not db.execute("SELECT 1 FROM sqlite_schema WHERE name = 'memories'").fetchall():
        return  # a store migrated in another order: no memories to fold
    for memory_id, title, text, entities, fields in db.execute(
            "SELECT id, title, text, entities, fields FROM memories").fetchall():
        if all(v.isascii() for v in (title, text, entities, fields)):
            continue
        new_fields = json.dumps(normalize_value(json.loads(fields)), ensure_ascii=False)
        db.execute("UPDATE memories SET title = ?, text = ?, entities = ?, fields = ? "
                   "WHERE id = ?", (normalize_text(title), normalize_text(text),
                                    normalize_text(entities), new_fields, memory_id))


def _content_hash(*parts: str | None) -> bytes:
    """``Observation.content_hash`` over stored columns (same parts, same order)."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update((part or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.digest()


MIGRATIONS: tuple[Migration, ...] = (m001_events, m002_vector_spaces, m003_search_index,
                                      m004_files, m005_threads, m006_memories,
                                      m007_event_id_watermark, m008_event_context,
                                      m009_normalize_text)


def applied(db: apsw.Connection) -> set[str]:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations("
        "name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    return {row[0] for row in db.execute("SELECT name FROM schema_migrations")}


def pending(db: apsw.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    done = applied(db)
    return [m for m in migrations if m.__name__ not in done]


def backup(db: apsw.Connection, hexkey: str, db_path: Path, backups_dir: Path, label: str) -> Path:
    """Copy the live database into ``backups_dir``, encrypted with the same key."""
    from core.config import ensure_private_dir
    from core.store.db import CIPHER_PRAGMAS

    ensure_private_dir(backups_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = backups_dir / f"{db_path.stem}-{stamp}-before-{label}.db"
    dest = apsw.Connection(str(target))
    try:
        for pragma in CIPHER_PRAGMAS:
            dest.execute(pragma)
        dest.execute(f"PRAGMA hexkey='{hexkey}'")
        with dest.backup("main", db, "main") as job:
            job.step(-1)
    finally:
        dest.close()
    target.chmod(0o600)
    old = sorted(backups_dir.glob(f"{db_path.stem}-*-before-*.db"))
    for stale in old[:-KEEP_BACKUPS]:
        stale.unlink(missing_ok=True)
    return target


def migrate(
    db: apsw.Connection,
    *,
    hexkey: str,
    db_path: Path,
    backups_dir: Path,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[str]:
    """Apply pending migrations in order; return the names applied."""
    todo = pending(db, migrations)
    if not todo:
        return []
    has_data = db.execute(
        "SELECT count(*) FROM sqlite_schema "
        "WHERE name != 'schema_migrations' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()[0][0] > 0
    if has_data:
        backup(db, hexkey, db_path, backups_dir, todo[0].__name__)
    names = []
    for migration in todo:
        with db:  # one transaction: the schema change and its record together
            migration(db)
            db.execute(
                "INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)",
                (migration.__name__, time.time()),
            )
        names.append(migration.__name__)
    return names
