"""Which models exist, which are installed, which is in use — and getting new ones.

* The **catalog** (``resources/models_catalog.json``) lists recommended GGUF
  models with size, licence, a URL pinned to a repository revision, and the
  SHA-256 that a download must match. ``ENGRAM_MODEL_CATALOG`` may point at
  another catalog file (a mirror, or tests); its entries replace built-in ones
  of the same name. An entry without a checksum cannot be pulled.
* **Installed** models live in ``paths.models_dir`` with a small manifest
  (``models.json``: name, role, file, checksum, where it came from, metadata).
  Downloads in progress live in ``models_dir/.partial`` and never count as
  installed. The built-in embedding model is generated at install time
  (``core.models.minilm_gguf``) and is never downloaded.
* **In use** per role is a setting: ``chat_model`` / ``embedding_model``.

Models are not personal data: nothing here touches the encrypted store.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from core.config import Paths, Settings, write_private_file
from core.errors import BadInput, DiskFull, ModelError, NotFound, UsageError
from core.models.download import Download, Progress, fetch
from core.models.generation import CancelToken
from core.models.gguf_file import GGUFInfo, read_gguf

ROLES = ("chat", "embedding")
MANIFEST = "models.json"
PARTIAL_DIR = ".partial"
ROLE_SETTING = {"chat": "chat_model", "embedding": "embedding_model"}
BUILTIN_EMBEDDING_NAME = "all-minilm-l6-v2"  # same as core.models.minilm_gguf
DEFAULT_PULL = "qwen2.5-1.5b-instruct"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    role: str
    description: str
    params: str
    quantization: str
    filename: str | None
    size_bytes: int | None
    sha256: str | None
    url: str | None
    license: str
    license_url: str
    context_length: int
    ram_gb: float
    recommended: bool = False
    builtin: bool = False


@dataclass(frozen=True)
class InstalledModel:
    name: str
    role: str
    path: Path
    size_bytes: int
    sha256: str | None
    source: str  # "catalog", "import" or "builtin"
    architecture: str | None
    context_length: int | None
    quantization: str | None
    has_chat_template: bool
    added_at: str | None = None


@dataclass(frozen=True)
class ModelRow:
    """One line of `engram models list`: catalog and installed models merged."""

    name: str
    role: str
    title: str
    size_bytes: int | None
    license: str | None
    installed: bool
    in_use: bool
    recommended: bool
    source: str
    path: str | None
    partial_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- catalog ---------------------------------------------------------------------------
def load_catalog() -> tuple[CatalogEntry, ...]:
    """The built-in catalog, overlaid with ``ENGRAM_MODEL_CATALOG`` if set."""
    data = json.loads(resources.files("resources").joinpath("models_catalog.json")
                      .read_text("utf-8"))
    entries = {e["name"]: e for e in data["models"]}
    extra = os.environ.get("ENGRAM_MODEL_CATALOG")
    if extra:
        try:
            for e in json.loads(Path(extra).read_text("utf-8"))["models"]:
                entries[e["name"]] = e
        except (OSError, ValueError, KeyError) as exc:
            raise BadInput(f"ENGRAM_MODEL_CATALOG={extra} is not a readable model catalog: {exc}")
    fields = CatalogEntry.__dataclass_fields__
    return tuple(CatalogEntry(**{k: v for k, v in e.items() if k in fields})
                 for e in entries.values())


def find_entry(name: str) -> CatalogEntry | None:
    return next((e for e in load_catalog() if e.name == name.lower()), None)


# -- manifest -----------------------------------------------------------------------------
def _manifest_path(paths: Paths) -> Path:
    return paths.models_dir / MANIFEST


def _read_manifest(paths: Paths) -> dict[str, dict[str, Any]]:
    p = _manifest_path(paths)
    if not p.exists():
        return {}
    try:
        return {m["name"]: m for m in json.loads(p.read_text("utf-8"))["models"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"The model list {p} is damaged ({exc}).",
                       hint="Delete it and re-add your models with `engram models add`.") from exc


def _write_manifest(paths: Paths, models: dict[str, dict[str, Any]]) -> None:
    paths.models_dir.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "models": sorted(models.values(), key=lambda m: m["name"])}
    write_private_file(_manifest_path(paths), json.dumps(body, indent=2).encode())


def _builtin_path(paths: Paths) -> Path | None:
    """Where the generated MiniLM file lives (None if the generator isn't available)."""
    try:
        from core.models import minilm_gguf

        return Path(minilm_gguf.builtin_gguf_path(paths.models_dir))
    except (ImportError, AttributeError):
        return None


def _builtin_embedding(paths: Paths, registered: set[str]) -> InstalledModel | None:
    """The generated MiniLM file, if the installer (or first start) has made it."""
    path = _builtin_path(paths)
    if path is None and paths.models_dir.is_dir():  # generator missing: recognise by name
        path = next((p for p in sorted(paths.models_dir.glob("*minilm*.gguf"))
                     if p.name not in registered), None)
    if path is None or not path.is_file() or path.name in registered:
        return None
    return InstalledModel(BUILTIN_EMBEDDING_NAME, "embedding", path, path.stat().st_size, None,
                          "builtin", "bert", 512, None, False)


def installed_models(paths: Paths) -> list[InstalledModel]:
    """Models whose files are present (manifest entries with a missing file are skipped)."""
    out: list[InstalledModel] = []
    manifest = _read_manifest(paths)
    for m in manifest.values():
        path = paths.models_dir / m["file"]
        if path.is_file():
            out.append(InstalledModel(
                name=m["name"], role=m["role"], path=path, size_bytes=path.stat().st_size,
                sha256=m.get("sha256"), source=m.get("source", "import"),
                architecture=m.get("architecture"), context_length=m.get("context_length"),
                quantization=m.get("quantization"),
                has_chat_template=bool(m.get("has_chat_template")), added_at=m.get("added_at")))
    builtin = _builtin_embedding(paths, {m["file"] for m in manifest.values()})
    if builtin is not None and all(m.name != builtin.name for m in out):
        out.append(builtin)
    return out


def find_installed(paths: Paths, name: str) -> InstalledModel | None:
    return next((m for m in installed_models(paths) if m.name == name.lower()), None)


def _register(paths: Paths, name: str, role: str, file: Path, info: GGUFInfo, sha256: str,
              source: str) -> InstalledModel:
    models = _read_manifest(paths)
    models[name] = {
        "name": name, "role": role, "file": file.name, "sha256": sha256, "source": source,
        "architecture": info.architecture, "context_length": info.context_length,
        "quantization": info.quantization, "has_chat_template": info.chat_template is not None,
        "model_name": info.name, "parameters": info.parameter_count,
        "added_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_manifest(paths, models)
    found = find_installed(paths, name)
    assert found is not None
    return found


def _use_if_unset(settings: Settings, model: InstalledModel) -> bool:
    key = ROLE_SETTING[model.role]
    if model.role == "chat" and not settings.get(key):
        settings.set(key, model.name)
        return True
    return False


# -- roles and the no-model mode -------------------------------------------------------------
def model_for_role(paths: Paths, settings: Settings, role: str) -> InstalledModel:
    """The installed model in use for ``role``; ``ModelError`` saying what to do if none."""
    ok, message = _role_status(paths, settings, role)
    if not ok:
        raise ModelError(message)
    model = find_installed(paths, str(settings.get(ROLE_SETTING[role])))
    assert model is not None
    return model


def chat_model_status(paths: Paths, settings: Settings) -> tuple[bool, str]:
    """Whether a chat model is usable, and a sentence for the person either way.

    Without one, Engram runs in no-model mode: memories are built by rules and
    answers quote the best matching sources instead of being written by a model.
    """
    return _role_status(paths, settings, "chat")


def _role_status(paths: Paths, settings: Settings, role: str) -> tuple[bool, str]:
    name = settings.get(ROLE_SETTING[role])
    if role == "chat":
        fallback = ("Until then Engram works without one: memories are built by rules and "
                    "answers quote your best matching sources.")
        if not name:
            others = [m.name for m in installed_models(paths) if m.role == "chat"]
            if others:
                return False, (f"No chat model is selected. Installed: {', '.join(others)}. "
                               f"Choose one with `engram models use {others[0]} --role chat`. "
                               + fallback)
            entry = find_entry(DEFAULT_PULL)
            size = f" ({entry.size_bytes / 1e9:.1f} GB)" if entry and entry.size_bytes else ""
            return False, ("No chat model is installed. " + fallback + " To get written answers, "
                           f"run `engram models pull {DEFAULT_PULL}`{size}, see "
                           "`engram models list`, or import a .gguf with `engram models add FILE`.")
    model = find_installed(paths, str(name)) if name else None
    if model is None:
        return False, (f"The {role} model '{name}' is not installed (its file is missing from "
                       f"{paths.models_dir}). Run `engram models pull {name}` if it is in the "
                       "catalog, or choose another with `engram models use NAME --role "
                       f"{role}`.")
    return True, f"{role.capitalize()} model: {model.name} ({model.path.name})."


# -- list ----------------------------------------------------------------------------------
def list_models(paths: Paths, settings: Settings) -> list[ModelRow]:
    """Catalog entries and installed models, with what is in use for each role."""
    installed = {m.name: m for m in installed_models(paths)}
    in_use = {str(settings.get(key) or "") for key in ROLE_SETTING.values()}
    rows: list[ModelRow] = []
    for e in load_catalog():
        m = installed.pop(e.name, None)
        part = _partial_path(paths, e)
        rows.append(ModelRow(
            name=e.name, role=e.role, title=e.title,
            size_bytes=m.size_bytes if m else e.size_bytes, license=e.license,
            installed=m is not None, in_use=m is not None and e.name in in_use,
            recommended=e.recommended, source="builtin" if e.builtin else "catalog",
            path=str(m.path) if m else None,
            partial_bytes=part.stat().st_size if part and part.exists() and not m else 0))
    for m in installed.values():
        rows.append(ModelRow(m.name, m.role, m.path.stem, m.size_bytes, None, True,
                             m.name in in_use, False, m.source, str(m.path)))
    return rows


# -- pull ------------------------------------------------------------------------------------
def _partial_path(paths: Paths, entry: CatalogEntry) -> Path | None:
    return paths.models_dir / PARTIAL_DIR / f"{entry.filename}.part" if entry.filename else None


def pull(paths: Paths, settings: Settings, name: str, *, progress: Progress | None = None,
         cancel: CancelToken | None = None, url: str | None = None) -> tuple[InstalledModel, bool]:
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
    part = _partial_path(paths, entry)
    assert part is not None
    dest = paths.models_dir / entry.filename
    d = Download(url=url or entry.url or "", sha256=entry.sha256, size=entry.size_bytes,
                 label=entry.name)
    if entry.size_bytes:
        have = part.stat().st_size if part.exists() else 0
        _check_space(paths.models_dir, entry.size_bytes - have)
    fetch(d, part, dest, progress=progress, cancel=cancel)
    try:
        info = read_gguf(dest)
    except BadInput:
        dest.unlink(missing_ok=True)
        raise
    model = _register(paths, entry.name, entry.role, dest, info, entry.sha256, "catalog")
    return model, _use_if_unset(settings, model)


# -- add (import a local file) ------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.") or "model"


def add_local(paths: Paths, settings: Settings, source: str | Path, *, role: str | None = None,
              name: str | None = None, progress: Progress | None = None,
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
    if find_entry(name) is not None and find_entry(name).builtin:  # type: ignore[union-attr]
        raise UsageError(f"'{name}' is the built-in model's name; pass --name to choose another.")
    if find_installed(paths, name) is not None:
        raise UsageError(f"A model named '{name}' is already installed.",
                         hint="Pass --name to import it under another name, or remove the "
                              f"old one with `engram models remove {name}`.")
    dest = paths.models_dir / src.name
    if dest.exists() or dest == _builtin_path(paths):  # never take the built-in model's file
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
                    progress(done, total, src.name)
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        raise BadInput(f"Could not copy {src} into {paths.models_dir}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
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
    model: InstalledModel
    roles_cleared: tuple[str, ...]  # roles that used it and now have no model (or the default)


def remove(paths: Paths, settings: Settings, name: str) -> Removed:
    """Delete an installed model's file and manifest entry (and any partial download)."""
    model = find_installed(paths, name)
    entry = find_entry(name)
    if (model is not None and model.source == "builtin") or (entry is not None and entry.builtin):
        raise UsageError(f"{name} is built in and cannot be removed.")
    part = _partial_path(paths, entry) if entry else None
    if model is None:
        if part is not None and part.exists():
            part.unlink()
            raise NotFound(f"{name} was not installed; its partial download was deleted.")
        raise NotFound(f"No installed model is named '{name}'.",
                       hint="See `engram models list`.")
    cleared: list[str] = []
    for role, key in ROLE_SETTING.items():
        if settings.get(key) == model.name:
            settings.set(key, BUILTIN_EMBEDDING_NAME if role == "embedding" else None)
            cleared.append(role)
    models = _read_manifest(paths)
    models.pop(model.name, None)
    _write_manifest(paths, models)
    model.path.unlink(missing_ok=True)
    if part is not None:
        part.unlink(missing_ok=True)
    return Removed(model, tuple(cleared))


def format_size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def in_use_names(settings: Settings) -> dict[str, str | None]:
    return {role: settings.get(key) for role, key in ROLE_SETTING.items()}


def _check_space(folder: Path, needed: int) -> None:
    """Refuse before writing a byte when the disk cannot hold the model."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed + (64 << 20) > free:  # keep a little room for everything else
        raise DiskFull(f"Not enough disk space in {folder}: the model needs "
                       f"{format_size(needed)}, {format_size(free)} is free.")
