"""Time `milepost plan report` end to end on a generated plan file (target: ≤ 2 s for 5,000 KRs).

    .venv/bin/python -m bench.plan_report [--key-results 5000] [--runs 5]

Writes a realistic plan (teams tree, a year and a quarter, 4 key results per objective with
weekly check-ins, alignment to parent objectives and key results, initiatives with key-result
links, dependencies of every type, milestones and task counts) as YAML and JSON into a
temporary directory, then times the installed ``milepost`` command as a subprocess: process
start, imports, reading and validating the file, both engine halves, and writing the report.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from milepost.plans.canonical import dump_json, dump_yaml

SEED = 20261122
AS_OF = "2026-08-20"
Q3_START, Q3_END = date(2026, 7, 1), date(2026, 9, 30)


def generate(key_results: int) -> dict[str, Any]:
    """Plain plan data with `key_results` key results (4 per objective)."""
    rnd = random.Random(SEED)
    n_objectives = max(1, key_results // 4)
    n_teams = max(2, n_objectives // 10)
    teams = [{"key": "company", "name": "Company", "capacity_days_per_week": 0}]
    for t in range(1, n_teams):
        parent = "company" if t < 8 else f"team-{rnd.randrange(1, min(t, 8))}"
        teams.append(
            {
                "key": f"team-{t}",
                "name": f"Team {t}",
                "parent": parent,
                "capacity_days_per_week": Decimal(rnd.choice([10, 15, 20, 25, 40])),
            }
        )
    cycles = [
        {"key": "FY2026", "start": "2026-01-01", "end": "2026-12-31"},
        {"key": "2026-Q3", "start": Q3_START.isoformat(), "end": Q3_END.isoformat()},
    ]
    objectives: list[dict[str, Any]] = []
    kr_keys: list[str] = []
    kinds = ["increase"] * 6 + ["decrease"] * 2 + ["maintain", "binary"]
    for o in range(n_objectives):
        top = o < max(1, n_objectives // 20)
        objective: dict[str, Any] = {
            "key": f"obj-{o}",
            "title": f"Objective {o}: make a measurable difference",
            "cycle": "FY2026" if top else "2026-Q3",
            "team": f"team-{rnd.randrange(1, n_teams)}" if n_teams > 1 else "company",
        }
        if not top:
            up = rnd.randrange(0, max(1, n_objectives // 20))
            objective["aligns_to"] = [
                {"objective": f"obj-{up}"}
                if rnd.random() < 0.5
                else {"key_result": f"obj-{up}/kr-{rnd.randrange(4)}", "weight": Decimal("0.5")}
            ]
        krs = []
        for k in range(4):
            kind = rnd.choice(kinds)
            start = Decimal(rnd.randrange(100, 5000))
            target = start * Decimal("1.5") if kind != "decrease" else start / 2
            if kind == "binary":
                start, target = Decimal(0), Decimal(1)
            kr: dict[str, Any] = {
                "key": f"kr-{k}",
                "title": f"Key result {k} of objective {o}",
                "kind": kind,
                "start": start,
                "target": target.quantize(Decimal("0.01")),
            }
            checkins = []
            value = start
            for week in range(rnd.randrange(0, 8)):
                day = Q3_START + timedelta(days=7 * week + rnd.randrange(0, 3))
                if kind == "binary":
                    value = Decimal(1 if week > 5 else 0)
                else:
                    value = (value + (target - start) * Decimal(rnd.uniform(0, 0.15))).quantize(
                        Decimal("0.1")
                    )
                checkins.append(
                    {"date": day.isoformat(), "value": value, "confidence": rnd.randrange(3, 10)}
                )
            if checkins:
                kr["checkins"] = checkins
            krs.append(kr)
            kr_keys.append(f"obj-{o}/kr-{k}")
        objective["key_results"] = krs
        objectives.append(objective)
    n_initiatives = max(2, key_results * 3 // 10)
    initiatives: list[dict[str, Any]] = []
    for i in range(n_initiatives):
        first_day = Q3_START + timedelta(days=rnd.randrange(0, 50))
        last_day = first_day + timedelta(days=rnd.randrange(5, 40))
        initiative: dict[str, Any] = {
            "key": f"init-{i}",
            "title": f"Initiative {i}",
            "team": f"team-{rnd.randrange(1, n_teams)}" if n_teams > 1 else "company",
            "status": rnd.choice(["planned", "in_progress", "in_progress", "done"]),
            "start": first_day.isoformat(),
            "end": last_day.isoformat(),
            "effort_days": Decimal(rnd.randrange(2, 30)),
            "key_results": [
                {"key_result": key, "weight": Decimal(1)}
                for key in rnd.sample(kr_keys, k=min(len(kr_keys), rnd.randrange(1, 3)))
            ],
            "tasks_total": 10,
            "tasks_done": rnd.randrange(0, 11),
        }
        if i and rnd.random() < 0.7:
            initiative["depends_on"] = [
                {
                    "initiative": f"init-{rnd.randrange(0, i)}",
                    "type": rnd.choice(["FS", "FS", "SS", "FF", "SF"]),
                    "lag_days": rnd.randrange(-2, 5),
                }
            ]
        initiatives.append(initiative)
    milestones = [
        {
            "key": f"ms-{m}",
            "name": f"Milestone {m}",
            "date": (Q3_START + timedelta(days=rnd.randrange(20, 90))).isoformat(),
            "initiative": f"init-{rnd.randrange(n_initiatives)}",
        }
        for m in range(n_initiatives // 5)
    ]
    return {
        "version": 1,
        "organization": {"name": "Bench", "timezone": "Europe/Berlin"},
        "teams": teams,
        "cycles": cycles,
        "objectives": objectives,
        "initiatives": initiatives,
        "milestones": milestones,
    }


def time_command(argv: list[str], runs: int) -> tuple[float, float, float, int]:
    """(best, median) wall-clock seconds, best CPU seconds over `runs`, and the exit code.

    CPU time (user + system of the child) is reported beside wall-clock because a busy
    machine stretches the wall-clock of a CPU-bound command without it doing more work.
    """
    times: list[float] = []
    cpu: list[float] = []
    code = 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        code = done.returncode
        if b"Traceback" in done.stderr:
            sys.exit(done.stderr.decode())
    return min(times), statistics.median(times), min(cpu), code


def breakdown(path: Path) -> None:
    """CPU seconds of each phase, in this process (imports already done)."""
    from milepost.engine.okr import evaluate_okrs
    from milepost.engine.roadmap import evaluate_roadmap
    from milepost.plans.planfile import parse_plan_data, read_plan_data
    from milepost.plans.report import PlanEvaluation, report_data

    as_of = date.fromisoformat(AS_OF)
    marks = [("start", time.process_time())]
    data = read_plan_data(path)
    marks.append(("read + decode", time.process_time()))
    doc = parse_plan_data(data, decoded=True)
    marks.append(("validate + build", time.process_time()))
    okr = evaluate_okrs(doc.plan, as_of)
    marks.append(("OKR engine", time.process_time()))
    roadmap = evaluate_roadmap(doc.plan, as_of, okr)
    marks.append(("roadmap engine", time.process_time()))
    report = report_data(PlanEvaluation(doc.plan, as_of, okr, roadmap))
    marks.append(("report data (explanations)", time.process_time()))
    dump_json(report)
    marks.append(("JSON text", time.process_time()))
    print(
        f"in-process CPU, {path.suffix[1:]} file: "
        + ", ".join(
            f"{name} {end - begin:.2f}s" for (_, begin), (name, end) in itertools.pairwise(marks)
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-results", type=int, default=5000, help="key results (default 5000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    args = parser.parse_args()
    milepost = str(Path(sys.executable).parent / "milepost")
    data = generate(args.key_results)
    with tempfile.TemporaryDirectory() as tmp:
        files = {"yaml": Path(tmp) / "plan.yaml", "json": Path(tmp) / "plan.json"}
        files["yaml"].write_text(dump_yaml(data))
        files["json"].write_text(dump_json(data))
        n_checkins = sum(
            len(kr.get("checkins", [])) for o in data["objectives"] for kr in o["key_results"]
        )
        print(
            f"plan: {args.key_results} key results, {len(data['objectives'])} objectives, "
            f"{n_checkins} check-ins, {len(data['initiatives'])} initiatives, "
            f"{len(data['milestones'])} milestones; YAML {files['yaml'].stat().st_size // 1024} KiB"
        )
        print(f"{'command':<44} {'best':>7} {'median':>7} {'cpu':>7}  exit")
        for fmt, path in files.items():
            for argv in (
                ["plan", "report", str(path), "--as-of", AS_OF, "--format", "json"],
                ["plan", "report", str(path), "--as-of", AS_OF],
                ["plan", "check", str(path), "--as-of", AS_OF],
            ):
                best, median, cpu, code = time_command([milepost, *argv], args.runs)
                output = ", --format json" if argv[-1] == "json" else ""
                label = f"{' '.join(argv[:2])} ({fmt} file{output})"
                print(f"{label:<44} {best:>6.2f}s {median:>6.2f}s {cpu:>6.2f}s  {code}")
        for path in files.values():
            breakdown(path)
        best, median, cpu, _ = time_command([milepost, "--help"], args.runs)
        label = "milepost --help (process start only)"
        print(f"{label:<44} {best:>6.2f}s {median:>6.2f}s {cpu:>6.2f}s")


if __name__ == "__main__":
    main()
