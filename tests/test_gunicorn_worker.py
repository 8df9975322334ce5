"""`milepost serve`'s gunicorn worker shares keep-alive connections out between workers.

The test runs gunicorn itself (two workers, this module's `app`) and opens 24 keep-alive
connections from 24 client threads that send requests back to back, as the W2 load does;
each answer names the worker process that served it. With gunicorn's own gthread worker the
busy worker took almost every connection (42-49 of 50 in the W2 run, one core idle).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from milepost.config.gunicorn_worker import ACCEPT_PAUSE_MAX, accept_pause

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 24


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI app that works the CPU for ~3 ms (as a request holds the GIL) and answers
    with its worker's process id."""
    deadline = time.perf_counter() + 0.003
    while time.perf_counter() < deadline:
        pass
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def test_the_pause_grows_with_the_connections_held_and_is_capped() -> None:
    assert accept_pause(0) == 0
    assert 0 < accept_pause(1) < accept_pause(10) < accept_pause(30)
    assert accept_pause(10_000) == ACCEPT_PAUSE_MAX


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _connections_per_worker(worker_class: str) -> Counter[str]:
    port = _free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(  # noqa: S603 - fixed argv, this venv's gunicorn
        [
            str(gunicorn),
            "tests.test_gunicorn_worker:app",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--worker-class",
            worker_class,
            "--keep-alive",
            "30",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        ready: set[str] = set()
        while len(ready) < 2:  # both workers booted (each answers on a fresh connection)
            assert time.monotonic() < deadline, "gunicorn did not start"
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/", headers={"Connection": "close"})
                ready.add(probe.getresponse().read().decode())
                probe.close()
            except OSError:
                time.sleep(0.1)
        served_by: Counter[str] = Counter()
        lock = threading.Lock()
        start = threading.Barrier(CLIENTS)

        def client() -> None:
            start.wait()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            workers = set()
            for _ in range(20):
                connection.request("GET", "/")
                workers.add(connection.getresponse().read().decode())
            connection.close()
            assert len(workers) == 1  # one connection, one worker
            with lock:
                served_by[workers.pop()] += 1

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return served_by
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_keep_alive_connections_are_shared_between_the_workers() -> None:
    served_by = _connections_per_worker("milepost.config.gunicorn_worker.BalancedThreadWorker")
    assert sum(served_by.values()) == CLIENTS
    assert len(served_by) == 2, served_by
    assert max(served_by.values()) <= CLIENTS * 2 // 3, served_by
