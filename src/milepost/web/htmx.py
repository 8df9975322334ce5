"""Rendering helpers: a page in the app layout, or one of its named partials for htmx."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from milepost.web.context import resolve


def is_htmx(request: HttpRequest) -> bool:
    """True for an htmx request that wants a fragment (not a history restore)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    partial: str | None = None,
    status: int = 200,
    nav: str = "",
) -> HttpResponse:
    """Render `template` in the layout; for an htmx request with `partial`, only
    ``template#partial`` (Django's template partials)."""
    data: dict[str, Any] = {"web": resolve(request), "nav": nav}
    data.update(context or {})
    name = f"{template}#{partial}" if partial and is_htmx(request) else template
    return render(request, name, data, status=status)


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` parameter if it points to this site, else `fallback` (no open redirects)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
