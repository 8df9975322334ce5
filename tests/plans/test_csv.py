"""Spreadsheets: key results and check-ins in (all or nothing, row and column errors), any list
out (formula-safe)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from milepost.okrs.models import CheckIn, Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from milepost.plans.csv_io import (
    csv_cell,
    csv_lines,
    detect_kind,
    import_csv,
    read_csv,
    rows_to_csv,
    template_csv,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle(org: Organization) -> Cycle:
    today = timezone.localdate()
    return factories.make_cycle(
        org, "q", start_date=today - timedelta(days=60), end_date=today + timedelta(days=30)
    )


@pytest.fixture
def objectives(cycle: Cycle) -> dict[str, Objective]:
    return {key: factories.make_objective(cycle, key) for key in ("grow-revenue", "reliability")}


def day(offset: int) -> str:
    return (timezone.localdate() - timedelta(days=offset)).isoformat()


# --- export ----------------------------------------------------------------------------------


def test_cells_are_formula_safe_and_numbers_are_written_as_numbers() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+x", "-x", "@SUM(A1)", "\tx", "plain")] == [
        "'=1+1",
        "'+x",
        "'-x",
        "'@SUM(A1)",
        "'\tx",
        "plain",
    ]
    assert [csv_cell(v) for v in (Decimal("-1.500000"), -3, None, True, date(2025, 1, 2))] == [
        "-1.5",
        "-3",
        "",
        "yes",
        "2025-01-02",
    ]


def test_rows_to_csv_streams_a_header_and_one_line_per_row() -> None:
    rows = [{"k": "a", "v": Decimal("1.50")}, {"k": '=HYPERLINK("x")', "v": None}]
    columns = [("key", lambda r: r["k"]), ("value", lambda r: r["v"])]

    response = rows_to_csv(columns, rows, filename="my list.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="my-list.csv"'
    body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    assert body.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(body.removeprefix("\ufeff")))) == [
        ["key", "value"],
        ["a", "1.5"],
        ['\'=HYPERLINK("x")', ""],
    ]
    assert len(list(csv_lines(columns, rows))) == 3


# --- reading ------------------------------------------------------------------------------------


def test_headers_are_normalised_and_the_kind_detected() -> None:
    header, rows, delimiter = read_csv("\ufeffKey Result;Date;Value\ngrow/arr;2025-01-01;1,5\n")
    assert (header, delimiter) == (["key_result", "date", "value"], ";")
    assert rows == [(2, {"key_result": "grow/arr", "date": "2025-01-01", "value": "1,5"})]
    assert detect_kind(header) == "checkins"
    assert detect_kind(["objective", "key", "title"]) == "key_results"
    assert detect_kind(["name"]) is None


# --- key results -------------------------------------------------------------------------------


def test_the_key_result_template_imports_as_is(
    admin: Actor, objectives: dict[str, Objective]
) -> None:
    result = import_csv(actor=admin, text=template_csv("key_results"))

    assert result.applied, [str(e) for e in result.errors]
    assert (result.kind, result.created) == ("key_results", 3)
    arr = KeyResult.objects.get(objective=objectives["grow-revenue"], key="arr")
    assert (arr.start_value, arr.target_value, arr.unit) == (
        Decimal(4000000),
        Decimal(6000000),
        "EUR",
    )
    uptime = KeyResult.objects.get(key="uptime")
    assert (uptime.kind, uptime.maintain_direction) == ("maintain", "at_least")


def test_key_results_are_updated_by_objective_and_key_and_empty_cells_keep_values(
    admin: Actor, objectives: dict[str, Objective]
) -> None:
    import_csv(actor=admin, text=template_csv("key_results"))
    text = "objective,key,title,target,unit\ngrow-revenue,arr,,6500000,\nreliability,uptime,,,\n"

    result = import_csv(actor=admin, text=text)

    assert result.applied
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    arr = KeyResult.objects.get(key="arr")
    assert (arr.target_value, arr.unit, arr.title) == (
        Decimal(6500000),
        "EUR",
        "Annual recurring revenue from 4.0M to 6.0M",
    )


def test_every_error_is_reported_with_row_and_column_and_nothing_is_written(
    admin: Actor, objectives: dict[str, Objective]
) -> None:
    text = (
        "objective,key,title,kind,start,target,owner,due\n"
        "grow-revenue,good,A good one,increase,0,10,,\n"
        "nowhere,kr,Title,increase,0,10,,\n"
        "grow-revenue,bad,Bad numbers,increase,ten,10,,31/12/2025\n"
        "grow-revenue,down,Wrong way,increase,10,0,,\n"
        "reliability,who,Unknown owner,shrink,0,1,ghost@acme.test,\n"
    )

    result = import_csv(actor=admin, text=text)

    assert not result.applied
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "objective"),
        (4, "due"),
        (4, "start"),
        (5, "target"),
        (6, "kind"),
        (6, "owner"),
    ]
    assert "must be a number" in str(result.errors[2])
    assert not KeyResult.objects.exists()  # not even the good row


def test_the_check_in_template_imports_once_its_key_results_exist(
    admin: Actor, objectives: dict[str, Objective]
) -> None:
    import_csv(actor=admin, text=template_csv("key_results"))

    result = import_csv(actor=admin, text=template_csv("checkins", timezone.localdate()))

    assert result.applied, [str(e) for e in result.errors]
    assert CheckIn.objects.count() == 2


def test_unknown_columns_and_empty_files_are_refused(admin: Actor) -> None:
    unknown = import_csv(actor=admin, text="objective,key,title,colour\na,b,c,red\n")
    assert [(e.row, e.column) for e in unknown.errors] == [(1, "colour")]
    assert import_csv(actor=admin, text="").errors[0].message.startswith("the file is empty")
    what = import_csv(actor=admin, text="name,email\nx,y\n")
    assert "cannot tell what the file holds" in what.errors[0].message


# --- check-ins ---------------------------------------------------------------------------------


@pytest.fixture
def arr(objectives: dict[str, Objective]) -> KeyResult:
    return factories.make_key_result(
        objectives["grow-revenue"], "arr", start_value=Decimal(0), target_value=Decimal(100)
    )


def test_check_ins_import_once_with_their_dates(admin: Actor, arr: KeyResult) -> None:
    text = (
        "key_result,date,value,confidence,note\n"
        f"grow-revenue/arr,{day(20)},10,7,First\n"
        f"grow-revenue/arr,{day(10)},25.5,6,\n"
    )

    first = import_csv(actor=admin, text=text)
    again = import_csv(actor=admin, text=text)

    assert first.applied
    assert first.created == 2
    assert again.applied
    assert (again.created, again.unchanged) == (0, 2)
    checkins = list(CheckIn.objects.filter(key_result=arr).order_by("effective_date"))
    assert [(c.value, c.source, c.note) for c in checkins] == [
        (Decimal(10), "import", "First"),
        (Decimal("25.5"), "import", ""),
    ]
    arr.refresh_from_db()
    assert arr.current_value == Decimal("25.5")


def test_semicolons_decimal_commas_and_an_objective_column(admin: Actor, arr: KeyResult) -> None:
    text = f"Objective;Key result;Date;Value\ngrow-revenue;arr;{day(3)};12,5\n"

    result = import_csv(actor=admin, text=text)

    assert result.applied
    assert CheckIn.objects.get(key_result=arr).value == Decimal("12.5")


def test_check_in_rows_with_errors_are_all_reported(admin: Actor, arr: KeyResult) -> None:
    future = (timezone.localdate() + timedelta(days=5)).isoformat()
    text = (
        "key_result,date,value,confidence\n"
        f"grow-revenue/arr,{day(1)},10,\n"
        f"arr,{day(1)},10,\n"
        f"grow-revenue/arr,yesterday,x,11\n"
        f"grow-revenue/arr,{future},10,\n"
    )

    result = import_csv(actor=admin, text=text)

    assert not result.applied
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "key_result"),
        (4, "confidence"),
        (4, "date"),
        (4, "value"),
        (5, "date"),
    ]
    assert "objective/key" in result.errors[0].message
    assert not CheckIn.objects.exists()


def test_a_member_checks_in_only_where_they_may(
    member: Actor, viewer: Actor, arr: KeyResult, objectives: dict[str, Objective]
) -> None:
    assert member.user is not None
    mine = factories.make_key_result(objectives["reliability"], "mine", owner=member.user)
    text = f"key_result,date,value\nreliability/mine,{day(2)},5\ngrow-revenue/arr,{day(2)},5\n"

    refused = import_csv(actor=member, text=text)
    assert [(e.row, e.column) for e in refused.errors] == [(3, "")]
    assert not CheckIn.objects.exists()

    allowed = import_csv(actor=member, text=text.rsplit("grow-revenue", 1)[0])
    assert allowed.applied
    assert CheckIn.objects.get().key_result == mine
    assert import_csv(actor=viewer, text=text).errors


def test_a_dry_run_counts_and_writes_nothing(admin: Actor, arr: KeyResult) -> None:
    result = import_csv(
        actor=admin, text=f"key_result,date,value\ngrow-revenue/arr,{day(1)},3\n", dry_run=True
    )

    assert result.ok
    assert not result.applied
    assert result.created == 1
    assert not CheckIn.objects.exists()
