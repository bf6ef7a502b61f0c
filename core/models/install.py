"""Changing what is installed: pull, import (add), use, remove.

Every operation leaves the models folder in one of two states — the model is
there, complete and verified, or it is not — and records it in the manifest
that ``catalog.installed_models`` reads. Disk space is checked before the first
byte is written.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.config import Paths, Settings
from core.errors import BadInput, DiskFull, ModelError, NotFound, UsageError
from core.models.catalog import (
    BUILTIN_EMBEDDING_NAME, PARTIAL_DIR, ROLE_SETTING, ROLES, InstalledModel, builtin_path,
    find_entry, find_installed, format_size, load_catalog, partial_path, read_manifest,
    write_manifest,
)
from core.models.download import Download, fetch
from core.progress import Cancel, Progress, ProgressFn
from core.models.gguf_file import GGUFInfo, read_gguf


def _register(paths: Paths, name: str, role: str, file: Path, info: GGUFInfo, sha256: str,
              source: str) -> InstalledModel:
    models = read_manifest(paths)
    models[name] = {
        "name": name, "role": role, "file": file.name, "sha256": sha256, "source": source,
        "architecture": info.architecture, "context_length": info.context_length,
        "quantization": info.quantization, "has_chat_template": info.chat_template is not None,
        "model_name": info.name, "parameters": info.parameter_count,
        "added_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_manifest(paths, models)
    found = find_installed(paths, name)
    assert found is not None
    return found


def _use_if_unset(settings: Settings, model: InstalledModel) -> bool:
    key = ROLE_SETTING[model.role]
    if model.role == "chat" and not settings.get(key):
        settings.set(key, model.name)
        return True
    return False


# -- pull ------------------------------------------------------------------------------------
def pull(paths: Paths, settings: Settings, name: str, *, progress: ProgressFn | None = None,
         cancel: Cancel | None = None, url: str | None = None) -> tuple[InstalledModel, bool]:
    """Download catalog model ``name`` (resuming), verify, install; (model, now_in_use).

    ``url`` overrides the download location (a mirror); the catalog checksum
    still decides. Raises NotFound, NetworkError, ModelError, Cancelled.
    """
    entry = find_entry(name)
    if entry is None:
        names = ", ".join(e.name for e in load_catalog() if not e.builtin)
        raise NotFound(f"'{name}' is not in the model catalog.",
                       hint=f"Available: {names}. A local .gguf can be imported with "
                            "`engram models add FILE`.")
    if entry.builtin:
        raise UsageError(f"{entry.name} is built in: it is generated at install time, "
                         "not downloaded.")
    existing = find_installed(paths, entry.name)
    if existing is not None:
        return existing, False
    if not (entry.url or url) or not entry.sha256 or not entry.filename:
        raise ModelError(f"{entry.name} has no verified checksum in the catalog, so Engram "
                         "will not download it.",
                         hint="Download it yourself and import it with `engram models add FILE`.")
    part = partial_path(paths, entry)
    assert part is not None
    dest = paths.models_dir / entry.filename
    d = Download(url=url or entry.url or "", sha256=entry.sha256, size=entry.size_bytes,
                 label=entry.name)
    if entry.size_bytes:
        have = part.stat().st_size if part.exists() else 0
        _check_space(paths.models_dir, entry.size_bytes - have)
    try:
        fetch(d, part, dest, progress=progress, cancel=cancel, validate=read_gguf)
    finally:
        _remove_if_empty(part.parent)
    info = read_gguf(dest)
    model = _register(paths, entry.name, entry.role, dest, info, entry.sha256, "catalog")
    return model, _use_if_unset(settings, model)


# -- add (import a local file) ------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.") or "model"


def add_local(paths: Paths, settings: Settings, source: str | Path, *, role: str | None = None,
              name: str | None = None, progress: ProgressFn | None = None,
              check_loads: Callable[[Path], None] | None = None) -> tuple[InstalledModel, bool]:
    """Validate and copy a local GGUF into the models folder; (model, now_in_use).

    The file is *copied* (with its SHA-256 computed on the way), never moved or
    hard-linked: the person's original stays theirs, and a copy works across
    disks. Raises BadInput for a missing, non-GGUF or truncated file.
    """
    src = Path(source).expanduser()
    info = read_gguf(src)  # BadInput: not GGUF / truncated / unreadable
    role = role or info.default_role
    if role not in ROLES:
        raise UsageError(f"Unknown role {role!r}; use one of: {', '.join(ROLES)}.")
    if role == "chat" and info.is_embedding_model:
        raise BadInput(f"{src.name} is an embedding model ({info.architecture}); "
                       "it cannot be the chat model. Use --role embedding.")
    if role == "embedding" and not info.is_embedding_model:
        raise BadInput(f"{src.name} is a text-generation model ({info.architecture}), "
                       "not an embedding model. Use --role chat.")
    if check_loads is not None:
        check_loads(src)
    name = _slug(name or src.stem)
    entry = find_entry(name)
    if entry is not None and entry.builtin:
        raise UsageError(f"'{name}' is the built-in model's name; pass --name to choose another.")
    if find_installed(paths, name) is not None:
        raise UsageError(f"A model named '{name}' is already installed.",
                         hint="Pass --name to import it under another name, or remove the "
                              f"old one with `engram models remove {name}`.")
    dest = paths.models_dir / src.name
    if dest.exists() or dest == builtin_path(paths):  # never take the built-in model's file
        dest = paths.models_dir / f"{name}-{src.name}"
    tmp = paths.models_dir / PARTIAL_DIR / f"{dest.name}.import"
    _check_space(paths.models_dir, info.file_size)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    total, done = info.file_size, 0
    try:
        with src.open("rb") as fin, tmp.open("wb") as fout:
            while chunk := fin.read(1 << 20):
                fout.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(Progress(done, total, src.name))
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        raise BadInput(f"Could not copy {src} into {paths.models_dir}: "
                       f"{exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
        _remove_if_empty(tmp.parent)
    model = _register(paths, name, role, dest, info, digest.hexdigest(), "import")
    return model, _use_if_unset(settings, model)


# -- use / remove ---------------------------------------------------------------------------
def use(paths: Paths, settings: Settings, name: str, role: str) -> InstalledModel:
    """Make installed model ``name`` the one used for ``role``."""
    if role not in ROLES:
        raise UsageError(f"Unknown role {role!r}; use one of: {', '.join(ROLES)}.")
    model = find_installed(paths, name)
    if model is None:
        hint = (f"Download it first: `engram models pull {name.lower()}`."
                if find_entry(name) else "See `engram models list` for installed models.")
        raise NotFound(f"No installed model is named '{name}'.", hint=hint)
    if model.role != role:
        raise BadInput(f"{model.name} is a {model.role} model and cannot be used for {role}.")
    settings.set(ROLE_SETTING[role], model.name)
    return model


@dataclass(frozen=True)
class Removed:
    """What ``remove`` deleted."""

    name: str
    model: InstalledModel | None  # None when only a partial download was there
    partial_bytes: int
    roles_cleared: tuple[str, ...]  # roles that used it: now none (chat) or the built-in


def remove(paths: Paths, settings: Settings, name: str) -> Removed:
    """Delete an installed model's file and manifest entry, and any partial download."""
    model = find_installed(paths, name)
    entry = find_entry(name)
    if (model is not None and model.source == "builtin") or (entry is not None and entry.builtin):
        raise UsageError(f"{name} is built in and cannot be removed.")
    part = partial_path(paths, entry) if entry else None
    partial = part.stat().st_size if part is not None and part.exists() else 0
    if model is None:
        if part is not None and partial:
            part.unlink()
            return Removed(name.lower(), None, partial, ())
        raise NotFound(f"No installed model is named '{name}'.",
                       hint="See `engram models list`.")
    cleared: list[str] = []
    for role, key in ROLE_SETTING.items():
        if settings.get(key) == model.name:
            settings.set(key, BUILTIN_EMBEDDING_NAME if role == "embedding" else None)
            cleared.append(role)
    models = read_manifest(paths)
    models.pop(model.name, None)
    write_manifest(paths, models)
    model.path.unlink(missing_ok=True)
    if part is not None:
        part.unlink(missing_ok=True)
    return Removed(model.name, model, partial, tuple(cleared))


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only succeeds when nothing resumable is left in it
    except OSError:
        pass


def _check_space(folder: Path, needed: int) -> None:
    """Refuse before writing a byte when the disk cannot hold the model."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed + (64 << 20) > free:  # keep a little room for everything else
        raise DiskFull(f"Not enough disk space in {folder}: the model needs "
                       f"{format_size(needed)}, {format_size(free)} is free.")
