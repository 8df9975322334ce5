"""Only the API, so API tests do not depend on the web app's URLs."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("api/v1/", include("milepost.api.urls"))]
