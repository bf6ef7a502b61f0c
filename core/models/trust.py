"""Is a chat model big enough to be trusted with writing memories? (pure, header only)

SmolLM2-135M writes fluent inventions ("I am a programmer…"). Below about a
billion parameters a model is labelled *too small to be trusted* in
``engram models list``, the CLI and Settings, and memory writing stays
rule-based unless the person turns the model on anyway (setting
``memories_small_model``). The grounding check still guards every memory a
model writes either way.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_TRUSTED_PARAMETERS = 900_000_000
SETTING = "memories_small_model"  # True: let a too-small model write memories anyway
TOO_SMALL = "too small to be trusted"


@dataclass(frozen=True)
class ModelTrust:
    """Whether a chat model may write memories, and the words to show a person."""

    trusted: bool
    parameters: int | None
    label: str  # "" when trusted, else "too small to be trusted" or why it could not be read

    def to_json(self) -> dict[str, Any]:
        return {"trusted": self.trusted, "parameters": self.parameters, "label": self.label}


def model_trust(path: str | Path) -> ModelTrust:
    """Judge a GGUF chat model by its parameter count (read from the file's header)."""
    from core.models.gguf_file import read_gguf

    try:
        info = read_gguf(Path(path))
    except Exception as exc:  # an unreadable file is not trusted, and says why
        return ModelTrust(False, None, f"unreadable ({exc.__class__.__name__})")
    params = int(info.parameter_count or 0)
    if params < MIN_TRUSTED_PARAMETERS:
        return ModelTrust(False, params, TOO_SMALL)
    return ModelTrust(True, params, "")


def may_write_memories(trust: ModelTrust, settings: Any) -> bool:
    """True when the model is trusted, or the person turned a small model on anyway."""
    if trust.trusted:
        return True
    return bool(settings.get(SETTING)) if settings is not None else False
