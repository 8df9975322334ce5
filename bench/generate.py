"""Build a benchmark tenant directly in PostgreSQL with COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/milepost_bench \
        .venv/bin/python -m bench.generate --scale 0.1 [--profile xl|many-orgs]

`xl` (scale 1): 20,000 users in 2,500 teams over 5 levels; 4 cycles, each with 7,500
objectives and 30,000 key results with weekly check-ins (≈ 1.6 M in all); 10,000 initiatives
with 30,000 dependencies and 100,000 milestones; 1,000,000 tasks; 2,000,000 time entries.
`many-orgs`: 200 organizations of 100 users, each a small tenant.

Rows are streamed with COPY in the column order of the Django models (so the generator cannot
drift from the schema), then sequences are reset and the stored progress columns are filled
by the engine (`recompute_organization`), exactly as the app would.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

SEED = 20261122
PASSWORD_HASH = "!"  # noqa: S105 - unusable password: bench users never sign in with a password


@dataclass(frozen=True)
class Sizes:
    users: int
    teams: int
    cycles: int
    objectives_per_cycle: int
    krs_per_cycle: int
    weeks_of_checkins: int
    initiatives: int
    dependencies: int
    milestones: int
    tasks: int
    time_entries: int

    @classmethod
    def xl(cls, scale: float) -> Sizes:
        def s(n: int) -> int:
            return max(1, int(n * scale))

        return cls(
            users=s(20_000),
            teams=s(2_500),
            cycles=4,
            objectives_per_cycle=s(7_500),
            krs_per_cycle=s(30_000),
            weeks_of_checkins=13,
            initiatives=s(10_000),
            dependencies=s(30_000),
            milestones=s(100_000),
            tasks=s(1_000_000),
            time_entries=s(2_000_000),
        )


class Copier:
    """COPY rows into a model's table, filling unspecified columns from field defaults."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def copy(self, model: Any, rows: Iterable[dict[str, Any]], *, label: str) -> int:
        fields = list(model._meta.concrete_fields)
        columns = [f.column for f in fields]
        defaults: list[Any] = [f.get_default() for f in fields]
        names = [f.attname for f in fields]
        started = time.perf_counter()
        count = 0
        table = model._meta.db_table
        with self.connection.cursor() as cursor:
            raw = cursor.connection  # psycopg connection
            with (
                raw.cursor() as pg,
                pg.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy,
            ):
                for row in rows:
                    copy.write_row(
                        [
                            row.get(n, d) if n in row else d
                            for n, d in zip(names, defaults, strict=True)
                        ]
                    )
                    count += 1
        print(
            f"  {label:<24} {count:>10,} rows in {time.perf_counter() - started:6.1f} s", flush=True
        )
        return count


