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

# Issue 6: at most 10 queries a page, whatever the key results' kinds (an objective's
# milestones ride along with its key results).
KEY_RESULT_PAGE = 10
OBJECTIVE_PAGE = 10


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


@pytest.mark.django_db
def test_the_objective_page_evaluates_milestone_key_results_like_the_stored_roll_up() -> None:
    """Milestones read as a JSON column give the same numbers as the stored progress."""
    from milepost.okrs.models import KeyResultKind
    from milepost.organizations.access import actor_for
    from milepost.web.readmodels import objective_view

    organization = load_demo()
    actor = actor_for(organization.memberships.get(user__email=DEMO_LOGIN).user, organization)
    milestone_krs = KeyResult.objects.filter(
        kind=KeyResultKind.MILESTONES, archived_at__isnull=True, milestones__isnull=False
    ).distinct()
    assert milestone_krs.exists()
    for objective in Objective.objects.filter(key_results__in=milestone_krs).distinct():
        view = objective_view(actor, objective)
        for kr_view in view.key_results:
            stored = KeyResult.objects.get(pk=kr_view.row.pk)
            if stored.kind == KeyResultKind.MILESTONES:
                assert kr_view.input.milestones, stored.key
            assert kr_view.result.progress == stored.progress, stored.key
