"""Fixtures for the integration tests: a local HTTP server on 127.0.0.1 (no real network), a
key result in an active cycle, and an organization that allows 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from milepost.integrations.models import AllowedHost
from milepost.okrs.engine_io import organization_today
from milepost.okrs.models import Cycle, KeyResult, Objective
from milepost.organizations.access import Actor, actor_for
from milepost.organizations.models import Organization, Role
from tests import factories


@dataclass
class Reply:
    """What the local server answers on one path."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LocalServer:
    """An HTTP server in a thread on 127.0.0.1 (port chosen by the OS). `routes` maps a path
    to a `Reply` (or a callable returning one); every request is kept in `received`."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[Received], Reply]] = {}
        self.received: list[Received] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                server.received.append(request)
                route = server.routes.get(self.path.split("?")[0], Reply(404, b"not found"))
                reply = route(request) if callable(route) else route
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def json(self, path: str, data: Any, status: int = 200) -> None:
        self.routes[path] = Reply(status, json.dumps(data), {"Content-Type": "application/json"})

    def paths(self) -> list[str]:
        return [r.path for r in self.received]


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.thread.start()
    try:
        yield local
    finally:
        local.httpd.shutdown()
        local.httpd.server_close()


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def allowed(org: Organization) -> AllowedHost:
    """The organization allows 127.0.0.1 (any port) — and nothing else."""
    return AllowedHost.objects.create(organization=org, host="127.0.0.1")


@pytest.fixture
def cycle(org: Organization) -> Cycle:
    today = organization_today(org)
    return factories.make_cycle(
        org, "q", start_date=today - timedelta(days=40), end_date=today + timedelta(days=50)
    )


@pytest.fixture
def objective(cycle: Cycle) -> Objective:
    return factories.make_objective(cycle, "grow")


@pytest.fixture
def kr_owner(org: Organization) -> Actor:
    return actor_for(factories.make_member(org, Role.MEMBER, "kr-owner@acme.test"), org)


@pytest.fixture
def key_result(objective: Objective, kr_owner: Actor) -> KeyResult:
    return factories.make_key_result(
        objective,
        "revenue",
        start_value=Decimal(0),
        target_value=Decimal(100),
        owner=kr_owner.user,
    )
