"""The model builder: memories extracted by the chat model, every one citing its events.

The prompt (``resources/prompts/extract_memories.v1.txt``) quotes the events
as delimited data under a random nonce, so text on a screen cannot pose as the
prompt's own markers. Output is constrained by a JSON schema whose ``sources``
are the batch's own references (``E1``…``En``); after parsing, each memory is
checked again here and refused — and counted — when it cites no source, a
reference outside the batch, or says something whose words appear in none of
the events it cites. Generation runs at background priority: the runtime
re-runs it when a person's request preempts it, and ``cancel`` stops it.
"""
from __future__ import annotations

import logging
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping, Protocol, Sequence

from core.memory.grounding import grounded
from core.memory.rules import fact_key
from core.memory.statements import SINGLE_VALUED
from core.memory.text import shorten
from core.memory.types import SELF, Candidate
from core.progress import Cancel
from core.records import Event

log = logging.getLogger(__name__)

PROMPT_VERSION = "extract_memories.v1"
MAX_EVENT_CHARS = 600
MAX_EVENTS_PER_CALL = 16
MAX_TOKENS = 768
TYPES = ("core", "semantic", "procedural")
_SELF_NAMES = {"user", "the user", "you", "me", "myself", "i", "self", "owner"}
_ATTRIBUTE_ALIASES = {
    "lives": "lives_in", "location": "lives_in", "city": "lives_in", "home": "lives_in",
    "residence": "lives_in", "lives_at": "lives_in", "moved_to": "lives_in",
    "employer": "works_at", "company": "works_at", "workplace": "works_at", "works_for": "works_at",
    "occupation": "job", "profession": "job", "job_title": "job", "role": "job",
    "likes": "likes", "preference": "prefers", "prefers": "prefers", "hometown": "from",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class StructuredModel(Protocol):
    """What extraction needs from ``core.models.runtime.ChatRuntime``."""

    n_ctx: int

    def generate_json(self, messages: Any, schema: Mapping[str, Any], options: Any = None, *,
                      attempts: int = 3, priority: int = ..., cancel: Cancel | None = None) -> Any: ...

    def count_tokens(self, messages: Any) -> int: ...


@dataclass(frozen=True)
class Extraction:
    """Candidates from one batch, and what was refused: ``rejected`` by "type:reason"."""

    candidates: tuple[Candidate, ...] = ()
    rejected: Mapping[str, int] = field(default_factory=dict)
    failures: int = 0
    calls: int = 0


def prompt_template() -> str:
    return resources.files("resources").joinpath("prompts", f"{PROMPT_VERSION}.txt") \
        .read_text("utf-8")


def schema_for(n_events: int, *, max_memories: int = 8, max_chars: int = 200) -> dict[str, Any]:
    """The output schema; ``sources`` may only name this batch's references.

    ``max_memories`` and ``max_chars`` bound the output so it fits a small
    context (the grammar enforces them; a model that rambles must close).
    """
    refs = [f"E{i}" for i in range(1, n_events + 1)]
    short = max(8, max_chars // 4)

    def string(limit: int, min_length: int = 0) -> dict[str, Any]:
        return {"type": "string", "minLength": min_length, "maxLength": limit}

    return {
        "type": "object",
        "properties": {"memories": {"type": "array", "maxItems": max_memories, "items": {
            "type": "object",
            "properties": {
                "type": {"enum": list(TYPES)},
                "text": string(max_chars, 1),
                "subject": string(short),
                "attribute": string(short),
                "value": string(max(short, max_chars // 2)),
                "steps": {"type": "array", "maxItems": 12, "items": string(max_chars, 1)},
                "importance": {"type": "integer", "minimum": 1, "maximum": 5},
                "sources": {"type": "array", "minItems": 1, "maxItems": 6,
                            "items": {"enum": refs}},
            },
            "required": ["type", "text", "subject", "attribute", "value", "steps",
                         "importance", "sources"],
        }}},
        "required": ["memories"],
    }


class ModelExtractor:
    """Extracts core / semantic / procedural candidates from events with a chat model."""

    def __init__(self, model: StructuredModel, *, owner_names: Sequence[str] = (),
                 max_events_per_call: int = MAX_EVENTS_PER_CALL, max_tokens: int = MAX_TOKENS,
                 max_memories: int = 8, max_chars: int = 200, seed: int | None = None,
                 template: str | None = None) -> None:
        """``template`` replaces the versioned prompt (a tiny test model's small context)."""
        self.model = model
        self.owner_names = tuple(owner_names)
        self.max_events = max(1, max_events_per_call)
        self.max_tokens = max_tokens
        self.max_memories = max_memories
        self.max_chars = max_chars
        self.seed = seed
        self._template = template if template is not None else prompt_template()

    def extract(self, events: Sequence[Event], cancel: Cancel | None = None, *,
                covered: Mapping[int, Any] | None = None) -> Extraction:
        """Candidates for ``events`` (in chunks that fit the context); ``covered`` (what
        the rules read, per event) is not used: this extractor reads whole batches."""
        from core.models.budget import ContextOverflow
        from core.models.runtime import BACKGROUND, StructuredOutputError

        candidates: list[Candidate] = []
        rejected: Counter[str] = Counter()
        failures = calls = 0
        queue = [list(events[i:i + self.max_events])
                 for i in range(0, len(events), self.max_events)]
        while queue:
            chunk = queue.pop(0)
            messages = self.messages(chunk)
            try:
                calls += 1
                schema = schema_for(len(chunk), max_memories=self.max_memories,
                                    max_chars=self.max_chars)
                result = self.model.generate_json(messages, schema, self._options(),
                                                  priority=BACKGROUND, cancel=cancel)
            except ContextOverflow:
                if len(chunk) > 1:  # too long together: try the halves
                    half = len(chunk) // 2
                    queue[:0] = [chunk[:half], chunk[half:]]
                else:
                    failures += 1
                continue
            except StructuredOutputError as exc:
                log.info("memory extraction: no valid output (%s attempts)", exc.attempts)
                failures += 1
                continue
            got, refused = self.validate(result.value, chunk)
            candidates += got
            rejected.update(refused)
        return Extraction(tuple(candidates), dict(rejected), failures, calls)

    def _options(self) -> Any:
        from core.models.generation import GenerationOptions

        return GenerationOptions(max_tokens=self.max_tokens, temperature=0.2, seed=self.seed)

    def messages(self, events: Sequence[Event]) -> list[dict[str, str]]:
        """The system prompt and the quoted events (a fresh nonce per call)."""
        nonce = secrets.token_hex(4)
        system = self._template.replace("{nonce}", nonce)
        lines = [f"⟦{nonce}⟧"]
        for n, event in enumerate(events, 1):
            lines.append(f"[E{n}] {quote_event(event, nonce)}")
        lines.append(f"⟦/{nonce}⟧")
        user = ("Records:\n" + "\n".join(lines) +
                "\n\nReturn the memories worth keeping from these records as JSON.")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def validate(self, value: Any, events: Sequence[Event]) -> tuple[list[Candidate], Counter[str]]:
        """Keep the memories that cite this batch and are found in what they cite."""
        refused: Counter[str] = Counter()
        out: list[Candidate] = []
        items = value.get("memories", []) if isinstance(value, Mapping) else []
        for item in items if isinstance(items, list) else []:
            kind = item.get("type") if isinstance(item, Mapping) else None
            kind = kind if kind in TYPES else "semantic"
            cand, reason = self._candidate(item, events)
            if cand is None:
                refused[f"{kind}:{reason}"] += 1
            else:
                out.append(cand)
        return out, refused

    def _candidate(self, item: Any, events: Sequence[Event]) -> tuple[Candidate | None, str]:
        if not isinstance(item, Mapping):
            return None, "malformed"
        refs = item.get("sources")
        if not isinstance(refs, list) or not refs:
            return None, "no_source"
        cited: list[Event] = []
        for ref in refs:
            m = re.fullmatch(r"E(\d+)", str(ref).strip())
            if not m or not 1 <= int(m.group(1)) <= len(events):
                return None, "unknown_source"
            cited.append(events[int(m.group(1)) - 1])
        cited = list({e.id: e for e in cited}.values())
        kind = item.get("type") if item.get("type") in TYPES else None
        text = " ".join(str(item.get("text") or "").split())
        if kind is None or not text:
            return None, "malformed"
        subject = " ".join(str(item.get("subject") or "").split())
        attribute = _attribute(str(item.get("attribute") or ""))
        value = " ".join(str(item.get("value") or "").split())
        steps = [" ".join(str(s).split()) for s in item.get("steps") or [] if str(s).strip()]
        source_texts = [f"{e.speaker or ''} {e.thread or ''} {e.title or ''} {e.app or ''} {e.text}"
                        for e in cited]
        # The value and the text the person reads must both be found in the sources.
        claims = [value, text] if value else [text]
        if kind == "procedural":
            claims = steps or [text]
        if not grounded(claims, source_texts):
            return None, "not_in_sources"
        is_self = subject.lower() in _SELF_NAMES or subject.lower() in {
            n.lower() for n in self.owner_names}
        if kind == "core" and not is_self:
            kind = "semantic"  # the core profile is about the person only
        importance = max(1, min(5, int(item.get("importance") or 3))) / 5.0
        start = min(e.started_at for e in cited)
        end = max(e.ended_at for e in cited)
        fields: dict[str, Any] = {}
        key = None
        entities = [subject] if subject else []
        if kind == "procedural":
            if len(steps) < 2:
                return None, "malformed"
            fields = {"steps": steps, "commands": False, "from_event": cited[0].id}
            text = "\n".join([f"{shorten(text, 90)}:"] + [f"{n}. {s}" for n, s in
                                                             enumerate(steps, 1)])
        elif subject and attribute and value:
            subj = SELF if is_self else subject
            fields = {"subject": subj, "subject_name": "You" if is_self else subject,
                      "attribute": attribute, "value": value,
                      "single": attribute in SINGLE_VALUED}
            key = fact_key(subj, attribute)
            entities.append(value)
        title = text.splitlines()[0].rstrip(":.") if text else ""
        return Candidate(
            type=kind, title=shorten(title, 120), text=text, sources=tuple(e.id for e in cited),
            valid_from=start, started_at=start, ended_at=end, importance=importance,
            origin="model", fields=fields, fact_key=key, entities=" ".join(entities),
        ), ""


def quote_event(event: Event, nonce: str) -> str:
    """One record's line: time, where, who, and its text (cut, markers neutralised)."""
    where = " · ".join(p for p in (event.source, event.app, event.thread or event.title) if p)
    who = f"{event.speaker}: " if event.speaker else ""
    text = _CONTROL.sub(" ", event.text)
    # The nonce is random per call; this only keeps the brackets from looking like ours.
    text = text.replace("⟦", "[").replace("⟧", "]").replace(nonce, "")
    text = shorten(text, MAX_EVENT_CHARS)
    return f"{event.started_at:%Y-%m-%d %H:%M} · {where} · {who}{text}"


def _attribute(raw: str) -> str:
    a = re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_")
    return _ATTRIBUTE_ALIASES.get(a, a)
