"""Production settings: `manage.py check --deploy` has nothing to say, and a live response
carries HSTS, a strict Content-Security-Policy, nosniff, a referrer policy, frame denial, and
Secure, HttpOnly, SameSite cookies.

The production settings are read in a subprocess (``MILEPOST_ENV=production`` is decided at
import time); the response test then runs the whole middleware stack under exactly those
values."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from milepost.accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse 42"

_DUMP = """
import json, django
from django.conf import settings
django.setup()
names = [n for n in dir(settings) if n.isupper() and n.startswith(
    ("SECURE_", "SESSION_COOKIE_", "CSRF_COOKIE_", "X_FRAME", "DEBUG", "MIDDLEWARE"))]
print(json.dumps({n: getattr(settings, n) for n in names}, default=str))
"""


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILEPOST_", "DJANGO_"))}
    env.update(
        MILEPOST_ENV="production",
        MILEPOST_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_SETTINGS_MODULE="milepost.config.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'check.sqlite3'}",
        MILEPOST_VAR_DIR=str(tmp_path),
    )
    return env


def _production_settings(tmp_path: Path) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", _DUMP],
        env=_production_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    values: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if isinstance(values.get("SECURE_PROXY_SSL_HEADER"), list):
        values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


def test_the_deployment_check_has_no_warning(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_a_production_response_carries_the_security_headers(tmp_path: Path) -> None:
    production = _production_settings(tmp_path)
    assert production["DEBUG"] is False
    user = factories.make_user("headers@example.test")
    with override_settings(**production):
        client = Client()
        # Plain HTTP is sent to HTTPS.
        response = client.get("/login/")
        assert response.status_code == 301
        assert response["Location"].startswith("https://")
        # Behind the proxy, X-Forwarded-Proto says the client used HTTPS.
        page = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
        assert page.status_code == 200
        signed_in = client.post(
            "/login/",
            {"username": user.email, "password": PASSWORD},
            secure=True,
        )
        assert signed_in.status_code == 302
    headers = page.headers
    hsts = headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts
    assert "includeSubDomains" in hsts
    csp = headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert "unsafe" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    for cookie in (csrf, session):
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
    assert User.objects.get(pk=user.pk).last_login is not None
