"""The plan report: the engine's results for a plan, as JSON data or a table for a terminal.

`evaluate_plan` runs both halves of the engine on a plan as of a date; `report_data` shapes
the result exactly as ``milepost plan report --format json`` prints it, and `report_text` is
the same content as readable tables. Pure Python: no Django.

JSON shape (numbers are JSON numbers rounded to 4 decimals; dates ISO; explanations are
`Explanation.as_dict()`):

- ``as_of``
- ``key_results``: ``key, progress, progress_raw, expected, status, confidence,
  confidence_disagrees, forecast`` (``{value, low, high, progress, explanation}`` or null)
  ``, explanation``
- ``objectives``: ``key, progress, status, explanation``
- ``initiatives``: ``key, earliest_start, earliest_finish, latest_start, latest_finish,
  slack_days, critical, priority, priority_explanation`` (schedule fields are null when no
  schedule could be computed for it, e.g. a dependency loop or a cancelled initiative)
- ``findings``: ``code, severity, message, objects``
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from milepost.engine.explain import Explanation
from milepost.engine.model import Plan, Severity, Status
from milepost.engine.okr import evaluate_okrs
from milepost.engine.results import (
    Finding,
    Forecast,
    KeyResultResult,
    OkrReport,
    PriorityResult,
    ScheduledItem,
)
from milepost.engine.roadmap import RoadmapReport, evaluate_roadmap
from milepost.plans.textio import dump_json, dump_json_bytes

__all__ = [
    "PlanEvaluation",
    "evaluate_plan",
    "report_data",
    "report_json",
    "report_json_bytes",
    "report_text",
    "round4",
]

_FOUR_PLACES = Decimal("0.0001")
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PlanEvaluation:
    """Both halves of the engine's answer for one plan on one date."""

    plan: Plan
    as_of: date
    okr: OkrReport
    roadmap: RoadmapReport


def evaluate_plan(plan: Plan, as_of: date, *, with_forecast: bool = True) -> PlanEvaluation:
    """Run the OKR and roadmap engines on `plan` as of `as_of`.

    ``with_forecast=False`` skips the key-result forecasts (where only findings are needed).
    Raises `milepost.engine.errors.EngineError` if the engine refuses the plan.
    """
    okr = evaluate_okrs(plan, as_of, with_forecast=with_forecast)
    roadmap = evaluate_roadmap(plan, as_of, okr)
    return PlanEvaluation(plan=plan, as_of=as_of, okr=okr, roadmap=roadmap)


# round4 depends on the value alone (equal Decimals give equal results), and a report
# repeats the same few thousand progress values: each is rounded once. Bounded.
_ROUNDED: dict[Decimal, Decimal] = {}
_ROUNDED_MAX = 65_536


def round4(value: Decimal) -> Decimal:
    """Round half up to 4 decimals, without trailing zeros or exponent: 0.15384 → 0.1538."""
    if not value.is_finite():  # a signalling NaN cannot even be hashed
        return _round4(value)
    found = _ROUNDED.get(value)
    if found is None:
        if len(_ROUNDED) >= _ROUNDED_MAX:
            _ROUNDED.clear()
        found = _ROUNDED[value] = _round4(value)
    return found


def _round4(value: Decimal) -> Decimal:
    if value.adjusted() < 20:  # fits the default context's 28 digits with room to spare
        rounded = value.quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)
    else:
        with localcontext() as ctx:
            ctx.prec = value.adjusted() + 10
            rounded = value.quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)
    if rounded.is_zero():
        return _ZERO
    text = format(rounded, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)


def _opt4(value: Decimal | None) -> Decimal | None:
    return None if value is None else round4(value)


def _explanation(explanation: Explanation | None) -> dict[str, Any] | None:
    return None if explanation is None else explanation.as_dict()


def _forecast(forecast: Forecast | None) -> dict[str, Any] | None:
    if forecast is None:
        return None
    return {
        "value": round4(forecast.value),
        "low": round4(forecast.low),
        "high": round4(forecast.high),
        "progress": round4(forecast.progress),
        "explanation": forecast.explanation.as_dict(),
    }


