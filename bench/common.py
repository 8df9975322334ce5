"""Shared pieces of the benchmark suite: timing, percentiles, result rows, table and JSON.

Every figure is the median of several runs (`repeat`), and each run's latency samples give
the p50/p95 of that run; the reported p50/p95 are the medians over runs.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples`` by linear interpolation (0.0 when empty)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def time_call(
    fn: Callable[[], object], *, runs: int, warmup: int = 1, cpu: list[float] | None = None
) -> list[float]:
    """Milliseconds of ``runs`` calls of ``fn`` (after ``warmup`` untimed calls).

    A full garbage collection runs before each timed call and the generational collector is
    frozen (`gc.freeze`) so that objects built before the call (the inputs) are not scanned
    again and again: the time measured is the call's own work. With ``cpu``, the process
    CPU milliseconds of each call are appended to it (on a busy machine wall-clock time
    stretches with the other processes' load; CPU time much less).
    """
    for _ in range(warmup):
        fn()
    out: list[float] = []
    for _ in range(runs):
        gc.collect()
        gc.freeze()
        cpu_started = time.process_time()
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - cpu_started) * 1000)
        gc.unfreeze()
    return out


@dataclass
class Row:
    """One line of the results table (and one object in the JSON)."""

    workload: str
    size: str
    p50_ms: float | None = None
    p95_ms: float | None = None
    throughput: float | None = None  # per second, where relevant
    throughput_unit: str = ""
    floor: str = ""  # what the floor is
    floor_p50_ms: float | None = None
    floor_p95_ms: float | None = None
    floor_throughput: float | None = None
    ratio: float | None = None  # to the floor (time ratio, or throughput share)
    target: str = ""
    met: bool | None = None
    full_size: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def print_table(rows: Sequence[Row]) -> None:
    """A plain-text table of ``rows`` on stdout."""
    header = (
        "workload",
        "size",
        "p50 ms",
        "p95 ms",
        "cpu p50",
        "thru/s",
        "floor p50",
        "floor p95",
        "ratio",
        "target",
        "met",
    )
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.workload,
                r.size,
                _fmt(r.p50_ms, 2),
                _fmt(r.p95_ms, 2),
                _fmt(r.extra.get("cpu_p50_ms"), 2),
                _fmt(r.throughput, 0),
                _fmt(r.floor_p50_ms, 2),
                _fmt(r.floor_p95_ms, 2),
                _fmt(r.ratio, 2),
                r.target,
                "—" if r.met is None else ("yes" if r.met else "NO"),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def markdown_table(rows: Sequence[Row]) -> str:
    """The same table as Markdown (for BENCHMARKS.md)."""
    out = [
        "| workload | size | full size | p50 ms | p95 ms | CPU p50 ms | throughput | floor "
        "| floor p50 / p95 ms | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        thr = "—" if r.throughput is None else f"{r.throughput:,.0f} {r.throughput_unit}"
        fl = "—"
        if r.floor_p50_ms is not None:
            fl = f"{r.floor_p50_ms:,.2f} / {_fmt(r.floor_p95_ms, 2)}"
        elif r.floor_throughput is not None:
            fl = f"{r.floor_throughput:,.0f} {r.throughput_unit}"
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        cpu = _fmt(r.extra.get("cpu_p50_ms"), 2)
        full = "yes" if r.full_size else "no"
        out.append(
            f"| {r.workload} | {r.size} | {full} | {_fmt(r.p50_ms, 2)} | {_fmt(r.p95_ms, 2)} "
            f"| {cpu} | {thr} "
            f"| {r.floor or '—'} | {fl} | {_fmt(r.ratio, 2)} | {r.target} | {met} |"
        )
    return "\n".join(out)


def write_results(rows: Sequence[Row], *, run: str, meta: dict[str, Any]) -> Path:
    """Write ``bench/results/<run>.json`` and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{run}.json"
    path.write_text(
        json.dumps({"run": run, **meta, "workloads": [asdict(r) for r in rows]}, indent=2) + "\n"
    )
    return path
