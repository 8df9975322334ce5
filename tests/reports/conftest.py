"""Fixtures for the report tests: the OKR fixtures (a cycle around today, teams, members)."""

from __future__ import annotations

from tests.okrs.conftest import (  # noqa: F401 - fixtures used by name
    _fast_passwords,
    counts,
    cycle,
    key_result,
    objective,
    other_team,
    team,
    team_member,
    today,
)
