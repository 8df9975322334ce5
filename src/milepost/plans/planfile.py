"""Read a plan file (YAML or JSON) into a `PlanDocument`, reporting every error with its path.

Reading goes in three steps, and every problem found in steps 2 and 3 is collected, not just
the first:

1. **Decode** the text (YAML 1.2 core schema or JSON). Numbers become `Decimal` built from
   the text as written (``1.50`` stays ``1.50``), dates stay strings, ``yes``/``no``/``on``
   are plain strings, duplicate mapping keys are refused. Failure here (or a top level that
   is not a mapping) raises `PlanReadError`: the input is not a plan file at all.
2. **Schema**: the JSON Schema shipped beside this module (``plan.schema.json``) checks
   shapes, types, enums and unknown keys.
3. **Meaning** (`milepost.plans.semantic`): references resolve, keys are unique, dates and
   values make sense together, alignment has no loop. Steps 2 and 3 raise
   `PlanValidationError` listing every issue in file order.

Pure Python: no Django import, so `milepost plan check` runs on a file with no database.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
import yaml.constructor
import yaml.nodes
import yaml.resolver

from milepost.plans.document import (
    IssuePath,
    PlanDocument,
    PlanFileError,
    PlanIssue,
    PlanReadError,
    PlanValidationError,
    TaskSpec,
    TaskStatus,
    format_path,
    task_counts,
)
from milepost.plans.semantic import build_document

__all__ = [
    "PlanDocument",
    "PlanFileError",
    "PlanIssue",
    "PlanReadError",
    "PlanValidationError",
    "PlanYamlResolver",
    "TaskSpec",
    "TaskStatus",
    "decode_plan_text",
    "format_path",
    "load_plan",
    "parse_plan_data",
    "parse_plan_text",
    "plan_schema",
    "read_plan_data",
    "task_counts",
    "validate_plan_data",
]

PlanFormat = Literal["yaml", "json"]

# Guards against alias bombs and pathological nesting (a real plan is far below both).
MAX_NODES = 5_000_000
MAX_DEPTH = 64

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- step 1: decoding ---------------------------------------------------------------------


class PlanYamlResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core-schema resolution, shared by the reader and the canonical writer.

    PyYAML defaults to YAML 1.1, where ``no`` is false, ``on`` is true, ``1e3`` is a string
    and ``2026-07-01`` is a date object. Plan files follow YAML 1.2 instead so what a person
    writes means what it looks like, and the canonical writer quotes exactly the strings this
    reader would otherwise take for something else.
    """


PlanYamlResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
PlanYamlResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
YAML_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
YAML_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
PlanYamlResolver.add_implicit_resolver("tag:yaml.org,2002:int", YAML_INT, list("-+0123456789"))
PlanYamlResolver.add_implicit_resolver("tag:yaml.org,2002:float", YAML_FLOAT, list("-+.0123456789"))
PlanYamlResolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


class _PlanConstructor(yaml.constructor.SafeConstructor):
    def construct_mapping(self, node: yaml.nodes.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys silently; in a plan that hides a mistake.
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.nodes.ScalarNode) and key_node.tag != (
                "tag:yaml.org,2002:merge"
            ):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found the key {key_node.value!r} twice",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _construct_number(loader: Any, node: yaml.nodes.Node) -> Decimal:
    """A YAML int or float, as the Decimal of its text (``1.50`` keeps its trailing zero)."""
    text = str(loader.construct_scalar(node))
    try:
        return Decimal(text)
    except InvalidOperation:
        pass
    try:
        return Decimal(int(text, 0))  # 0x1f, 0o17
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a number", node.start_mark
        ) from None


_PlanConstructor.add_constructor("tag:yaml.org,2002:int", _construct_number)
_PlanConstructor.add_constructor("tag:yaml.org,2002:float", _construct_number)


class _PurePlanLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _PlanConstructor,
    PlanYamlResolver,
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _PlanConstructor.__init__(self)
        PlanYamlResolver.__init__(self)


