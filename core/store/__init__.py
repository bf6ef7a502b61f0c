"""The encrypted store (SQLite3 Multiple Ciphers + sqlite-vec + FTS5)."""
from core.store.store import Store, rekey

__all__ = ["Store", "rekey"]
