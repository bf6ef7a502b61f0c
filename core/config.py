"""Where Engram keeps things, and the person's settings.

The data directory is the platform's user data dir, overridden by ``ENGRAM_HOME``
or ``--data-dir``; it is created owner-only (0700). Models live in
``<data dir>/models`` unless ``ENGRAM_MODELS`` points elsewhere (tests share one
models folder between many throwaway data dirs).

Settings are a small JSON file of preferences (never captured content). Defaults
come from ``resources/default_settings.json``; the file holds only what the
person changed.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from core.errors import BadInput, StoreError

APP_NAME = "engram"
DB_FILENAME = "engram.db"
SETTINGS_FILENAME = "settings.json"


def default_data_dir() -> Path:
    env = os.environ.get("ENGRAM_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it owner-only."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix":
            os.chmod(path, 0o700)
    except PermissionError as exc:
        raise StoreError(f"Cannot create the data folder {path}: permission denied.") from exc
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to ``path`` with owner-only permissions."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _load_defaults() -> dict[str, Any]:
    text = resources.files("resources").joinpath("default_settings.json").read_text("utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    models_dir: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def settings_path(self) -> Path:
        return self.data_dir / SETTINGS_FILENAME

    @property
    def key_info_path(self) -> Path:
        return self.data_dir / "key.json"

    @property
    def runtime_dir(self) -> Path:
        """Sockets and lock files of the running instance."""
        return self.data_dir / "run"


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> Paths:
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    root = root.resolve()
    models_env = os.environ.get("ENGRAM_MODELS")
    models = Path(models_env).expanduser().resolve() if models_env else root / "models"
    return Paths(data_dir=root, models_dir=models)


class Settings:
    """The person's preferences: defaults overlaid with what they changed.

    Thread-safe; every ``set`` writes the file atomically.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._defaults = _load_defaults()
        self._changed: dict[str, Any] = {}
        if path.exists():
            try:
                self._changed = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise BadInput(
                    f"The settings file {path} is not readable JSON.",
                    hint="Fix or delete it; Engram recreates it with defaults.",
                ) from exc

    def reload(self) -> None:
        """Re-read the file: a long-running process sees what the CLI changed since.

        Under the lock, so a ``set`` in this process can't be overwritten by a
        read of the file from just before it."""
        with self._lock:
            try:
                changed = json.loads(self._path.read_text("utf-8")) if self._path.exists() else {}
            except (OSError, ValueError):
                return  # keep what we had; the next successful read wins
            if isinstance(changed, dict):
                self._changed = changed

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            if key in self._changed:
                return self._changed[key]
            return self._defaults.get(key, default)

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._changed[key] = value
            ensure_private_dir(self._path.parent)
            write_private_file(self._path, json.dumps(self._changed, indent=2).encode())

    def changed(self) -> dict[str, Any]:
        """Only what the person changed (what export carries and restore puts back)."""
        with self._lock:
            return json.loads(json.dumps(self._changed))

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {**self._defaults, **self._changed}
