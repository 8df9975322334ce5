"""The server under test: `milepost serve` in its production configuration, in its own
process group, on a PostgreSQL database; and the HTTP load helpers the workloads share.

Production configuration means ``MILEPOST_ENV=production`` (DEBUG off, the production
middleware), gunicorn with 2 workers, access log on. Only TLS-related settings are relaxed
(``MILEPOST_SSL_REDIRECT=0``, ``MILEPOST_SECURE_COOKIES=0``: the load runs over plain HTTP on
127.0.0.1) and the API rate limit is raised (``MILEPOST_API_RATE_LIMIT``) so the load is not
throttled. The settings module is `bench.settings_bench` (production settings + the floor
endpoints, with ``MILEPOST_BENCH=1``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
#: The server's secret key; the bench process must use the same one, or the sessions it
#: signs in (`bench.workloads.make_fixture`) would not be recognised.
SECRET_KEY = os.environ.get("MILEPOST_SECRET_KEY") or "bench-not-secret-" + "x" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(database_url: str, *, workers: int = 2) -> Iterator[str]:
    """Start the production server on ``database_url``; yield its base URL; stop it."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "MILEPOST_BENCH": "1",
        "MILEPOST_ENV": "production",
        "MILEPOST_SSL_REDIRECT": "0",
        "MILEPOST_SECURE_COOKIES": "0",
        "MILEPOST_SECRET_KEY": SECRET_KEY,
        "MILEPOST_API_RATE_LIMIT": "100000000/60",
        "MILEPOST_LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    log = (REPO / "bench" / "results" / "server.log").open("w")
    milepost = Path(sys.executable).parent / "milepost"
    proc = subprocess.Popen(
        [
            str(milepost),
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as one below
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited ({proc.returncode}); see bench/results/server.log"
                )
            try:
                if httpx.get(f"{base}/", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 120 s")
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group of the process started above
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0


Request = Callable[[httpx.Client, int], httpx.Response]


def run_load(
    base: str,
    request: Request,
    *,
    clients: int,
    per_client: int,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    ok: Callable[[httpx.Response], bool] = lambda r: 200 <= r.status_code < 300,
) -> LoadResult:
    """``clients`` threads, each with its own keep-alive connection, each sending
    ``per_client`` requests back to back; latencies of the successful ones, errors counted."""
    result = LoadResult()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def worker(n: int) -> None:
        with httpx.Client(base_url=base, headers=headers, cookies=cookies, timeout=60) as c:
            barrier.wait()
            mine: list[float] = []
            errors = 0
            samples: list[str] = []
            for i in range(per_client):
                started = time.perf_counter()
                try:
                    response = request(c, n * per_client + i)
                    good = ok(response)
                    if not good and len(samples) < 3:
                        samples.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    good = False
                    samples.append(repr(exc))
                if good:
                    mine.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1
            with lock:
                result.latencies_ms.extend(mine)
                result.errors += errors
                result.error_samples.extend(samples[: 3 - len(result.error_samples)])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    result.elapsed_s = time.perf_counter() - started
    return result
