"""Spreadsheets in and out: key results and check-ins from CSV, and any list as CSV.

**Import** (`import_csv`): a CSV of key results or of check-ins (told apart by its columns;
the templates are `template_csv`). The header names the columns, in any order, in any case,
with spaces or underscores (``Key result`` = ``key_result``); unknown columns are refused so a
typo is never silently ignored. Column mapping (docs/plan-format.md, "Spreadsheets"):

* key results: ``objective`` (its key, required), ``key`` (required), ``title`` (required for
  a new key result), ``kind`` (increase, decrease, maintain, binary, milestones; default
  increase), ``start``, ``target``, ``unit``, ``weight``, ``owner`` (email), ``due``
  (YYYY-MM-DD), ``curve``, ``direction``, ``description``. A key result is found by objective
  and key and created or updated; an empty cell leaves the value as it is (a new key result
  takes the default).
* check-ins: ``key_result`` (``objective/key``, or the key alone with an ``objective``
  column), ``date`` (YYYY-MM-DD), ``value`` (required), ``confidence`` (0-10), ``note``. A row
  with the same date and value as a check-in in the key result's history is already there:
  importing a file again records nothing.

All or nothing: one transaction; every row is tried and every error is reported with its row
(as a spreadsheet numbers it: the header is row 1) and column; on any error nothing changes.
Writes go through the services, so the importer's rights apply (a member checks in on the key
results they may check in on). Separators: comma, semicolon or tab; with a semicolon, a
decimal comma is read too (``1,5``). Text must be UTF-8 (Excel: "CSV UTF-8").

**Export** (`rows_to_csv`): a streaming CSV response from columns and rows, safe to open in a
spreadsheet: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is written with a leading ``'`` so it is never run as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils import timezone

from milepost.engine.model import Curve, KeyResultKind, MaintainDirection
from milepost.errors import DomainError
from milepost.okrs import services as okr_services
from milepost.okrs.engine_io import checkin_history
from milepost.okrs.models import CheckIn, CheckInSource, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership

if TYPE_CHECKING:
    from milepost.accounts.models import User

CsvKind = Literal["key_results", "checkins"]
MAX_ROWS = 5000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")

KEY_RESULT_COLUMNS = (
    "objective",
    "key",
    "title",
    "kind",
    "start",
    "target",
    "unit",
    "weight",
    "owner",
    "due",
    "curve",
    "direction",
    "description",
)
CHECKIN_COLUMNS = ("objective", "key_result", "date", "value", "confidence", "note")
_ALIASES = {
    "kr": "key_result",
    "key_result_key": "key_result",
    "objective_key": "objective",
    "effective_date": "date",
    "start_value": "start",
    "target_value": "target",
    "due_date": "due",
    "maintain_direction": "direction",
    "owner_email": "owner",
}
# Model field (as services name it) → CSV column, for errors.
_FIELD_COLUMNS = {
    "start_value": "start",
    "target_value": "target",
    "due_date": "due",
    "maintain_direction": "direction",
    "effective_date": "date",
}

_KEY_RESULT_TEMPLATE = (
    "objective,key,title,kind,start,target,unit,weight,owner,due,curve,direction,description\n"
    "grow-revenue,arr,Annual recurring revenue from 4.0M to 6.0M,increase,4000000,6000000,"
    "EUR,1,,,linear,,\n"
    "grow-revenue,churn,Monthly churn from 3.5% to 2%,decrease,3.5,2,%,0.5,,,,,\n"
    "reliability,uptime,Keep uptime at or above 99.9%,maintain,99.95,99.9,%,1,,,,at_least,\n"
)


# --- export -----------------------------------------------------------------------------------


def csv_cell(value: object) -> str:
    """One value as a CSV cell: numbers as written, dates ISO, text made formula-safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        from milepost.plans.exporter import tidy_decimal

        return str(tidy_decimal(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        value = value.value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Line:
    """A file-like object for csv.writer that hands back what was written."""

    def write(self, value: str) -> str:
        return value


def csv_lines[T](
    columns: Sequence[tuple[str, Callable[[T], object]]], rows: Iterable[T]
) -> Iterator[str]:
    """The CSV text of `rows`, a line at a time: a header of the column names, then one line
    per row with each column's getter applied (cells made safe by `csv_cell`)."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow([csv_cell(name) for name, _ in columns])
    for row in rows:
        yield writer.writerow([csv_cell(get(row)) for _, get in columns])


def rows_to_csv[T](
    columns: Sequence[tuple[str, Callable[[T], object]]],
    rows: Iterable[T],
    *,
    filename: str = "export.csv",
) -> StreamingHttpResponse:
    """A streaming CSV download of `rows` (see `csv_lines`), UTF-8 with a byte-order mark so
    spreadsheets read accents right."""
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "export.csv"
    response = StreamingHttpResponse(
        csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def template_csv(kind: CsvKind, today: dt.date | None = None) -> str:
    """The downloadable template: the header and a few example rows (check-ins dated a
    week and a day before `today`, so the example imports as it is)."""
    if kind == "key_results":
        return _KEY_RESULT_TEMPLATE
    day = today or timezone.localdate()
    week, yesterday = day - dt.timedelta(days=7), day - dt.timedelta(days=1)
    return (
        "key_result,date,value,confidence,note\n"
        f"grow-revenue/arr,{week.isoformat()},4350000,7,Two enterprise deals signed\n"
        f"grow-revenue/churn,{yesterday.isoformat()},3.2,6,\n"
    )


# --- import: reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvIssue:
    """One problem in a CSV file: its row (the header is row 1) and column."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return (
            f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


@dataclass
class CsvResult:
    """The outcome of a CSV import (or its dry run): counts, changes, errors."""

    kind: CsvKind | None
    dry_run: bool
    applied: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[CsvIssue] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append(CsvIssue(row, column, message))


def _normalise_header(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _ALIASES.get(key, key)


def read_csv(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]], str]:
    """Header (normalised names), rows as ``(row number, {column: cell})`` and the delimiter.

    Raises ValueError for a file with no header or more than `MAX_ROWS` rows."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [_normalise_header(h) for h in next(reader)]
    except StopIteration:
        raise ValueError("the file is empty: it needs a header row naming the columns") from None
    rows: list[tuple[int, dict[str, str]]] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise ValueError(f"more than {MAX_ROWS} rows: split the file")
        rows.append(
            (
                line,
                {
                    name: (cells[i].strip() if i < len(cells) else "")
                    for i, name in enumerate(header)
                },
            )
        )
    return header, rows, delimiter


def detect_kind(header: Sequence[str]) -> CsvKind | None:
    """Check-ins have a date and a value; key results a key and a target or kind."""
    names = set(header)
    if {"date", "value"} <= names:
        return "checkins"
    if "key" in names and names & {"target", "kind", "title"}:
        return "key_results"
    return None


class _Cells:
    """Typed reading of one row's cells, recording errors against the row."""

    def __init__(self, result: CsvResult, line: int, cells: dict[str, str], delimiter: str) -> None:
        self.result, self.line, self.cells, self.delimiter = result, line, cells, delimiter

    def text(self, name: str) -> str:
        return self.cells.get(name, "")

    def decimal(self, name: str) -> Decimal | None:
        raw = self.text(name).replace(" ", "").replace("\u00a0", "")
        if not raw:
            return None
        if self.delimiter != "," and _DECIMAL_COMMA.match(raw):
            raw = raw.replace(",", ".")
        try:
            number = Decimal(raw)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            self.result.error(self.line, name, f"must be a number (not {self.text(name)!r})")
            return None
        return number

    def integer(self, name: str, low: int, high: int) -> int | None:
        number = self.decimal(name)
        if number is None:
            return None
        if number != number.to_integral_value() or not low <= number <= high:
            self.result.error(self.line, name, f"must be a whole number from {low} to {high}")
            return None
        return int(number)

    def date(self, name: str) -> dt.date | None:
        raw = self.text(name)
        if not raw:
            return None
        if re.match(r"^\d{4}-\d{2}-\d{2}$", raw):
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                pass
        self.result.error(self.line, name, f"must be a date written YYYY-MM-DD (not {raw!r})")
        return None

    def choice(self, name: str, enum: type[Enum]) -> str | None:
        raw = self.text(name).lower().replace(" ", "_")
        if not raw:
            return None
        values = [str(m.value) for m in enum]
        if raw not in values:
            self.result.error(self.line, name, f"must be one of {', '.join(values)}")
            return None
        return raw

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            self.result.error(self.line, name, "is required")
        return value


def _report(result: CsvResult, line: int, exc: DomainError) -> None:
    if not exc.errors:
        result.error(line, "", exc.detail)
    for name, messages in exc.errors.items():
        column = _FIELD_COLUMNS.get(name, name) if name != "__all__" else ""
        for message in messages:
            result.error(line, column, str(message))


# --- import: key results and check-ins ----------------------------------------------------------


class _People:
    def __init__(self, actor: Actor) -> None:
        self.by_email = {
            m.user.email.lower(): m.user
            for m in Membership.objects.filter(
                organization_id=actor.organization_id, archived_at__isnull=True
            ).select_related("user")
        }

    def find(self, result: CsvResult, line: int, email: str) -> User | None:
        user = self.by_email.get(email.strip().lower())
        if user is None:
            result.error(line, "owner", f"{email} is not a member of this organization")
        return user


def _import_key_results(
    actor: Actor, rows: list[tuple[int, dict[str, str]]], result: CsvResult, delimiter: str
) -> None:
    objectives = {
        o.key: o
        for o in Objective.objects.visible_to(actor)
        .filter(archived_at__isnull=True)
        .select_related("cycle")
    }
    existing = {
        (kr.objective.key, kr.key): kr
        for kr in KeyResult.objects.visible_to(actor).select_related("objective__cycle", "owner")
    }
    people = _People(actor)
    for line, raw in rows:
        cells = _Cells(result, line, raw, delimiter)
        errors_before = len(result.errors)
        objective_key, key = cells.required("objective"), cells.required("key")
        objective = objectives.get(objective_key)
        if objective_key and objective is None:
            result.error(line, "objective", f"no objective with the key {objective_key!r}")
        values: dict[str, Any] = {}
        for name, column in (("title", "title"), ("unit", "unit"), ("description", "description")):
            if cells.text(column):
                values[name] = cells.text(column)
        for name, column in (
            ("start_value", "start"),
            ("target_value", "target"),
            ("weight", "weight"),
        ):
            number = cells.decimal(column)
            if number is not None:
                values[name] = number
        for name, column, enum in (
            ("kind", "kind", KeyResultKind),
            ("curve", "curve", Curve),
            ("maintain_direction", "direction", MaintainDirection),
        ):
            choice = cells.choice(column, enum)
            if choice is not None:
                values[name] = choice
        due = cells.date("due")
        if due is not None:
            values["due_date"] = due
        if cells.text("owner"):
            values["owner"] = people.find(result, line, cells.text("owner"))
        if len(result.errors) > errors_before or objective is None:
            continue
        row = existing.get((objective.key, key))
        try:
            with transaction.atomic():
                if row is None:
                    if "title" not in values:
                        result.error(line, "title", "is required for a new key result")
                        continue
                    values.setdefault("kind", KeyResultKind.INCREASE.value)
                    kind = values["kind"]
                    defaults = (
                        (Decimal(0), Decimal(1))
                        if kind in ("binary", "milestones")
                        else (None, None)
                    )
                    for name, default in zip(
                        ("start_value", "target_value"), defaults, strict=True
                    ):
                        if name not in values:
                            if default is None:
                                result.error(
                                    line,
                                    _FIELD_COLUMNS[name],
                                    f"is required for a {kind} key result",
                                )
                            values[name] = default
                    if len(result.errors) > errors_before:
                        continue
                    created = okr_services.create_key_result(
                        actor=actor, objective=objective, key=key, **values
                    )
                    existing[(objective.key, key)] = created
                    result.created += 1
                    result.changes.append(f"row {line}: new key result {objective.key}/{key}")
                    continue
                changes = {
                    name: value
                    for name, value in values.items()
                    if _differs(getattr(row, name), value)
                }
                if not changes:
                    result.unchanged += 1
                    continue
                updated = okr_services.update_key_result(
                    actor=actor, key_result=row, changes=changes
                )
                existing[(objective.key, key)] = updated
                result.updated += 1
                result.changes.append(
                    f"row {line}: {objective.key}/{key}: {', '.join(sorted(changes))} changed"
                )
        except DomainError as exc:
            _report(result, line, exc)


def _differs(current: Any, wanted: Any) -> bool:
    if isinstance(current, Decimal) and isinstance(wanted, Decimal):
        return current != wanted
    if hasattr(current, "pk") or hasattr(wanted, "pk"):
        return getattr(current, "pk", None) != getattr(wanted, "pk", None)
    return bool(current != wanted)


def _import_checkins(
    actor: Actor, rows: list[tuple[int, dict[str, str]]], result: CsvResult, delimiter: str
) -> None:
    key_results = {
        f"{kr.objective.key}/{kr.key}": kr
        for kr in KeyResult.objects.visible_to(actor)
        .filter(archived_at__isnull=True)
        .select_related("objective__cycle")
    }
    wanted_ids: set[int] = set()
    parsed: list[tuple[int, KeyResult, dt.date, Decimal, int | None, str]] = []
    for line, raw in rows:
        cells = _Cells(result, line, raw, delimiter)
        errors_before = len(result.errors)
        ref = cells.required("key_result")
        if ref and "/" not in ref and cells.text("objective"):
            ref = f"{cells.text('objective')}/{ref}"
        kr = key_results.get(ref)
        if ref and kr is None:
            hint = " (write it as objective/key)" if "/" not in ref else ""
            result.error(line, "key_result", f"no key result {ref!r}{hint}")
        cells.required("date")
        day = cells.date("date")
        if not cells.text("value"):
            result.error(line, "value", "is required")
        value = cells.decimal("value")
        confidence = cells.integer("confidence", 0, 10)
        if len(result.errors) > errors_before or kr is None or day is None or value is None:
            continue
        wanted_ids.add(kr.pk)
        parsed.append((line, kr, day, value, confidence, cells.text("note")))
    histories: dict[int, list[CheckIn]] = {}
    for checkin in CheckIn.objects.filter(key_result_id__in=sorted(wanted_ids)):
        histories.setdefault(checkin.key_result_id, []).append(checkin)
    have = {
        pk: Counter((c.effective_date, c.value.normalize()) for c in checkin_history(rows))
        for pk, rows in histories.items()
    }
    for line, kr, day, value, confidence, note in parsed:
        seen = have.setdefault(kr.pk, Counter())
        if seen[(day, value.normalize())] > 0:
            seen[(day, value.normalize())] -= 1
            result.unchanged += 1
            continue
        try:
            with transaction.atomic():
                okr_services.record_checkin(
                    actor=actor,
                    key_result=kr,
                    value=value,
                    confidence=confidence,
                    note=note,
                    effective_date=day,
                    source=CheckInSource.IMPORT,
                )
        except DomainError as exc:
            _report(result, line, exc)
            continue
        result.created += 1
        result.changes.append(
            f"row {line}: check-in {value} on {day} for {kr.objective.key}/{kr.key}"
        )


class _RollBack(Exception):
    pass


def import_csv(
    *, actor: Actor, text: str, dry_run: bool = False, kind: CsvKind | None = None
) -> CsvResult:
    """Import a CSV of key results or check-ins (see the module docstring), all or nothing.
    `kind` defaults to what the header says. ``result.applied`` tells whether it was
    committed (no error and not a dry run)."""
    result = CsvResult(kind=kind, dry_run=dry_run)
    try:
        header, rows, delimiter = read_csv(text)
    except (ValueError, csv.Error) as exc:
        result.error(0, "", str(exc))
        return result
    result.kind = kind or detect_kind(header)
    if result.kind is None:
        result.error(
            1,
            "",
            "cannot tell what the file holds: key results need the columns objective, key and "
            "title or target; check-ins need key_result, date and value (download a template)",
        )
        return result
    known = KEY_RESULT_COLUMNS if result.kind == "key_results" else CHECKIN_COLUMNS
    for name in header:
        if name and name not in known:
            result.error(1, name, f"unknown column (the columns are: {', '.join(known)})")
    if len(set(header)) != len(header):
        result.error(1, "", "a column is named twice")
    if not rows:
        result.error(0, "", "the file has a header but no rows")
    if result.errors:
        return result
    importer = _import_key_results if result.kind == "key_results" else _import_checkins
    try:
        with transaction.atomic():
            importer(actor, rows, result, delimiter)
            if result.errors or dry_run:
                raise _RollBack
            result.applied = True
    except _RollBack:
        pass
    result.errors.sort(key=lambda issue: (issue.row, issue.column))
    return result
