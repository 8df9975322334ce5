"""Plan health: where the OKRs and the roadmap disagree, as findings with stable codes.

Each finding has a code, a severity, a message a manager understands and the keys of the
objects involved (``objective:<key>``, ``kr:<objective>/<kr>``, ``initiative:<key>``,
``milestone:<key>``, ``team:<key>``, ``cycle:<key>``).

========================== ======== =========================================================
code                       severity fires when
========================== ======== =========================================================
dependency-cycle           error    dependencies loop (one finding per loop, naming every item)
alignment-cycle            error    objective alignment loops
dependency-violated        error    planned dates break a dependency (both ends have dates)
schedule-past-due          error    planned to end in time, but the earliest possible finish
                                    through the dependency chain is after a linked key
                                    result's due date (also milestones a key result counts)
initiative-late            warning  planned end after the due date of a linked key result
kr-uncovered               warning  no initiative works on the key result (not for
                                    ``milestones`` key results, done ones, or ones an
                                    objective aligns to)
initiative-unaligned       warning  an open initiative linked to no key result
team-over-capacity         warning  committed effort above the team's capacity in some
                                    current or future week (the weeks are named)
output-without-outcome     warning  an initiative done, or with >= 80% of its tasks done,
                                    while a linked key result is off track
kr-stale                   warning  active cycle and objective, no check-in for more than
                                    14 days (counted from the cycle start when there is none);
                                    not done ones, but a held ``maintain`` one still counts
objective-without-krs      warning  an open objective with no key result (unless it rolls
                                    up aligned objectives instead)
team-too-many-objectives   warning  more than 5 open objectives for one team in one cycle
linked-to-closed-objective warning  open work (or an open objective) aligned to a key result
                                    or objective that is closed or cancelled
over-budget                warning  logged hours or actual cost above plan
objective-too-many-krs     info     more than 5 key results on one objective
========================== ======== =========================================================

Thresholds (stale days, 80%, 5 and 5) are organization settings (`EngineSettings`).
Cancelled initiatives are ignored by every check; done initiatives only count for
``output-without-outcome`` and ``team-over-capacity``. Objectives and key results in closed
cycles, and closed or cancelled objectives, are not checked themselves.
Findings come sorted by severity (errors first), then code, then objects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date

from milepost.engine.capacity import weeks_over_capacity
from milepost.engine.collector import cyclic_gc_paused
from milepost.engine.errors import AlignmentCycleError
from milepost.engine.model import (
    CycleState,
    InitiativeInput,
    InitiativeStatus,
    KeyResultInput,
    KeyResultKind,
    ObjectiveInput,
    ObjectiveState,
    Plan,
    RollupMode,
    Severity,
    Status,
)
from milepost.engine.results import Finding, OkrReport, Schedule
from milepost.engine.schedule import LINK_TYPE_CODES, dependency_loops

SEVERITY: dict[str, Severity] = {
    "dependency-cycle": Severity.ERROR,
    "alignment-cycle": Severity.ERROR,
    "dependency-violated": Severity.ERROR,
    "schedule-past-due": Severity.ERROR,
    "initiative-late": Severity.WARNING,
    "kr-uncovered": Severity.WARNING,
    "initiative-unaligned": Severity.WARNING,
    "team-over-capacity": Severity.WARNING,
    "output-without-outcome": Severity.WARNING,
    "kr-stale": Severity.WARNING,
    "objective-without-krs": Severity.WARNING,
    "team-too-many-objectives": Severity.WARNING,
    "linked-to-closed-objective": Severity.WARNING,
    "over-budget": Severity.WARNING,
    "objective-too-many-krs": Severity.INFO,
}

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_OPEN_OBJECTIVE = frozenset({ObjectiveState.DRAFT, ObjectiveState.ACTIVE})
_CLOSED_OBJECTIVE = frozenset({ObjectiveState.CLOSED, ObjectiveState.CANCELLED})


def _finding(code: str, message: str, objects: Iterable[str]) -> Finding:
    return Finding(code=code, severity=SEVERITY[code], message=message, objects=tuple(objects))


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in their stable order: severity (errors first), code, objects, message."""
    return sorted(
        findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.code, f.objects, f.message)
    )


