"""Password change in the app's layout (Django's view with the web context added)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from milepost.web.context import resolve


class PasswordChange(auth_views.PasswordChangeView):
    template_name = "web/password_change_form.html"
    success_url = reverse_lazy("web:password-change-done")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["web"] = resolve(self.request)
        context["nav"] = "settings"
        return context
