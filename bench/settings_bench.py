"""Settings of the server under test: the production settings plus the bench-only URLs.

Used only by `bench.run` (``DJANGO_SETTINGS_MODULE=bench.settings_bench`` with
``MILEPOST_BENCH=1``); nothing in ``src/`` refers to it, so the floor endpoints never ship.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from milepost.config.settings import *  # noqa: F403

if os.environ.get("MILEPOST_BENCH") != "1":
    raise ImproperlyConfigured(
        "bench.settings_bench is for the benchmark server (MILEPOST_BENCH=1)"
    )

ROOT_URLCONF = "bench.urls_bench"