class _Context:
    """Lookups shared by the checks, built once per call."""

    def __init__(self, plan: Plan, as_of: date, okr: OkrReport) -> None:
        self.plan = plan
        self.as_of = as_of
        self.okr = okr
        self.settings = plan.settings
        self.objectives = {o.key: o for o in plan.objectives}
        self.key_results = {kr.key: kr for kr in plan.key_results}
        self.cycles = {c.key: c for c in plan.cycles}
        self.teams = {t.key: t for t in plan.teams}
        self.initiatives = {i.key: i for i in plan.initiatives}
        self.open_initiatives = [
            i for i in plan.initiatives if i.status != InitiativeStatus.CANCELLED
        ]
        self.krs_by_objective: dict[str, list[KeyResultInput]] = defaultdict(list)
        for kr in plan.key_results:
            self.krs_by_objective[kr.objective_key].append(kr)
        # Key results and objectives that other objectives align to.
        self.aligned_krs: set[str] = set()
        self.aligned_objectives: set[str] = set()
        for objective in plan.objectives:
            if objective.state == ObjectiveState.CANCELLED:
                continue
            for link in objective.aligns_to:
                if link.parent_key_result is not None:
                    self.aligned_krs.add(link.parent_key_result)
                    parent = self.key_results.get(link.parent_key_result)
                    if parent is not None:
                        self.aligned_objectives.add(parent.objective_key)
                if link.parent_objective is not None:
                    self.aligned_objectives.add(link.parent_objective)

        closed_cycles = {c.key for c in plan.cycles if c.state == CycleState.CLOSED}
        active_cycles = {c.key for c in plan.cycles if c.state == CycleState.ACTIVE}
        # Objectives (and their key results) that health checks look at: open ones, in a
        # cycle that is not closed; and those that get check-ins (active, active cycle).
        self.checked = {
            o.key
            for o in plan.objectives
            if o.state in _OPEN_OBJECTIVE and o.cycle_key not in closed_cycles
        }
        self.checking_in = {
            o.key
            for o in plan.objectives
            if o.state == ObjectiveState.ACTIVE and o.cycle_key in active_cycles
        }

    def objective_checked(self, objective: ObjectiveInput | None) -> bool:
        return objective is not None and objective.key in self.checked


def _initiative_label(initiative: InitiativeInput) -> str:
    return f'initiative "{initiative.title}" ({initiative.key})'


def _kr_label(kr: KeyResultInput) -> str:
    return f'key result "{kr.title}" ({kr.key})'


def _objective_label(objective: ObjectiveInput) -> str:
    return f'objective "{objective.title}" ({objective.key})'


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if abs(n) == 1 else f"{n} {word}s"


def _days(n: int) -> str:
    return _count(n, "day")


# --- OKR-side checks ------------------------------------------------------------------------


