"""How to call every API operation against a `World`, and who may call the mutating ones.

The cross-organization sweep and the role matrix iterate the OpenAPI document and look each
operation up here by its operationId: an operation missing from this table fails both tests,
so a new endpoint cannot ship without saying how it is scoped and who may use it.

Each entry builds the call from a mapping of ids (the world's, or ids that exist nowhere) and
the organization's today. `allowed` lists the roles for which a mutating call succeeds (see
tests/api/world.py for the roles); the others must get 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

NOBODY: frozenset[str] = frozenset()
OWNER = frozenset({"owner"})
ADMIN = frozenset({"admin", "owner"})
MEMBER_OWN = frozenset({"member", "admin", "owner"})  # items of the member's team / their own
ANY_MEMBER = frozenset({"member", "other", "admin", "owner"})
READ = frozenset({"viewer", "member", "other", "admin", "owner"})


@dataclass
class Call:
    path: dict[str, int] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def names_ids_unlike(self, other: Call) -> bool:
        """Whether this call names different objects than `other` (built from other ids)."""
        return self != other


Build = Callable[[dict[str, int], dt.date], Call]


@dataclass(frozen=True)
class Op:
    build: Build
    allowed: frozenset[str] = READ


def _d(day: dt.date, offset: int = 0) -> str:
    return (day + dt.timedelta(days=offset)).isoformat()


OPS: dict[str, Op] = {
    # organization, members, teams
    "get_organization": Op(lambda i, t: Call()),
    "update_organization": Op(lambda i, t: Call(body={"stale_after_days": 10}), OWNER),
    "list_members": Op(lambda i, t: Call(query={"role": "member"})),
    "add_member": Op(
        lambda i, t: Call(body={"email": "new@example.test", "role": "viewer"}), OWNER
    ),
    "get_member": Op(lambda i, t: Call(path={"membership_id": i["membership"]})),
    "change_member_role": Op(
        lambda i, t: Call(path={"membership_id": i["membership"]}, body={"role": "viewer"}), OWNER
    ),
    "remove_member": Op(lambda i, t: Call(path={"membership_id": i["membership"]}), OWNER),
    "list_teams": Op(lambda i, t: Call(query={"parent": i["team"]})),
    "create_team": Op(
        lambda i, t: Call(body={"key": "new-team", "name": "New team", "parent": i["team"]}), ADMIN
    ),
    "get_team": Op(lambda i, t: Call(path={"team_id": i["team"]})),
    "update_team": Op(
        lambda i, t: Call(path={"team_id": i["team"]}, body={"name": "Renamed"}), ADMIN
    ),
    "archive_team": Op(lambda i, t: Call(path={"team_id": i["team_other"]}), ADMIN),
    "restore_team": Op(lambda i, t: Call(path={"team_id": i["team_archived"]}), ADMIN),
    "add_team_member": Op(
        lambda i, t: Call(path={"team_id": i["team"]}, body={"user": i["user_spare"]}), ADMIN
    ),
    "remove_team_member": Op(
        lambda i, t: Call(path={"team_id": i["team"], "user_id": i["user_member"]}), ADMIN
    ),
    # cycles
    "list_cycles": Op(lambda i, t: Call(query={"state": "planning"})),
    "create_cycle": Op(
        lambda i, t: Call(
            body={
                "key": "sprint",
                "name": "Sprint",
                "start_date": _d(t, -10),
                "end_date": _d(t, 10),
                "parent": i["cycle"],
            }
        ),
        ADMIN,
    ),
    "get_cycle": Op(lambda i, t: Call(path={"cycle_id": i["cycle"]})),
    "update_cycle": Op(
        lambda i, t: Call(path={"cycle_id": i["cycle"]}, body={"name": "Renamed"}), ADMIN
    ),
    "archive_cycle": Op(lambda i, t: Call(path={"cycle_id": i["cycle"]}), ADMIN),
    "restore_cycle": Op(lambda i, t: Call(path={"cycle_id": i["cycle_archived"]}), ADMIN),
    "activate_cycle": Op(lambda i, t: Call(path={"cycle_id": i["cycle_planning"]}), ADMIN),
    "close_cycle": Op(lambda i, t: Call(path={"cycle_id": i["cycle_active"]}), ADMIN),
    # Carrying over is open to whoever may change each key result (the service's rule).
    "carry_over": Op(
        lambda i, t: Call(
            path={"cycle_id": i["cycle"]},
            body={"key_results": [i["key_result"]], "target_cycle": i["cycle_planning"]},
        ),
        MEMBER_OWN,
    ),
    # Reopening a closed cycle is for an owner in the web app: no API token may do it.
    "reopen_cycle": Op(lambda i, t: Call(path={"cycle_id": i["cycle_closed"]}), NOBODY),
    "record_key_result_retrospective": Op(
        lambda i, t: Call(path={"key_result_id": i["key_result"]}, body={"lessons": "Start early"}),
        MEMBER_OWN,
    ),
    "record_objective_reflection": Op(
        lambda i, t: Call(path={"objective_id": i["objective"]}, body={"went_well": "Focus"}),
        MEMBER_OWN,
    ),
    # Skipping a retrospective is an admin's decision in the web app: no API token may do it.
    "skip_objective_retrospective": Op(
        lambda i, t: Call(path={"objective_id": i["objective_spare"]}), NOBODY
    ),
    # objectives and alignment
    "list_objectives": Op(lambda i, t: Call(query={"cycle": i["cycle"], "team": i["team"]})),
    "create_objective": Op(
        lambda i, t: Call(
            body={
                "cycle": i["cycle"],
                "key": "new-goal",
                "title": "New goal",
                "owner_team": i["team"],
            }
        ),
        MEMBER_OWN,
    ),
    "get_objective": Op(lambda i, t: Call(path={"objective_id": i["objective"]})),
    "update_objective": Op(
        lambda i, t: Call(path={"objective_id": i["objective"]}, body={"title": "Renamed"}),
        MEMBER_OWN,
    ),
    "archive_objective": Op(lambda i, t: Call(path={"objective_id": i["objective"]}), MEMBER_OWN),
    "restore_objective": Op(
        lambda i, t: Call(path={"objective_id": i["objective_archived"]}), MEMBER_OWN
    ),
    "list_alignments": Op(lambda i, t: Call(query={"child": i["objective"]})),
    "align_objective": Op(
        lambda i, t: Call(
            body={"child": i["objective_spare"], "parent_objective": i["objective_parent"]}
        ),
        MEMBER_OWN,
    ),
    "get_alignment": Op(lambda i, t: Call(path={"alignment_id": i["alignment"]})),
    "update_alignment": Op(
        lambda i, t: Call(path={"alignment_id": i["alignment"]}, body={"weight": 2}), MEMBER_OWN
    ),
    "unalign_objective": Op(lambda i, t: Call(path={"alignment_id": i["alignment"]}), MEMBER_OWN),
    # key results and check-ins
    "list_key_results": Op(lambda i, t: Call(query={"objective": i["objective"]})),
    "create_key_result": Op(
        lambda i, t: Call(
            body={
                "objective": i["objective"],
                "key": "new-kr",
                "title": "New KR",
                "kind": "increase",
                "start_value": 0,
                "target_value": 10,
            }
        ),
        MEMBER_OWN,
    ),
    "get_key_result": Op(lambda i, t: Call(path={"key_result_id": i["key_result"]})),
    "get_key_result_data_source": Op(lambda i, t: Call(path={"key_result_id": i["key_result"]})),
    "update_key_result": Op(
        lambda i, t: Call(path={"key_result_id": i["key_result"]}, body={"title": "Renamed"}),
        MEMBER_OWN,
    ),
    "archive_key_result": Op(
        lambda i, t: Call(path={"key_result_id": i["key_result"]}), MEMBER_OWN
    ),
    "restore_key_result": Op(
        lambda i, t: Call(path={"key_result_id": i["key_result_archived"]}), MEMBER_OWN
    ),
    "list_key_result_checkins": Op(lambda i, t: Call(path={"key_result_id": i["key_result"]})),
    "record_checkin": Op(
        lambda i, t: Call(
            path={"key_result_id": i["key_result"]}, body={"value": 30, "confidence": 6}
        ),
        MEMBER_OWN,
    ),
    # The push endpoint outside /orgs/{slug}/ (issue 8): the organization is the token's.
    "push_checkin": Op(
        lambda i, t: Call(
            path={"key_result_id": i["key_result"]}, body={"value": 31, "confidence": 5}
        ),
        MEMBER_OWN,
    ),
    "list_checkins": Op(lambda i, t: Call(query={"key_result": i["key_result"]})),
    "get_checkin": Op(lambda i, t: Call(path={"checkin_id": i["checkin"]})),
    "correct_checkin": Op(
        lambda i, t: Call(path={"checkin_id": i["checkin"]}, body={"value": 25}), MEMBER_OWN
    ),
    "list_retrospectives": Op(lambda i, t: Call(query={"cycle": i["cycle"]})),
    "get_retrospective": Op(lambda i, t: Call(path={"retrospective_id": i["retrospective"]})),
    # roadmap
    "list_initiatives": Op(lambda i, t: Call(query={"cycle": i["cycle"], "team": i["team"]})),
    "create_initiative": Op(
        lambda i, t: Call(
            body={"key": "new-ini", "title": "New", "team": i["team"], "cycle": i["cycle"]}
        ),
        MEMBER_OWN,
    ),
    "get_initiative": Op(lambda i, t: Call(path={"initiative_id": i["initiative"]})),
    "update_initiative": Op(
        lambda i, t: Call(path={"initiative_id": i["initiative"]}, body={"title": "Renamed"}),
        MEMBER_OWN,
    ),
    "archive_initiative": Op(
        lambda i, t: Call(path={"initiative_id": i["initiative"]}), MEMBER_OWN
    ),
    "restore_initiative": Op(
        lambda i, t: Call(path={"initiative_id": i["initiative_archived"]}), MEMBER_OWN
    ),
    "list_initiative_links": Op(lambda i, t: Call(query={"initiative": i["initiative"]})),
    "link_initiative": Op(
        lambda i, t: Call(
            body={"initiative": i["initiative"], "key_result": i["key_result_parent"]}
        ),
        MEMBER_OWN,
    ),
    "get_initiative_link": Op(lambda i, t: Call(path={"link_id": i["link"]})),
    "update_initiative_link": Op(
        lambda i, t: Call(path={"link_id": i["link"]}, body={"weight": 2}), MEMBER_OWN
    ),
    "unlink_initiative": Op(lambda i, t: Call(path={"link_id": i["link"]}), MEMBER_OWN),
    "list_milestones": Op(lambda i, t: Call(query={"initiative": i["initiative"]})),
    "create_milestone": Op(
        lambda i, t: Call(
            body={
                "key": "rc",
                "name": "Release candidate",
                "date": _d(t, 7),
                "initiative": i["initiative"],
            }
        ),
        MEMBER_OWN,
    ),
    "get_milestone": Op(lambda i, t: Call(path={"milestone_id": i["milestone"]})),
    "update_milestone": Op(
        lambda i, t: Call(path={"milestone_id": i["milestone"]}, body={"name": "Renamed"}),
        MEMBER_OWN,
    ),
    "complete_milestone": Op(
        lambda i, t: Call(path={"milestone_id": i["milestone"]}, body={"done_on": _d(t)}),
        MEMBER_OWN,
    ),
    "archive_milestone": Op(lambda i, t: Call(path={"milestone_id": i["milestone"]}), MEMBER_OWN),
    "restore_milestone": Op(
        lambda i, t: Call(path={"milestone_id": i["milestone_archived"]}), MEMBER_OWN
    ),
    "list_dependencies": Op(lambda i, t: Call(query={"initiative": i["initiative"]})),
    "add_dependency": Op(
        lambda i, t: Call(
            body={
                "predecessor_milestone": i["milestone"],
                "successor_initiative": i["initiative_other"],
            }
        ),
        MEMBER_OWN,
    ),
    "get_dependency": Op(lambda i, t: Call(path={"dependency_id": i["dependency"]})),
    "update_dependency": Op(
        lambda i, t: Call(path={"dependency_id": i["dependency"]}, body={"lag_days": 2}), MEMBER_OWN
    ),
    "remove_dependency": Op(lambda i, t: Call(path={"dependency_id": i["dependency"]}), MEMBER_OWN),
    # work
    "list_tasks": Op(lambda i, t: Call(query={"initiative": i["initiative"]})),
    "create_task": Op(
        lambda i, t: Call(body={"initiative": i["initiative"], "title": "New task"}), MEMBER_OWN
    ),
    "get_task": Op(lambda i, t: Call(path={"task_id": i["task"]})),
    "update_task": Op(
        lambda i, t: Call(path={"task_id": i["task"]}, body={"title": "Renamed"}), MEMBER_OWN
    ),
    "archive_task": Op(lambda i, t: Call(path={"task_id": i["task"]}), MEMBER_OWN),
    "restore_task": Op(lambda i, t: Call(path={"task_id": i["task_archived"]}), MEMBER_OWN),
    "list_time_entries": Op(lambda i, t: Call(query={"task": i["task"]})),
    # Logging one's own time is open to every member (on any task of the organization).
    "log_time": Op(
        lambda i, t: Call(body={"task": i["task"], "date": _d(t), "hours": 1}), ANY_MEMBER
    ),
    "get_time_entry": Op(lambda i, t: Call(path={"entry_id": i["time_entry"]})),
    # Correcting time is for the person who logged it (the member) and admins.
    "update_time_entry": Op(
        lambda i, t: Call(path={"entry_id": i["time_entry"]}, body={"hours": 2, "note": "fix"}),
        MEMBER_OWN,
    ),
    "archive_time_entry": Op(lambda i, t: Call(path={"entry_id": i["time_entry"]}), MEMBER_OWN),
    "restore_time_entry": Op(
        lambda i, t: Call(path={"entry_id": i["time_entry_archived"]}), MEMBER_OWN
    ),
    # read models
    "alignment_tree": Op(lambda i, t: Call(query={"cycle": i["cycle"]})),
    "roadmap_schedule": Op(lambda i, t: Call(query={"cycle": i["cycle"]})),
    "plan_findings": Op(lambda i, t: Call(query={"cycle": i["cycle"]})),
    "priority_ranking": Op(lambda i, t: Call(query={"cycle": i["cycle"]})),
    "list_audit_events": Op(lambda i, t: Call(query={"actor": i["user_member"]}), ADMIN),
}

# Operations outside any organization (no tenant data).
UNSCOPED = frozenset({"health"})


@cache
def openapi() -> dict[str, Any]:
    """The API's OpenAPI document (built once per test run: it takes a few seconds)."""
    from milepost.api.main import api

    return dict(api.get_openapi_schema(path_prefix="/api/v1/"))


def operations(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path template, operationId) of every operation in the OpenAPI document."""
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            found.append((method.upper(), path, operation["operationId"]))
    return sorted(found, key=lambda x: x[2])


def url_for(template: str, slug: str, call: Call) -> str:
    return template.format(slug=slug, **call.path)
