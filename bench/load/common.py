"""What the load and crash runs share: a throw-away PostgreSQL database holding the demo
organization, and `milepost serve` (production settings, gunicorn) on 127.0.0.1.

The server runs exactly as ``make serve`` runs it (``MILEPOST_ENV=production``), with two
relaxations for plain HTTP on the loopback interface — no redirect to HTTPS, cookies without
the Secure flag — and rate limits raised so that fifty simulated people behind one address are
not throttled. Databases are named ``milepost_h10_<purpose>_<pid>`` and dropped afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
BIN = Path(sys.executable).parent
SECRET_KEY = "load-test-not-secret-" + "k" * 40
DEFAULT_PG = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/milepost").rsplit("/", 1)[
    0
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _psql(root: str, sql: str) -> None:
    subprocess.run(
        ["psql", f"{root}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        capture_output=True,
        text=True,
    )


def server_env(database_url: str, static_root: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "milepost.config.settings",
        "MILEPOST_ENV": "production",
        "MILEPOST_SECRET_KEY": SECRET_KEY,
        "MILEPOST_SSL_REDIRECT": "0",
        "MILEPOST_SECURE_COOKIES": "0",
        "MILEPOST_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MILEPOST_API_RATE_LIMIT": "100000000/60",
        "MILEPOST_STATIC_ROOT": static_root,
        "MILEPOST_LOG_LEVEL": "WARNING",
        "MILEPOST_TESTING": "0",
    }


@contextmanager
def demo_database(purpose: str, pg_root: str = DEFAULT_PG) -> Iterator[str]:
    """A new PostgreSQL database with the demo organization; its URL. Dropped on exit."""
    pg_root = pg_root.rstrip("/")
    name = f"milepost_h10_{purpose}_{os.getpid()}"
    url = f"{pg_root}/{name}"
    _psql(pg_root, f"DROP DATABASE IF EXISTS {name}")
    _psql(pg_root, f"CREATE DATABASE {name}")
    try:
        started = time.perf_counter()
        subprocess.run(
            [str(BIN / "milepost"), "demo", "--no-serve"],
            cwd=REPO,
            env={**os.environ, "DATABASE_URL": url, "MILEPOST_SECRET_KEY": SECRET_KEY},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"Demo loaded into {name} in {time.perf_counter() - started:.0f} s", flush=True)
        yield url
    finally:
        _psql(pg_root, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Server:
    base: str
    master_pid: int
    log: Path

    def workers(self) -> list[int]:
        """The gunicorn worker processes (children of the master started here)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.master_pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)


@contextmanager
def running_server(database_url: str, *, workers: int = 2, label: str = "load") -> Iterator[Server]:
    """`milepost serve` on `database_url` (migrations, collectstatic, gunicorn); stopped on
    exit (its own process group, so the workers go with it)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = RESULTS / f"{label}-server.log"
    static_root = tempfile.mkdtemp(prefix="milepost-static-")
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                str(BIN / "milepost"),
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
            ],
            cwd=REPO,
            env=server_env(database_url, static_root),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited ({proc.returncode}); see {log_path}")
                try:
                    if httpx.get(f"{base}/login/", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start in 180 s; see {log_path}")
                time.sleep(0.5)
            print(f"Serving on {base} (gunicorn, {workers} workers, production settings)")
            yield Server(base=base, master_pid=proc.pid, log=log_path)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # the group started above, nothing else
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def setup_django(database_url: str | None = None) -> None:
    """Django in this process (for reading the demo's constants, or checking a database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "milepost.config.settings")
    os.environ.setdefault("MILEPOST_SECRET_KEY", SECRET_KEY)
    if database_url is not None:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def timestamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