def _check_objectives(ctx: _Context) -> list[Finding]:
    findings: list[Finding] = []
    settings = ctx.settings
    per_team_cycle: dict[tuple[str, str], list[str]] = defaultdict(list)
    for objective in ctx.plan.objectives:
        if not ctx.objective_checked(objective):
            continue
        okey = f"objective:{objective.key}"
        krs = ctx.krs_by_objective.get(objective.key, [])
        rolls_up_children = (
            settings.rollup != RollupMode.KEY_RESULTS and objective.key in ctx.aligned_objectives
        )
        if not krs and not rolls_up_children:
            findings.append(
                _finding(
                    "objective-without-krs",
                    f"{_capital(_objective_label(objective))} has no key results, so there "
                    "is no way to tell whether it is achieved.",
                    [okey],
                )
            )
        if len(krs) > settings.max_key_results_per_objective:
            findings.append(
                _finding(
                    "objective-too-many-krs",
                    f"{_capital(_objective_label(objective))} has {len(krs)} key results "
                    f"(more than {settings.max_key_results_per_objective}): focus on the few "
                    "that matter most.",
                    [okey],
                )
            )
        if objective.team_key is not None:
            per_team_cycle[(objective.team_key, objective.cycle_key)].append(objective.key)
    for (team_key, cycle_key), keys in sorted(per_team_cycle.items()):
        if len(keys) > settings.max_objectives_per_team:
            team = ctx.teams.get(team_key)
            name = team.name if team is not None else team_key
            findings.append(
                _finding(
                    "team-too-many-objectives",
                    f'Team "{name}" has {len(keys)} objectives in cycle {cycle_key} (more '
                    f"than {settings.max_objectives_per_team}): too many goals means none "
                    "gets real focus.",
                    [f"team:{team_key}", f"cycle:{cycle_key}"]
                    + [f"objective:{k}" for k in sorted(keys)],
                )
            )
    return findings


