"""JSON-schema → llama.cpp grammar, with the 0.3.36 converter's defects fixed.

llama-cpp-python 0.3.36's ``json_schema_to_gbnf`` is the base, with three fixes
measured on this machine (PLATFORM-NOTES):

* its string ``char`` rule admits raw control characters (a third of random-model
  outputs failed ``json.loads``) — replaced by a rule that excludes U+0000–U+001F
  and DEL and allows only the plain escapes (no ``\\uXXXX``: a model could write a
  lone surrogate that parses but can never be stored as UTF-8);
* integer ``minimum``/``maximum`` are ignored — small ranges become an ``enum`` of
  the allowed values before conversion (enforced by the grammar); wider ranges
  are checked after parsing and retried by the runtime;
* the OpenAI ``response_format={"type": "json_schema"}`` form is silently
  ignored by llama-cpp-python — we never use it; the grammar goes straight to
  the sampler.

Unbounded strings and arrays get a generous length cap *in the grammar only* so a
model stuck in a loop inside a string is forced to close it instead of running
to max_tokens. The caller's original schema is what the output is validated
against after parsing — the grammar is a guide, the validator is the judge.
"""
from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

DEFAULT_MAX_STRING_CHARS = 240
DEFAULT_MAX_ITEMS = 16
SMALL_INT_RANGE = 256  # integer ranges up to this many values are enforced by the grammar

# Replaces the converter's ``[^"\\] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})``. A
# positive class of Unicode scalar values: no C0/C1 controls, no quote or
# backslash, no surrogates and nothing above U+10FFFF (llama.cpp's matcher decodes
# byte tokens leniently; a negated class let a random model assemble invalid UTF-8).
SAFE_CHAR_RULE = (r'char ::= [\x20\x21\x23-\x5B\x5D-\x7E\u00A0-\uD7FF\uE000-\U0010FFFF]'
                  r' | "\\" (["\\/nrt])')
_INT_PLACEHOLDER = "__engram_int_{}__"
_CHAR_RULE_RE = re.compile(r"^char ::= .*$", re.MULTILINE)


class InvalidOutput(ValueError):
    """One generated output that is not valid JSON for the schema (and why)."""


@dataclass(frozen=True)
class JsonGrammar:
    """A GBNF grammar for a schema, and the validator for its parsed output."""

    schema: Mapping[str, Any]
    gbnf: str
    validator: Any = field(repr=False, compare=False)

    def parse(self, text: str) -> Any:
        """Parse and validate ``text``; raise ``InvalidOutput`` with the reason."""
        try:
            value = json.loads(text)  # strict: raw control characters are errors
        except json.JSONDecodeError as exc:
            tail = text[-40:].replace("\n", "\\n")
            raise InvalidOutput(f"not valid JSON ({exc.msg} at char {exc.pos}; ends …{tail!r})") from None
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.path) or "(root)"
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InvalidOutput(f"schema violation at {where}: {first.message}{more}")
        return value


