"""User-facing errors: one small hierarchy, presented at one boundary (CLI or dialog).

Expected outcomes ("already stored", "no model yet") are values, not exceptions.
Every error carries a message a person can act on; ``exit_code`` is what the CLI
returns for it.
"""
from __future__ import annotations


class EngramError(Exception):
    """Base of every error a person can cause or fix."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UsageError(EngramError):
    """A command was called with arguments that cannot work."""

    exit_code = 2


class BadInput(EngramError):
    """A file, export or value that Engram cannot read."""

    exit_code = 2


class NotFound(EngramError):
    """The thing asked for (an id, a model, a folder) does not exist."""

    exit_code = 3


class KeyUnavailable(EngramError):
    """No way to obtain the database key (no secure keyring and no passphrase)."""

    exit_code = 2


class WrongPassphrase(EngramError):
    """The passphrase (or key) does not open the database. Nothing was modified."""

    exit_code = 2


class StoreError(EngramError):
    """The store cannot be opened or written (corrupt, locked, disk full)."""

    exit_code = 4


class DiskFull(StoreError):
    """The disk is full; what was stored before is intact."""


class ModelError(EngramError):
    """A model file is missing, invalid, or failed to load or generate."""

    exit_code = 5


class NetworkError(EngramError):
    """A download the person asked for could not reach its server."""

    exit_code = 6


class Cancelled(EngramError):
    """Long work stopped because the person asked it to."""

    exit_code = 130
