"""The plan file's JSON Schema, and checking data against it with every error's path.

``plan.schema.json`` (shipped beside this module) is the contract of the format's shape.
`schema_issues` checks data against it with a small validator compiled from that very file:
`jsonschema` walks a 5,000-key-result plan in about ten seconds, this in a fraction of one.
It implements exactly the keywords the schema uses (and refuses to compile one it does not
know, so the schema cannot silently outgrow it); `jsonschema_issues` runs the reference
`jsonschema` validator on the same data, and the tests prove the two report the same issues.

Pure Python: no Django.
"""

from __future__ import annotations

import difflib
import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from milepost.plans.document import IssuePath, PlanIssue

__all__ = ["iso_date", "jsonschema_issues", "plan_schema", "schema_issues"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ONE = Decimal(1)


@cache
def plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format (``milepost/plans/plan.schema.json``)."""
    text = resources.files("milepost.plans").joinpath("plan.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- what the data's values are -----------------------------------------------------------


def is_number(value: object) -> bool:
    """A JSON number: a finite Decimal or an int (not a bool)."""
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int) and not isinstance(value, bool)


def is_integer(value: object) -> bool:
    """A whole number *as written*: 3 and 3E+2 are, 3.0 is not."""
    if isinstance(value, Decimal):
        # same_quantum(1): exponent 0, the usual case, without building as_tuple().
        return value.is_finite() and (
            value.same_quantum(_ONE) or int(value.as_tuple().exponent) >= 0
        )
    return isinstance(value, int) and not isinstance(value, bool)


def is_iso_date(value: object) -> bool:
    """The "date" format: YYYY-MM-DD naming a real day (anything not text passes)."""
    if not isinstance(value, str):
        return True
    if not _ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# A plan names the same few hundred days a million times (every weekly check-in): each text
# is read once, for the schema's date check and the meaning pass alike. Bounded.
_DATES: dict[str, date | None] = {}
_DATES_MAX = 65_536


def iso_date(text: str) -> date | None:
    """The day a YYYY-MM-DD text names, or None when it names none (remembered per text)."""
    try:
        return _DATES[text]
    except KeyError:
        pass
    parsed = date.fromisoformat(text) if is_iso_date(text) else None
    if len(_DATES) >= _DATES_MAX:
        _DATES.clear()
    _DATES[text] = parsed
    return parsed


def _is_iso_date_seen(value: str) -> bool:
    """`is_iso_date`, through the remembered texts of `iso_date`."""
    return iso_date(value) is not None


_TYPES: dict[str, Callable[[object], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": is_number,
    "integer": is_integer,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _equal(one: object, two: object) -> bool:
    """JSON equality as `jsonschema` has it: true is not 1, 1.0 is 1."""
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if is_number(one) and is_number(two):
        return one == two
    return one is None and two is None


# --- the compiled validator ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One keyword of the schema that a value breaks."""

    path: IssuePath
    keyword: str
    schema: Mapping[str, Any]  # the (sub)schema holding the keyword
    instance: Any
    expected: Any  # the keyword's value in the schema


# Where a value sits, built as the walk descends: None at the root, else (parent, key or
# index). The flat path is only built for a value that breaks a rule (see `_flat`), so the
# walk allocates one pair per value instead of copying the whole path for each.
Where = tuple[Any, str | int] | None
Check = Callable[[Any, Where, list[SchemaError]], None]


def _flat(where: Where) -> IssuePath:
    parts: list[str | int] = []
    while where is not None:
        where, key = where
        parts.append(key)
    parts.reverse()
    return tuple(parts)


_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "x-error"})


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.defs: Mapping[str, Any] = root.get("$defs", {})
        self.refs: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        name = ref.removeprefix("#/$defs/")
        if name not in self.defs:
            raise ValueError(f"unsupported $ref {ref!r}")
        if name not in self.refs:
            cell: list[Check] = []
            self.refs[name] = lambda v, p, out: cell[0](v, p, out)  # allows recursion
            cell.append(self.compile(self.defs[name]))
            self.refs[name] = cell[0]
        return self.refs[name]

    def compile(self, schema: Mapping[str, Any]) -> Check:
        fused = self.fused_object(schema) or self.fused_value(schema)
        if fused is not None:
            return fused
        checks: list[Check] = []

        def fail(keyword: str, expected: Any) -> Check:
            def add(value: Any, path: Where, out: list[SchemaError]) -> None:
                out.append(SchemaError(_flat(path), keyword, schema, value, expected))

            return add

        for keyword, expected in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            if keyword == "$ref":
                checks.append(self.ref(expected))
            elif keyword == "type":
                names = expected if isinstance(expected, list) else [expected]
                checks.append(_type_check(names, fail(keyword, expected)))
            elif keyword == "properties":
                checks.append(_properties_check({k: self.compile(v) for k, v in expected.items()}))
            elif keyword == "additionalProperties":
                if expected is not False:
                    raise ValueError("unsupported additionalProperties (only false is)")
                allowed = frozenset(schema.get("properties", {}))
                checks.append(_extra_check(allowed, fail(keyword, expected)))
            elif keyword == "required":
                checks.append(_required_check(tuple(expected), fail(keyword, expected)))
            elif keyword == "items":
                checks.append(_items_check(self.compile(expected)))
            elif keyword in ("enum", "const"):
                options = tuple(expected) if keyword == "enum" else (expected,)
                checks.append(_options_check(options, fail(keyword, expected)))
            elif keyword in _TEXT_KEYWORDS:
                checks.append(_text_check(_text_rule(keyword, expected), fail(keyword, expected)))
            elif keyword in ("minimum", "exclusiveMinimum", "maximum"):
                checks.append(_bound_check(keyword, expected, fail(keyword, expected)))
            else:
                raise ValueError(f"unsupported schema keyword {keyword!r}")

        def run(value: Any, path: Where, out: list[SchemaError]) -> None:
            for check in checks:
                check(value, path, out)

        return checks[0] if len(checks) == 1 else run

    def fused_object(self, schema: Mapping[str, Any]) -> Check | None:
        """One check for ``{"type": "object", ...}`` that does what its keywords' checks do.

        A plan has tens of thousands of mappings: one call each instead of four. Only for
        the keywords type, additionalProperties, required and properties in that order, so
        the issues come out in the same order as from the separate checks.
        """
        keywords = [k for k in schema if k not in _ANNOTATIONS]
        if schema.get("type") != "object" or keywords != [
            k for k in _OBJECT_KEYWORDS if k in schema
        ]:
            return None
        allowed: frozenset[str] | None = None
        if "additionalProperties" in schema:
            if schema["additionalProperties"] is not False:
                raise ValueError("unsupported additionalProperties (only false is)")
            allowed = frozenset(schema.get("properties", {}))
        required: tuple[str, ...] = tuple(schema.get("required", ()))
        props = {k: self.compile(v) for k, v in schema.get("properties", {}).items()}
        return _object_check(
            allowed,
            required,
            props,
            _fail(schema, "type", "object"),
            _fail(schema, "additionalProperties", False),
            _fail(schema, "required", schema.get("required")),
        )

    def fused_value(self, schema: Mapping[str, Any]) -> Check | None:
        """One check for ``{"type": ..., <text or number rules>}`` (a key, a title, a date, a
        bounded number: millions of values in a large plan) that does what its keywords'
        checks do, in the same order: the type first, then the text rules for text or the
        bounds for a number, in their order in the schema.
        """
        keywords = [k for k in schema if k not in _ANNOTATIONS]
        if len(keywords) < 2 or keywords[0] != "type":
            return None
        if not all(k in _TEXT_KEYWORDS or k in _BROKEN_BOUND for k in keywords[1:]):
            return None
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        python_types = tuple(_PYTHON_TYPES[n] for n in names if n in _PYTHON_TYPES)
        preds = [_TYPES[n] for n in names if n not in _PYTHON_TYPES]
        type_fail = _fail(schema, "type", schema["type"])
        text_rules: list[tuple[Callable[[str], object], Check]] = []
        bounds: list[tuple[Callable[[Any, Any], bool], Any, Check]] = []
        for keyword in keywords[1:]:
            expected = schema[keyword]
            fail = _fail(schema, keyword, expected)
            if keyword in _BROKEN_BOUND:
                bounds.append((_BROKEN_BOUND[keyword], expected, fail))
            else:
                text_rules.append((_text_rule(keyword, expected), fail))

        def check(value: Any, path: Where, out: list[SchemaError]) -> None:
            if not isinstance(value, python_types):
                for pred in preds:
                    if pred(value):
                        break
                else:
                    type_fail(value, path, out)
            if isinstance(value, str):
                for ok, text_fail in text_rules:
                    if not ok(value):
                        text_fail(value, path, out)
            elif bounds and is_number(value):
                for broken, bound, bound_fail in bounds:
                    if broken(value, bound):
                        bound_fail(value, path, out)

        return check


