"""One key result evaluated on its own gives what the whole cycle's evaluation gives for it
(the API's key result detail reads it this way, at a cost that does not grow with the cycle)."""

from __future__ import annotations

import pytest

from milepost.demo.loader import load_demo
from milepost.okrs.engine_io import evaluate_cycle, evaluate_one_key_result
from milepost.okrs.models import Cycle, KeyResult

pytestmark = pytest.mark.django_db


def test_every_demo_key_result_evaluates_alone_as_in_its_cycle() -> None:
    organization = load_demo()
    compared = 0
    for cycle in Cycle.objects.filter(organization=organization):
        report = evaluate_cycle(organization, cycle)
        for kr in KeyResult.objects.filter(
            objective__cycle=cycle, archived_at__isnull=True, objective__archived_at__isnull=True
        ).select_related("objective__cycle"):
            whole = report.key_results[f"{kr.objective.key}/{kr.key}"]
            alone = evaluate_one_key_result(organization, kr, report.as_of)
            assert (alone.progress, alone.progress_raw, alone.expected, alone.status) == (
                whole.progress,
                whole.progress_raw,
                whole.expected,
                whole.status,
            ), kr.key
            assert (alone.confidence, alone.confidence_disagrees, alone.forecast_reason) == (
                whole.confidence,
                whole.confidence_disagrees,
                whole.forecast_reason,
            ), kr.key
            assert alone.forecast == whole.forecast, kr.key
            assert alone.explanation.summary == whole.explanation.summary, kr.key
            compared += 1
    assert compared > 60