_PlanLoader: type[Any] = _PurePlanLoader
if yaml.__with_libyaml__:  # libyaml parses about ten times faster; same results
    from yaml._yaml import CParser

    class _CPlanLoader(CParser, _PlanConstructor, PlanYamlResolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _PlanConstructor.__init__(self)
            PlanYamlResolver.__init__(self)

    _PlanLoader = _CPlanLoader


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"found the key {key!r} twice in one object")
        out[key] = value
    return out


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a plan can hold")


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        return f"{problem}{where}"
    return str(exc)


def decode_plan_text(text: str, fmt: PlanFormat | None = None) -> Any:
    """Decode YAML or JSON text into plain data (numbers as `Decimal`, dates as strings).

    ``fmt=None`` picks JSON when the text starts with ``{``, else YAML. Raises `PlanReadError`
    when the text is not valid YAML/JSON.
    """
    text = text.removeprefix("\ufeff")
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":
        try:
            return json.loads(
                text,
                parse_float=Decimal,
                parse_int=Decimal,
                parse_constant=_json_constant,
                object_pairs_hook=_json_pairs,
            )
        except json.JSONDecodeError as exc:
            raise PlanReadError(
                f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        except (ValueError, RecursionError) as exc:
            raise PlanReadError(f"not valid JSON: {exc}") from None
    try:
        loader = _PlanLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise PlanReadError(f"not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise PlanReadError("not valid YAML: nested too deeply") from None


class _TooBig(Exception):
    pass


def _check_size(data: Any) -> None:
    """Refuse data whose expanded size passes the limits, in time linear in distinct nodes.

    YAML aliases share one object many times (``&a [*b, *b, ...]``): expanded, a few lines
    can stand for billions of values. Counting with a memo over shared objects finds that
    before anything walks the expanded tree.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(value: Any, depth: int) -> int:
        if not isinstance(value, dict | list):
            return 1
        ident = id(value)
        if ident in sizes:
            return sizes[ident]
        if ident in active or depth > MAX_DEPTH:  # a value that contains itself, or too deep
            raise _TooBig
        active.add(ident)
        children = value.values() if isinstance(value, dict) else value
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_NODES:
                raise _TooBig
        active.discard(ident)
        sizes[ident] = total
        return total

    size(data, 0)


def _normalize(value: Any, depth: int, budget: list[int]) -> Any:
    """Plain data with one representation per kind: str keys, lists, Decimal numbers, ISO dates."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooBig
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else str(k)): _normalize(v, depth + 1, budget)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_normalize(v, depth + 1, budget) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Decimal(str) so 0.1 is 0.1, not its binary approximation; inf/nan fail the schema.
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else value
    if isinstance(value, datetime):
        return value.isoformat()  # fails the date check, with its path
    if isinstance(value, date):
        return value.isoformat()
    return value


def read_plan_data(path: str | Path) -> Any:
    """Read and decode a plan file into plain data; the format comes from the extension.

    Raises `PlanReadError` for a missing or unreadable file, text that is not UTF-8, YAML or
    JSON, or a top level that is not a mapping.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise PlanReadError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise PlanReadError(f"{p}: is a directory, not a plan file") from None
    except OSError as exc:
        raise PlanReadError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanReadError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    suffix = p.suffix.lower()
    fmt: PlanFormat | None = (
        "json" if suffix == ".json" else "yaml" if suffix in (".yaml", ".yml") else None
    )
    try:
        return decode_plan_text(text, fmt)
    except PlanReadError as exc:
        raise PlanReadError(f"{p}: {exc}") from None


# --- step 2: the schema -------------------------------------------------------------------


@cache
def plan_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format (shipped as ``milepost/plans/plan.schema.json``)."""
    text = resources.files("milepost.plans").joinpath("plan.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _is_number(_checker: Any, value: Any) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int) and not isinstance(value, bool)


def _is_integer(_checker: Any, value: Any) -> bool:
    if isinstance(value, Decimal):
        # Written without a fraction: 3 and 3E+2 are whole numbers, 3.0 is not.
        return value.is_finite() and int(value.as_tuple().exponent) >= 0
    return isinstance(value, int) and not isinstance(value, bool)


def _is_iso_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@cache
def _validator() -> jsonschema.protocols.Validator:
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many({"number": _is_number, "integer": _is_integer})
    cls = jsonschema.validators.extend(base, type_checker=checker)  # type: ignore[no-untyped-call]
    formats = jsonschema.FormatChecker(formats=())
    formats.checks("date")(_is_iso_date)
    validator: jsonschema.protocols.Validator = cls(plan_schema(), format_checker=formats)
    return validator


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


def _schema_issues(data: Any) -> list[PlanIssue]:
    issues: list[PlanIssue] = []
    for err in _validator().iter_errors(data):
        path: IssuePath = tuple(err.absolute_path)
        kind = err.validator
        schema = err.schema if isinstance(err.schema, dict) else {}
        expected: Any = err.validator_value
        custom = schema.get("x-error")
        if kind == "additionalProperties" and isinstance(err.instance, dict):
            allowed = list(schema.get("properties", {}))
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
        else:  # a rule added to the schema later without a friendlier wording here
            issues.append(PlanIssue(path, err.message))
    return issues


# --- putting it together ------------------------------------------------------------------


def _document_order(data: Any, path: IssuePath) -> tuple[int, ...]:
    """Where a path sits in the file, so issues print top to bottom."""
    position: list[int] = []
    node = data
    for part in path:
        if isinstance(node, dict) and isinstance(part, str):
            keys = list(node)
            position.append(keys.index(part) if part in keys else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            position.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            position.append(1 << 30)
            node = None
    return tuple(position)


def validate_plan_data(data: Any) -> tuple[PlanDocument | None, list[PlanIssue]]:
    """Check decoded plan data; return the document (None if invalid) and every issue.

    Issues are in file order, each once. Raises `PlanReadError` if the top level is not a
    mapping or the data is absurdly large or deep.
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise PlanReadError(f"a plan file must be a mapping at the top level (this one is {kind})")
    try:
        _check_size(data)
        data = _normalize(data, 0, [MAX_NODES])
    except _TooBig:
        raise PlanReadError(
            f"too large or nested too deeply (limits: {MAX_NODES} values, depth {MAX_DEPTH})"
        ) from None
    issues = _schema_issues(data)
    document, semantic = build_document(data)
    seen: set[tuple[IssuePath, str]] = set()
    unique: list[PlanIssue] = []
    for issue in [*issues, *semantic]:
        if (issue.path, issue.message) not in seen:
            seen.add((issue.path, issue.message))
            unique.append(issue)
    unique.sort(key=lambda i: _document_order(data, i.path))
    return (document if not unique else None), unique


def parse_plan_data(data: Any) -> PlanDocument:
    """Decoded plan data → `PlanDocument`; raises `PlanValidationError` listing every issue."""
    document, issues = validate_plan_data(data)
    if document is None:
        raise PlanValidationError(issues)
    return document


def parse_plan_text(text: str, fmt: PlanFormat | None = None) -> PlanDocument:
    """YAML/JSON text → `PlanDocument` (see `decode_plan_text` and `parse_plan_data`)."""
    return parse_plan_data(decode_plan_text(text, fmt))


def load_plan(path: str | Path) -> PlanDocument:
    """Read, validate and build a plan file.

    Raises `PlanReadError` for input that is not a plan file at all (exit code 2 in the CLI)
    and `PlanValidationError` with every issue for a file that breaks the format (exit 1).
    """
    data = read_plan_data(path)
    try:
        return parse_plan_data(data)
    except PlanReadError as exc:
        raise PlanReadError(f"{path}: {exc}") from None