_OBJECT_KEYWORDS = ("type", "additionalProperties", "required", "properties")
_TEXT_KEYWORDS = frozenset({"pattern", "maxLength", "format"})


def _text_rule(keyword: str, expected: Any) -> Callable[[str], object]:
    """What a text must satisfy for `keyword` (pattern, maxLength or format)."""
    if keyword == "pattern":
        return re.compile(expected).search
    if keyword == "maxLength":
        return _at_most(expected)
    if expected != "date":
        raise ValueError(f"unsupported format {expected!r}")
    return _is_iso_date_seen


def _fail(schema: Mapping[str, Any], keyword: str, expected: Any) -> Check:
    def add(value: Any, path: Where, out: list[SchemaError]) -> None:
        out.append(SchemaError(_flat(path), keyword, schema, value, expected))

    return add


def _object_check(
    allowed: frozenset[str] | None,
    required: tuple[str, ...],
    props: dict[str, Check],
    type_fail: Check,
    extra_fail: Check,
    required_fail: Check,
) -> Check:
    get = props.get
    required_names = frozenset(required)

    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if not isinstance(value, dict):
            type_fail(value, path, out)
            return
        if allowed is not None and not allowed.issuperset(value):
            extra_fail(value, path, out)
        if not value.keys() >= required_names:
            required_fail(value, path, out)
        for key, item in value.items():
            sub = get(key)
            if sub is not None:
                sub(item, (path, key), out)

    return check


