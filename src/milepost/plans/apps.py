from __future__ import annotations

from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "milepost.plans"
    label = "plans"
