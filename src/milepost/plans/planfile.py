"""Read a plan file (YAML or JSON) into a `PlanDocument`, reporting every error with its path.

Reading goes in three steps, and every problem found in steps 2 and 3 is collected, not just
the first:

1. **Decode** the text (YAML 1.2 core schema or JSON). Numbers become `Decimal` built from
   the text as written (``1.50`` stays ``1.50``), dates stay strings, ``yes``/``no``/``on``
   are plain strings, duplicate mapping keys are refused. Failure here (or a top level that
   is not a mapping) raises `PlanReadError`: the input is not a plan file at all.
2. **Schema**: the JSON Schema shipped beside this module (``plan.schema.json``) checks
   shapes, types, enums and unknown keys (`milepost.plans.schema`).
3. **Meaning** (`milepost.plans.semantic`): references resolve, keys are unique, dates and
   values make sense together, alignment has no loop. Steps 2 and 3 raise
   `PlanValidationError` listing every issue in file order.

Pure Python: no Django import, so `milepost plan check` runs on a file with no database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Literal

from milepost.forked import ForkedChildFailed, start_forked
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
from milepost.plans.schema import plan_schema, schema_issues
from milepost.plans.semantic import build_document
from milepost.plans.textio import MAX_DEPTH, MAX_NODES, TextError, decode_json, decode_yaml

__all__ = [
    "PlanDocument",
    "PlanFileError",
    "PlanIssue",
    "PlanReadError",
    "PlanValidationError",
    "TaskSpec",
    "TaskStatus",
    "decode_plan_text",
    "format_path",
    "load_plan",
    "parse_plan_data",
    "parse_plan_text",
    "plan_schema",
    "read_plan_data",
    "start_plan_data_check",
    "task_counts",
    "validate_plan_data",
]

PlanFormat = Literal["yaml", "json"]


# --- step 1: decoding ---------------------------------------------------------------------


def decode_plan_text(text: str, fmt: PlanFormat | None = None) -> Any:
    """Decode YAML or JSON text into plain data (numbers as `Decimal`, dates as strings).

    ``fmt=None`` picks JSON when the text starts with ``{``, else YAML. Raises `PlanReadError`
    when the text is not valid YAML/JSON.
    """
    text = text.removeprefix("\ufeff")
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    try:
        return decode_json(text) if fmt == "json" else decode_yaml(text)
    except TextError as exc:
        raise PlanReadError(f"not valid {fmt.upper()}: {exc}") from None


def read_plan_data(path: str | Path) -> Any:
    """Read and decode a plan file into plain data; the format comes from the extension.

    Raises `PlanReadError` for a missing or unreadable file, or text that is not UTF-8,
    YAML or JSON.
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


class _TooBig(Exception):
    pass


def _normalize(value: Any, depth: int, budget: list[int]) -> Any:
    """Plain data with one representation per kind: str keys, lists, Decimal numbers, ISO dates.

    Data decoded by this module already has it; this is for data built in Python (an API
    payload, a test), where an int, a float or a `date` may appear.
    """
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


# --- steps 2 and 3 ------------------------------------------------------------------------


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


def _top_level_mapping(data: Any) -> None:
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise PlanReadError(f"a plan file must be a mapping at the top level (this one is {kind})")


def _started[T](compute: Callable[[], T], *, on_another_core: bool) -> Callable[[], T]:
    """`compute` started in a forked child (`milepost.forked`), or left to run when its
    result is asked for; either way the returned function gives its result. A child that
    fails to answer (killed, out of memory) costs time, not the result: it is computed here."""
    if not on_another_core:
        return compute
    forked = start_forked(compute)

    def result() -> T:
        try:
            return forked()
        except ForkedChildFailed:
            return compute()

    return result


def _in_file_order(
    data: dict[str, Any], schema: list[PlanIssue], semantic: list[PlanIssue]
) -> list[PlanIssue]:
    """Both passes' issues, each once, in file order."""
    seen: set[tuple[IssuePath, str]] = set()
    unique: list[PlanIssue] = []
    for issue in [*schema, *semantic]:
        if (issue.path, issue.message) not in seen:
            seen.add((issue.path, issue.message))
            unique.append(issue)
    unique.sort(key=lambda i: _document_order(data, i.path))
    return unique


def _validate(
    data: Any, *, on_two_cores: bool = False
) -> tuple[PlanDocument | None, list[PlanIssue]]:
    _top_level_mapping(data)
    schema = _started(partial(schema_issues, data), on_another_core=on_two_cores)
    document, semantic = build_document(data)
    unique = _in_file_order(data, schema(), semantic)
    if document is not None and document.notes:
        ordered = sorted(document.notes, key=lambda i: _document_order(data, i.path))
        document = replace(document, notes=tuple(ordered))
    return (document if not unique else None), unique


def start_plan_data_check(data: Any) -> Callable[[], list[PlanIssue]]:
    """Start checking plan data (steps 2 and 3); the returned function finishes the check and
    gives every issue in file order (none: the data is a valid plan).

    The meaning pass starts now on another core; the schema pass runs when the check is
    finished, beside it. For a command that writes the data out in between (``plan export``
    checks the file it writes). `data` as for ``parse_plan_data(decoded=True)``. Command-line
    processes only (`milepost.forked` says why). Raises `PlanReadError` if the top level is
    not a mapping.
    """
    _top_level_mapping(data)
    semantic = _started(lambda: build_document(data)[1], on_another_core=True)
    return lambda: _in_file_order(data, schema_issues(data), semantic())


def validate_plan_data(data: Any) -> tuple[PlanDocument | None, list[PlanIssue]]:
    """Check plan data; return the document (None if invalid) and every issue.

    `data` is what `decode_plan_text` returns, or any equivalent Python data (ints, floats
    and dates are accepted and normalised). Issues are in file order, each once. Raises
    `PlanReadError` if the top level is not a mapping or the data is absurdly large or deep.
    """
    try:
        data = _normalize(data, 0, [MAX_NODES])
    except _TooBig:
        raise PlanReadError(
            f"too large or nested too deeply (limits: {MAX_NODES} values, depth {MAX_DEPTH})"
        ) from None
    return _validate(data)


def parse_plan_data(
    data: Any, *, decoded: bool = False, on_two_cores: bool = False
) -> PlanDocument:
    """Plan data → `PlanDocument`; raises `PlanValidationError` listing every issue.

    ``decoded=True`` says `data` comes straight from `decode_plan_text`/`read_plan_data` (or
    from `milepost.plans.canonical.canonical_data`), whose output is normalised already: the
    normalising copy (costly on a large plan) is skipped. ``on_two_cores=True`` runs the
    schema pass in a forked child beside the meaning pass (`milepost.forked`): for a command
    checking a large file, never in a web process.
    """
    if decoded:
        document, issues = _validate(data, on_two_cores=on_two_cores)
    else:
        document, issues = validate_plan_data(data)
    if document is None:
        raise PlanValidationError(issues)
    return document


def parse_plan_text(text: str, fmt: PlanFormat | None = None) -> PlanDocument:
    """YAML/JSON text → `PlanDocument` (raises `PlanReadError` or `PlanValidationError`)."""
    return parse_plan_data(decode_plan_text(text, fmt), decoded=True)


def load_plan(path: str | Path) -> PlanDocument:
    """Read, validate and build a plan file.

    Raises `PlanReadError` for input that is not a plan file at all (exit code 2 in the CLI)
    and `PlanValidationError` with every issue for a file that breaks the format (exit 1).
    """
    data = read_plan_data(path)
    try:
        return parse_plan_data(data, decoded=True)
    except PlanReadError as exc:
        raise PlanReadError(f"{path}: {exc}") from None
