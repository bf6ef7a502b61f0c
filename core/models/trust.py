"""Is a chat model good enough to be trusted with writing memories?

SmolLM2-135M writes fluent inventions ("I am a programmer…"). A model is
labelled *too small to be trusted* in ``engram models list``, the CLI and
Settings when it has fewer than about a billion parameters (read from the
file's header) or when it fails a short self-check the first time it is loaded
(``run_self_check``: a few one-line questions about a sentence, answered with
greedy decoding — what a memory writer must get right: copy a name, a place,
resolve a relative date, and say "not stated" instead of inventing). Memory
writing then stays rule-based unless the person turns the model on anyway
(setting ``memories_small_model``). The grounding check still guards every
memory a model writes either way.

A self-check result is kept beside the models (``self_checks.json``, keyed by
the file's name, size and modification time: model metadata, never captured
content), so listing models and opening Settings never load a model.
"""
from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

log = logging.getLogger(__name__)

MIN_TRUSTED_PARAMETERS = 900_000_000
SETTING = "memories_small_model"  # True: let a too-small model write memories anyway
TOO_SMALL = "too small to be trusted"
CHECKS_FILE = "self_checks.json"


@dataclass(frozen=True)
class Probe:
    """One self-check question: ``text`` said by someone, a ``question`` and what a right
    answer contains (any of ``expect``, case-insensitive)."""

    text: str
    question: str
    expect: tuple[str, ...]


# Each is what writing a memory needs; a model that gets one wrong writes such memories wrong.
PROBES: tuple[Probe, ...] = (
    Probe("Ana (10 March 2025): My sister Joana moved to Porto last week.",
          "Which city did Joana move to? Reply with the city name only.", ("porto",)),
    Probe("Tom (2 June 2024): I started learning the cello in April.",
          "Which instrument is Tom learning? Reply with one word.", ("cello",)),
    Probe("Ana (10 March 2025): I went to the dentist yesterday.",
          "On which date did Ana go to the dentist? Reply with the date only.",
          ("9 march 2025", "march 9, 2025", "2025-03-09", "9th march 2025", "march 9th, 2025",
           "09/03/2025", "03/09/2025")),
    Probe("Tom (2 June 2024): I adopted a cat last month.",
          "What is the name of Tom's cat? If the sentence does not say, reply: not stated.",
          ("not stated", "not mentioned", "does not say", "doesn't say", "unknown")),
)


@dataclass(frozen=True)
class SelfCheck:
    """How a model did on the self-check: ``passed`` of ``total`` probes right."""

    passed: int
    total: int

    @property
    def ok(self) -> bool:
        return self.passed == self.total

    @property
    def summary(self) -> str:
        return f"{self.passed} of {self.total} self-check answers right"


@dataclass(frozen=True)
class ModelTrust:
    """Whether a chat model may write memories, and the words to show a person."""

    trusted: bool
    parameters: int | None
    label: str  # "" when trusted, else "too small to be trusted" or why it could not be read
    self_check: SelfCheck | None = None  # None: not run yet for this file
    reason: str = ""  # why it is not trusted, in a few words ("135M parameters; 1 of 4 …")

    def to_json(self) -> dict[str, Any]:
        return {"trusted": self.trusted, "parameters": self.parameters, "label": self.label,
                "self_check": (None if self.self_check is None else
                               {"passed": self.self_check.passed,
                                "total": self.self_check.total}),
                "reason": self.reason}


class Completer(Protocol):
    """What the self-check needs of a chat runtime (``ChatRuntime``)."""

    path: Path

    def complete(self, messages: Any, options: Any = None, **kwargs: Any) -> Any: ...


def model_trust(path: str | Path) -> ModelTrust:
    """Judge a GGUF chat model by its parameter count and its stored self-check (if run)."""
    from core.models.gguf_file import read_gguf

    path = Path(path)
    try:
        info = read_gguf(path)
    except Exception as exc:  # an unreadable file is not trusted, and says why
        return ModelTrust(False, None, f"unreadable ({exc.__class__.__name__})")
    params = int(info.parameter_count or 0)
    check = stored_self_check(path)
    reasons = []
    if params < MIN_TRUSTED_PARAMETERS:
        reasons.append(f"{_millions(params)} parameters")
    if check is not None and not check.ok:
        reasons.append(check.summary)
    if reasons:
        return ModelTrust(False, params, TOO_SMALL, check, "; ".join(reasons))
    return ModelTrust(True, params, "", check)


def trust_after_check(runtime: Completer) -> ModelTrust:
    """``model_trust`` for the runtime's model, running the self-check first if it never ran
    for this file (a few seconds with the model loaded; the result is kept)."""
    path = Path(runtime.path)
    if stored_self_check(path) is None:
        try:
            check = run_self_check(runtime)
        except Exception:
            # A model that cannot answer four short questions is judged by its size alone now,
            # and checked again next time.
            log.exception("the chat model's self-check failed to run")
        else:
            store_self_check(path, check)
    return model_trust(path)


def run_self_check(runtime: Completer, probes: Sequence[Probe] = PROBES) -> SelfCheck:
    """Ask ``probes`` with greedy decoding; count the answers that hold what is expected."""
    from core.models.generation import GenerationOptions

    options = GenerationOptions(max_tokens=16, temperature=0.0, top_k=1, seed=0)
    passed = 0
    for probe in probes:
        messages = [{"role": "system", "content": "Answer from the sentence only, briefly."},
                    {"role": "user", "content": f"{probe.text}\n\n{probe.question}"}]
        answer = str(runtime.complete(messages, options).text)
        said = re.sub(r"\s+", " ", answer.lower().replace("*", "")).strip()
        passed += any(e in said for e in probe.expect)
    return SelfCheck(passed, len(probes))


def stored_self_check(path: Path) -> SelfCheck | None:
    """The kept self-check of this exact file (same name, size and time), or None."""
    entry = _read_checks(path.parent).get(_key(path))
    if not isinstance(entry, dict):
        return None
    try:
        return SelfCheck(int(entry["passed"]), int(entry["total"]))
    except (KeyError, TypeError, ValueError):
        return None


def store_self_check(path: Path, check: SelfCheck) -> None:
    """Keep ``check`` for this file (written to a temp file, then renamed: never half)."""
    folder = path.parent
    checks = _read_checks(folder)
    key = _key(path)
    if key is None:
        return
    checks[key] = {"passed": check.passed, "total": check.total}
    tmp = folder / f".{CHECKS_FILE}.tmp"
    try:
        tmp.write_text(json.dumps(checks, indent=1, sort_keys=True), "utf-8")
        os.replace(tmp, folder / CHECKS_FILE)
    except OSError:
        log.warning("could not keep the self-check result in %s", folder)


def may_write_memories(trust: ModelTrust, settings: Any) -> bool:
    """True when the model is trusted, or the person turned a small model on anyway."""
    if trust.trusted:
        return True
    return bool(settings.get(SETTING)) if settings is not None else False


def _key(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{path.name}|{st.st_size}|{int(st.st_mtime)}"


def _read_checks(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / CHECKS_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _millions(n: int) -> str:
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{round(n / 1e6)}M"
