"""/api/v1/docs is Swagger UI served from this site: every script, stylesheet and icon it
references is a static file that exists, and nothing on it needs an inline script or style
(the Content-Security-Policy allows neither)."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

STATIC_URL = "/static/"


def test_the_docs_page_references_only_same_origin_static_files_that_exist() -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()

    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    for asset in assets:
        assert asset.startswith(STATIC_URL), f"{asset} is not served by this site"
        assert finders.find(asset.removeprefix(STATIC_URL)) is not None, f"{asset} is missing"

    # The only script without a src is the settings data block, which never runs.
    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        if "src=" not in attributes:
            assert 'type="application/json"' in attributes
            settings = json.loads(body)
            assert settings["url"] == "/api/v1/openapi.json"
            assert settings["validatorUrl"] is None  # no badge from another origin
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"\son\w+=", html)  # no inline event handlers

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
