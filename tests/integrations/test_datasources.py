"""Data sources against a local HTTP server and local databases: every kind's success, and
each way it can fail (timeout, bad payload, non-numeric, disallowed host, redirect to one,
a write attempted by an SQL source) — a failure is recorded and never writes a value."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection as django_connection
from django.utils import timezone

from milepost.audit.models import AuditEvent
from milepost.errors import InvalidInput, NotFound, PermissionDenied
from milepost.integrations.datasources import (
    DataSourceError,
    due_data_sources,
    parse_number,
    run_data_source,
)
from milepost.integrations.models import (
    AllowedHost,
    DatabaseConnection,
    DataSource,
    DataSourceKind,
    RunStatus,
)
from milepost.integrations.outbound import host_allowed, normalize_host
from milepost.integrations.services import (
    add_allowed_host,
    archive_database_connection,
    check_database_connection,
    configure_data_source,
    create_database_connection,
    remove_data_source,
    run_data_source_now,
)
from milepost.integrations.tasks import run_due_work
from milepost.okrs.models import CheckIn, CheckInSource, KeyResult
from milepost.organizations.access import Actor
from tests import factories
from tests.integrations.conftest import LocalServer, Reply

pytestmark = pytest.mark.django_db

FAST = 0.3  # seconds: the timeout used where a test waits for one


def _http_source(admin: Actor, kr: KeyResult, url: str, **extra: Any) -> DataSource:
    extra.setdefault("json_path", "$.data.total")
    return configure_data_source(
        actor=admin, key_result=kr, kind=DataSourceKind.HTTP_JSON, url=url, **extra
    )


def _csv_source(admin: Actor, kr: KeyResult, url: str, **extra: Any) -> DataSource:
    extra.setdefault("csv_column", "revenue")
    return configure_data_source(
        actor=admin, key_result=kr, kind=DataSourceKind.CSV_URL, url=url, **extra
    )


def _assert_failed_without_value(source: DataSource, kr: KeyResult, fragment: str) -> None:
    source.refresh_from_db()
    assert source.last_status == RunStatus.FAILED
    assert fragment in source.last_error, source.last_error
    assert source.consecutive_failures >= 1
    assert not CheckIn.objects.filter(key_result=kr).exists()
    kr.refresh_from_db()
    assert kr.current_value == kr.start_value


# --- HTTP JSON ---------------------------------------------------------------------------------


def test_http_json_success_records_a_data_source_checkin(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"data": {"total": 42.5}})
    source = _http_source(admin, key_result, server.url("/metrics"))
    run = run_data_source(source)
    assert run.ok, run.error
    assert run.value == Decimal("42.5")
    checkin = CheckIn.objects.get(key_result=key_result)
    assert checkin.value == Decimal("42.5")
    assert checkin.source == CheckInSource.DATA_SOURCE
    assert checkin.author is None
    assert run.checkin_id == checkin.pk
    key_result.refresh_from_db()
    assert key_result.current_value == Decimal("42.5")
    assert key_result.progress == Decimal("0.4250")
    source.refresh_from_db()
    assert source.last_status == RunStatus.OK
    assert source.last_value == Decimal("42.5")
    assert source.consecutive_failures == 0
    assert source.next_run_at is not None
    assert source.next_run_at > timezone.now() + dt.timedelta(hours=23)
    event = AuditEvent.objects.get(action="checkin.record")
    assert event.actor_label == "data source"
    assert event.actor_id is None


def test_http_json_sends_its_headers_which_are_stored_encrypted(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"data": {"total": "17"}})
    source = _http_source(
        admin, key_result, server.url("/metrics"), headers={"Authorization": "Bearer s3cr3t-xyz"}
    )
    assert run_data_source(source).ok
    assert server.received[0].headers["authorization"] == "Bearer s3cr3t-xyz"
    with django_connection.cursor() as cursor:
        cursor.execute("SELECT headers FROM integrations_datasource WHERE id = %s", [source.pk])
        raw = str(cursor.fetchone()[0])
    assert "s3cr3t" not in raw
    assert raw.startswith("enc1:")
    audit = AuditEvent.objects.get(action="datasource.configure")
    assert "s3cr3t" not in str(audit.after)
    assert (audit.after or {})["header_names"] == ["Authorization"]
    # Reconfiguring without headers keeps them.
    source = _http_source(admin, key_result, server.url("/metrics"), schedule="hourly")
    assert source.header_dict() == {"Authorization": "Bearer s3cr3t-xyz"}


def test_unreadable_headers_fail_the_run_without_a_request(
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    settings: Any,
) -> None:
    from cryptography.fernet import Fernet

    server.json("/metrics", {"data": {"total": 1}})
    _http_source(admin, key_result, server.url("/metrics"), headers={"X-Key": "k"})
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    (source,) = due_data_sources(timezone.now())  # loading does not fail
    assert source.header_names() == ["(unreadable: the encryption key changed)"]
    run = run_data_source(source)
    assert not run.ok
    assert server.received == []
    _assert_failed_without_value(source, key_result, "cannot be decrypted")


def test_http_json_timeout_is_a_failure(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/slow"] = Reply(200, '{"data": {"total": 1}}', delay=2.0)
    source = _http_source(admin, key_result, server.url("/slow"))
    run = run_data_source(source, timeout=FAST)
    assert not run.ok
    assert "timed out" in run.error
    _assert_failed_without_value(source, key_result, "timed out")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("this is not json", "not valid JSON"),
        ('{"data": {"total": "lots"}}', "not a number: lots"),
        ('{"data": {"total": true}}', "not a number"),
        ('{"data": {"total": null}}', "not a number"),
        ('{"data": {"total": "NaN"}}', "not a finite number"),
        ('{"data": {}}', "found nothing"),
    ],
)
def test_http_json_bad_payloads_are_failures(
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    body: str,
    fragment: str,
) -> None:
    server.routes["/metrics"] = Reply(200, body)
    source = _http_source(admin, key_result, server.url("/metrics"))
    run = run_data_source(source)
    assert not run.ok
    _assert_failed_without_value(source, key_result, fragment)


def test_http_error_status_is_a_failure(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/metrics"] = Reply(503, "down")
    source = _http_source(admin, key_result, server.url("/metrics"))
    assert not run_data_source(source).ok
    _assert_failed_without_value(source, key_result, "HTTP 503")


def test_a_jsonpath_finding_several_values_is_a_failure(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"rows": [{"v": 1}, {"v": 2}]})
    source = _http_source(admin, key_result, server.url("/metrics"), json_path="$.rows[*].v")
    assert not run_data_source(source).ok
    _assert_failed_without_value(source, key_result, "found 2 values")


def test_jsonpath_filters_pick_one_value(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"rows": [{"name": "mrr", "v": 12}, {"name": "arr", "v": 144}]})
    source = _http_source(
        admin, key_result, server.url("/metrics"), json_path='$.rows[?(@.name == "arr")].v'
    )
    run = run_data_source(source)
    assert run.ok, run.error
    assert run.value == Decimal(144)


def test_disallowed_host_is_refused_before_connecting(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"data": {"total": 5}})
    source = _http_source(admin, key_result, server.url("/metrics"))
    # The admin then stops allowing the host: the next run is refused without a request.
    allowed.delete()
    run = run_data_source(source)
    assert not run.ok
    assert server.received == []
    _assert_failed_without_value(source, key_result, "not on this organization's list")


def test_configuring_a_disallowed_host_is_refused(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _http_source(admin, key_result, server.url("/metrics", host="localhost"))
    assert "url" in refused.value.errors
    assert not DataSource.objects.exists()


def test_redirect_to_a_disallowed_host_is_refused(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"data": {"total": 5}})
    server.routes["/moved"] = Reply(302, headers={"Location": server.url("/metrics", "localhost")})
    source = _http_source(admin, key_result, server.url("/moved"))
    run = run_data_source(source)
    assert not run.ok
    assert server.paths() == ["/moved"]  # the disallowed target was never called
    _assert_failed_without_value(source, key_result, "'localhost:")


def test_redirect_within_allowed_hosts_is_followed(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"data": {"total": 8}})
    server.routes["/moved"] = Reply(301, headers={"Location": "/metrics"})
    source = _http_source(admin, key_result, server.url("/moved"))
    run = run_data_source(source)
    assert run.ok, run.error
    assert server.paths() == ["/moved", "/metrics"]


# --- CSV ---------------------------------------------------------------------------------------

CSV = "month,region,revenue\n2026-01,eu,10\n2026-01,us,20\n2026-02,eu,12.5\n2026-02,us,\n"


def test_csv_last_row_with_a_value(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/data.csv"] = Reply(200, CSV, {"Content-Type": "text/csv"})
    run = run_data_source(_csv_source(admin, key_result, server.url("/data.csv")))
    assert run.ok, run.error
    assert run.value == Decimal("12.5")  # the last row has no revenue yet
    assert CheckIn.objects.get(key_result=key_result).value == Decimal("12.5")


def test_csv_row_where_a_column_matches(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/data.csv"] = Reply(200, "\ufeff" + CSV)  # a BOM is ignored
    source = _csv_source(
        admin,
        key_result,
        server.url("/data.csv"),
        csv_row_rule="match",
        csv_match_column="region",
        csv_match_value="us",
    )
    run = run_data_source(source)
    assert run.ok, run.error
    assert run.value == Decimal(20)


@pytest.mark.parametrize(
    ("body", "column", "fragment"),
    [
        (CSV, "profit", "no column 'profit'"),
        ("month,revenue\n2026-01,ten\n", "revenue", "not a number: ten"),
        ("month,revenue\n", "revenue", "no row has a value"),
        (b"\xff\xfe\x00garbage", "revenue", "not UTF-8"),
    ],
)
def test_csv_bad_payloads_are_failures(
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    body: str | bytes,
    column: str,
    fragment: str,
) -> None:
    server.routes["/data.csv"] = Reply(200, body)
    source = _csv_source(admin, key_result, server.url("/data.csv"), csv_column=column)
    assert not run_data_source(source).ok
    _assert_failed_without_value(source, key_result, fragment)


def test_csv_timeout_and_disallowed_redirect(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/slow.csv"] = Reply(200, CSV, delay=2.0)
    source = _csv_source(admin, key_result, server.url("/slow.csv"))
    assert "timed out" in run_data_source(source, timeout=FAST).error
    server.routes["/moved.csv"] = Reply(302, headers={"Location": "http://example.com/x.csv"})
    source = _csv_source(admin, key_result, server.url("/moved.csv"))
    run = run_data_source(source)
    assert "'example.com'" in run.error
    _assert_failed_without_value(source, key_result, "not on this organization's list")


# --- SQL: SQLite -------------------------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "metrics.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE metrics (name TEXT, value REAL, label TEXT);"
        "INSERT INTO metrics VALUES ('signups', 73.25, 'seventy'), ('churn', 2, 'two');"
    )
    db.commit()
    db.close()
    return path


@pytest.fixture
def sqlite_connection(admin: Actor, sqlite_db: Path) -> DatabaseConnection:
    return create_database_connection(actor=admin, name="warehouse", url=f"sqlite:///{sqlite_db}")


def _sql_source(
    admin: Actor, kr: KeyResult, connection: DatabaseConnection, query: str
) -> DataSource:
    return configure_data_source(
        actor=admin, key_result=kr, kind=DataSourceKind.SQL, connection=connection, query=query
    )


def test_sqlite_success(
    admin: Actor, key_result: KeyResult, sqlite_connection: DatabaseConnection
) -> None:
    source = _sql_source(
        admin, key_result, sqlite_connection, "SELECT value FROM metrics WHERE name = 'signups'"
    )
    run = run_data_source(source)
    assert run.ok, run.error
    assert CheckIn.objects.get(key_result=key_result).value == Decimal("73.25")
    assert check_database_connection(actor=admin, connection=sqlite_connection) == ""


@pytest.mark.parametrize(
    "query",
    [
        "INSERT INTO metrics VALUES ('x', 1, 'y')",
        "UPDATE metrics SET value = 0",
        "DELETE FROM metrics",
        "CREATE TABLE t (a INTEGER)",
        "SELECT 1; DELETE FROM metrics",
        "ATTACH DATABASE ':memory:' AS other",
    ],
)
def test_sqlite_is_read_only(
    admin: Actor,
    key_result: KeyResult,
    sqlite_connection: DatabaseConnection,
    sqlite_db: Path,
    query: str,
) -> None:
    source = _sql_source(admin, key_result, sqlite_connection, query)
    run = run_data_source(source)
    assert not run.ok
    _assert_failed_without_value(source, key_result, "the query failed")
    db = sqlite3.connect(sqlite_db)
    assert db.execute("SELECT count(*), sum(value) FROM metrics").fetchone() == (2, 75.25)
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (1,)
    db.close()


def test_sqlite_timeout(
    admin: Actor, key_result: KeyResult, sqlite_connection: DatabaseConnection
) -> None:
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    source = _sql_source(admin, key_result, sqlite_connection, endless)
    started = timezone.now()
    run = run_data_source(source, timeout=FAST)
    assert (timezone.now() - started).total_seconds() < 5
    assert not run.ok
    _assert_failed_without_value(source, key_result, "timed out")


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("SELECT label FROM metrics WHERE name = 'signups'", "not a number: seventy"),
        ("SELECT value FROM metrics WHERE name = 'nobody'", "no rows"),
        ("SELECT NULL", "not a number"),
        ("SELECT value FROM missing_table", "no such table"),
    ],
)
def test_sqlite_bad_results(
    admin: Actor,
    key_result: KeyResult,
    sqlite_connection: DatabaseConnection,
    query: str,
    fragment: str,
) -> None:
    source = _sql_source(admin, key_result, sqlite_connection, query)
    assert not run_data_source(source).ok
    _assert_failed_without_value(source, key_result, fragment)


def test_connection_url_is_encrypted_and_never_audited(
    admin: Actor, sqlite_connection: DatabaseConnection, sqlite_db: Path
) -> None:
    with django_connection.cursor() as cursor:
        cursor.execute(
            "SELECT url FROM integrations_databaseconnection WHERE id = %s", [sqlite_connection.pk]
        )
        raw = cursor.fetchone()[0]
    assert str(sqlite_db) not in raw
    assert DatabaseConnection.objects.get().url == f"sqlite:///{sqlite_db}"
    assert str(sqlite_db) not in str(
        AuditEvent.objects.get(action="databaseconnection.create").after
    )


def test_a_connection_in_use_cannot_be_removed(
    admin: Actor, key_result: KeyResult, sqlite_connection: DatabaseConnection
) -> None:
    _sql_source(admin, key_result, sqlite_connection, "SELECT 1")
    with pytest.raises(Exception, match="use this connection"):
        archive_database_connection(actor=admin, connection=sqlite_connection)


# --- SQL: PostgreSQL (when the tests run on it) ------------------------------------------------


@pytest.fixture
def pg_table() -> Iterator[tuple[str, str]]:
    """A table in the test database, committed (visible to another connection)."""
    if django_connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (run with DATABASE_URL=postgres://…)")
    import psycopg

    s = django_connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    url = f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    table = f"ds_metrics_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (name text, value numeric)")
        db.execute(f"INSERT INTO {table} VALUES ('signups', 61.5), ('label', NULL)")  # noqa: S608
    try:
        yield url, table
    finally:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f"DROP TABLE IF EXISTS {table}")


def _pg_count(url: str, table: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])


def test_postgres_success_read_only_and_timeout(
    admin: Actor, key_result: KeyResult, pg_table: tuple[str, str]
) -> None:
    url, table = pg_table
    connection = create_database_connection(actor=admin, name="pg", url=url)
    query = f"SELECT value FROM {table} LIMIT 1"  # noqa: S608
    source = _sql_source(admin, key_result, connection, query)
    run = run_data_source(source)
    assert run.ok, run.error
    assert run.value == Decimal("61.5")
    CheckIn.objects.filter(key_result=key_result).delete()
    writes = (
        f"INSERT INTO {table} VALUES ('x', 1) RETURNING value",  # noqa: S608
        f"WITH gone AS (DELETE FROM {table} RETURNING value) SELECT count(*) FROM gone",  # noqa: S608
        f"SELECT 1; COMMIT; INSERT INTO {table} VALUES ('y', 2)",  # noqa: S608
        "CREATE TEMP TABLE scratch (a int)",
    )
    for query in writes:
        source = _sql_source(admin, key_result, connection, query)
        run = run_data_source(source)
        assert not run.ok, query
        assert "the query failed" in run.error
    assert _pg_count(url, table) == 2
    source = _sql_source(admin, key_result, connection, "SELECT pg_sleep(5)")
    started = timezone.now()
    run = run_data_source(source, timeout=1)
    assert (timezone.now() - started).total_seconds() < 4
    assert "timed out" in run.error
    source = _sql_source(admin, key_result, connection, "SELECT 'many'")
    assert "not a number: many" in run_data_source(source).error
    assert not CheckIn.objects.filter(key_result=key_result).exists()


# --- running, scheduling, permissions ----------------------------------------------------------


def test_the_same_value_is_recorded_once_a_day(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"data": {"total": 9}})
    source = _http_source(admin, key_result, server.url("/metrics"))
    assert run_data_source(source).checkin_id is not None
    second = run_data_source(source)
    assert second.ok
    assert second.checkin_id is None
    assert "unchanged" in second.message
    assert CheckIn.objects.filter(key_result=key_result).count() == 1
    server.json("/metrics", {"data": {"total": 10}})
    assert run_data_source(source).checkin_id is not None
    assert CheckIn.objects.filter(key_result=key_result).count() == 2


def test_a_value_the_key_result_refuses_is_a_failure(
    admin: Actor, objective: Any, server: LocalServer, allowed: AllowedHost
) -> None:
    binary = factories.make_key_result(
        objective, "shipped", kind="binary", start_value=Decimal(0), target_value=Decimal(1)
    )
    server.json("/metrics", {"data": {"total": 7}})
    source = _http_source(admin, binary, server.url("/metrics"))
    run = run_data_source(source)
    assert not run.ok
    assert "refused" in run.error
    assert "binary" in run.error
    assert not CheckIn.objects.filter(key_result=binary).exists()


def test_failures_count_up_and_a_success_resets_them(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.routes["/metrics"] = Reply(500)
    source = _http_source(admin, key_result, server.url("/metrics"))
    run_data_source(source)
    run_data_source(source)
    assert source.consecutive_failures == 2
    server.json("/metrics", {"data": {"total": 3}})
    run_data_source(source)
    assert source.consecutive_failures == 0
    assert source.last_error == ""
    assert list(source.runs.values_list("ok", flat=True)) == [True, False, False]


def test_due_sources_and_the_worker_pass(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    server.json("/metrics", {"data": {"total": 30}})
    source = _http_source(admin, key_result, server.url("/metrics"), schedule="weekly")
    now = timezone.now()
    assert list(due_data_sources(now)) == [source]
    summary = run_due_work(now)
    assert summary.data_sources_run == 1
    assert summary.data_sources_failed == 0
    source.refresh_from_db()
    assert source.next_run_at == now + dt.timedelta(weeks=1)
    assert list(due_data_sources(now + dt.timedelta(days=6))) == []
    assert list(due_data_sources(now + dt.timedelta(weeks=1))) == [source]
    assert run_due_work(now + dt.timedelta(hours=1)).data_sources_run == 0
    # Disabled, removed, or on an archived key result: never due.
    remove_data_source(actor=admin, key_result=key_result)
    assert list(due_data_sources(now + dt.timedelta(weeks=2))) == []


def test_a_claimed_source_is_not_run_twice(
    admin: Actor, key_result: KeyResult, server: LocalServer, allowed: AllowedHost
) -> None:
    from milepost.integrations.datasources import claim

    server.json("/metrics", {"data": {"total": 30}})
    source = _http_source(admin, key_result, server.url("/metrics"))
    now = timezone.now()
    first = DataSource.objects.get(pk=source.pk)
    second = DataSource.objects.get(pk=source.pk)
    assert claim(first, now)
    assert not claim(second, now)
    assert list(due_data_sources(now)) == []


def test_who_may_configure_and_run(
    admin: Actor,
    member: Actor,
    viewer: Actor,
    kr_owner: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    sqlite_connection: DatabaseConnection,
) -> None:
    server.json("/metrics", {"data": {"total": 4}})
    with pytest.raises(PermissionDenied):
        _http_source(member, key_result, server.url("/metrics"))
    # The key result's owner configures HTTP and CSV sources, not SQL ones.
    source = _http_source(kr_owner, key_result, server.url("/metrics"))
    with pytest.raises(PermissionDenied):
        _sql_source(kr_owner, key_result, sqlite_connection, "SELECT 1")
    with pytest.raises(PermissionDenied):
        run_data_source_now(actor=viewer, key_result=key_result)
    run = run_data_source_now(actor=kr_owner, key_result=key_result)
    assert run.ok
    assert run.trigger == "manual"
    assert source.pk == DataSource.objects.get().pk
    # Members do not see or manage the admin's hosts and connections.
    with pytest.raises(NotFound):
        add_allowed_host(actor=kr_owner, host="metrics.example.com")
    with pytest.raises(NotFound):
        create_database_connection(actor=member, name="x", url="sqlite:////tmp/x.db")


def test_invalid_configuration_names_each_field(
    admin: Actor, key_result: KeyResult, allowed: AllowedHost
) -> None:
    with pytest.raises(InvalidInput) as refused:
        configure_data_source(
            actor=admin,
            key_result=key_result,
            kind="csv_url",
            url="ftp://127.0.0.1/x.csv",
            csv_row_rule="match",
            headers={"Bad Header": "x"},
        )
    assert set(refused.value.errors) >= {
        "url",
        "csv_column",
        "csv_match_column",
        "csv_match_value",
        "headers",
    }
    with pytest.raises(InvalidInput) as refused:
        _http_source(admin, key_result, "http://127.0.0.1/x", json_path="$[")
    assert "json_path" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        configure_data_source(actor=admin, key_result=key_result, kind="sql", query="")
    assert set(refused.value.errors) == {"connection", "query"}
    assert not DataSource.objects.exists()


# --- pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, "3"), (2.5, "2.5"), ("  12.75 ", "12.75"), ("1e3", "1E+3"), (0.1234567891, "0.123457")],
)
def test_parse_number(value: Any, expected: str) -> None:
    assert parse_number(value) == Decimal(expected)


@pytest.mark.parametrize("value", [True, None, "12 km", "", "inf", [1], {"a": 1}])
def test_parse_number_refuses(value: Any) -> None:
    with pytest.raises(DataSourceError):
        parse_number(value)


@pytest.mark.parametrize(
    ("url", "entries", "ok"),
    [
        ("https://metrics.example.com/x", ["metrics.example.com"], True),
        ("https://METRICS.example.com./x", ["metrics.example.com"], True),
        ("https://metrics.example.com:8443/x", ["metrics.example.com:8443"], True),
        ("https://metrics.example.com/x", ["metrics.example.com:8443"], False),
        ("https://a.b.example.com/x", ["*.example.com"], True),
        ("https://example.com/x", ["*.example.com"], False),
        ("https://evil-example.com/x", ["*.example.com"], False),
        ("https://metrics.example.com.evil.io/x", ["metrics.example.com"], False),
        ("https://user@evil.io/x", ["metrics.example.com"], False),
        ("file:///etc/passwd", ["metrics.example.com"], False),
        ("http://[::1]:8000/x", ["[::1]"], True),
    ],
)
def test_host_allowed(url: str, entries: list[str], ok: bool) -> None:
    assert host_allowed(url, entries) is ok


def test_normalize_host() -> None:
    assert normalize_host(" Metrics.Example.COM. ") == "metrics.example.com"
    assert normalize_host("*.example.com") == "*.example.com"
    assert normalize_host("10.0.0.5:9090") == "10.0.0.5:9090"
    for bad in ("https://x.com", "x.com/path", "*.com", "", "a b"):
        with pytest.raises(ValueError):  # noqa: PT011
            normalize_host(bad)
