"""Checking plan data held in memory (what ``plan export`` writes) as a reader of its text
would: the same document, the same issues, with the schema pass on another core."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from milepost.forked import ForkedChildFailed
from milepost.plans import planfile
from milepost.plans.canonical import canonical_data, canonical_text
from milepost.plans.planfile import (
    decode_plan_text,
    parse_plan_data,
    parse_plan_text,
    start_plan_data_check,
    validate_plan_data,
)
from tests.plans.plan_texts import SMALL_PLAN

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme-plan.yaml"

# A duplicate key, a reference to nothing, a number the schema refuses and an unknown field.
BROKEN_PLAN = (
    SMALL_PLAN.replace("cycle: q3\n    team: web", "cycle: q9\n    team: web")
    .replace("confidence: 8", "confidence: 12")
    .replace("key: speed", "key: launch")
    .replace("effort_days: 10", "effort_days: 10\n    colour: red")
)


@pytest.mark.parametrize("text", [SMALL_PLAN, EXAMPLE.read_text()], ids=["small", "example"])
def test_canonical_data_reads_as_its_text_does(text: str) -> None:
    # canonical_data holds counts and confidences as ints where decoded text holds Decimals:
    # both must read as the same document (a confidence read as "absent" would differ).
    document = parse_plan_text(text)
    data = canonical_data(document)
    assert parse_plan_data(data, decoded=True) == parse_plan_text(canonical_text(document))
    assert start_plan_data_check(data)() == []


def test_every_issue_is_found_in_memory_as_in_the_text() -> None:
    data = decode_plan_text(BROKEN_PLAN)
    expected = validate_plan_data(data)[1]
    messages = " | ".join(str(issue) for issue in expected)
    for expected_text in ("q9", "colour", "duplicate key", "confidence"):
        assert expected_text in messages

    assert start_plan_data_check(data)() == expected
    with pytest.raises(planfile.PlanValidationError) as raised:
        parse_plan_data(data, decoded=True, on_two_cores=True)
    assert raised.value.issues == expected


def test_the_check_is_whole_when_a_child_gives_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_answer(compute: Any) -> Any:
        def wait() -> Any:
            raise ForkedChildFailed("killed")

        return wait

    monkeypatch.setattr(planfile, "start_forked", no_answer)
    broken = decode_plan_text(BROKEN_PLAN)
    assert start_plan_data_check(broken)() == validate_plan_data(broken)[1]
    valid = decode_plan_text(SMALL_PLAN)
    assert parse_plan_data(valid, decoded=True, on_two_cores=True) == parse_plan_text(SMALL_PLAN)


def test_a_top_level_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(planfile.PlanReadError, match="mapping at the top level"):
        start_plan_data_check([1, 2])


def test_on_two_cores_the_check_finds_the_same_in_a_fresh_process() -> None:
    # A test runner's worker runs threads, where the passes run in place: the forked passes
    # are tried in a fresh single-threaded interpreter, against the in-place results.
    script = textwrap.dedent(
        f"""
        from milepost.forked import _other_threads_running
        from milepost.plans.planfile import (
            decode_plan_text, parse_plan_data, start_plan_data_check, PlanValidationError,
        )
        assert not _other_threads_running()
        broken = decode_plan_text({BROKEN_PLAN!r})
        print(len(start_plan_data_check(broken)()))
        try:
            parse_plan_data(broken, decoded=True, on_two_cores=True)
        except PlanValidationError as exc:
            print(len(exc.issues))
        valid = parse_plan_data(decode_plan_text({SMALL_PLAN!r}), decoded=True, on_two_cores=True)
        print(len(valid.plan.key_results))
        """
    )
    done = subprocess.run(  # noqa: S603 - fixed argv, this file's own code
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    expected = len(validate_plan_data(decode_plan_text(BROKEN_PLAN))[1])
    key_results = len(parse_plan_text(SMALL_PLAN).plan.key_results)
    assert done.stdout.split() == [str(expected), str(expected), str(key_results)]
