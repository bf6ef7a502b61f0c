"""JSON-schema → llama.cpp grammar, with the 0.3.36 converter's defects fixed.

llama-cpp-python 0.3.36's ``json_schema_to_gbnf`` is the base, with these fixes
(PLATFORM-NOTES; measured again with the tiny random model and the nested test
schema: unfixed, 99 of 100 outputs failed ``json.loads`` and, parsed leniently,
99 of 100 broke integer bounds; fixed, 600 of 600 validated at the first try):

* its string ``char`` rule admits raw control characters — replaced by a rule
  of printable Unicode scalar values (no C0/C1 controls, DEL or surrogates) and
  only the plain escapes (no ``\\uXXXX``: a model could write a lone surrogate
  that parses but can never be stored as UTF-8);
* integer ``minimum``/``maximum`` are ignored — ranges of up to 256 values become
  an ``enum`` (enforced exactly by the grammar); wider ranges get a rule bounding
  sign and digit count, and the exact range is checked after parsing and
  retried by the runtime;
* the OpenAI ``response_format={"type": "json_schema"}`` form is silently
  ignored by llama-cpp-python — we never use it; the grammar goes straight to
  the sampler.

Unbounded strings and arrays get a generous length cap *in the grammar only* so a
model stuck in a loop inside a string is forced to close it instead of running
to max_tokens; output that reaches such a cap is rejected (and retried) rather
than passed on silently cut. The caller's original schema is what the output is
validated against after parsing — the grammar is a guide, the validator is the judge.
"""
from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

# Implicit caps (grammar only) for strings/arrays whose schema sets no maximum.
# Output that reaches a cap is rejected and retried, never passed on cut short.
DEFAULT_MAX_STRING_CHARS = 1500
DEFAULT_MAX_ITEMS = 48
SMALL_INT_RANGE = 256  # integer ranges up to this many values are enforced by the grammar

# Replaces the converter's ``[^"\\] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})``. A
# positive class of Unicode scalar values: no C0/C1 controls, no quote or
# backslash, no surrogates and nothing above U+10FFFF (llama.cpp's matcher decodes
# byte tokens leniently; a negated class let a random model assemble invalid UTF-8).
SAFE_CHAR_RULE = (r'char ::= [\x20\x21\x23-\x5B\x5D-\x7E\u00A0-\uD7FF\uE000-\U0010FFFF]'
                  r' | "\\" (["\\/nrt])')
_PLACEHOLDER = "__engram_rule_{}__"
# llama.cpp refuses nested repetitions past ~1000 levels (the converter's
# ``(char (char ...)?)?`` form) and silently drops an x{m,n} maximum above 2000.
_MAX_GRAMMAR_REPEAT = 2000
_CHAR_RULE_RE = re.compile(r"^char ::= .*$", re.MULTILINE)


class InvalidOutput(ValueError):
    """One generated output that is not valid JSON for the schema (and why)."""