def generate_xl(
    sizes: Sizes, *, org_name: str, slug: str, today: date, copier: Copier, id_base: int = 0
) -> int:
    """Write one big tenant; returns its organization id."""
    from milepost.accounts.models import User
    from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective
    from milepost.organizations.models import Membership, Organization, Team, TeamMember
    from milepost.roadmap.models import Dependency, Initiative, InitiativeKeyResult, Milestone
    from milepost.work.models import Task, TimeEntry

    rnd = random.Random(SEED + id_base)
    now = datetime.now(UTC)
    org = Organization.objects.create(name=org_name, slug=slug, timezone="UTC")
    oid = org.pk
    common = {"organization_id": oid, "version": 1, "created_at": now, "updated_at": now}

    # People.
    u0 = id_base * 10_000_000 + 1
    user_ids = list(range(u0, u0 + sizes.users))
    copier.copy(
        User,
        (
            {
                "id": uid,
                "email": f"u{uid}@{slug}.bench",
                "full_name": f"Person {uid}",
                "password": PASSWORD_HASH,
                "date_joined": now,
            }
            for uid in user_ids
        ),
        label="users",
    )
    copier.copy(
        Membership,
        (
            {
                "id": uid,
                "organization_id": oid,
                "user_id": uid,
                "role": "owner" if i == 0 else ("admin" if i < 20 else "member"),
                "created_at": now,
                "updated_at": now,
            }
            for i, uid in enumerate(user_ids)
        ),
        label="memberships",
    )

    # Teams: a tree over 5 levels (1, then fan-out until the count is reached).
    t0 = u0
    team_ids = list(range(t0, t0 + sizes.teams))
    parents: list[int | None] = [None]
    level_start, level_end = 0, 1
    while len(parents) < sizes.teams:
        fan = (
            max(2, round((sizes.teams / max(1, level_end)) ** 0.25))
            if level_end < sizes.teams
            else 2
        )
        for p in range(level_start, level_end):
            for _ in range(fan):
                if len(parents) < sizes.teams:
                    parents.append(team_ids[p])
        level_start, level_end = level_end, len(parents)
    copier.copy(
        Team,
        (
            {
                **common,
                "id": tid,
                "key": f"t{tid}",
                "name": f"Team {i}",
                "parent_id": parents[i],
                "capacity_days_per_week": Decimal(5 * rnd.randint(2, 8)),
            }
            for i, tid in enumerate(team_ids)
        ),
        label="teams",
    )
    copier.copy(
        TeamMember,
        (
            {
                "id": uid,
                "organization_id": oid,
                "team_id": team_ids[i % len(team_ids)],
                "user_id": uid,
            }
            for i, uid in enumerate(user_ids)
        ),
        label="team members",
    )

    # Cycles: the last four quarters, the newest active at ~60%.
    c0 = u0
    cycle_rows: list[dict[str, Any]] = []
    active_start = today - timedelta(days=55)
    for c in range(sizes.cycles):
        start = active_start - timedelta(days=91 * (sizes.cycles - 1 - c))
        cycle_rows.append(
            {
                **common,
                "id": c0 + c,
                "key": f"c{c}",
                "name": f"Cycle {c}",
                "start_date": start,
                "end_date": start + timedelta(days=90),
                "state": "active" if c == sizes.cycles - 1 else "closed",
            }
        )
    copier.copy(Cycle, cycle_rows, label="cycles")

    n_obj = sizes.objectives_per_cycle
    n_kr = sizes.krs_per_cycle
    obj_rows: list[dict[str, Any]] = []
    align_rows: list[dict[str, Any]] = []
    kr_rows: list[dict[str, Any]] = []
    for c, cycle in enumerate(cycle_rows):
        base = u0 + c * n_obj
        for i in range(n_obj):
            obj_rows.append(
                {
                    **common,
                    "id": base + i,
                    "cycle_id": cycle["id"],
                    "key": f"o{base + i}",
                    "title": f"Objective {i} of cycle {c}",
                    "owner_team_id": team_ids[i % len(team_ids)],
                    "owner_user_id": user_ids[i % len(user_ids)],
                    "state": "active" if cycle["state"] == "active" else "closed",
                }
            )
            if i > 0:  # a tree: objective i aligns to (i-1)//4, about 4 children each
                align_rows.append(
                    {
                        **common,
                        "id": base + i,
                        "child_id": base + i,
                        "parent_objective_id": base + (i - 1) // 4,
                    }
                )
        kbase = u0 + c * n_kr
        for k in range(n_kr):
            start_v = Decimal(rnd.randint(0, 1000))
            target_v = start_v + Decimal(rnd.randint(100, 1000))
            pace = Decimal(str(round(rnd.uniform(0.3, 1.2), 3)))
            weeks = sum(
                1
                for w in range(sizes.weeks_of_checkins)
                if cycle["start_date"] + timedelta(days=7 * (w + 1)) <= today
            )
            current = start_v + (target_v - start_v) * pace * weeks / Decimal(13)
            kr_rows.append(
                {
                    **common,
                    "id": kbase + k,
                    "objective_id": base + k % n_obj,
                    "key": f"k{kbase + k}",
                    "title": f"Key result {k}",
                    "kind": "increase",
                    "start_value": start_v,
                    "target_value": target_v,
                    "current_value": current.quantize(Decimal("0.01")),
                    "_pace": pace,
                    "owner_id": user_ids[k % len(user_ids)],
                }
            )
    copier.copy(Objective, obj_rows, label="objectives")
    copier.copy(Alignment, align_rows, label="alignments")

    def checkin_rows() -> Iterator[dict[str, Any]]:
        cid = u0 * 10
        for kr in kr_rows:
            cycle = cycle_rows[(kr["id"] - u0) // n_kr]
            span = kr["target_value"] - kr["start_value"]
            pace = kr["_pace"]
            for w in range(sizes.weeks_of_checkins):
                day = cycle["start_date"] + timedelta(days=7 * (w + 1))
                if day > today:
                    break
                cid += 1
                value = kr["start_value"] + span * pace * Decimal(w + 1) / Decimal(13)
                yield {
                    **common,
                    "id": cid,
                    "key_result_id": kr["id"],
                    "value": value.quantize(Decimal("0.01")),
                    "confidence": rnd.randint(3, 9),
                    "note": "",
                    "author_id": kr["owner_id"],
                    "source": "manual",
                    "recorded_at": datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                    "effective_date": day,
                }

    copier.copy(KeyResult, kr_rows, label="key results")
    copier.copy(CheckIn, checkin_rows(), label="check-ins")

    # Roadmap.
    active = cycle_rows[-1]
    i0 = u0
    ini_rows = []
    for i in range(sizes.initiatives):
        start = active["start_date"] + timedelta(days=rnd.randint(-30, 60))
        ini_rows.append(
            {
                **common,
                "id": i0 + i,
                "key": f"i{i0 + i}",
                "title": f"Initiative {i}",
                "team_id": team_ids[i % len(team_ids)],
                "owner_id": user_ids[i % len(user_ids)],
                "cycle_id": active["id"],
                "status": rnd.choice(["planned", "in_progress", "in_progress", "done", "proposed"]),
                "start_date": start,
                "end_date": start + timedelta(days=rnd.randint(7, 60)),
                "effort_days": Decimal(rnd.randint(5, 60)),
                "budget": Decimal(rnd.randint(10, 200) * 1000),
                "planned_hours": Decimal(rnd.randint(40, 400)),
            }
        )
    copier.copy(Initiative, ini_rows, label="initiatives")
    active_kr0 = u0 + (sizes.cycles - 1) * n_kr
    copier.copy(
        InitiativeKeyResult,
        (
            {
                **common,
                "id": i0 + i,
                "initiative_id": i0 + i,
                "key_result_id": active_kr0 + rnd.randrange(n_kr),
            }
            for i in range(sizes.initiatives)
            if i % 10 != 0  # every tenth initiative is unaligned
        ),
        label="initiative links",
    )
    copier.copy(
        Milestone,
        (
            {
                **common,
                "id": u0 + m,
                "key": f"m{u0 + m}",
                "name": f"Milestone {m}",
                "date": ini_rows[m % len(ini_rows)]["end_date"],
                "initiative_id": ini_rows[m % len(ini_rows)]["id"],
            }
            for m in range(sizes.milestones)
        ),
        label="milestones",
    )

    # Dependencies only point forward in index order, so the graph is acyclic.
    def dependency_rows() -> Iterator[dict[str, Any]]:
        seen: set[tuple[int, int]] = set()
        d = 0
        while d < sizes.dependencies and sizes.initiatives > 1:
            a = rnd.randrange(sizes.initiatives - 1)
            b = rnd.randrange(a + 1, min(sizes.initiatives, a + 50))
            if (a, b) in seen:
                continue
            seen.add((a, b))
            d += 1
            yield {
                **common,
                "id": u0 + d,
                "predecessor_initiative_id": i0 + a,
                "successor_initiative_id": i0 + b,
                "type": "FS",
                "lag_days": rnd.randint(0, 3),
            }

    copier.copy(Dependency, dependency_rows(), label="dependencies")

    statuses = ["todo", "in_progress", "done", "done"]
    copier.copy(
        Task,
        (
            {
                **common,
                "id": u0 * 10 + t,
                "initiative_id": i0 + t % sizes.initiatives,
                "key": "",
                "title": f"Task {t}",
                "assignee_id": user_ids[t % len(user_ids)],
                "status": statuses[t % 4],
                "estimate_hours": Decimal(t % 16 + 1),
            }
            for t in range(sizes.tasks)
        ),
        label="tasks",
    )
    copier.copy(
        TimeEntry,
        (
            {
                **common,
                "id": u0 * 10 + e,
                "task_id": u0 * 10 + e % sizes.tasks,
                "initiative_id": i0 + (e % sizes.tasks) % sizes.initiatives,
                "user_id": user_ids[e % len(user_ids)],
                "date": today - timedelta(days=e % 90),
                "hours": Decimal(e % 8 + 1),
                "cost": Decimal((e % 8 + 1) * 80),
                "note": "",
            }
            for e in range(sizes.time_entries)
        ),
        label="time entries",
    )
    return oid


def reset_sequences() -> None:
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"accounts", "organizations", "okrs", "roadmap", "work", "audit"}
    ]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def _first_free_block() -> int:
    """The first id block (see `generate_xl`) above every existing user id."""
    from milepost.accounts.models import User

    top = User.objects.order_by("-id").values_list("id", flat=True).first()
    return 0 if top is None else top // 10_000_000 + 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full size (0.1 = quick)"
    )
    parser.add_argument("--profile", choices=["xl", "many-orgs"], default="xl")
    parser.add_argument("--no-recompute", action="store_true", help="skip the engine recompute")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "milepost.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        print("bench.generate needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    copier = Copier(connection)
    today = date.today()
    org_ids: list[int] = []
    # Ids are assigned in blocks of 10 M per tenant (x10 for check-ins, tasks and time
    # entries); start past any rows already there so a second run never collides.
    first_block = _first_free_block()
    with transaction.atomic():
        if args.profile == "xl":
            sizes = Sizes.xl(args.scale)
            print(f"XL tenant at scale {args.scale}: {sizes}", flush=True)
            org_ids.append(
                generate_xl(
                    sizes,
                    org_name="XL Corp",
                    slug=f"xl-{int(time.time())}",
                    today=today,
                    copier=copier,
                    id_base=first_block,
                )
            )
        else:
            sizes = Sizes(
                users=100,
                teams=10,
                cycles=2,
                objectives_per_cycle=30,
                krs_per_cycle=100,
                weeks_of_checkins=8,
                initiatives=40,
                dependencies=60,
                milestones=100,
                tasks=500,
                time_entries=800,
            )
            n_orgs = max(1, int(200 * args.scale))
            stamp = int(time.time())
            for n in range(n_orgs):
                org_ids.append(
                    generate_xl(
                        sizes,
                        org_name=f"Tenant {n}",
                        slug=f"t{stamp}-{n}",
                        today=today,
                        copier=copier,
                        id_base=first_block + n + 1,
                    )
                )
        reset_sequences()
    print(f"Rows written in {time.perf_counter() - started:.1f} s", flush=True)
    if not args.no_recompute:
        from milepost.okrs.engine_io import recompute_organization
        from milepost.organizations.models import Organization

        t = time.perf_counter()
        for oid in org_ids:
            recompute_organization(Organization.objects.get(pk=oid))
        print(f"Stored progress recomputed in {time.perf_counter() - t:.1f} s", flush=True)
    with connection.cursor() as cursor:
        # VACUUM too, not only ANALYZE: the recompute rewrites every key result and objective
        # (200,000 dead rows beside 30,000 live objectives at full size), and rows loaded by
        # COPY have no visibility map yet. A production server's autovacuum would do this;
        # some servers (this bench machine's among them) run with autovacuum off.
        cursor.execute("VACUUM (ANALYZE)")
    print(
        f"Done in {time.perf_counter() - started:.1f} s; "
        f"organization ids: {org_ids[:5]}{'…' if len(org_ids) > 5 else ''}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