def _int_bounds(s: Mapping[str, Any]) -> tuple[int | None, int | None]:
    lo = s.get("minimum")
    hi = s.get("maximum")
    if isinstance(s.get("exclusiveMinimum"), (int, float)) and not isinstance(
            s.get("exclusiveMinimum"), bool):
        lo = int(s["exclusiveMinimum"]) + 1
    if isinstance(s.get("exclusiveMaximum"), (int, float)) and not isinstance(
            s.get("exclusiveMaximum"), bool):
        hi = int(s["exclusiveMaximum"]) - 1
    lo = int(-(-lo // 1)) if isinstance(lo, (int, float)) else None  # ceil
    hi = int(hi // 1) if isinstance(hi, (int, float)) else None  # floor
    return lo, hi


def _digits_rule(lo: int | None, hi: int | None) -> str:
    """GBNF for integers with no more digits (and no sign) than [lo, hi] allows."""
    def width(v: int | None) -> int:
        return 15 if v is None else max(1, len(str(abs(v))))

    def magnitude(d: int) -> str:
        return '("0" | [1-9] [0-9]{0,%d})' % (d - 1) if d > 1 else "[0-9]"

    if lo is not None and lo >= 0:
        return magnitude(width(hi))
    if hi is not None and hi <= 0:
        return '("0" | "-" [1-9] [0-9]{0,%d})' % (width(lo) - 1)
    return '"-"? ' + magnitude(max(width(lo), width(hi)))


class _Bounder:
    """Copies a schema adding limits the grammar can enforce (see module doc)."""

    def __init__(self, max_string: int, max_items: int) -> None:
        self.max_string, self.max_items = max_string, max_items
        self.int_rules: dict[str, str] = {}  # placeholder literal -> GBNF

    def __call__(self, s: Any) -> Any:
        if isinstance(s, list):
            return [self(x) for x in s]
        if not isinstance(s, dict):
            return s
        s = dict(s)
        for key in ("properties", "$defs", "definitions"):
            if isinstance(s.get(key), dict):
                s[key] = {k: self(v) for k, v in s[key].items()}
        for key in ("items", "prefixItems", "anyOf", "oneOf", "allOf", "additionalProperties"):
            if isinstance(s.get(key), (dict, list)):
                s[key] = self(s[key])
        if "enum" in s or "const" in s or "$ref" in s:
            return s
        kind = s.get("type")
        if kind == "string" and "pattern" not in s and "format" not in s:
            if "maxLength" not in s:
                s["maxLength"] = max(int(s.get("minLength", 0)), self.max_string)
        elif kind == "array" and "items" in s and not isinstance(s["items"], list):
            if "maxItems" not in s:
                s["maxItems"] = max(int(s.get("minItems", 0)), self.max_items)
        elif kind == "integer":
            lo, hi = _int_bounds(s)
            step = s.get("multipleOf")
            if lo is not None and hi is not None and 0 <= hi - lo < SMALL_INT_RANGE:
                values = [v for v in range(lo, hi + 1)
                          if not (isinstance(step, int) and step > 0 and v % step)]
                if values:
                    return {"enum": values}
            elif lo is not None or hi is not None:
                # Wider range: the grammar bounds sign and digit count; the exact
                # range is checked after parsing (and retried).
                name = _INT_PLACEHOLDER.format(len(self.int_rules))
                self.int_rules[name] = _digits_rule(lo, hi)
                return {"const": name}
        return s


@functools.lru_cache(maxsize=64)
def _compile(schema_json: str, max_string: int, max_items: int) -> JsonGrammar:
    import jsonschema

    from core.models import import_llama

    import_llama()
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    schema = json.loads(schema_json)
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"invalid JSON schema: {exc.message}") from None
    bounder = _Bounder(max_string, max_items)
    bounded = bounder(copy.deepcopy(schema))
    try:
        gbnf = json_schema_to_gbnf(json.dumps(bounded))
    except (AssertionError, KeyError, ValueError, NotImplementedError) as exc:
        raise ValueError(f"schema not supported by the grammar converter: {exc}") from None
    if "char ::=" in gbnf:
        gbnf, n = _CHAR_RULE_RE.subn(lambda _m: SAFE_CHAR_RULE, gbnf)
        if n != 1:  # the converter changed shape: fail loudly, never run unfixed
            raise RuntimeError("unexpected grammar converter output (char rule)")
    for name, rule in bounder.int_rules.items():
        literal = '"\\"%s\\""' % name
        if literal not in gbnf:
            raise RuntimeError("unexpected grammar converter output (integer range)")
        gbnf = gbnf.replace(literal, rule)
    return JsonGrammar(schema=schema, gbnf=gbnf, validator=validator_cls(schema))


def json_grammar(schema: Mapping[str, Any], *, max_string_chars: int = DEFAULT_MAX_STRING_CHARS,
                 max_items: int = DEFAULT_MAX_ITEMS) -> JsonGrammar:
    """The grammar and validator for ``schema`` (cached; raises ValueError if unusable)."""
    # Key keeps property order: models write fields in the order the schema lists them.
    return _compile(json.dumps(schema), max_string_chars, max_items)
