"""`make crash`: no check-in is lost or doubled when a server worker dies mid-request.

Against `milepost serve` (production settings, gunicorn with 2 workers) on PostgreSQL with the
demo data: client threads post check-ins through the REST API with a token, each with its own
``Idempotency-Key``, and retry a request that got no answer (or a 5xx) with the same key, as a
careful client does. A few seconds in, one gunicorn worker is killed with SIGKILL while
requests are in flight (then the other one, once the master has replaced the first). Afterwards,
in the database:

- every check-in that got a success answer (2xx) is stored, with the value sent;
- none is stored twice (one row per idempotency key, and no row of the run without its key);
- every key result's stored progress equals a full engine recompute.

Writes ``bench/results/crash-<timestamp>.json`` and exits 1 if any check fails.
Usage: ``python -m bench.load.crash_test [--threads 8] [--duration 25]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from bench.load.common import (
    BIN,
    DEFAULT_PG,
    REPO,
    RESULTS,
    SECRET_KEY,
    Server,
    demo_database,
    running_server,
    setup_django,
    timestamp,
)

NOTE = "crash-test"
MAX_ATTEMPTS = 8


@dataclass
class Sent:
    key: str
    key_result: int
    value: Decimal
    acknowledged: bool = False
    attempts: int = 0
    outcomes: list[str] = field(default_factory=list)


def _token(database_url: str, email: str, slug: str) -> str:
    result = subprocess.run(
        [
            str(BIN / "milepost"),
            *("token", "create", "--user", email, "--org", slug),
            *("--role", "admin", "--name", "crash test"),
        ],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url, "MILEPOST_SECRET_KEY": SECRET_KEY},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[0]


def _key_results(base: str, slug: str, token: str) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        cycles = client.get(f"/api/v1/orgs/{slug}/cycles", params={"limit": 200}).json()["items"]
        active = [c["id"] for c in cycles if c["state"] == "active"]
        items = client.get(
            f"/api/v1/orgs/{slug}/key-results", params={"cycle": active[0], "limit": 200}
        ).json()["items"]
    return [kr["id"] for kr in items if kr["kind"] in {"increase", "decrease", "maintain"}]


def _post_until_answered(client: httpx.Client, slug: str, sent: Sent) -> None:
    """POST the check-in; on a lost connection or a 5xx, the same request again (same key)."""
    url = f"/api/v1/orgs/{slug}/key-results/{sent.key_result}/check-ins"
    body = {"value": str(sent.value), "confidence": 6, "note": NOTE}
    for _ in range(MAX_ATTEMPTS):
        sent.attempts += 1
        try:
            response = client.post(url, json=body, headers={"Idempotency-Key": sent.key})
        except httpx.HTTPError as exc:
            sent.outcomes.append(type(exc).__name__)
            time.sleep(0.2)
            continue
        sent.outcomes.append(str(response.status_code))
        if 200 <= response.status_code < 300:
            sent.acknowledged = True
            return
        if response.status_code < 500:
            return  # a refusal: nothing to retry
        time.sleep(0.2)


def run_clients(
    server: Server, slug: str, token: str, key_results: list[int], threads: int, duration: float
) -> tuple[list[Sent], list[dict[str, Any]]]:
    sent: list[Sent] = []
    lock = threading.Lock()
    stop = threading.Event()
    kills: list[dict[str, Any]] = []

    def client_loop(n: int) -> None:
        rng = random.Random(n)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
            while not stop.is_set():
                item = Sent(
                    key=f"crash-{uuid.uuid4()}",
                    key_result=rng.choice(key_results),
                    value=Decimal(rng.randint(0, 500)),
                )
                with lock:
                    sent.append(item)
                _post_until_answered(client, slug, item)

    workers = [threading.Thread(target=client_loop, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    started = time.monotonic()
    for at in (duration * 0.3, duration * 0.65):
        time.sleep(max(0.0, started + at - time.monotonic()))
        pids = server.workers()
        in_flight = sum(1 for s in sent if not s.outcomes)
        if pids:
            victim = pids[0]
            os.kill(victim, signal.SIGKILL)  # a worker of the server this script started
            kills.append({"at_s": round(time.monotonic() - started, 1), "pid": victim})
            print(f"  SIGKILL worker {victim} at {kills[-1]['at_s']} s ({in_flight} in flight)")
    time.sleep(max(0.0, started + duration - time.monotonic()))
    stop.set()
    for w in workers:
        w.join(timeout=120)
    return sent, kills


def verify(database_url: str, slug: str, sent: list[Sent]) -> dict[str, Any]:
    setup_django(database_url)
    from django.db import transaction
    from django.db.models import Count

    from milepost.okrs.engine_io import Recomputed, recompute_organization
    from milepost.okrs.models import CheckIn
    from milepost.organizations.models import Organization

    org = Organization.objects.get(slug=slug)
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in CheckIn.objects.filter(organization=org, note=NOTE).values(
            "idempotency_key", "key_result_id", "value"
        )
    ]
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault(row["idempotency_key"] or "", []).append(row)
    duplicated = sorted(k for k, v in by_key.items() if len(v) > 1)
    keyless = len(by_key.get("", []))
    acknowledged = [s for s in sent if s.acknowledged]
    lost = [
        s.key
        for s in acknowledged
        if len(by_key.get(s.key, [])) != 1
        or by_key[s.key][0]["value"] != s.value
        or by_key[s.key][0]["key_result_id"] != s.key_result
    ]
    unknown = sorted(set(by_key) - {s.key for s in sent} - {""})
    unanswered_stored = sum(1 for s in sent if not s.acknowledged and s.key in by_key)
    doubled_keys = list(
        CheckIn.objects.filter(organization=org, idempotency_key__isnull=False)
        .values("idempotency_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("idempotency_key", flat=True)
    )
    with transaction.atomic():
        recomputed = recompute_organization(org)
        transaction.set_rollback(True)  # look, do not repair
    return {
        "requests": len(sent),
        "acknowledged": len(acknowledged),
        "retried": sum(1 for s in sent if s.attempts > 1),
        "stored_rows": len(rows),
        "lost_acknowledged": lost,
        "stored_twice": duplicated + doubled_keys,
        "rows_without_key": keyless,
        "rows_not_sent": unknown,
        "unacknowledged_but_stored": unanswered_stored,
        "progress_disagrees": {"key_results": recomputed[0], "objectives": recomputed[1]},
        "progress_ok": recomputed == Recomputed(0, 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--duration", type=float, default=25, help="seconds of load")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL (no database)")
    args = parser.parse_args(argv)
    from milepost.demo.content import EMAIL_DOMAIN

    slug, email = "demo", f"ada@{EMAIL_DOMAIN}"
    stamp = timestamp()
    with demo_database("crash", args.pg) as url:
        token = _token(url, email, slug)
        with running_server(url, workers=2, label="crash") as server:
            key_results = _key_results(server.base, slug, token)
            print(f"{args.threads} clients posting check-ins for {args.duration:.0f} s")
            sent, kills = run_clients(server, slug, token, key_results, args.threads, args.duration)
        report = verify(url, slug, sent)
        from django.db import connections

        connections.close_all()  # before the database is dropped
    report.update(timestamp=stamp, kills=kills, threads=args.threads, duration_s=args.duration)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"crash-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if not isinstance(v, list)}, indent=2))
    failures = []
    if len(kills) < 1:
        failures.append("no worker was killed")
    if report["lost_acknowledged"]:
        failures.append(f"{len(report['lost_acknowledged'])} acknowledged check-ins not stored")
    if report["stored_twice"] or report["rows_without_key"] or report["rows_not_sent"]:
        failures.append("check-ins stored twice or from nowhere")
    if not report["progress_ok"]:
        failures.append(
            f"stored progress disagrees with a recompute: {report['progress_disagrees']}"
        )
    if report["acknowledged"] == 0:
        failures.append("no check-in was acknowledged")
    print(f"Written to {out.relative_to(REPO)}")
    if failures:
        print("CRASH TEST FAILED: " + "; ".join(failures))
        return 1
    print(
        f"Crash test passed: {report['acknowledged']} acknowledged check-ins stored exactly once "
        f"through {len(kills)} worker kill(s); {report['retried']} requests were retried."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
