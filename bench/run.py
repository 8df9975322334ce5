"""Run every benchmark, print the table and write ``bench/results/<run>.json``.

    .venv/bin/python -m bench.run --scale 0.1          # make bench-quick (< 10 minutes)
    .venv/bin/python -m bench.run --scale 1            # make bench (about an hour)
    .venv/bin/python -m bench.run --profile many-orgs --only server   # 200 small tenants

Steps: the in-process engine rows (always at full size unless ``--engine-scale`` says
otherwise), `milepost plan report` on a 5,000-key-result file, then a fresh PostgreSQL
database ``milepost_bench_s<scale>`` is filled by `bench.generate` (skipped with
``--reuse-db`` when it already holds a tenant), the production server is started on it and
W1-W6 run against it with their floors. Each figure is the median of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Row, markdown_table, print_table, write_results

PG_ROOT = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def machine() -> dict[str, Any]:
    """nproc, CPU model, RAM, load average, PostgreSQL and Python versions."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
    }


def _psql(db: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", f"{PG_ROOT}/{db}", "-Atc", sql],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


def _tenants(url: str) -> str:
    count = _psql(url.rsplit("/", 1)[-1], "SELECT count(*) FROM organizations_organization")
    return f"{int(count):,}" if count.isdigit() else "many"


def prepare_database(
    scale: float, *, reuse: bool, name: str | None = None, profile: str = "xl"
) -> str:
    """A database holding the ``profile``'s tenants at ``scale`` (default name
    ``milepost_bench_s<scale>``, ``milepost_bench_many_s<scale>`` for many-orgs); returns
    its URL."""
    kind = "" if profile == "xl" else "many_"
    name = name or f"milepost_bench_{kind}s{str(scale).replace('.', '')}"
    url = f"{PG_ROOT}/{name}"
    exists = _psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
    if (
        reuse
        and exists
        and _psql(name, "SELECT count(*) FROM organizations_organization")
        not in {
            "",
            "0",
        }
    ):
        # Earlier runs' writes (W2's check-ins update a thousand key results and their
        # objectives) leave dead rows; start from a vacuumed database as autovacuum would
        # keep it (it may be off on the bench machine's server). Seconds when little changed.
        _psql(name, "VACUUM (ANALYZE)")
        print(f"Reusing {name} (vacuumed)", flush=True)
        return url
    _psql("postgres", f"DROP DATABASE IF EXISTS {name}")
    _psql("postgres", f"CREATE DATABASE {name}")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bench.generate", "--scale", str(scale), "--profile", profile],
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )
    print(f"Generated {name} in {time.perf_counter() - started:.0f} s", flush=True)
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--engine-scale", type=float, default=1.0, help="size of the in-process engine rows"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--reuse-db", action="store_true", help="keep an existing bench DB")
    parser.add_argument(
        "--only",
        default="engine,plan,server",
        help="comma-separated parts: engine, plan, server",
    )
    parser.add_argument(
        "--workloads",
        default=None,
        help="comma-separated server workloads to run: W1 ... W6, PEER, 'W6 export/import' "
        "(default: all)",
    )
    parser.add_argument(
        "--db", default=None, help="bench database name (default milepost_bench_s<scale>)"
    )
    parser.add_argument("--w6-seconds", type=float, default=None)
    parser.add_argument(
        "--profile",
        choices=["xl", "many-orgs"],
        default="xl",
        help="xl: one 20,000-person tenant; many-orgs: 200 tenants of 100 people in one "
        "database, the server workloads run against one of them",
    )
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    run = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-s{args.scale}"
    if args.profile != "xl":
        run += f"-{args.profile}"
    rows: list[Row] = []
    started = time.perf_counter()

    if "engine" in parts:
        from bench.engine_bench import run_engine

        print("Engine (in process)…", flush=True)
        rows += run_engine(args.engine_scale, max(3, args.runs))
        print_table(rows)

    if "plan" in parts:
        from bench.engine_bench import plan_report_row

        print("milepost plan report (5,000 key results)…", flush=True)
        rows.append(plan_report_row(runs=args.runs))

    if "server" in parts:
        url = prepare_database(args.scale, reuse=args.reuse_db, name=args.db, profile=args.profile)
        os.environ["DATABASE_URL"] = url
        from bench.server import SECRET_KEY

        os.environ["MILEPOST_SECRET_KEY"] = SECRET_KEY
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "milepost.config.settings")
        import django

        django.setup()
        import logging

        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
        from bench import workloads
        from bench.server import running_server

        fx = workloads.make_fixture(args.scale)
        with running_server(url) as base:
            print(f"Server up at {base}; W1-W6…", flush=True)
            runs = args.runs
            steps: list[tuple[str, Callable[[], list[Row]]]] = [
                ("W1", lambda: workloads.w1_tree(base, fx, runs)),
                ("W2", lambda: workloads.w2_checkins(base, fx, runs)),
                ("W3", lambda: workloads.w3_roadmap(base, fx, runs)),
                ("W4", lambda: workloads.w4_tasks(base, fx, runs)),
                ("W5", lambda: workloads.w5_investment(fx, runs)),
                ("PEER", lambda: workloads.peer_lists(base, fx, runs)),
                (
                    "W6",
                    lambda: workloads.w6_mixed(
                        base,
                        fx,
                        args.w6_seconds if args.w6_seconds is not None else 900 * args.scale,
                    ),
                ),
                ("W6 export/import", lambda: workloads.w6_export_import(fx)),
            ]
            if args.workloads:
                wanted = {w.strip().upper() for w in args.workloads.split(",")}
                steps = [(n, fn) for n, fn in steps if n.upper() in wanted]
            for name, fn in steps:
                t = time.perf_counter()
                try:
                    got = fn()
                    for row in got:
                        row.full_size = args.scale >= 1
                        if args.profile != "xl":
                            row.size = f"{row.size} (one of {_tenants(url)} tenants)"
                    rows += got
                except Exception as exc:  # one failing workload must not lose the others
                    print(f"{name} failed: {exc!r}", flush=True)
                    rows.append(Row(name, "—", target="(failed)", met=False, notes=repr(exc)))
                print(f"  {name} in {time.perf_counter() - t:.0f} s", flush=True)

    meta = {
        "scale": args.scale,
        "engine_scale": args.engine_scale,
        "runs": args.runs,
        "machine": machine(),
        "postgresql": _psql("postgres", "SHOW server_version"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    path = write_results(rows, run=run, meta=meta)
    print()
    print_table(rows)
    (path.with_suffix(".md")).write_text(markdown_table(rows) + "\n")
    print(f"\nWrote {path} in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
