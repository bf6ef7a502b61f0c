"""Opening the encrypted database: key first, then settings, then sqlite-vec.

The whole file is encrypted by SQLite3 Multiple Ciphers (ChaCha20-Poly1305).
Engram's key is 256 random bits (keyring) or Argon2id output (passphrase), so
the cipher's own PBKDF2 stretching (64k iterations, 0.1 s per connection) adds
no security; ``kdf_iter=1`` keeps opening a reader connection sub-millisecond.
Every connection must use the same cipher settings, so they live only here.
"""
from __future__ import annotations

import os
from pathlib import Path

import apsw
import sqlite_vec

from core.errors import StoreError, WrongPassphrase
from core.store.reserve import disk_full, is_full_oserror, nearly_full

CIPHER_PRAGMAS = ("PRAGMA cipher='chacha20'", "PRAGMA kdf_iter=1")
# A large page cache: every page read from disk is also decrypted (PLATFORM-NOTES).
CACHE_KIB = 128 * 1024
# ...but every thread has its own connection, and each kept up to CACHE_KIB after
# one big read: the desktop app on a 1M-item store sat at 840 MB idle
# (bench_footprint). A soft limit on SQLite's heap for the whole process makes
# the connections' caches give back pages (least recently used first) instead:
# 160 MB → 493 MB idle, 96 → 412, 64 → 373, search p95 within the noise.
SOFT_HEAP_BYTES = 64 * 1024 * 1024
# Under that limit a connection's cache stops growing but keeps what it holds, so
# the first readers to fill up starved the rest: at 1M items the keyword search's
# connection read through a 0.5 MB cache (1400 misses a search, 8 ms) beside two
# holding 37 and 28 MB. A fair share per reader instead (bench_footprint, 1M items,
# load 17: keyword list 8 → 3.7 ms, memory search 4 → 2.9 ms, hybrid p50 140 → 93 ms;
# 100k: unchanged). The writer keeps the large cache for imports and merges.
READER_CACHE_KIB = 16 * 1024


def connect(path: Path, hexkey: str, *, writer: bool = False) -> apsw.Connection:
    """Open ``path`` with the key; raise WrongPassphrase if the key doesn't fit.

    Readers are ``query_only``; the one writer sets WAL mode. Temp tables,
    sorts and indices stay in memory (``temp_store=MEMORY``): SQLite's temp
    files are not covered by the cipher and would hold plaintext. On a full
    disk (opening a WAL store creates its shared-memory file) the error is
    ``DiskFull`` with the free space, not SQLite's "disk I/O error".
    """
    if apsw.soft_heap_limit(-1) == 0:
        apsw.soft_heap_limit(SOFT_HEAP_BYTES)
    try:
        return _connect(path, hexkey, writer=writer)
    except (apsw.Error, StoreError, OSError) as exc:
        if (isinstance(exc, apsw.FullError) or is_full_oserror(exc)
                or (not isinstance(exc, apsw.NotADBError) and nearly_full(path.parent))):
            raise disk_full(path.parent) from exc
        raise


def _connect(path: Path, hexkey: str, *, writer: bool) -> apsw.Connection:
    existed = path.exists() and path.stat().st_size > 0
    try:
        conn = apsw.Connection(str(path))
    except apsw.CantOpenError as exc:
        raise StoreError(f"Cannot open the database at {path}.") from exc
    try:
        _setup(conn, path, hexkey, writer=writer, existed=existed)
    except BaseException:
        conn.close()
        raise
    return conn


def _setup(conn: apsw.Connection, path: Path, hexkey: str, *, writer: bool,
           existed: bool) -> None:
    try:
        for pragma in CIPHER_PRAGMAS:
            conn.execute(pragma)
        conn.execute(f"PRAGMA hexkey='{hexkey}'")
        conn.setbusytimeout(15_000)
        # The first real read proves the key; nothing is written before it.
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    except apsw.NotADBError as exc:
        if existed:
            raise WrongPassphrase(
                "The passphrase or key does not open this Engram store; nothing was changed.",
                hint=f"Store: {path}",
            ) from exc
        raise StoreError(f"{path} is not an Engram database.") from exc
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB if writer else READER_CACHE_KIB}")
    conn.execute("PRAGMA foreign_keys=ON")
    # Freed pages are overwritten, so forgotten content doesn't linger in the file.
    conn.execute("PRAGMA secure_delete=ON")
    if writer:
        if not existed:
            # Space freed by forgetting can be given back to the disk (retention);
            # only settable before the first table is created.
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchall()[0][0]
        if str(mode).lower() != "wal":
            raise StoreError(f"Could not switch {path} to WAL mode (got {mode}).")
        conn.execute("PRAGMA synchronous=NORMAL")
        # When the log starts over it is cut back to this, not left at its peak (an
        # import, a large forget); steady capture stays below it (checkpoints every 4 MB).
        conn.execute(f"PRAGMA journal_size_limit={16 * 1024 * 1024}")
    else:
        conn.execute("PRAGMA query_only=ON")
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.enable_load_extension(False)
    if os.name == "posix" and not existed and writer:
        os.chmod(path, 0o600)


def translate_error(exc: BaseException, path: Path) -> BaseException:
    """Turn low-level SQLite errors into errors a person can act on."""
    if isinstance(exc, apsw.FullError) or is_full_oserror(exc) or (
            isinstance(exc, apsw.IOError) and nearly_full(path.parent)):
        return disk_full(path.parent)
    if isinstance(exc, apsw.ReadOnlyError):
        return StoreError(f"The Engram store {path} is read-only.")
    if isinstance(exc, apsw.CorruptError):
        return StoreError(
            f"The Engram store {path} is damaged.",
            hint=f"Backups taken before upgrades are in {path.parent / 'backups'}.",
        )
    return exc
