"""The NinjaAPI instance: /api/v1/. Routers live in each app's api.py and are added here."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Milepost API", version="1", urls_namespace="api")


@api.get("/health", auth=None, tags=["meta"])
def health(request: object) -> dict[str, str]:
    """Liveness probe: answers without touching tenant data."""
    return {"status": "ok"}
