"""The NinjaAPI instance at /api/v1/: authentication, rate limit, error mapping, rendering.

Routers live in each app's ``api.py`` and are added here. Every tenant resource is under
``/api/v1/orgs/{slug}/`` for both session and token callers (see docs/api.md for why).
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest
from ninja import NinjaAPI, Swagger
from ninja.operation import Operation

from milepost.api.auth import AUTH
from milepost.api.etag import IF_MATCH_DESCRIPTION
from milepost.api.problems import PROBLEM_MEDIA_TYPE, install_exception_handlers
from milepost.api.ratelimit import ApiRateThrottle
from milepost.api.renderers import OrjsonRenderer

DESCRIPTION = """\
The Milepost REST API: objectives, key results, check-ins, roadmap, work and the read
models (alignment tree, schedule, plan findings, priorities, audit log).

* Authenticate with `Authorization: Bearer mp_…` (a personal API token) or the web session
  (with the `X-CSRFToken` header on writes).
* Every tenant resource is under `/api/v1/orgs/{slug}/`.
* Lists are cursor-paginated (`limit` ≤ 200, follow `next` or the `Link` header).
* Writes by PATCH/PUT/DELETE need `If-Match` with the object's `ETag` (428 without, 412 when
  stale). Check-ins take an `Idempotency-Key`.
* Errors are `application/problem+json`: `{type, title, status, detail, errors}`.
"""


IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": IF_MATCH_DESCRIPTION,
    "schema": {"type": "string", "maxLength": 100},
}


class MilepostAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """Operation ids are the endpoint functions' names (unique across the API)."""
        return operation.view_func.__name__

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        """ninja's document, with error answers declared as application/problem+json and
        the If-Match header on every PATCH, PUT and DELETE. Built once per prefix (it takes
        seconds and never changes while the process runs); callers get their own copy."""
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        cache: dict[Any, bytes] = self.__dict__.setdefault("_openapi_cache", {})
        if key not in cache:
            schema = self._build_openapi_schema(path_prefix, path_params)
            cache[key] = orjson.dumps(schema, option=orjson.OPT_NON_STR_KEYS)
        return orjson.loads(cache[key])

    def _build_openapi_schema(
        self, path_prefix: str | None, path_params: dict[str, Any] | None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method in {"patch", "put", "delete"}:
                    operation.setdefault("parameters", []).append(dict(IF_MATCH_PARAMETER))
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content")
                    if (
                        str(status).startswith(("4", "5"))
                        and content
                        and "application/json" in content
                    ):
                        answer["content"] = {PROBLEM_MEDIA_TYPE: content["application/json"]}
        return schema


api = MilepostAPI(
    title="Milepost API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=AUTH,
    throttle=[ApiRateThrottle()],
    renderer=OrjsonRenderer(),
    # Swagger UI comes from django-ninja's static files ("ninja" is an installed app), so the
    # page works under the Content-Security-Policy; no online validator badge (another origin).
    docs=Swagger(settings={"validatorUrl": None}),
)
install_exception_handlers(api)


@api.get("/health", auth=None, tags=["meta"])
def health(request: HttpRequest) -> dict[str, str]:
    """Liveness probe: answers without touching tenant data."""
    return {"status": "ok"}


def _add_routers() -> None:
    from milepost.audit.api import router as audit_router
    from milepost.integrations.api import router as integrations_router
    from milepost.okrs.api import router as okrs_router
    from milepost.organizations.api import router as organizations_router
    from milepost.reports.api import router as reports_router
    from milepost.roadmap.api import router as roadmap_router
    from milepost.work.api import router as work_router

    api.add_router("", organizations_router)
    api.add_router("", okrs_router)
    api.add_router("", roadmap_router)
    api.add_router("", work_router)
    api.add_router("", reports_router)
    api.add_router("", audit_router)
    api.add_router("", integrations_router)


_add_routers()