@dataclass(frozen=True)
class JsonGrammar:
    """A GBNF grammar for a schema, and the validator for its parsed output."""

    schema: Mapping[str, Any]
    gbnf: str
    validator: Any = field(repr=False, compare=False)
    string_cap: int | None = None  # implicit caps actually applied (see module doc)
    items_cap: int | None = None

    def parse(self, text: str) -> Any:
        """Parse and validate ``text``; raise ``InvalidOutput`` with the reason."""
        try:
            value = json.loads(text)  # strict: raw control characters are errors
        except json.JSONDecodeError as exc:
            tail = text[-40:].replace("\n", "\\n")
            raise InvalidOutput(f"not valid JSON ({exc.msg} at char {exc.pos}; "
                                f"ends …{tail!r})") from None
        errors = sorted(self.validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.path) or "(root)"
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InvalidOutput(f"schema violation at {where}: {first.message}{more}")
        capped = self._at_cap(value)
        if capped:
            raise InvalidOutput(f"{capped} reached the grammar's length cap (a loop, or more than "
                                "the schema expects; give it a maxLength/maxItems)")
        return value

    def _at_cap(self, value: Any) -> str | None:
        if isinstance(value, str):
            return "a string" if self.string_cap and len(value) >= self.string_cap else None
        if isinstance(value, list):
            if self.items_cap and len(value) >= self.items_cap:
                return "an array"
            items: Any = value
        elif isinstance(value, dict):
            items = value.values()
        else:
            return None
        return next((c for c in (self._at_cap(v) for v in items) if c), None)


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
        self.rules: dict[str, str] = {}  # placeholder constant -> our own GBNF
        self.capped_strings = self.capped_items = False

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
        if isinstance(kind, list):  # ["string", "null"]: bound each alternative
            return self({"anyOf": [{**s, "type": t} for t in kind]})
        if kind == "string" and "pattern" not in s and "format" not in s:
            lo = int(s.get("minLength", 0))
            if "maxLength" in s:
                hi: int | None = int(s["maxLength"])
            else:
                hi, self.capped_strings = max(lo, self.max_string), True
            if hi is not None and hi > _MAX_GRAMMAR_REPEAT:
                hi = None  # too long to spell out in a grammar: the validator checks it
            if lo > _MAX_GRAMMAR_REPEAT:
                raise ValueError(f"minLength {lo} is too large for a generation grammar")
            bound = "" if hi is None else str(hi)
            return self._placeholder('"\\"" char{%d,%s} "\\"" space' % (lo, bound))
        elif kind == "array" and "items" in s and not isinstance(s["items"], list):
            if "maxItems" not in s:
                s["maxItems"] = max(int(s.get("minItems", 0)), self.max_items)
                self.capped_items = True
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
                return self._placeholder(_digits_rule(lo, hi))
        return s

    def _placeholder(self, rule: str) -> dict[str, str]:
        """A constant the converter passes through, replaced by ``rule`` afterwards."""
        name = _PLACEHOLDER.format(len(self.rules))
        self.rules[name] = rule
        return {"const": name}


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
    # Caps sit above every explicit maximum, so output that reaches one can only
    # come from a field that had no maximum of its own.
    lengths = [int(n) for n in re.findall(r'"maxLength": (\d+)', schema_json)]
    counts = [int(n) for n in re.findall(r'"maxItems": (\d+)', schema_json)]
    max_string = max([max_string, *(n + 1 for n in lengths)])
    max_items = max([max_items, *(n + 1 for n in counts)])
    bounder = _Bounder(max_string, max_items)
    bounded = bounder(copy.deepcopy(schema))
    try:
        gbnf = json_schema_to_gbnf(json.dumps(bounded))
    except (AssertionError, KeyError, ValueError, NotImplementedError) as exc:
        raise ValueError(f"schema not supported by the grammar converter: {exc}") from None
    for name, rule in bounder.rules.items():
        literal = '"\\"%s\\""' % name
        if literal not in gbnf:  # the converter changed shape: fail loudly
            raise RuntimeError("unexpected grammar converter output (placeholder)")
        gbnf = gbnf.replace(literal, rule)
    if "char ::=" in gbnf:
        gbnf, n = _CHAR_RULE_RE.subn(lambda _m: SAFE_CHAR_RULE, gbnf)
        if n != 1:  # never run with the converter's unsafe rule
            raise RuntimeError("unexpected grammar converter output (char rule)")
    elif " char" in gbnf:
        gbnf += "\n" + SAFE_CHAR_RULE
    return JsonGrammar(schema=schema, gbnf=gbnf, validator=validator_cls(schema),
                       string_cap=max_string if bounder.capped_strings else None,
                       items_cap=max_items if bounder.capped_items else None)


def json_grammar(schema: Mapping[str, Any], *, max_string_chars: int = DEFAULT_MAX_STRING_CHARS,
                 max_items: int = DEFAULT_MAX_ITEMS) -> JsonGrammar:
    """The grammar and validator for ``schema`` (cached; raises ValueError if unusable)."""
    # Key keeps property order: models write fields in the order the schema lists them.
    return _compile(json.dumps(schema), max_string_chars, max_items)
