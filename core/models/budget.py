"""Fit a prompt into the model's context window, by priority, and say what was cut.

Local memory systems fail quietly when a 4k context cuts the end of an
extraction prompt: the model never sees the instructions and zero memories come
out. Here nothing is cut silently. A prompt is a list of ``Piece``s, each with a
priority; while the rendered prompt (counted with the model's own tokenizer,
template included) is over budget, the lowest-priority piece is trimmed (if it
allows that) or dropped. The result reports every dropped and trimmed piece.
If even the required pieces don't fit, ``ContextOverflow`` says by how much.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from core.errors import ModelError
from core.models.prompts import ChatMessage, Role

REQUIRED = 1 << 30  # a piece with this priority is never dropped or trimmed
TRIM_MARK = " […]"

CountTokens = Callable[[Sequence[ChatMessage]], int]


class ContextOverflow(ModelError):
    """The required parts of a prompt alone exceed the token budget."""

    def __init__(self, needed: int, budget: int, *, n_ctx: int | None = None) -> None:
        ctx = f" (context window {n_ctx} tokens)" if n_ctx else ""
        super().__init__(
            f"The prompt needs {needed} tokens but only {budget} are available{ctx}.",
            hint="Shorten the input, or use a larger context (setting chat_context_tokens) "
                 "or a model with a longer context.",
        )
        self.needed = needed
        self.budget = budget


@dataclass(frozen=True)
class Piece:
    """A named part of a prompt.

    Consecutive pieces with the same ``role`` are joined (blank line between)
    into one message. Higher ``priority`` survives longer; ties are cut from the
    end (later pieces first). ``trimmable`` pieces lose their tail (at a word
    boundary, marked " […]") before anything of higher priority is touched.
    """

    key: str
    text: str
    priority: int = REQUIRED
    role: Role = "user"
    trimmable: bool = False


@dataclass(frozen=True)
class Trimmed:
    """A piece that was shortened to fit, and by how much."""

    key: str
    chars_before: int
    chars_after: int


@dataclass(frozen=True)
class BudgetReport:
    """What the budget did: tokens used of the budget, what was cut."""

    budget: int
    used: int
    kept: tuple[str, ...]
    dropped: tuple[str, ...]
    trimmed: tuple[Trimmed, ...]

    @property
    def complete(self) -> bool:
        """True when nothing was dropped or trimmed."""
        return not self.dropped and not self.trimmed


@dataclass(frozen=True)
class AssembledPrompt:
    """The messages to send, and the report of what the budget cut."""

    messages: tuple[ChatMessage, ...]
    report: BudgetReport


def _render(pieces: Sequence[Piece], texts: dict[str, str]) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    parts: list[str] = []
    role: Role | None = None
    for p in pieces:
        text = texts.get(p.key)
        if text is None or not text.strip():
            continue
        if role is not None and p.role != role:
            messages.append(ChatMessage(role, "\n\n".join(parts)))
            parts = []
        role = p.role
        parts.append(text)
    if role is not None and parts:
        messages.append(ChatMessage(role, "\n\n".join(parts)))
    return messages


def _cut(text: str, n_chars: int) -> str:
    """The first ~n_chars of ``text``, ending at a word boundary, marked as cut."""
    if n_chars <= 0:
        return ""
    head = text[:n_chars]
    space = head.rfind(" ")
    if space > n_chars // 2:
        head = head[:space]
    return head.rstrip() + TRIM_MARK


def fit_prompt(pieces: Sequence[Piece], *, count_tokens: CountTokens, budget: int,
               n_ctx: int | None = None) -> AssembledPrompt:
    """Assemble ``pieces`` into messages whose rendered prompt fits ``budget`` tokens.

    ``count_tokens`` must count the prompt exactly as it will be sent (chat
    template included) — the runtime's ``count_tokens`` does. Raises
    ``ContextOverflow`` if the REQUIRED pieces alone do not fit.
    """
    keys = [p.key for p in pieces]
    if len(set(keys)) != len(keys):
        raise ValueError("piece keys must be unique")
    texts: dict[str, str] = {p.key: p.text for p in pieces}

    def used() -> int:
        return count_tokens(_render(pieces, texts))

    dropped: list[str] = []
    trimmed: list[Trimmed] = []
    # Lowest priority first; among equals, the later piece goes first.
    order = sorted(range(len(pieces)), key=lambda i: (pieces[i].priority, -i))
    n = used()
    for i in order:
        if n <= budget:
            break
        p = pieces[i]
        if p.priority >= REQUIRED:
            break
        if p.trimmable and p.text:
            kept = _trim_to_fit(p, texts, budget, used)
            if kept:
                trimmed.append(Trimmed(p.key, len(p.text), len(kept)))
                texts[p.key] = kept
                n = used()
                continue
        dropped.append(p.key)
        del texts[p.key]
        n = used()
    if n > budget:
        raise ContextOverflow(n, budget, n_ctx=n_ctx)
    report = BudgetReport(
        budget=budget, used=n,
        kept=tuple(k for k in keys if k in texts),
        dropped=tuple(dropped), trimmed=tuple(trimmed),
    )
    return AssembledPrompt(messages=tuple(_render(pieces, texts)), report=report)


def _trim_to_fit(p: Piece, texts: dict[str, str], budget: int,
                 used: Callable[[], int]) -> str | None:
    """Longest cut of ``p`` that fits, by binary search on length; None if none does."""
    original = p.text
    lo, hi, best = 1, len(original) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        texts[p.key] = _cut(original, mid)
        if used() <= budget:
            best, lo = texts[p.key], mid + 1
        else:
            hi = mid - 1
    texts[p.key] = original
    return best