def _at_most(limit: int) -> Callable[[str], bool]:
    return lambda text: len(text) <= limit


# The JSON types that are exactly one Python type in decoded data (one isinstance for all of
# them); "number" and "integer" need a look at the value (`_TYPES`).
_PYTHON_TYPES: dict[str, type] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _type_check(names: list[str], fail: Check) -> Check:
    python_types = tuple(_PYTHON_TYPES[n] for n in names if n in _PYTHON_TYPES)
    preds = [_TYPES[n] for n in names if n not in _PYTHON_TYPES]

    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if isinstance(value, python_types):
            return
        for pred in preds:
            if pred(value):
                return
        fail(value, path, out)

    return check


def _properties_check(props: dict[str, Check]) -> Check:
    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                sub = props.get(key)
                if sub is not None:
                    sub(item, (path, key), out)

    return check


def _extra_check(allowed: frozenset[str], fail: Check) -> Check:
    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if isinstance(value, dict) and not allowed.issuperset(value):
            fail(value, path, out)

    return check


def _required_check(names: tuple[str, ...], fail: Check) -> Check:
    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if isinstance(value, dict) and any(name not in value for name in names):
            fail(value, path, out)

    return check


def _items_check(item_check: Check) -> Check:
    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                item_check(item, (path, i), out)

    return check


def _options_check(options: tuple[Any, ...], fail: Check) -> Check:
    # Text or null equals only an option that is the same text or null (`_equal`): one set
    # lookup for them; other values are compared with each option.
    texts = frozenset(o for o in options if o is None or isinstance(o, str))

    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if value is None or isinstance(value, str):
            if value not in texts:
                fail(value, path, out)
        elif not any(_equal(value, option) for option in options):
            fail(value, path, out)

    return check