def _key_result(result: KeyResultResult) -> dict[str, Any]:
    return {
        "key": result.key,
        "progress": round4(result.progress),
        "progress_raw": round4(result.progress_raw),
        "expected": round4(result.expected),
        "status": result.status.value,
        "confidence": result.confidence,
        "confidence_disagrees": result.confidence_disagrees,
        "forecast": _forecast(result.forecast),
        "explanation": result.explanation.as_dict(),
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _initiative(key: str, item: ScheduledItem | None, priority: PriorityResult | None) -> Any:
    return {
        "key": key,
        "earliest_start": _iso(item.earliest_start) if item else None,
        "earliest_finish": _iso(item.earliest_finish) if item else None,
        "latest_start": _iso(item.latest_start) if item else None,
        "latest_finish": _iso(item.latest_finish) if item else None,
        "slack_days": item.slack_days if item else None,
        "critical": item.critical if item else None,
        "priority": round4(priority.score) if priority else None,
        "priority_explanation": _explanation(priority.explanation if priority else None),
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "objects": list(finding.objects),
    }


def report_data(evaluation: PlanEvaluation) -> dict[str, Any]:
    """The report as plain data, in plan order (numbers are `Decimal` rounded to 4 places)."""
    plan, okr, roadmap = evaluation.plan, evaluation.okr, evaluation.roadmap
    items = roadmap.schedule.items if roadmap.schedule is not None else {}
    priorities = {p.key: p for p in roadmap.priorities}
    return {
        "as_of": evaluation.as_of.isoformat(),
        "key_results": [
            _key_result(okr.key_results[kr.key])
            for kr in plan.key_results
            if kr.key in okr.key_results
        ],
        "objectives": [
            {
                "key": result.key,
                "progress": round4(result.progress),
                "status": result.status.value,
                "explanation": result.explanation.as_dict(),
            }
            for o in plan.objectives
            if (result := okr.objectives.get(o.key)) is not None
        ],
        "initiatives": [
            _initiative(i.key, items.get(i.key), priorities.get(i.key)) for i in plan.initiatives
        ],
        "findings": [_finding(f) for f in roadmap.findings],
    }


def report_json(evaluation: PlanEvaluation) -> str:
    """`report_data` as indented JSON text with sorted keys and a final newline."""
    return dump_json(report_data(evaluation))


def report_json_bytes(evaluation: PlanEvaluation) -> bytes:
    """`report_json` encoded as UTF-8."""
    return dump_json_bytes(report_data(evaluation))


# --- text ---------------------------------------------------------------------------------


def _percent(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _number(value: Decimal) -> str:
    return format(round4(value), "f")


def _status(status: Status) -> str:
    return status.value.replace("_", " ")


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        out = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _forecast_cell(result: KeyResultResult) -> str:
    fc = result.forecast
    if fc is None:
        return "-"
    return f"{_number(fc.value)} ({_number(fc.low)}..{_number(fc.high)}) {_percent(fc.progress)}"


def _explained(key: str, explanation: Explanation) -> str:
    text = explanation.as_text()
    return text if text.startswith(f"{key}:") else f"{key}: {text}"


def report_text(evaluation: PlanEvaluation, *, explain: bool = False) -> str:
    """The report as tables for a terminal; ``explain`` adds each number's explanation."""
    plan, okr, roadmap = evaluation.plan, evaluation.okr, evaluation.roadmap
    name = f" - {plan.organization_name}" if plan.organization_name else ""
    out = [f"Plan report as of {evaluation.as_of.isoformat()}{name}", ""]

    objectives = [(o, okr.objectives[o.key]) for o in plan.objectives if o.key in okr.objectives]
    out.append(f"Objectives ({len(objectives)})")
    out += _table(
        ["KEY", "PROGRESS", "EXPECTED", "STATUS", "TITLE"],
        [
            [o.key, _percent(res.progress), _percent(res.expected), _status(res.status), o.title]
            for o, res in objectives
        ],
        right={1, 2},
    )
    if explain:
        for o, res in objectives:
            out += ["", _explained(o.key, res.explanation)]

    krs = [(k, okr.key_results[k.key]) for k in plan.key_results if k.key in okr.key_results]
    out += ["", f"Key results ({len(krs)})"]
    out += _table(
        ["KEY", "PROGRESS", "RAW", "EXPECTED", "STATUS", "CONFIDENCE", "FORECAST AT DUE"],
        [
            [
                k.key,
                _percent(r.progress),
                _percent(r.progress_raw),
                _percent(r.expected),
                _status(r.status),
                ("-" if r.confidence is None else f"{r.confidence}/10")
                + (" (disagrees)" if r.confidence_disagrees else ""),
                _forecast_cell(r),
            ]
            for k, r in krs
        ],
        right={1, 2, 3},
    )
    if explain:
        for k, r in krs:
            out += ["", _explained(k.key, r.explanation)]

    items = roadmap.schedule.items if roadmap.schedule is not None else {}
    priorities = {p.key: p for p in roadmap.priorities}
    out += ["", f"Initiatives ({len(plan.initiatives)})"]
    rows: list[list[str]] = []
    for initiative in plan.initiatives:
        item, priority = items.get(initiative.key), priorities.get(initiative.key)
        rows.append(
            [
                initiative.key,
                item.earliest_start.isoformat() if item else "-",
                item.earliest_finish.isoformat() if item else "-",
                str(item.slack_days) if item else "-",
                ("yes" if item.critical else "no") if item else "-",
                str(priority.rank) if priority else "-",
                _number(priority.score) if priority else "-",
            ]
        )
    out += _table(
        [
            "KEY",
            "EARLIEST START",
            "EARLIEST FINISH",
            "SLACK (DAYS)",
            "CRITICAL",
            "RANK",
            "PRIORITY",
        ],
        rows,
        right={3, 5, 6},
    )
    if roadmap.schedule_error:
        out.append(f"No schedule: {roadmap.schedule_error}")
    if explain:
        for p in roadmap.priorities:
            out += ["", _explained(p.key, p.explanation)]

    counts = Counter(f.severity for f in roadmap.findings)
    summary = ", ".join(
        f"{counts[s]} {s.value}{'s' if counts[s] != 1 and s is not Severity.INFO else ''}"
        for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
    )
    out += ["", f"Findings ({summary})"]
    for f in roadmap.findings:
        objects = f" [{', '.join(f.objects)}]" if f.objects else ""
        out.append(f"{f.severity.value:<7}  {f.code}: {f.message}{objects}")
    return "\n".join(out) + "\n"
