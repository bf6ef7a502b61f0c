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


MIGRATIONS: tuple[Migration, ...] = (m001_events, m002_vector_spaces, m003_search_index)


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
