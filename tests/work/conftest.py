"""The roadmap test fixtures (teams, cycles, initiatives, row counts) serve the work tests too."""

from __future__ import annotations

from tests.roadmap.conftest import (  # noqa: F401 — fixtures, found by name
    _fast_passwords,
    cycle,
    initiative,
    key_result,
    row_counts,
    team,
    team_member,
)
