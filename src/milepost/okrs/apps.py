from __future__ import annotations

from django.apps import AppConfig


class OkrsConfig(AppConfig):
    name = "milepost.okrs"
    label = "okrs"
