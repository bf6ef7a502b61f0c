"""Chat messages and the model's own chat template.

Every instruct model expects its conversation in the exact text form it was
trained on (chatml, llama-3 headers, granite roles…). That form ships inside
the GGUF as ``tokenizer.chat_template`` (Jinja); we render it with
llama-cpp-python's ``Jinja2ChatFormatter``, the same code its own chat
completion uses, so what we count for the budget is exactly what we send.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation."""

    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class FormattedPrompt:
    """A conversation rendered into the model's prompt text."""

    text: str
    stop: tuple[str, ...]
    # True when the template already wrote BOS (and other specials) itself, so
    # tokenizing must not add another BOS.
    added_special: bool


def messages_from(value: Sequence[ChatMessage | Mapping[str, Any]] | str) -> list[ChatMessage]:
    """Accept ChatMessages, OpenAI-style dicts, or a bare user prompt string."""
    if isinstance(value, str):
        return [ChatMessage("user", value)]
    out: list[ChatMessage] = []
    for m in value:
        if isinstance(m, ChatMessage):
            out.append(m)
        else:
            out.append(ChatMessage(m["role"], str(m.get("content") or "")))
    return out


class ChatTemplate:
    """Renders messages with a model's template (falls back to chatml without one)."""

    def __init__(self, template: str | None, *, bos_token: str, eos_token: str) -> None:
        from core.models import import_llama

        import_llama()
        from llama_cpp import llama_chat_format

        self.source = "gguf" if template else "chatml (the model has no template)"
        self._jinja = None
        if template:
            self._jinja = llama_chat_format.Jinja2ChatFormatter(
                template=template, eos_token=eos_token, bos_token=bos_token,
            )
        self._eos = eos_token
        self._fallback = llama_chat_format.format_chatml

    def format(self, messages: Sequence[ChatMessage]) -> FormattedPrompt:
        """Render ``messages`` followed by the assistant's generation prompt."""
        dicts: list[Any] = [m.as_dict() for m in messages]
        if self._jinja is not None:
            try:
                resp = self._jinja(messages=dicts)
            except Exception as exc:  # jinja errors, raise_exception() in the template
                from core.errors import ModelError

                raise ModelError(f"The model's chat template rejected the conversation: {exc}",
                                 hint="Some templates require alternating user/assistant "
                                      "turns or forbid a system message.") from exc
        else:
            resp = self._fallback(messages=dicts)
        stop = resp.stop
        stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
        return FormattedPrompt(text=resp.prompt, stop=tuple(s for s in stops if s),
                               added_special=bool(resp.added_special))
