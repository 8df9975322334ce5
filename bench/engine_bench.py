"""In-process engine workloads: OKR roll-up, recompute after one check-in, critical path
(beside networkx on the same graph), all plan-health findings, and `milepost plan report`.

The plans are built in memory with the shapes of the XL tenant (`bench.generate`), so these
rows need no database and always run at full size:

    .venv/bin/python -m bench.engine_bench [--scale 1] [--runs 7]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from bench.common import Row, median, percentile, print_table, time_call
from milepost.engine.health import find_issues
from milepost.engine.model import (
    AlignmentLink,
    CheckInPoint,
    DependencyInput,
    DependencyType,
    InitiativeInput,
    InitiativeKeyResultLink,
    InitiativeStatus,
    KeyResultInput,
    KeyResultKind,
    MilestoneInput,
    ObjectiveInput,
    Plan,
    TeamInput,
)
from milepost.engine.okr import evaluate_key_result, evaluate_okrs
from milepost.engine.roadmap import evaluate_roadmap
from milepost.engine.rollup import ancestors, build_alignment, rollup_objectives
from milepost.engine.schedule import compute_schedule, critical_path_arrays

SEED = 20261122
AS_OF = date(2026, 8, 25)
CYCLE_START, CYCLE_END = date(2026, 7, 1), date(2026, 9, 30)


def okr_plan(objectives: int, key_results: int, checkins: int) -> Plan:
    """One cycle: ``objectives`` in a 4-ary alignment tree, ``key_results`` spread over them
    (mostly increase, some decrease, maintain and binary) and about ``checkins`` weekly
    check-ins in all."""
    rnd = random.Random(SEED)
    per_kr = max(1, round(checkins / max(1, key_results)))
    objs = [
        ObjectiveInput(
            key=f"o{i}",
            title=f"Objective {i}",
            cycle_key="q3",
            team_key=f"t{i % 250}",
            aligns_to=() if i == 0 else (AlignmentLink(parent_objective=f"o{(i - 1) // 4}"),),
        )
        for i in range(objectives)
    ]
    kinds = [KeyResultKind.INCREASE] * 7 + [
        KeyResultKind.DECREASE,
        KeyResultKind.MAINTAIN,
        KeyResultKind.BINARY,
    ]
    krs: list[KeyResultInput] = []
    for k in range(key_results):
        kind = kinds[k % len(kinds)]
        start = Decimal(rnd.randint(0, 1000))
        target = start + Decimal(rnd.randint(100, 1000))
        if kind is KeyResultKind.DECREASE:
            start, target = target, start
        elif kind is KeyResultKind.BINARY:
            start, target = Decimal(0), Decimal(1)
        pace = rnd.uniform(0.3, 1.2)
        points = []
        for w in range(per_kr):
            day = CYCLE_START + timedelta(days=4 + 4 * w)
            if kind is KeyResultKind.BINARY:
                value = Decimal(1 if w > per_kr - 3 else 0)
            else:
                value = (start + (target - start) * Decimal(pace * (w + 1) / 13)).quantize(
                    Decimal("0.01")
                )
            points.append(CheckInPoint(day, value, rnd.randint(2, 9)))
        o = k % objectives
        krs.append(
            KeyResultInput(
                key=f"o{o}/k{k}",
                objective_key=f"o{o}",
                title=f"Key result {k}",
                kind=kind,
                start=start,
                target=target,
                window_start=CYCLE_START,
                due=CYCLE_END,
                checkins=tuple(points),
            )
        )
    return Plan(objectives=tuple(objs), key_results=tuple(krs))


def random_dag(
    items: int, links: int, *, seed: int = SEED
) -> tuple[list[int], list[int], list[int], list[int], list[int], list[int]]:
    """A random acyclic dependency graph: durations, releases, link from/to/type/lag.

    Links go forward in a hidden random order and item indices are shuffled, so the
    algorithm cannot rely on index order being topological (the general case)."""
    rnd = random.Random(seed)
    perm = list(range(items))
    rnd.shuffle(perm)
    durations = [rnd.randint(1, 40) for _ in range(items)]
    releases = [rnd.randint(0, 90) for _ in range(items)]
    seen: set[tuple[int, int]] = set()
    src: list[int] = []
    dst: list[int] = []
    while len(src) < links:
        a = rnd.randrange(items - 1)
        b = rnd.randrange(a + 1, min(items, a + 50))
        if (a, b) in seen:
            continue
        seen.add((a, b))
        src.append(perm[a])
        dst.append(perm[b])
    types = [rnd.choice((0, 0, 0, 1, 2, 3)) for _ in range(links)]
    lags = [rnd.randint(-2, 5) for _ in range(links)]
    return durations, releases, src, dst, types, lags


def _offset(code: int, dur_from: int, dur_to: int, lag: int) -> int:
    if code == 0:
        return dur_from + lag
    if code == 1:
        return lag
    if code == 2:
        return dur_from + lag - dur_to
    return lag - dur_to


def networkx_cpm(
    durations: list[int],
    releases: list[int],
    src: list[int],
    dst: list[int],
    types: list[int],
    lags: list[int],
) -> Callable[[], tuple[list[int], list[int]]]:
    """The same forward and backward sweeps over a prebuilt networkx DiGraph (the floor)."""
    import networkx as nx

    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_nodes_from(range(len(durations)))
    for s, t, c, lag in zip(src, dst, types, lags, strict=True):
        graph.add_edge(s, t, offset=_offset(c, durations[s], durations[t], lag))

    def run() -> tuple[list[int], list[int]]:
        order = list(nx.topological_sort(graph))
        earliest = list(releases)
        pred = graph.pred
        for v in order:
            best = earliest[v]
            for u, data in pred[v].items():
                cand = earliest[u] + data["offset"]
                if cand > best:
                    best = cand
            earliest[v] = best
        finish = max(e + d for e, d in zip(earliest, durations, strict=True))
        latest = [finish - d for d in durations]
        succ = graph.succ
        for u in reversed(order):
            best = latest[u]
            for v, data in succ[u].items():
                cand = latest[v] - data["offset"]
                if cand < best:
                    best = cand
            latest[u] = best
        return earliest, latest

    return run


def roadmap_plan(base: Plan, initiatives: int, dependencies: int, milestones: int) -> Plan:
    """``base`` with the XL tenant's roadmap: initiatives linked to key results (every tenth
    unaligned), forward dependencies, milestones on initiatives."""
    rnd = random.Random(SEED + 1)
    kr_keys = [kr.key for kr in base.key_results]
    statuses = [
        InitiativeStatus.PLANNED,
        InitiativeStatus.IN_PROGRESS,
        InitiativeStatus.IN_PROGRESS,
        InitiativeStatus.DONE,
        InitiativeStatus.PROPOSED,
    ]
    inits = []
    for i in range(initiatives):
        start = CYCLE_START + timedelta(days=rnd.randint(-30, 60))
        inits.append(
            InitiativeInput(
                key=f"i{i}",
                title=f"Initiative {i}",
                team_key=f"t{i % 250}",
                status=rnd.choice(statuses),
                start=start,
                end=start + timedelta(days=rnd.randint(7, 60)),
                effort_days=Decimal(rnd.randint(5, 60)),
                budget=Decimal(rnd.randint(10, 200) * 1000),
                planned_hours=Decimal(rnd.randint(40, 400)),
                logged_hours=Decimal(rnd.randint(0, 400)),
                tasks_total=100,
                tasks_done=rnd.randint(0, 100),
                key_results=() if i % 10 == 0 else (InitiativeKeyResultLink(rnd.choice(kr_keys)),),
            )
        )
    seen: set[tuple[int, int]] = set()
    deps: list[DependencyInput] = []
    while len(deps) < dependencies:
        a = rnd.randrange(initiatives - 1)
        b = rnd.randrange(a + 1, min(initiatives, a + 50))
        if (a, b) in seen:
            continue
        seen.add((a, b))
        deps.append(DependencyInput(f"i{a}", f"i{b}", DependencyType.FS, rnd.randint(0, 3)))
    ms = [
        MilestoneInput(
            key=f"m{m}",
            name=f"Milestone {m}",
            on=inits[m % initiatives].end or CYCLE_END,
            initiative_key=f"i{m % initiatives}",
        )
        for m in range(milestones)
    ]
    teams = tuple(
        TeamInput(f"t{t}", f"Team {t}", capacity_days_per_week=Decimal(20)) for t in range(250)
    )
    return replace(
        base,
        teams=teams,
        initiatives=tuple(inits),
        dependencies=tuple(deps),
        milestones=tuple(ms),
    )


def _row(
    name: str,
    size: str,
    samples: list[float],
    target_ms: float,
    target: str,
    *,
    full: bool,
    cpu: list[float] | None = None,
    **kw: object,
) -> Row:
    """A row judged on the median CPU time when ``cpu`` is given (see `time_call`), else
    on the median wall-clock time; both are recorded."""
    p50 = median(samples)
    judged = median(cpu) if cpu else p50
    row = Row(
        workload=name,
        size=size,
        p50_ms=p50,
        p95_ms=percentile(samples, 0.95),
        target=target,
        met=judged <= target_ms,
        full_size=full,
    )
    if cpu:
        row.extra["cpu_p50_ms"] = median(cpu)
        row.extra["cpu_p95_ms"] = percentile(cpu, 0.95)
        row.extra["judged_on"] = "cpu"
    for k, v in kw.items():
        setattr(row, k, v)
    return row


def run_engine(scale: float = 1.0, runs: int = 7) -> list[Row]:
    """Every in-process engine row (at ``scale`` of the full size; targets are for 1)."""
    full = scale >= 1
    n_obj, n_kr, n_ci = int(7_500 * scale), int(30_000 * scale), int(400_000 * scale)
    rows: list[Row] = []
    # Critical path, beside networkx on the same graph: first, while the heap holds nothing
    # else (the bare algorithm on its inputs, as a schedule request computes it).
    for items, links, target_ms in ((10_000, 30_000, 30), (100_000, 300_000, 300)):
        n_i, n_l = int(items * scale), int(links * scale)
        dag = random_dag(n_i, n_l)
        cpu: list[float] = []
        samples = time_call(lambda dag=dag: critical_path_arrays(*dag), runs=runs, cpu=cpu)  # type: ignore[misc]
        nx_run = networkx_cpm(*dag)
        ours = critical_path_arrays(*dag)
        theirs = nx_run()
        assert ours.earliest_start == theirs[0], "CPM and networkx disagree"
        nx_cpu: list[float] = []
        nx_samples = time_call(nx_run, runs=max(3, runs // 2), cpu=nx_cpu)
        row = _row(
            "W3/engine: critical path (bare)",
            f"{n_i:,} items / {n_l:,} links",
            samples,
            target_ms,
            f"≤ {target_ms} ms",
            full=full,
            cpu=cpu,
            floor="networkx (prebuilt DiGraph, same sweeps)",
            floor_p50_ms=median(nx_samples),
            floor_p95_ms=percentile(nx_samples, 0.95),
        )
        row.extra["floor_cpu_p50_ms"] = median(nx_cpu)
        row.ratio = median(cpu) / median(nx_cpu)
        rows.append(row)

    plan = okr_plan(n_obj, n_kr, n_ci)
    ci = sum(len(kr.checkins) for kr in plan.key_results)
    size = f"{n_obj:,} obj / {n_kr:,} KR / {ci:,} check-ins"
    cpu = []
    samples = time_call(lambda: evaluate_okrs(plan, AS_OF, with_forecast=False), runs=runs, cpu=cpu)
    rows.append(
        _row(
            "engine: OKR roll-up",
            size,
            samples,
            250,
            "≤ 250 ms",
            full=full,
            cpu=cpu,
            notes="no forecast",
        )
    )
    cpu = []
    samples = time_call(lambda: evaluate_okrs(plan, AS_OF, with_forecast=True), runs=runs, cpu=cpu)
    rows.append(
        _row(
            "engine: OKR roll-up + forecasts",
            size,
            samples,
            250,
            "≤ 250 ms",
            full=full,
            cpu=cpu,
            notes="forecast for every key result (computed when first read)",
        )
    )

    def every_forecast_read() -> None:
        for result in evaluate_okrs(plan, AS_OF, with_forecast=True).key_results.values():
            _ = result.forecast

    cpu = []
    samples = time_call(every_forecast_read, runs=runs, cpu=cpu)
    rows.append(
        _row(
            "engine: OKR roll-up + every forecast read",
            size,
            samples,
            1000,
            "(info)",
            full=full,
            cpu=cpu,
            notes="as the row above, then each key result's forecast read (least squares)",
        )
    )

    # Recompute after one check-in: that key result, its objective and the ancestors.
    report = evaluate_okrs(plan, AS_OF, with_forecast=False)
    graph = build_alignment(plan.objectives, plan.key_results)
    deep = plan.key_results[-1]  # its objective sits deepest in the tree
    updated = replace(deep, checkins=(*deep.checkins, CheckInPoint(AS_OF, deep.target, 8)))
    kr_results = dict(report.key_results)

    def one_checkin() -> None:
        kr_results[updated.key] = evaluate_key_result(
            updated, AS_OF, plan.settings, with_forecast=False
        )
        targets = {updated.objective_key, *ancestors(updated.objective_key, graph)}
        rollup_objectives(
            plan.objectives,
            plan.key_results,
            kr_results,
            plan.settings,
            AS_OF,
            only=targets,
            previous=report.objectives,
            graph=graph,
        )

    cpu = []
    samples = time_call(one_checkin, runs=max(50, runs * 10), warmup=5, cpu=cpu)
    depth = len(ancestors(updated.objective_key, graph))
    rows.append(
        _row(
            "engine: recompute after one check-in",
            f"1 KR + {depth + 1} objectives (of {n_obj:,})",
            samples,
            1,
            "≤ 1 ms",
            full=full,
            cpu=cpu,
        )
    )

    # All findings for the XL tenant's active cycle (schedule included: findings need it).
    rplan = roadmap_plan(plan, int(10_000 * scale), int(30_000 * scale), int(100_000 * scale))
    okr = evaluate_okrs(rplan, AS_OF, with_forecast=False)

    def findings() -> None:
        find_issues(rplan, AS_OF, okr, compute_schedule(rplan, anchor=AS_OF))

    cpu = []
    samples = time_call(findings, runs=max(3, runs // 2), cpu=cpu)
    rsize = (
        f"{len(rplan.initiatives):,} initiatives / {n_kr:,} KR / "
        f"{len(rplan.dependencies):,} deps / {len(rplan.milestones):,} milestones"
    )
    rows.append(
        _row("engine: all findings (XL)", rsize, samples, 1000, "≤ 1 s", full=full, cpu=cpu)
    )
    cpu = []
    samples = time_call(
        lambda: evaluate_roadmap(rplan, AS_OF, okr), runs=max(3, runs // 2), cpu=cpu
    )
    rows.append(
        _row(
            "engine: roadmap report (schedule + findings + priority)",
            rsize,
            samples,
            1000,
            "≤ 1 s (info)",
            full=full,
            cpu=cpu,
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.engine_bench")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print_table(run_engine(args.scale, args.runs))


if __name__ == "__main__":
    main()


def plan_report_row(runs: int = 5, key_results: int = 5000) -> Row:
    """`milepost plan report FILE --format json` end to end on a generated plan file."""
    import sys
    import tempfile
    from pathlib import Path

    from bench.plan_report import AS_OF as REPORT_AS_OF
    from bench.plan_report import generate
    from milepost.plans.canonical import dump_yaml

    milepost = str(Path(sys.executable).parent / "milepost")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.yaml"
        path.write_text(dump_yaml(generate(key_results)))
        argv = [milepost, "plan", "report", str(path), "--as-of", REPORT_AS_OF, "--format", "json"]
        cpu: list[float] = []
        samples = [_wall_ms(argv, cpu) for _ in range(runs)]
    return _row(
        "engine: milepost plan report (YAML, --format json)",
        f"{key_results:,} KR plan file, end to end (process start included)",
        samples,
        2000,
        "≤ 2 s",
        full=True,
        cpu=cpu,
    )


def _wall_ms(argv: list[str], cpu: list[float]) -> float:
    """Wall-clock ms of one run of ``argv``; its CPU ms (user + system) appended to ``cpu``."""
    import resource
    import subprocess
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return wall
