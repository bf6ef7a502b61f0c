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

This module answers questions (what is there, what is in use, can we chat);
``install.py`` changes what is installed.

Models are not personal data: nothing here touches the encrypted store.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import Paths, Settings, write_private_file
from core.errors import BadInput, ModelError

if TYPE_CHECKING:
    from core.models.trust import ModelTrust

ROLES = ("chat", "embedding")
MANIFEST = "models.json"
PARTIAL_DIR = ".partial"
ROLE_SETTING = {"chat": "chat_model", "embedding": "embedding_model"}
BUILTIN_EMBEDDING_NAME = "all-minilm-l6-v2"  # same as core.models.minilm_gguf
DEFAULT_PULL = "qwen2.5-1.5b-instruct"


@dataclass(frozen=True)
class CatalogEntry:
    """A recommended model: where to get it and how to check it (catalog JSON)."""

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
    """A model file present in the models folder, with what we know about it."""

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

    @property
    def trust(self) -> ModelTrust | None:
        """How far an installed chat model may be trusted to write memories (else None)."""
        if self.role != "chat" or not self.path:
            return None
        from core.models.trust import model_trust

        return model_trust(self.path)

    @property
    def trust_label(self) -> str:
        """"too small to be trusted" for an installed chat model under ~1B parameters or
        one that failed its self-check."""
        trust = self.trust
        return trust.label if trust is not None else ""

    def as_dict(self) -> dict[str, Any]:
        trust = self.trust
        return {**asdict(self), "trust": trust.label if trust else "",
                "trust_reason": trust.reason if trust else ""}


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
    """The catalog entry called ``name`` (case-insensitive), if any."""
    return next((e for e in load_catalog() if e.name == name.lower()), None)


# -- manifest -----------------------------------------------------------------------------
def _manifest_path(paths: Paths) -> Path:
    return paths.models_dir / MANIFEST


def read_manifest(paths: Paths) -> dict[str, dict[str, Any]]:
    """The manifest's entries by name (empty when there is none yet)."""
    p = _manifest_path(paths)
    if not p.exists():
        return {}
    try:
        return {m["name"]: m for m in json.loads(p.read_text("utf-8"))["models"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"The model list {p} is damaged ({exc}).",
                       hint="Delete it and re-add your models with `engram models add`.") from exc


def write_manifest(paths: Paths, models: dict[str, dict[str, Any]]) -> None:
    """Replace the manifest atomically."""
    paths.models_dir.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "models": sorted(models.values(), key=lambda m: m["name"])}
    write_private_file(_manifest_path(paths), json.dumps(body, indent=2).encode())


def builtin_path(paths: Paths) -> Path | None:
    """Where the generated MiniLM file lives (None if the generator isn't available)."""
    try:
        from core.models import minilm_gguf

        return Path(minilm_gguf.builtin_gguf_path(paths.models_dir))
    except (ImportError, AttributeError):
        return None


def _builtin_embedding(paths: Paths, registered: set[str]) -> InstalledModel | None:
    """The generated MiniLM file, if the installer (or first start) has made it."""
    path = builtin_path(paths)
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
    manifest = read_manifest(paths)
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
    """The installed model called ``name`` (case-insensitive), if its file is there."""
    return next((m for m in installed_models(paths) if m.name == name.lower()), None)


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


def partial_path(paths: Paths, entry: CatalogEntry) -> Path | None:
    """Where an unfinished download of ``entry`` is kept (never counted as installed)."""
    return paths.models_dir / PARTIAL_DIR / f"{entry.filename}.part" if entry.filename else None


# -- list ----------------------------------------------------------------------------------
def list_models(paths: Paths, settings: Settings) -> list[ModelRow]:
    """Catalog entries and installed models, with what is in use for each role."""
    installed = {m.name: m for m in installed_models(paths)}
    in_use = {str(settings.get(key) or "") for key in ROLE_SETTING.values()}
    rows: list[ModelRow] = []
    for e in load_catalog():
        m = installed.pop(e.name, None)
        part = partial_path(paths, e)
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


def format_size(n: int | None) -> str:
    """Bytes for people: "1.1 GB"."""
    if n is None:
        return "-"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def in_use_names(settings: Settings) -> dict[str, str | None]:
    """The model name in use for each role (None: none chosen)."""
    return {role: settings.get(key) for role, key in ROLE_SETTING.items()}
