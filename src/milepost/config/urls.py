"""Root URLs: the web app, the REST API (/api/v1/) and the Django admin (/admin/)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("milepost.api.urls")),
    path("", include("milepost.web.urls")),
]
