"""User text is escaped everywhere: a title like ``<img src=x onerror=alert(1)>`` shows as
text on every page that shows it, including the server-drawn SVG."""

from __future__ import annotations

import pytest
from django.test import Client

from milepost.organizations.access import Actor
from milepost.organizations.models import Organization
from tests.web.builders import build_plan
from tests.web.conftest import client_for
from tests.web.pages import page_urls

pytestmark = pytest.mark.django_db
HOSTILE = "<img src=x onerror=alert(1)>\"'&"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def test_hostile_titles_and_notes_are_shown_as_text_everywhere(
    org: Organization, admin: Actor
) -> None:
    assert admin.user is not None
    plan = build_plan(org, admin.user, size=1, title=HOSTILE)
    client: Client = client_for(admin)
    shown = 0
    for name, url in page_urls(plan):
        html = client.get(url).content.decode()
        assert "<img src=x" not in html, name
        assert "onerror=alert(1)>" not in html, name
        if ESCAPED in html:
            shown += 1
    # The hostile text really is on the pages (as text), not merely absent.
    assert shown >= 12
