"""Encrypted backups of the live store, and restoring one into a new data folder.

A backup is one file a person can drop into Syncthing or a cloud folder: a zip
(stored, not compressed — ciphertext does not compress) holding

- ``engram-backup.json``: format, time, schema, the database's size and SHA-256,
  and the key record (backend, Argon2id salt and parameters, the one-way check
  value — never the key), so a passphrase opens it on another machine;
- ``engram.db``: a consistent copy of the live database made by SQLite's online
  backup API, encrypted with the same cipher and the same key as the store.

No page is ever written in clear: the copy is made into an encrypted staging
database next to the target, and both the staging file and the zip are
owner-only and removed on failure.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw

from core import keys
from core.config import Paths, ensure_private_dir
from core.errors import BadInput, StoreError, UsageError, WrongPassphrase
from core.records import utcnow
from core.store import Store
from core.store.db import CIPHER_PRAGMAS, connect, translate_error

FORMAT = "engram-backup"
VERSION = 1
MANIFEST = "engram-backup.json"
DATABASE = "engram.db"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BackupInfo:
    """A backup written or restored: where, how large, when, and how it is unlocked."""

    path: Path
    db_bytes: int
    created_at: str
    key_backend: str


def backup_store(store: Store, hexkey: str, key_info: dict[str, Any], out: Path
                 ) -> BackupInfo:
    """Write an encrypted, consistent copy of ``store`` to ``out`` (replaced atomically).

    ``hexkey`` is the store's key (the copy keeps it); ``key_info`` its key record.
    An existing file at ``out`` is replaced only if it is an Engram backup.
    """
    out = out.expanduser().resolve()
    if out.is_dir():
        raise UsageError(f"{out} is a folder; give the backup's file name.")
    if out.exists() and not _is_backup(out):
        raise UsageError(f"{out} exists and is not an Engram backup; choose another name.")
    if not out.parent.is_dir():
        raise UsageError(f"The folder {out.parent} does not exist.")
    staging = out.with_name(f".{out.name}.{os.getpid()}.db")
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        _copy_database(store.reader(), staging, hexkey, store.path)
        size, digest = _digest(staging)
        created = utcnow().isoformat()
        manifest = {"format": FORMAT, "version": VERSION, "created_at": created,
                    "db_bytes": size, "sha256": digest, "key": key_info}
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED) as zf:
                zf.writestr(MANIFEST, json.dumps(manifest, indent=2))
                with staging.open("rb") as src, zf.open(DATABASE, "w", force_zip64=True) as dst:
                    while chunk := src.read(_CHUNK):
                        dst.write(chunk)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    except OSError as exc:
        if getattr(exc, "errno", None) == 28:  # ENOSPC
            raise translate_error(apsw.FullError("disk full"), out) from exc
        raise StoreError(f"Could not write the backup {out}: {exc.strerror or exc}.") from exc
    finally:
        for leftover in (partial, staging, Path(f"{staging}-journal"), Path(f"{staging}-wal"),
                         Path(f"{staging}-shm")):
            leftover.unlink(missing_ok=True)
    return BackupInfo(path=out, db_bytes=size, created_at=created,
                      key_backend=str(key_info.get("backend")))


def _copy_database(source: apsw.Connection, target: Path, hexkey: str, live: Path) -> None:
    """SQLite's online backup from ``source`` into a new encrypted file at ``target``."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    dest = apsw.Connection(str(target))
    try:
        for pragma in CIPHER_PRAGMAS:
            dest.execute(pragma)
        dest.execute(f"PRAGMA hexkey='{hexkey}'")
        dest.execute("PRAGMA temp_store=MEMORY")
        # One step: the source's read snapshot holds for the whole copy, so the copy is
        # consistent even while capture writes (WAL readers never block the writer).
        with dest.backup("main", source, "main") as job:
            job.step(-1)
        # A self-contained file: no write-ahead log beside it.
        dest.execute("PRAGMA journal_mode=DELETE").fetchall()
    except apsw.Error as exc:
        raise translate_error(exc, live) from exc
    finally:
        dest.close()


def read_manifest(path: Path) -> dict[str, Any]:
    """The backup's manifest; BadInput if ``path`` is not an Engram backup."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if MANIFEST not in names or DATABASE not in names:
                raise BadInput(f"{path} is not an Engram backup.")
            manifest = json.loads(zf.read(MANIFEST))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadInput(f"{path} is not an Engram backup (or it is damaged).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadInput(f"{path} is not an Engram backup.")
    if int(manifest.get("version", 0)) > VERSION:
        raise BadInput(f"{path} was written by a newer Engram; update Engram to restore it.")
    return manifest


def restore_backup(path: Path, paths: Paths, ask: keys.Ask | None) -> BackupInfo:
    """Put the backup at ``path`` in place as the store of ``paths`` (a new data folder).

    The backup's own key record says how to unlock it: the passphrase (asked or
    ``ENGRAM_PASSPHRASE``) is checked before anything is written; a keyring key is
    read from this machine's keyring. The database is verified with the key
    before it and its key record are put in place.
    """
    if paths.db_path.exists() or keys.key_exists(paths):
        raise UsageError(f"{paths.data_dir} already has an Engram store; restore a backup "
                         "into a new data folder.",
                         hint="Use --data-dir NEW_FOLDER, or move the current one away first.")
    manifest = read_manifest(path)
    key = keys.unlock_record(manifest.get("key"), ask, where=f"the backup {path.name}")
    ensure_private_dir(paths.data_dir)
    staging = paths.data_dir / f".{paths.db_path.name}.restoring"
    try:
        digest = hashlib.sha256()
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as dst, zipfile.ZipFile(path) as zf, zf.open(DATABASE) as src:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        if digest.hexdigest() != manifest.get("sha256"):
            raise BadInput(f"The backup {path} is damaged (its checksum does not match).")
        _verify(staging, key.sqlite_hexkey(), path)
        os.replace(staging, paths.db_path)
        try:
            keys.install_key(paths, key, manifest["key"])
        except BaseException:
            paths.db_path.unlink(missing_ok=True)
            raise
    finally:
        staging.unlink(missing_ok=True)
    return BackupInfo(path=paths.db_path, db_bytes=int(manifest.get("db_bytes", 0)),
                      created_at=str(manifest.get("created_at")), key_backend=key.backend)


def _verify(db_path: Path, hexkey: str, backup: Path) -> None:
    try:
        conn = connect(db_path, hexkey)
    except WrongPassphrase:
        raise BadInput(f"The backup {backup} does not open with its key; it is damaged.") from None
    try:
        result = conn.execute("PRAGMA quick_check").fetchall()
    finally:
        conn.close()
    if result != [("ok",)]:
        raise BadInput(f"The backup {backup} is damaged: {result[0][0]}.")


def _is_backup(path: Path) -> bool:
    try:
        read_manifest(path)
    except BadInput:
        return False
    return True


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
