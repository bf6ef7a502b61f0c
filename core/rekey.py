"""Changing the passphrase: re-encrypt the store (and its backups) under a new key.

One function for `engram passphrase` and Settings › Data alike. The store must
be closed (no open connections) while it runs.
"""
from __future__ import annotations

from dataclasses import dataclass

from core import keys
from core.config import Paths
from core.errors import EngramError
from core.store import rekey


@dataclass(frozen=True)
class RekeyResult:
    """What changing the passphrase did besides the store itself."""

    backups_rekeyed: tuple[str, ...] = ()
    backups_removed: tuple[str, ...] = ()  # could not be re-encrypted: deleted, never left old


def change_passphrase(paths: Paths, old_key: keys.DatabaseKey, new_passphrase: str
                      ) -> RekeyResult:
    """Re-encrypt the closed store at ``paths`` with a key from ``new_passphrase``.

    The new key record is written only after the store is re-encrypted; backups
    taken before upgrades are re-encrypted too, and one that cannot be is
    deleted (it would still open with the old secret).
    """
    new, commit = keys.new_passphrase_key(paths, new_passphrase)
    rekey(paths.db_path, old_key.sqlite_hexkey(), new.sqlite_hexkey())
    commit()
    done: list[str] = []
    removed: list[str] = []
    for backup in sorted(paths.backups_dir.glob("*.db")):
        try:
            rekey(backup, old_key.sqlite_hexkey(), new.sqlite_hexkey())
            done.append(backup.name)
        except EngramError:
            backup.unlink()
            removed.append(backup.name)
    return RekeyResult(tuple(done), tuple(removed))


__all__ = ["RekeyResult", "change_passphrase"]
