"""`make load`: a bounded load test of the production server on PostgreSQL with the demo data.

Creates a database holding the demo organization, starts `milepost serve` (production
settings, gunicorn with 2 workers) on 127.0.0.1, runs locust headless (bench/load/locustfile.py:
50 people, the weekly-review mix) for a fixed time, then stops everything and drops the
database. Prints the requests, failures, p50 and p95 per action and writes them to
``bench/results/load-<timestamp>.json``. Exit status 1 if any request failed.

Usage: ``python -m bench.load.run_load [--users 50] [--duration 120] [--pg postgres://…]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.load.common import (
    BIN,
    DEFAULT_PG,
    REPO,
    RESULTS,
    demo_database,
    running_server,
    setup_django,
)
from bench.load.common import timestamp as now_stamp

LOCUSTFILE = REPO / "bench" / "load" / "locustfile.py"


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def read_stats(prefix: Path) -> dict[str, dict[str, Any]]:
    """Per action (locust request name): requests, failures, p50/p95/p99 (ms), rps."""
    actions: dict[str, dict[str, Any]] = {}
    with Path(f"{prefix}_stats.csv").open() as handle:
        for row in csv.DictReader(handle):
            actions[row["Name"]] = {
                "method": row["Type"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
                "rps": round(_number(row["Requests/s"]), 2),
            }
    return actions


def main(argv: list[str] | None = None) -> int:
    setup_django()
    from milepost.demo.loader import DEMO_ADMIN_LOGIN, DEMO_LOGIN, DEMO_PASSWORD, DEMO_SLUG

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL (no database)")
    args = parser.parse_args(argv)

    stamp = now_stamp()
    with (
        demo_database("load", args.pg) as url,
        running_server(url, workers=args.workers) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        prefix = Path(tmp) / "load"
        env = {
            "MILEPOST_LOAD_SLUG": DEMO_SLUG,
            "MILEPOST_LOAD_LOGINS": f"{DEMO_LOGIN},{DEMO_ADMIN_LOGIN}",
            "MILEPOST_LOAD_PASSWORD": DEMO_PASSWORD,
        }
        command = [
            str(BIN / "locust"),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.spawn_rate),
            "--run-time",
            f"{args.duration}s",
            "--host",
            server.base,
            "--csv",
            str(prefix),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ]
        result = subprocess.run(
            command,
            cwd=REPO,
            env={**os.environ, **env},
            check=False,
            timeout=args.duration + 300,
        )
        actions = read_stats(prefix)
    total = actions.pop("Aggregated", None)
    failures = sum(a["failures"] for a in actions.values())
    report = {
        "timestamp": stamp,
        "users": args.users,
        "duration_s": args.duration,
        "workers": args.workers,
        "server": "milepost serve (production settings, gunicorn) on PostgreSQL, demo data",
        "actions": actions,
        "total": total,
        "failures": failures,
        "locust_exit_code": result.returncode,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"load-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(f"{'action':<22} {'requests':>9} {'failures':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for name, a in sorted(actions.items()):
        numbers = f"{a['requests']:>9} {a['failures']:>9} {a['p50_ms']:>8.0f} {a['p95_ms']:>8.0f}"
        print(f"{name:<22} {numbers}")
    print(f"\nWritten to {out.relative_to(REPO)}")
    requests = sum(a["requests"] for a in actions.values())
    if failures or not requests:
        print(f"LOAD TEST FAILED: {failures} failed requests of {requests}")
        return 1
    print(f"Load test passed: {requests} requests, zero errors.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
