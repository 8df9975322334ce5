"""The app's URLs plus the floor of W4: a bare django-ninja endpoint that returns one page of
tasks, in the same JSON shape as ``GET /api/v1/orgs/{slug}/tasks``, from memory.

No authentication, no rate limit, no database on the request path: what is left is Django,
ninja's validation of the response schema and orjson rendering — the cost any endpoint pays.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI

from milepost.api.pagination import page_of
from milepost.api.renderers import OrjsonRenderer
from milepost.config.urls import urlpatterns as app_urlpatterns
from milepost.work.models import Task
from milepost.work.schemas import TaskOut

bare = NinjaAPI(urls_namespace="bench", renderer=OrjsonRenderer(), docs_url=None)
_PAGES: dict[int, dict[str, Any]] = {}


@bare.get("/orgs/{org_id}/tasks", response=page_of(TaskOut))
def bare_tasks(request: HttpRequest, org_id: int) -> Any:
    """The first 50 active tasks of the organization, loaded once and served from memory."""
    page = _PAGES.get(org_id)
    if page is None:
        rows = list(
            Task.objects.filter(organization_id=org_id, archived_at__isnull=True).order_by("id")[
                :50
            ]
        )
        page = _PAGES[org_id] = {"items": rows, "next": "bench"}
    return page


urlpatterns = [path("bench/", bare.urls), *app_urlpatterns]
