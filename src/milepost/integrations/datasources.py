"""Key results that update themselves: read a value from a data source and record it.

`read_value(source)` reads one number (no database write); `run_data_source(source)` reads
it, records it as a check-in by the "data source" actor (`okrs.services.record_checkin` with
``source="data_source"``) and records the run. What can go wrong — a host that is not
allowed, a redirect to one, a timeout, a body that is not JSON or CSV, a JSONPath or a row
that finds nothing, a value that is not a number, a SQL error — fails the run with a message
shown on the key result; a failed run never writes a value.

The three kinds:

* ``http_json``: GET the URL (optional headers, stored encrypted), parse the JSON, take the
  single value the JSONPath (jsonpath-ng's extended syntax) finds.
* ``csv_url``: GET the URL, parse it as CSV with a header row, take ``csv_column`` of the last
  row, or of the last row whose ``csv_match_column`` equals ``csv_match_value``.
* ``sql``: run the query on the admin's `DatabaseConnection` and take the first column of the
  first row. PostgreSQL: inside ``SET TRANSACTION READ ONLY`` with ``SET LOCAL
  statement_timeout``, as a prepared statement (so one statement only), rolled back after.
  SQLite: the file opened read-only (``?mode=ro`` URI) with ``PRAGMA query_only``, an
  authorizer that allows reading only, and a progress handler that stops it at the timeout.

A value that is the same as today's latest check-in of the key result is not recorded again
(an hourly source adds at most one check-in a day while nothing changes).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
import time
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from milepost.errors import DomainError
from milepost.integrations.crypto import SecretUnreadable
from milepost.integrations.models import (
    CsvRowRule,
    DatabaseConnection,
    DataSource,
    DataSourceKind,
    DataSourceRun,
    RunStatus,
)
from milepost.integrations.outbound import OutboundError, allowed_hosts, request
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import CheckIn, CheckInSource
from milepost.organizations.access import Actor, system_actor

__all__ = [
    "DataSourceError",
    "data_source_actor",
    "due_data_sources",
    "parse_number",
    "read_value",
    "run_data_source",
]

DATA_SOURCE_LABEL = "data source"
SIX_PLACES = Decimal("0.000001")
# A value is shown in an error message only this long (it may be anything the source sent).
SHOWN_VALUE = 60


class DataSourceError(Exception):
    """Why a data source gave no value (shown on the key result)."""


def data_source_actor(source: DataSource) -> Actor:
    """The actor that data-source check-ins are recorded by (no user; audit label
    "data source")."""
    return system_actor(source.key_result.organization, label=DATA_SOURCE_LABEL)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "…"


def parse_number(value: Any) -> Decimal:
    """A finite Decimal from a JSON number or a numeric string (rounded to 6 places);
    `DataSourceError` for anything else (booleans, null, text, NaN, infinity)."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise DataSourceError(f"the value is not a number: {_shown(value)}")
    if isinstance(value, float | int | Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    elif isinstance(value, bytes):
        text = value.decode(errors="replace").strip()
    else:
        raise DataSourceError(f"the value is not a number: {_shown(str(value))}")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise DataSourceError(f"the value is not a number: {_shown(text)}") from exc
    if not number.is_finite():
        raise DataSourceError(f"the value is not a finite number: {_shown(text)}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        number = number.quantize(SIX_PLACES)
    return number


# --- reading -----------------------------------------------------------------------------------


def _get(source: DataSource, timeout: float) -> bytes:
    try:
        response = request(
            "GET",
            source.url,
            allowed=allowed_hosts(source.organization_id),
            timeout=timeout,
            headers=source.header_dict(),
        )
    except OutboundError as exc:
        raise DataSourceError(str(exc)) from exc
    if not 200 <= response.status_code < 300:
        raise DataSourceError(f"the server answered HTTP {response.status_code}")
    return response.body


def compile_json_path(expression: str) -> Any:
    """The parsed JSONPath (jsonpath-ng's extended syntax); `DataSourceError` if invalid."""
    from jsonpath_ng.ext.parser import parse

    try:
        return parse(expression)
    except Exception as exc:  # the lexer and parser raise unrelated exception types
        raise DataSourceError(f"the JSONPath {expression!r} is not valid: {exc}") from exc


def _read_json(source: DataSource, timeout: float) -> Decimal:
    path = compile_json_path(source.json_path)
    body = _get(source, timeout)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataSourceError(f"the response is not valid JSON ({exc})") from exc
    try:
        matches = path.find(document)
    except Exception as exc:  # a filter comparing unlike types, say
        raise DataSourceError(f"the JSONPath {source.json_path!r} cannot be used: {exc}") from exc
    if not matches:
        raise DataSourceError(f"the JSONPath {source.json_path!r} found nothing in the response")
    if len(matches) > 1:
        raise DataSourceError(
            f"the JSONPath {source.json_path!r} found {len(matches)} values; it must find one"
        )
    return parse_number(matches[0].value)


def _read_csv(source: DataSource, timeout: float) -> Decimal:
    body = _get(source, timeout)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataSourceError("the CSV is not UTF-8 text") from exc
    try:
        reader = csv.DictReader(io.StringIO(text))
        columns = [c.strip() for c in reader.fieldnames or []]
        rows = [{(k or "").strip(): v for k, v in row.items()} for row in reader]
    except csv.Error as exc:
        raise DataSourceError(f"the CSV cannot be read: {exc}") from exc
    for column in (source.csv_column, source.csv_match_column):
        if column and column not in columns:
            raise DataSourceError(
                f"the CSV has no column {column!r} (its columns: {', '.join(columns) or 'none'})"
            )
    if source.csv_row_rule == CsvRowRule.MATCH:
        rows = [
            r
            for r in rows
            if (r.get(source.csv_match_column) or "").strip() == source.csv_match_value.strip()
        ]
        if not rows:
            raise DataSourceError(
                f"no row has {source.csv_match_column} = {source.csv_match_value!r}"
            )
    rows = [r for r in rows if (r.get(source.csv_column) or "").strip()]
    if not rows:
        raise DataSourceError(f"no row has a value in the column {source.csv_column!r}")
    return parse_number(rows[-1][source.csv_column])


def _sqlite_path(url: str) -> str:
    # sqlite:///relative.db (relative), sqlite:////absolute/path.db (absolute)
    rest = url.split(":", 1)[1]
    path = unquote(rest[3:] if rest.startswith("///") else rest.lstrip("/"))
    if not path or path == ":memory:":
        raise DataSourceError("the SQLite connection needs a database file path")
    return path


_SQLITE_READ_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


def _sqlite_authorizer(action: int, *_args: Any) -> int:
    return sqlite3.SQLITE_OK if action in _SQLITE_READ_ACTIONS else sqlite3.SQLITE_DENY


def _query_sqlite(connection: DatabaseConnection, query: str, timeout: float) -> tuple[Any, ...]:
    path = _sqlite_path(connection.url)
    deadline = time.monotonic() + timeout
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        raise DataSourceError(f"cannot open the SQLite database: {exc}") from exc
    try:
        db.execute("PRAGMA query_only = ON")
        db.set_authorizer(_sqlite_authorizer)
        db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        try:
            row = db.execute(query).fetchone()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise DataSourceError(f"the query timed out after {timeout:g} s") from exc
            raise DataSourceError(f"the query failed: {exc}") from exc
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise DataSourceError(f"the query failed: {exc}") from exc
        return tuple(row) if row is not None else ()
    finally:
        db.close()


def _query_postgres(connection: DatabaseConnection, query: str, timeout: float) -> tuple[Any, ...]:
    import psycopg

    try:
        db = psycopg.connect(connection.url, connect_timeout=max(1, int(timeout)))
    except psycopg.Error as exc:
        raise DataSourceError(f"cannot connect to the database: {_pg_message(exc)}") from exc
    try:
        with db.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
            try:
                # prepare=True: the extended protocol runs exactly one statement, so a
                # "; COMMIT; …" cannot end the read-only transaction.
                cursor.execute(query, prepare=True)
                row = cursor.fetchone() if cursor.description else None
            except psycopg.errors.QueryCanceled as exc:
                raise DataSourceError(f"the query timed out after {timeout:g} s") from exc
            except psycopg.Error as exc:
                raise DataSourceError(f"the query failed: {_pg_message(exc)}") from exc
        return tuple(row) if row is not None else ()
    finally:
        db.rollback()
        db.close()


def _pg_message(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_query(connection: DatabaseConnection, query: str, timeout: float) -> tuple[Any, ...]:
    """The first row of `query` on `connection`, read-only and within `timeout` seconds."""
    try:
        engine = connection.engine
    except SecretUnreadable as exc:
        raise DataSourceError(str(exc)) from exc
    if engine == "sqlite":
        return _query_sqlite(connection, query, timeout)
    if engine == "postgresql":
        return _query_postgres(connection, query, timeout)
    raise DataSourceError("the connection URL must start with postgres:// or sqlite://")


def _read_sql(source: DataSource, timeout: float) -> Decimal:
    connection = source.connection
    if connection is None or connection.archived_at is not None:
        raise DataSourceError("the database connection was removed; choose another")
    row = run_query(connection, source.query, timeout)
    if not row:
        raise DataSourceError("the query returned no rows")
    return parse_number(row[0])


_READERS = {
    DataSourceKind.HTTP_JSON: _read_json,
    DataSourceKind.CSV_URL: _read_csv,
    DataSourceKind.SQL: _read_sql,
}


def read_value(source: DataSource, *, timeout: float | None = None) -> Decimal:
    """The number the source gives now (`DataSourceError` if none). Writes nothing."""
    reader = _READERS.get(DataSourceKind(source.kind)) if source.kind in DataSourceKind else None
    if reader is None:
        raise DataSourceError(f"unknown data source kind {source.kind!r}")
    try:
        return reader(source, float(timeout if timeout is not None else source.timeout_seconds))
    except SecretUnreadable as exc:
        raise DataSourceError(str(exc)) from exc


# --- running -----------------------------------------------------------------------------------


def _same_as_today(source: DataSource, value: Decimal) -> bool:
    latest = (
        CheckIn.objects.filter(key_result_id=source.key_result_id, archived_at__isnull=True)
        .order_by("-effective_date", "-recorded_at", "-id")
        .values_list("value", "effective_date")
        .first()
    )
    today = organization_today(source.key_result.organization)
    return latest is not None and latest[1] == today and latest[0] == value


def run_data_source(
    source: DataSource,
    *,
    trigger: str = "schedule",
    timeout: float | None = None,
    now: dt.datetime | None = None,
) -> DataSourceRun:
    """Read the source, record the value as a check-in, and record the run (always).

    On success the check-in is recorded by the "data source" actor with
    ``source="data_source"`` (unless the value equals today's latest check-in). On any failure
    — including a refusal by `record_checkin`, such as a binary key result given 2 — no
    value is written, the run says why, and the source's ``consecutive_failures`` grows.
    The source's next run is scheduled from `now`. `timeout` (seconds) overrides the source's.
    """
    started = timezone.now()
    value: Decimal | None = None
    error = ""
    message = ""
    checkin: CheckIn | None = None
    try:
        value = read_value(source, timeout=timeout)
    except DataSourceError as exc:
        error = str(exc)
    if value is not None:
        if _same_as_today(source, value):
            message = "unchanged since today's check-in; nothing recorded"
        else:
            try:
                checkin = _record(source, value)
            except DomainError as exc:
                error = f"the value {value} was refused: {exc.detail}"
            else:
                message = f"recorded {value}"
    finished = timezone.now()
    ok = not error
    with transaction.atomic():
        run = DataSourceRun.objects.create(
            organization_id=source.organization_id,
            data_source=source,
            trigger=trigger,
            started_at=started,
            finished_at=finished,
            ok=ok,
            value=value,
            error=error,
            message=message[:300],
            checkin=checkin,
        )
        update: dict[str, Any] = {
            "last_run_at": finished,
            "last_status": RunStatus.OK if ok else RunStatus.FAILED,
            "last_error": error,
            "next_run_at": (now or finished) + source.interval,
            "updated_at": finished,
        }
        if ok:
            update["last_value"] = value
            update["consecutive_failures"] = 0
        else:
            update["consecutive_failures"] = F("consecutive_failures") + 1
        DataSource.objects.filter(pk=source.pk).update(**update)
    source.refresh_from_db(
        fields=[
            "last_run_at",
            "last_status",
            "last_error",
            "last_value",
            "next_run_at",
            "consecutive_failures",
        ]
    )
    return run


def _record(source: DataSource, value: Decimal) -> CheckIn:
    from milepost.okrs.services import record_checkin

    return record_checkin(
        actor=data_source_actor(source),
        key_result=source.key_result,
        value=value,
        note=f"Read by the data source ({source.get_kind_display()}).",
        source=CheckInSource.DATA_SOURCE,
    )


def due_data_sources(now: dt.datetime) -> QuerySet[DataSource]:
    """Enabled sources whose next run is due at `now`, on live key results of live
    organizations, oldest due first."""
    return (
        DataSource.objects.filter(
            enabled=True,
            archived_at__isnull=True,
            key_result__archived_at__isnull=True,
            key_result__objective__archived_at__isnull=True,
            key_result__objective__cycle__archived_at__isnull=True,
            key_result__organization__archived_at__isnull=True,
        )
        .exclude(key_result__objective__cycle__state="closed")
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .select_related("key_result__organization", "connection")
        .order_by(F("next_run_at").asc(nulls_first=True), "pk")
    )


def claim(source: DataSource, now: dt.datetime) -> bool:
    """Take a due source for this worker (False if another worker took it first): its next
    run moves to a lease in the future, so two workers never run it at once."""
    lease = now + dt.timedelta(minutes=10)
    due = Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    return bool(DataSource.objects.filter(due, pk=source.pk).update(next_run_at=lease))