def _check_key_results(
    ctx: _Context, linked: set[str], only: Collection[str] | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    stale_after = ctx.settings.stale_after_days
    as_of = ctx.as_of
    statuses = ctx.okr.key_results
    key_results = ctx.plan.key_results
    if only is not None:
        key_results = tuple(kr for kr in key_results if kr.key in only)
    for kr in key_results:
        if kr.objective_key not in ctx.checked or kr.kind == KeyResultKind.MILESTONES:
            continue
        evaluated = statuses.get(kr.key)
        done = evaluated is not None and evaluated.status == Status.DONE
        # A maintain key result that holds is `done` today, but only a check-in every week
        # shows that it still holds: it can go stale (it needs no initiative, though).
        if done and kr.kind != KeyResultKind.MAINTAIN:
            continue
        if not done and kr.key not in linked and kr.key not in ctx.aligned_krs:
            findings.append(
                Finding(
                    "kr-uncovered",
                    Severity.WARNING,
                    f"No initiative works on {_kr_label(kr)}: nothing in the roadmap moves it.",
                    (f"kr:{kr.key}",),
                )
            )
        if kr.objective_key not in ctx.checking_in or as_of < kr.window_start:
            continue
        last = None
        for checkin in reversed(kr.checkins):  # oldest first: the latest is near the end
            if checkin.on <= as_of:
                last = checkin.on
                break
        quiet = (as_of - (last if last is not None else kr.window_start)).days
        if quiet > stale_after:
            when = f"since {last.isoformat()}" if last is not None else "since the cycle began"
            findings.append(
                Finding(
                    "kr-stale",
                    Severity.WARNING,
                    f"{_capital(_kr_label(kr))} has had no check-in {when} "
                    f"({_days(quiet)}, more than {stale_after}): its numbers may be out of date.",
                    (f"kr:{kr.key}",),
                )
            )
    return findings


def _check_alignment(ctx: _Context) -> list[Finding]:
    # Imported here: the roll-up lives in the OKR half of the engine.
    from milepost.engine.rollup import alignment_order

    try:
        alignment_order(ctx.plan.objectives, ctx.plan.key_results)
    except AlignmentCycleError as error:
        nodes = error.nodes
        objects = [
            f"objective:{n}" if n in ctx.objectives else f"kr:{n}" if n in ctx.key_results else n
            for n in nodes
        ]
        loop = " -> ".join([*nodes, nodes[0]]) if nodes else "?"
        return [
            _finding(
                "alignment-cycle",
                f"Objectives align to each other in a loop ({loop}), so their progress "
                "cannot roll up. Remove one of the alignment links.",
                objects,
            )
        ]
    return []


# --- roadmap-side checks --------------------------------------------------------------------


def _check_initiatives(ctx: _Context, schedule: Schedule | None) -> list[Finding]:
    findings: list[Finding] = []
    append = findings.append
    key_results, objectives = ctx.key_results, ctx.objectives
    scheduled_items = schedule.items if schedule is not None else {}
    done_status = InitiativeStatus.DONE
    warning = Severity.WARNING
    error = Severity.ERROR
    for initiative in ctx.open_initiatives:
        key = initiative.key
        ikey = f"initiative:{key}"
        label = f'Initiative "{initiative.title}" ({key})'  # capitalised, as a sentence starts
        done = initiative.status == done_status
        links = [link for link in initiative.key_results if link.key_result in key_results]
        if not links and not done:
            append(
                Finding(
                    "initiative-unaligned",
                    warning,
                    f"{label} is linked to no key result: "
                    "it serves no outcome, so question whether it should be done now.",
                    (ikey,),
                )
            )
        scheduled = scheduled_items.get(key)
        end = initiative.end
        # A done initiative's key results are behind it (`_check_outputs` looks at them):
        # only its budget is checked below.
        for link in () if done else links:
            kr = key_results[link.key_result]
            kkey = f"kr:{kr.key}"
            objective = objectives.get(kr.objective_key)
            if objective is not None and objective.state in _CLOSED_OBJECTIVE:
                append(
                    Finding(
                        "linked-to-closed-objective",
                        warning,
                        f"{label} still works on "
                        f"{_kr_label(kr)}, whose objective is {objective.state.value}.",
                        (ikey, kkey, f"objective:{objective.key}"),
                    )
                )
                continue
            due = kr.due
            if end is not None and end > due:
                append(
                    Finding(
                        "initiative-late",
                        warning,
                        f"{label} is planned to end on {end.isoformat()}, "
                        f"{_days((end - due).days)} after {_kr_label(kr)} "
                        f"is due ({due.isoformat()}).",
                        (ikey, kkey),
                    )
                )
            elif scheduled is not None and scheduled.earliest_finish > due:
                finish = scheduled.earliest_finish
                append(
                    Finding(
                        "schedule-past-due",
                        error,
                        f"{label} cannot finish before {finish.isoformat()} because of what it "
                        f"depends on: {_days((finish - due).days)} after {_kr_label(kr)} is due "
                        f"({due.isoformat()}).",
                        (ikey, kkey),
                    )
                )
        planned_hours, budget = initiative.planned_hours, initiative.budget
        logged, cost = initiative.logged_hours, initiative.actual_cost
        hours_over = planned_hours is not None and logged > planned_hours
        cost_over = budget is not None and cost > budget
        if hours_over or cost_over:
            over: list[str] = []
            if hours_over:
                over.append(f"{logged} hours logged of {planned_hours} planned")
            if cost_over:
                over.append(f"cost {cost} of a {budget} budget")
            append(
                Finding(
                    "over-budget",
                    warning,
                    f"{label} is over budget: " + " and ".join(over) + ".",
                    (ikey,),
                )
            )
    return findings


def _check_outputs(ctx: _Context, only: Collection[str] | None = None) -> list[Finding]:
    """``output-without-outcome``: an initiative done (or with most of its tasks done) while a
    key result it works on is off track (with ``only``: one of those key results)."""
    findings: list[Finding] = []
    done_share = ctx.settings.output_done_share
    key_results, kr_results = ctx.key_results, ctx.okr.key_results
    done_status, off_track = InitiativeStatus.DONE, Status.OFF_TRACK
    for initiative in ctx.open_initiatives:
        done = initiative.status == done_status
        if not done and not (
            initiative.tasks_total > 0
            and initiative.tasks_done >= done_share * initiative.tasks_total
        ):
            continue
        label = f'Initiative "{initiative.title}" ({initiative.key})'
        for link in initiative.key_results:
            if only is not None and link.key_result not in only:
                continue
            kr = key_results.get(link.key_result)
            evaluated = kr_results.get(link.key_result)
            if kr is None or evaluated is None or evaluated.status != off_track:
                continue
            how = (
                "is done"
                if done
                else f"has {initiative.tasks_done} of {initiative.tasks_total} tasks done"
            )
            findings.append(
                Finding(
                    "output-without-outcome",
                    Severity.WARNING,
                    f"{label} {how}, but {_kr_label(kr)} is still off track: the output "
                    "is not moving the outcome.",
                    (f"initiative:{initiative.key}", f"kr:{kr.key}"),
                )
            )
    return findings


def _check_milestones_due(ctx: _Context, schedule: Schedule) -> list[Finding]:
    """Milestones a key result counts, that cannot happen before the key result is due."""
    findings: list[Finding] = []
    names = {m.key: m for m in ctx.plan.milestones}
    for kr in ctx.plan.key_results:
        if not kr.milestones or not ctx.objective_checked(ctx.objectives.get(kr.objective_key)):
            continue
        for ref in kr.milestones:
            milestone = names.get(ref.key)
            scheduled = schedule.items.get(ref.key)
            if milestone is None or scheduled is None or milestone.done_on or ref.done_on:
                continue
            if scheduled.earliest_finish > kr.due:
                late = (scheduled.earliest_finish - kr.due).days
                findings.append(
                    _finding(
                        "schedule-past-due",
                        f'Milestone "{milestone.name}" ({milestone.key}) cannot be reached '
                        f"before {scheduled.earliest_finish.isoformat()}: {_days(late)} after "
                        f"{_kr_label(kr)}, which counts it, is due ({kr.due.isoformat()}).",
                        [f"milestone:{milestone.key}", f"kr:{kr.key}"],
                    )
                )
    return findings


def _check_closed_alignment(ctx: _Context) -> list[Finding]:
    """Open objectives aligned to a closed or cancelled objective (or one of its KRs)."""
    findings: list[Finding] = []
    for objective in ctx.plan.objectives:
        if not ctx.objective_checked(objective):
            continue
        for link in objective.aligns_to:
            parent_key = link.parent_objective
            target = f"objective:{parent_key}"
            if link.parent_key_result is not None:
                kr = ctx.key_results.get(link.parent_key_result)
                parent_key = kr.objective_key if kr is not None else None
                target = f"kr:{link.parent_key_result}"
            parent = ctx.objectives.get(parent_key) if parent_key is not None else None
            if parent is None or parent.state not in _CLOSED_OBJECTIVE:
                continue
            objects = [f"objective:{objective.key}", target]
            if target != f"objective:{parent.key}":
                objects.append(f"objective:{parent.key}")
            findings.append(
                _finding(
                    "linked-to-closed-objective",
                    f"{_capital(_objective_label(objective))} is aligned to "
                    f"{_objective_label(parent)}, which is {parent.state.value}.",
                    objects,
                )
            )
    return findings


def _check_dependencies(ctx: _Context) -> list[Finding]:
    """Links whose two ends both have planned dates that break the link."""
    findings: list[Finding] = []
    # kind, name, start position, duration of every dated item. Positions count days as
    # the schedule does: a zero-length item sits at the end of its day.
    dated: dict[str, tuple[str, str, int, int]] = {}
    finished: set[str] = set()  # done work and reached milestones: too late to reschedule
    dependencies = ctx.plan.dependencies
    if not dependencies:
        return findings
    # Only items some dependency names matter (a plan can hold 100,000s of milestones).
    named = {d.predecessor for d in dependencies}
    named.update([d.successor for d in dependencies])
    done = InitiativeStatus.DONE
    for initiative in ctx.open_initiatives:
        key = initiative.key
        if key not in named:
            continue
        if initiative.status == done:
            finished.add(key)
        start, end = initiative.start, initiative.end
        if start is None or end is None or key in dated:
            continue
        first = start.toordinal()
        duration = max(0, end.toordinal() - first + 1)
        dated[key] = ("initiative", initiative.title, first + (duration == 0), duration)
    for milestone in ctx.plan.milestones:
        key = milestone.key
        if key in named and key not in dated:
            dated[key] = ("milestone", milestone.name, milestone.on.toordinal() + 1, 0)
            if milestone.done_on is not None:
                finished.add(key)
    codes = LINK_TYPE_CODES
    get = dated.get
    iso = _IsoDays()
    for link in dependencies:
        pred, succ = get(link.predecessor), get(link.successor)
        if pred is None or succ is None or link.successor in finished:
            continue
        code, lag = codes[link.type], link.lag_days
        # The same start-to-start rule as the schedule (see schedule.py).
        if code == 0:
            bound = pred[2] + pred[3] + lag
        elif code == 1:
            bound = pred[2] + lag
        elif code == 2:
            bound = pred[2] + pred[3] + lag - succ[3]
        else:
            bound = pred[2] + lag - succ[3]
        if succ[2] >= bound:
            continue
        findings.append(
            _violation(code, lag, link.predecessor, pred, link.successor, succ, bound, iso)
        )
    return findings


class _IsoDays(dict[int, str]):
    """``date.fromordinal(n).isoformat()`` by ordinal, each computed once (many findings
    share a few hundred days)."""

    def __missing__(self, ordinal: int) -> str:
        text = self[ordinal] = date.fromordinal(ordinal).isoformat()
        return text


#: By type code (see `LINK_TYPE_CODES`): the type's name, whether the rule binds the
#: successor's finish (FF, SF) and whether it counts from the predecessor's start (SS, SF).
_TYPE_RULES = (
    ("finish-to-start", False, "finishing"),
    ("start-to-start", False, "starting"),
    ("finish-to-finish", True, "finishing"),
    ("start-to-finish", True, "starting"),
)
_CAPITAL_KIND = {"initiative": "Initiative", "milestone": "Milestone"}


def _violation(
    code: int,
    lag: int,
    pred_key: str,
    pred: tuple[str, str, int, int],
    succ_key: str,
    succ: tuple[str, str, int, int],
    bound: int,
    iso: _IsoDays,
) -> Finding:
    type_name, binds_finish, first = _TYPE_RULES[code]
    duration = succ[3]
    if duration == 0:
        planned = f"is planned for {iso[succ[2] - 1]}"
        allowed, verb = iso[bound - 1], "happen"
    elif binds_finish:
        planned = f"is planned to finish on {iso[succ[2] + duration - 1]}"
        allowed, verb = iso[bound + duration - 1], "finish"
    else:
        planned = f"is planned to start on {iso[succ[2]]}"
        allowed, verb = iso[bound], "start"
    lag_text = f", lag {lag:+d} days" if lag else ""
    return Finding(
        "dependency-violated",
        Severity.ERROR,
        f'{_CAPITAL_KIND[succ[0]]} "{succ[1]}" ({succ_key}) {planned}, but it depends on '
        f'{pred[0]} "{pred[1]}" ({pred_key}) {first} first ({type_name}{lag_text}), '
        f"so it can {verb} on {allowed} at the earliest.",
        (f"{pred[0]}:{pred_key}", f"{succ[0]}:{succ_key}"),
    )


def _check_loops(ctx: _Context) -> list[Finding]:
    kinds = {m.key: "milestone" for m in ctx.plan.milestones}
    kinds.update({i.key: "initiative" for i in ctx.open_initiatives})
    findings: list[Finding] = []
    for group in dependency_loops(ctx.plan):
        # The group starts with one loop in order; the rest of it follows.
        findings.append(
            _finding(
                "dependency-cycle",
                f"Dependencies form a loop ({', '.join(group)}): none of these items can "
                "start before another of them, so none of them can be scheduled. Remove "
                "one of the dependencies.",
                [f"{kinds.get(k, 'initiative')}:{k}" for k in group],
            )
        )
    return findings


def _check_capacity(ctx: _Context) -> list[Finding]:
    findings: list[Finding] = []
    for team_key, (capacity, over) in sorted(weeks_over_capacity(ctx.plan, ctx.as_of).items()):
        team = ctx.teams.get(team_key)
        name = team.name if team is not None else team_key
        involved = sorted({key for w in over for key in w.initiatives})
        listed = ", ".join(f"{w.week} ({w.load_days})" for w in over)
        findings.append(
            _finding(
                "team-over-capacity",
                f'Team "{name}" is committed beyond its capacity of {capacity} person-days '
                f"a week in {_count(len(over), 'week')}: {listed}.",
                [f"team:{team_key}"] + [f"initiative:{k}" for k in involved],
            )
        )
    return findings


# The codes of the checks that read check-ins or the OKR evaluation. Every other check reads
# the plan's structure, its initiatives and the schedule only: after check-ins alone, its
# findings stay as they were (`find_issues`'s ``same_but_checkins``).
CHECKIN_CODES = frozenset({"kr-uncovered", "kr-stale", "output-without-outcome"})


def find_issues(
    plan: Plan,
    as_of: date,
    okr: OkrReport,
    schedule: Schedule | None,
    *,
    same_but_checkins: Iterable[Finding] | None = None,
    changed: Collection[str] | None = None,
) -> list[Finding]:
    """Every plan-health finding of the plan as of a date, in their stable order.

    ``okr`` is the plan's OKR evaluation at ``as_of`` (statuses, progress). ``schedule`` is
    the plan's computed schedule, or None when it has none because dependencies loop: then
    the loops are reported as ``dependency-cycle`` and ``schedule-past-due`` is not checked.
    See the module docstring for every code and its severity.

    ``same_but_checkins``: the findings, as of the same date, of a plan that differs from
    ``plan`` in check-ins only. Only the checks that read check-ins (`CHECKIN_CODES`) run
    again; the others' findings are taken from it. ``changed`` (with it): the keys of the key
    results whose check-ins differ, when known; those checks then look at these alone, and
    their findings about the other key results are taken too (a stream of check-ins on a
    10,000-initiative plan re-evaluates in a fraction of the time).
    """
    with cyclic_gc_paused():  # 10,000s of findings, none in a reference cycle
        return _find_issues(plan, as_of, okr, schedule, same_but_checkins, changed)


def _about_key_results(finding: Finding, keys: Collection[str]) -> bool:
    return any(o.startswith("kr:") and o[3:] in keys for o in finding.objects)


def _find_issues(
    plan: Plan,
    as_of: date,
    okr: OkrReport,
    schedule: Schedule | None,
    same_but_checkins: Iterable[Finding] | None,
    changed: Collection[str] | None,
) -> list[Finding]:
    ctx = _Context(plan, as_of, okr)
    linked = {link.key_result for i in ctx.open_initiatives for link in i.key_results}
    findings: list[Finding] = []
    if same_but_checkins is not None:
        only = set(changed) if changed is not None else None
        findings += _check_key_results(ctx, linked, only)
        findings += _check_outputs(ctx, only)
        findings += (
            f
            for f in same_but_checkins
            if f.code not in CHECKIN_CODES or (only is not None and not _about_key_results(f, only))
        )
        return sort_findings(findings)
    findings += _check_key_results(ctx, linked)
    findings += _check_outputs(ctx)
    findings += _check_objectives(ctx)
    findings += _check_alignment(ctx)
    findings += _check_closed_alignment(ctx)
    findings += _check_initiatives(ctx, schedule)
    findings += _check_dependencies(ctx)
    findings += _check_capacity(ctx)
    if schedule is None:
        findings += _check_loops(ctx)
    else:
        findings += _check_milestones_due(ctx, schedule)
    return sort_findings(findings)
