"""Fixtures for the security tests: a clean throttle cache and fast password hashing (the
Argon2 default is checked on its own in test_signin)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    # Throttle counters live in the cache; each test starts (and leaves) it empty.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