def _text_check(ok: Callable[[Any], object], fail: Check) -> Check:
    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if isinstance(value, str) and not ok(value):
            fail(value, path, out)

    return check


_BROKEN_BOUND: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": operator.lt,
    "exclusiveMinimum": operator.le,
    "maximum": operator.gt,
}


def _bound_check(keyword: str, bound: Any, fail: Check) -> Check:
    broken = _BROKEN_BOUND[keyword]

    def check(value: Any, path: Where, out: list[SchemaError]) -> None:
        if is_number(value) and broken(value, bound):
            fail(value, path, out)

    return check


@cache
def _compiled() -> Check:
    schema = plan_schema()
    return _Compiler(schema).compile(schema)


# --- from schema errors to issues a person reads ------------------------------------------

_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


def _unknown_key_message(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean '{close[0]}'?)"
    return "unknown key (allowed: " + ", ".join(sorted(allowed)) + ")"


def _issues(errors: Iterable[SchemaError]) -> list[PlanIssue]:
    issues: list[PlanIssue] = []
    for err in errors:
        path, kind, expected = err.path, err.keyword, err.expected
        custom = err.schema.get("x-error")
        if kind == "additionalProperties" and isinstance(err.instance, dict):
            allowed = list(err.schema.get("properties", {}))
            for key in err.instance:
                if key not in allowed:
                    issues.append(PlanIssue((*path, key), _unknown_key_message(key, allowed)))
        elif kind == "required" and isinstance(err.instance, dict):
            for key in expected:
                if key not in err.instance:
                    issues.append(PlanIssue((*path, key), "is required"))
        elif kind in ("type", "pattern", "format", "maxLength") and custom:
            issues.append(PlanIssue(path, str(custom)))
        elif kind == "type":
            names: list[str] = expected if isinstance(expected, list) else [expected]
            words = [_TYPE_WORDS.get(n, n) for n in names if n != "null"]
            issues.append(PlanIssue(path, "must be " + " or ".join(words)))
        elif kind == "enum":
            options = ", ".join(str(o) for o in expected if o is not None)
            issues.append(PlanIssue(path, f"must be one of: {options}"))
        elif kind == "const":
            issues.append(PlanIssue(path, f"must be {expected}"))
        elif kind == "minimum":
            issues.append(PlanIssue(path, f"must be at least {expected}"))
        elif kind == "exclusiveMinimum":
            issues.append(PlanIssue(path, f"must be greater than {expected}"))
        elif kind == "maximum":
            issues.append(PlanIssue(path, f"must be at most {expected}"))
        else:  # maxLength without x-error, and anything added to the schema later
            issues.append(PlanIssue(path, f"breaks the schema rule {kind}: {expected}"))
    return issues


def schema_issues(data: Any) -> list[PlanIssue]:
    """Every way normalised plan data breaks the schema (numbers as Decimal, dates as text)."""
    errors: list[SchemaError] = []
    _compiled()(data, None, errors)
    return _issues(errors)


@cache
def _reference_validator() -> Any:
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many(
        {"number": lambda _c, v: is_number(v), "integer": lambda _c, v: is_integer(v)}
    )
    cls = jsonschema.validators.extend(base, type_checker=checker)  # type: ignore[no-untyped-call]
    formats = jsonschema.FormatChecker(formats=())
    formats.checks("date")(is_iso_date)
    return cls(plan_schema(), format_checker=formats)


def jsonschema_issues(data: Any) -> list[PlanIssue]:
    """The same as `schema_issues`, computed by the reference `jsonschema` validator (slow)."""
    return _issues(
        SchemaError(
            tuple(err.absolute_path),
            str(err.validator),
            err.schema if isinstance(err.schema, dict) else {},
            err.instance,
            err.validator_value,
        )
        for err in _reference_validator().iter_errors(data)
    )
