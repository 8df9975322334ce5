"""Plan health: each finding code with a plan that triggers it and a plan that is clean."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from milepost.engine.errors import DependencyCycleError
from milepost.engine.health import SEVERITY, find_issues
from milepost.engine.model import (
    AlignmentLink,
    CycleState,
    InitiativeInput,
    InitiativeStatus,
    KeyResultKind,
    MilestoneRef,
    ObjectiveState,
    Plan,
    RollupMode,
    Severity,
    Status,
)
from milepost.engine.results import Finding, OkrReport
from milepost.engine.roadmap import evaluate_roadmap
from milepost.engine.schedule import compute_schedule
from tests.engine.roadmap_builders import (
    cycle,
    dep,
    ini,
    jul,
    keyresult,
    mile,
    objective,
    report,
    result,
    team,
)

AS_OF = jul(15)


def clean_plan() -> Plan:
    """One team, one objective with one key result, one initiative on it: nothing to say."""
    return Plan(
        teams=(team("web", 10),),
        cycles=(cycle(),),
        objectives=(objective("growth"),),
        key_results=(keyresult("growth/signups", checkins=(jul(10),)),),
        initiatives=(
            ini(
                "launch",
                jul(1),
                jul(31),
                status=InitiativeStatus.IN_PROGRESS,
                effort=10,
                krs=("growth/signups",),
                budget=1000,
                actual_cost=500,
                planned_hours=80,
                logged_hours=40,
                tasks=(2, 10),
            ),
        ),
    )


def on_track(plan: Plan, as_of: date = AS_OF) -> OkrReport:
    return report(as_of, *(result(kr.key, Status.ON_TRACK) for kr in plan.key_results))


def check(plan: Plan, as_of: date = AS_OF, okr: OkrReport | None = None) -> list[Finding]:
    try:
        schedule = compute_schedule(plan)
    except DependencyCycleError:
        schedule = None
    return find_issues(plan, as_of, okr or on_track(plan, as_of), schedule)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def only(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def with_initiatives(plan: Plan, *extra: InitiativeInput) -> Plan:
    return replace(plan, initiatives=(*plan.initiatives, *extra))


def test_the_clean_plan_is_clean() -> None:
    assert check(clean_plan()) == []


def test_the_clean_plan_is_clean_with_the_real_okr_evaluation() -> None:
    from milepost.engine.okr import evaluate_okrs

    plan = clean_plan()
    roadmap = evaluate_roadmap(plan, AS_OF, evaluate_okrs(plan, AS_OF))
    assert roadmap.findings == ()
    assert not roadmap.has_errors


def test_every_code_has_a_severity() -> None:
    assert SEVERITY["dependency-cycle"] == Severity.ERROR
    assert SEVERITY["objective-too-many-krs"] == Severity.INFO
    assert len(SEVERITY) == 15


# --- kr-uncovered -------------------------------------------------------------------------


def test_kr_uncovered() -> None:
    plan = clean_plan()
    plan = replace(plan, key_results=(*plan.key_results, keyresult("growth/retention")))
    findings = check(plan)
    assert codes(findings) == ["kr-uncovered"]
    assert findings[0].objects == ("kr:growth/retention",)
    assert findings[0].severity == Severity.WARNING
    assert '"Retention" (growth/retention)' in findings[0].message


@pytest.mark.parametrize("why", ["milestones", "aligned", "cancelled-objective", "closed-cycle"])
def test_kr_uncovered_exceptions(why: str) -> None:
    plan = clean_plan()
    kind = KeyResultKind.MILESTONES if why == "milestones" else KeyResultKind.INCREASE
    extra = [keyresult("growth/retention", kind=kind)]
    objectives = list(plan.objectives)
    if why == "aligned":
        # A child objective aligned to the key result works on it through its own work.
        objectives.append(
            objective("child", aligns_to=(AlignmentLink(parent_key_result="growth/retention"),))
        )
        extra.append(keyresult("child/x"))
        plan = with_initiatives(plan, ini("x", jul(1), jul(5), krs=("child/x",)))
    if why == "cancelled-objective":
        objectives.append(objective("old", state=ObjectiveState.CANCELLED))
        extra = [keyresult("old/retention")]
    if why == "closed-cycle":
        objectives.append(objective("past", cycle_key="q2"))
        extra = [keyresult("past/retention")]
        plan = replace(plan, cycles=(*plan.cycles, cycle("q2", state=CycleState.CLOSED)))
    plan = replace(plan, objectives=tuple(objectives), key_results=(*plan.key_results, *extra))
    assert "kr-uncovered" not in codes(check(plan))


def test_a_cancelled_initiative_does_not_cover_a_key_result() -> None:
    plan = clean_plan()
    plan = replace(
        plan, initiatives=(replace(plan.initiatives[0], status=InitiativeStatus.CANCELLED),)
    )
    assert codes(check(plan)) == ["kr-uncovered"]


# --- initiative-unaligned -------------------------------------------------------------------


def test_initiative_unaligned() -> None:
    findings = check(with_initiatives(clean_plan(), ini("side", jul(1), jul(5))))
    assert codes(findings) == ["initiative-unaligned"]
    assert findings[0].objects == ("initiative:side",)


def test_done_or_cancelled_unaligned_work_is_not_reported() -> None:
    plan = with_initiatives(
        clean_plan(),
        ini("old", jul(1), jul(5), status=InitiativeStatus.DONE),
        ini("gone", jul(1), jul(5), status=InitiativeStatus.CANCELLED),
        ini("typo", jul(1), jul(5), krs=("growth/nope",)),
    )
    assert codes(check(plan)) == ["initiative-unaligned"]  # only the unknown link
    assert check(plan)[0].objects == ("initiative:typo",)


# --- initiative-late and schedule-past-due --------------------------------------------------


def test_initiative_late() -> None:
    plan = clean_plan()
    late = replace(plan.initiatives[0], end=date(2026, 10, 10))
    findings = check(replace(plan, initiatives=(late,)))
    assert codes(findings) == ["initiative-late"]
    assert findings[0].objects == ("initiative:launch", "kr:growth/signups")
    assert "2026-10-10, 10 days after" in findings[0].message


def test_schedule_past_due_through_the_dependency_chain() -> None:
    # Research has no dates: 90 days of effort from 1 July ends on 28 September, and the
    # launch can only start 5 days after that, so it cannot finish before its key result
    # is due on 30 September, although its own planned dates look fine.
    plan = with_initiatives(clean_plan(), ini("research", effort=90, krs=("growth/signups",)))
    plan = replace(plan, dependencies=(dep("research", "launch", "FS", 5),))
    findings = check(plan)
    assert codes(findings) == ["schedule-past-due"]
    assert findings[0].severity == Severity.ERROR
    assert findings[0].objects == ("initiative:launch", "kr:growth/signups")
    assert "cannot finish before 2026-11-03" in findings[0].message


def test_schedule_in_time_is_clean() -> None:
    plan = with_initiatives(clean_plan(), ini("research", effort=20, krs=("growth/signups",)))
    plan = replace(plan, dependencies=(dep("research", "launch", "SS", 5),))
    assert check(plan) == []


def test_schedule_past_due_for_a_milestone_a_key_result_counts() -> None:
    plan = clean_plan()
    beta = replace(
        keyresult("growth/beta", kind=KeyResultKind.MILESTONES),
        milestones=(MilestoneRef("beta", jul(20)),),
    )
    plan = replace(plan, milestones=(mile("beta", jul(20)),), key_results=(*plan.key_results, beta))
    assert check(plan) == []
    # 70 days after the launch ends (31 July) is 9 October, after the 30 September due date.
    findings = check(replace(plan, dependencies=(dep("launch", "beta", "FS", 70),)))
    past_due = only(findings, "schedule-past-due")
    assert [f.objects for f in past_due] == [("milestone:beta", "kr:growth/beta")]
    assert "cannot be reached before 2026-10-09" in past_due[0].message


# --- dependency-violated ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "lag", "follow_start", "follow_end", "violated", "phrase"),
    [
        ("FS", 0, jul(20), jul(31), True, "can start on 2026-08-01 at the earliest"),
        ("FS", 0, date(2026, 8, 1), date(2026, 8, 10), False, ""),
        ("FS", -12, jul(20), jul(31), False, ""),
        ("SS", 3, jul(2), jul(31), True, "can start on 2026-07-04 at the earliest"),
        ("SS", -1, jul(1), jul(31), False, ""),
        ("FF", 0, jul(1), jul(30), True, "can finish on 2026-07-31 at the earliest"),
        ("FF", -1, jul(1), jul(30), False, ""),
        ("SF", 10, jul(1), jul(5), True, "can finish on 2026-07-10 at the earliest"),
        ("SF", 5, jul(1), jul(5), False, ""),
    ],
)
def test_dependency_violated(
    kind: str, lag: int, follow_start: date, follow_end: date, violated: bool, phrase: str
) -> None:
    plan = with_initiatives(
        clean_plan(), ini("follow", follow_start, follow_end, krs=("growth/signups",))
    )
    plan = replace(plan, dependencies=(dep("launch", "follow", kind, lag),))
    findings = only(check(plan), "dependency-violated")
    if not violated:
        assert findings == []
        return
    assert len(findings) == 1
    assert findings[0].objects == ("initiative:launch", "initiative:follow")
    assert findings[0].severity == Severity.ERROR
    assert phrase in findings[0].message


def test_dependency_violated_by_a_milestone() -> None:
    plan = replace(
        clean_plan(),
        milestones=(mile("demo", jul(20)),),
        dependencies=(dep("launch", "demo"),),
    )
    findings = only(check(plan), "dependency-violated")
    assert findings[0].objects == ("initiative:launch", "milestone:demo")
    assert "is planned for 2026-07-20" in findings[0].message
    assert "can happen on 2026-07-31 at the earliest" in findings[0].message


def test_dependencies_of_done_work_are_not_reported() -> None:
    plan = with_initiatives(
        clean_plan(),
        ini("follow", jul(20), jul(31), krs=("growth/signups",), status=InitiativeStatus.DONE),
    )
    plan = replace(plan, dependencies=(dep("launch", "follow"),))
    assert only(check(plan), "dependency-violated") == []


# --- dependency-cycle and alignment-cycle ------------------------------------------------------


def test_dependency_cycle() -> None:
    plan = with_initiatives(
        clean_plan(), ini("follow", date(2026, 8, 1), date(2026, 8, 10), krs=("growth/signups",))
    )
    plan = replace(plan, dependencies=(dep("launch", "follow"), dep("follow", "launch")))
    findings = check(plan)
    assert codes(findings)[0] == "dependency-cycle"
    assert findings[0].objects == ("initiative:follow", "initiative:launch")
    assert findings[0].severity == Severity.ERROR
    roadmap = evaluate_roadmap(plan, AS_OF, on_track(plan))
    assert roadmap.schedule is None
    assert roadmap.schedule_error == "dependency loop: follow → launch → follow"
    assert roadmap.has_errors


def test_alignment_cycle() -> None:
    plan = clean_plan()
    a = objective("a", aligns_to=(AlignmentLink(parent_objective="b"),))
    b = objective("b", aligns_to=(AlignmentLink(parent_objective="a"),))
    plan = replace(
        plan,
        objectives=(*plan.objectives, a, b),
        key_results=(*plan.key_results, keyresult("a/x"), keyresult("b/y")),
        initiatives=(replace(plan.initiatives[0], key_results=()),),
    )
    findings = only(check(plan), "alignment-cycle")
    assert len(findings) == 1
    assert set(findings[0].objects) == {"objective:a", "objective:b"}
    assert findings[0].severity == Severity.ERROR


def test_acyclic_alignment_is_clean() -> None:
    plan = clean_plan()
    child = objective("child", aligns_to=(AlignmentLink(parent_objective="growth"),))
    plan = replace(
        plan,
        objectives=(*plan.objectives, child),
        key_results=(*plan.key_results, keyresult("child/x")),
    )
    plan = with_initiatives(plan, ini("x", jul(1), jul(5), krs=("child/x",)))
    assert check(plan) == []


# --- team-over-capacity --------------------------------------------------------------------


def test_team_over_capacity_names_the_weeks() -> None:
    # 30 person-days over two weeks (13-26 July) is 15 a week, above the team's 10.
    plan = with_initiatives(
        clean_plan(), ini("big", jul(13), jul(26), effort=30, krs=("growth/signups",))
    )
    findings = check(plan)
    assert codes(findings) == ["team-over-capacity"]
    finding = findings[0]
    assert finding.objects == ("team:web", "initiative:big", "initiative:launch")
    assert "2026-W29 (17.26)" in finding.message
    assert "2026-W30 (17.26)" in finding.message
    assert "in 2 weeks" in finding.message


def test_past_weeks_are_not_reported() -> None:
    plan = with_initiatives(
        clean_plan(), ini("big", jul(13), jul(26), effort=30, krs=("growth/signups",))
    )
    assert "team-over-capacity" not in codes(check(plan, as_of=jul(27)))
    assert "team-over-capacity" in codes(check(plan, as_of=jul(26)))


@pytest.mark.parametrize("change", ["proposed", "no-capacity", "enough-capacity"])
def test_not_over_capacity(change: str) -> None:
    status = InitiativeStatus.PROPOSED if change == "proposed" else InitiativeStatus.PLANNED
    plan = with_initiatives(
        clean_plan(),
        ini("big", jul(13), jul(26), effort=30, status=status, krs=("growth/signups",)),
    )
    if change != "proposed":
        plan = replace(plan, teams=(team("web", 0 if change == "no-capacity" else 20),))
    assert "team-over-capacity" not in codes(check(plan))


# --- output-without-outcome ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "tasks", "kr_status", "fires"),
    [
        (InitiativeStatus.IN_PROGRESS, (8, 10), Status.OFF_TRACK, True),
        (InitiativeStatus.DONE, (0, 0), Status.OFF_TRACK, True),
        (InitiativeStatus.IN_PROGRESS, (7, 10), Status.OFF_TRACK, False),
        (InitiativeStatus.IN_PROGRESS, (10, 10), Status.AT_RISK, False),
        (InitiativeStatus.DONE, (0, 0), Status.ON_TRACK, False),
    ],
)
def test_output_without_outcome(
    status: InitiativeStatus, tasks: tuple[int, int], kr_status: Status, fires: bool
) -> None:
    plan = clean_plan()
    work = replace(plan.initiatives[0], status=status, tasks_done=tasks[0], tasks_total=tasks[1])
    plan = replace(plan, initiatives=(work,))
    findings = check(plan, okr=report(AS_OF, result("growth/signups", kr_status)))
    assert codes(findings) == (["output-without-outcome"] if fires else [])
    if fires:
        assert findings[0].objects == ("initiative:launch", "kr:growth/signups")


def test_output_done_share_is_a_setting() -> None:
    plan = clean_plan()
    work = replace(plan.initiatives[0], tasks_done=7, tasks_total=10)
    plan = replace(plan, initiatives=(work,))
    okr = report(AS_OF, result("growth/signups", Status.OFF_TRACK))
    assert check(plan, okr=okr) == []  # 70% done is not "mostly done" at the default 0.8
    lower = replace(plan, settings=replace(plan.settings, output_done_share=Decimal("0.6")))
    findings = check(lower, okr=okr)
    assert codes(findings) == ["output-without-outcome"]
    assert "has 7 of 10 tasks done" in findings[0].message


# --- kr-stale ----------------------------------------------------------------------------


def test_kr_stale() -> None:
    findings = check(clean_plan(), as_of=date(2026, 7, 25))
    assert codes(findings) == ["kr-stale"]
    assert "no check-in since 2026-07-10 (15 days, more than 14)" in findings[0].message
    assert check(clean_plan(), as_of=jul(24)) == []


def test_kr_stale_without_any_check_in_counts_from_the_cycle_start() -> None:
    plan = replace(clean_plan(), key_results=(keyresult("growth/signups"),))
    assert check(plan, as_of=jul(15)) == []
    findings = check(plan, as_of=jul(16))
    assert codes(findings) == ["kr-stale"]
    assert "since the cycle began" in findings[0].message


@pytest.mark.parametrize("state", [CycleState.PLANNING, CycleState.CLOSED])
def test_kr_stale_only_in_active_cycles(state: CycleState) -> None:
    plan = replace(clean_plan(), cycles=(cycle(state=state),))
    assert "kr-stale" not in codes(check(plan, as_of=date(2026, 8, 25)))


def test_a_done_key_result_is_never_stale() -> None:
    plan = clean_plan()
    okr = report(AS_OF, result("growth/signups", Status.DONE, 1))
    assert check(plan, as_of=date(2026, 8, 25), okr=okr) == []


def test_a_held_maintain_key_result_still_goes_stale() -> None:
    # Holding its threshold makes a maintain key result `done`; only weekly check-ins show it
    # still holds, so it goes stale like any other (and needs no initiative to cover it).
    plan = replace(
        clean_plan(),
        key_results=(keyresult("growth/uptime", kind=KeyResultKind.MAINTAIN, checkins=(jul(10),)),),
        initiatives=(),
    )
    okr = report(AS_OF, result("growth/uptime", Status.DONE, 1))
    findings = check(plan, as_of=date(2026, 7, 25), okr=okr)
    assert codes(findings) == ["kr-stale"]
    assert findings[0].objects == ("kr:growth/uptime",)
    assert check(plan, as_of=jul(24), okr=okr) == []


def test_stale_after_days_is_a_setting() -> None:
    plan = clean_plan()
    plan = replace(plan, settings=replace(plan.settings, stale_after_days=3))
    assert codes(check(plan)) == ["kr-stale"]


# --- objectives ------------------------------------------------------------------------------


def test_objective_without_krs() -> None:
    plan = clean_plan()
    plan = replace(plan, objectives=(*plan.objectives, objective("empty")))
    findings = check(plan)
    assert codes(findings) == ["objective-without-krs"]
    assert findings[0].objects == ("objective:empty",)


def test_an_objective_rolling_up_children_needs_no_krs() -> None:
    plan = clean_plan()
    child = objective("child", aligns_to=(AlignmentLink(parent_objective="umbrella"),))
    plan = replace(
        plan,
        settings=replace(plan.settings, rollup=RollupMode.CHILDREN),
        objectives=(*plan.objectives, objective("umbrella"), child),
        key_results=(*plan.key_results, keyresult("child/x")),
    )
    plan = with_initiatives(plan, ini("x", jul(1), jul(5), krs=("child/x",)))
    assert check(plan) == []


def test_objective_too_many_krs_is_info() -> None:
    plan = clean_plan()
    krs = tuple(keyresult(f"growth/k{i}", checkins=(jul(10),)) for i in range(6))
    work = replace(
        plan.initiatives[0],
        key_results=tuple(
            replace(plan.initiatives[0].key_results[0], key_result=k.key) for k in krs
        ),
    )
    findings = check(replace(plan, key_results=krs, initiatives=(work,)))
    assert codes(findings) == ["objective-too-many-krs"]
    assert findings[0].severity == Severity.INFO
    five = replace(
        plan, key_results=krs[:5], initiatives=(replace(work, key_results=work.key_results[:5]),)
    )
    assert check(five) == []


def test_team_too_many_objectives() -> None:
    plan = clean_plan()
    objectives = tuple(objective(f"o{i}") for i in range(6))
    krs = tuple(keyresult(f"o{i}/k", checkins=(jul(10),)) for i in range(6))
    work = replace(
        plan.initiatives[0],
        key_results=tuple(
            replace(plan.initiatives[0].key_results[0], key_result=k.key) for k in krs
        ),
    )
    findings = check(replace(plan, objectives=objectives, key_results=krs, initiatives=(work,)))
    assert codes(findings) == ["team-too-many-objectives"]
    assert findings[0].objects[:2] == ("team:web", "cycle:q3")
    assert len(findings[0].objects) == 8
    other_team = replace(objectives[5], team_key="mobile")
    spread = replace(
        plan, objectives=(*objectives[:5], other_team), key_results=krs, initiatives=(work,)
    )
    assert check(spread) == []


# --- linked-to-closed-objective ----------------------------------------------------------------


@pytest.mark.parametrize("state", [ObjectiveState.CLOSED, ObjectiveState.CANCELLED])
def test_linked_to_closed_objective(state: ObjectiveState) -> None:
    plan = replace(clean_plan(), objectives=(objective("growth", state=state),))
    findings = check(plan)
    assert codes(findings) == ["linked-to-closed-objective"]
    assert findings[0].objects == ("initiative:launch", "kr:growth/signups", "objective:growth")
    assert state.value in findings[0].message


def test_done_work_on_a_closed_objective_is_fine() -> None:
    plan = replace(clean_plan(), objectives=(objective("growth", state=ObjectiveState.CLOSED),))
    plan = replace(plan, initiatives=(replace(plan.initiatives[0], status=InitiativeStatus.DONE),))
    assert check(plan) == []


def test_an_objective_aligned_to_a_closed_objective() -> None:
    plan = clean_plan()
    old = objective("old", state=ObjectiveState.CLOSED)
    child = objective("child", aligns_to=(AlignmentLink(parent_key_result="old/x"),))
    plan = replace(
        plan,
        objectives=(*plan.objectives, old, child),
        key_results=(*plan.key_results, keyresult("old/x"), keyresult("child/y")),
    )
    plan = with_initiatives(plan, ini("y", jul(1), jul(5), krs=("child/y",)))
    findings = check(plan)
    assert codes(findings) == ["linked-to-closed-objective"]
    assert findings[0].objects == ("objective:child", "kr:old/x", "objective:old")


# --- over-budget ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "cost", "fires", "phrase"),
    [
        (81, 500, True, "81 hours logged of 80 planned"),
        (40, 1001, True, "cost 1001 of a 1000 budget"),
        (90, 2000, True, "90 hours logged of 80 planned and cost 2000 of a 1000 budget"),
        (80, 1000, False, ""),
    ],
)
def test_over_budget(hours: int, cost: int, fires: bool, phrase: str) -> None:
    plan = clean_plan()
    work = replace(plan.initiatives[0], logged_hours=Decimal(hours), actual_cost=Decimal(cost))
    findings = check(replace(plan, initiatives=(work,)))
    assert codes(findings) == (["over-budget"] if fires else [])
    if fires:
        assert phrase in findings[0].message


def test_a_done_initiative_over_budget_is_still_reported() -> None:
    plan = clean_plan()
    done = replace(
        plan.initiatives[0], status=InitiativeStatus.DONE, actual_cost=Decimal(1500), end=jul(10)
    )
    assert codes(check(replace(plan, initiatives=(done,)))) == ["over-budget"]


def test_no_plan_means_no_overrun() -> None:
    plan = clean_plan()
    work = replace(plan.initiatives[0], budget=None, planned_hours=None, logged_hours=Decimal(999))
    assert check(replace(plan, initiatives=(work,))) == []


# --- order --------------------------------------------------------------------------------


def test_findings_are_sorted_by_severity_then_code_then_objects() -> None:
    plan = clean_plan()
    krs = tuple(keyresult(f"growth/k{i}", checkins=(jul(10),)) for i in range(6))
    plan = replace(plan, key_results=(*plan.key_results, *krs))
    plan = with_initiatives(
        plan,
        ini("zed", jul(1), jul(5)),
        ini("abe", jul(1), jul(5)),
        ini("follow", jul(20), jul(31), krs=("growth/k0",)),
    )
    plan = replace(plan, dependencies=(dep("launch", "follow"),))
    findings = check(plan)
    ranks = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    keys = [(ranks[f.severity], f.code, f.objects) for f in findings]
    assert keys == sorted(keys)
    assert findings[0].code == "dependency-violated"
    assert findings[-1].code == "objective-too-many-krs"
    unaligned = only(findings, "initiative-unaligned")
    assert [f.objects for f in unaligned] == [("initiative:abe",), ("initiative:zed",)]
    assert check(plan) == findings  # deterministic


def test_after_check_ins_only_the_checks_that_read_them_run_again() -> None:
    """`evaluate_roadmap(..., same_but_checkins=...)` keeps the findings of the checks that
    read no check-in and computes the others anew (with ``changed``: for those key results
    alone, and the priorities of the initiatives linked to them): exactly the report of a full
    evaluation, with the check-in findings changed (stale, uncovered, output without outcome)
    and the others (over budget) carried."""
    from milepost.engine.health import CHECKIN_CODES
    from milepost.engine.model import CheckInPoint
    from milepost.engine.okr import evaluate_okrs

    as_of = jul(31)
    before = Plan(
        teams=(team("web", 10),),
        cycles=(cycle(),),
        objectives=(objective("growth"),),
        key_results=(
            keyresult("growth/stale", checkins=(jul(1),)),
            keyresult("growth/moved", due=jul(31), checkins=(jul(20),)),
            keyresult("growth/alone", checkins=(jul(20),)),
        ),
        initiatives=(
            ini("shipped", jul(1), jul(10), status=InitiativeStatus.DONE, krs=("growth/moved",)),
            ini("ongoing", jul(1), jul(31), krs=("growth/stale",), budget=100, actual_cost=500),
        ),
    )

    def checked_in(plan: Plan, values: dict[str, int]) -> Plan:
        return replace(
            plan,
            key_results=tuple(
                replace(kr, checkins=(*kr.checkins, CheckInPoint(as_of, Decimal(values[kr.key]))))
                if kr.key in values
                else kr
                for kr in plan.key_results
            ),
        )

    changed = {"growth/stale": 50, "growth/moved": 100, "growth/alone": 100}
    after = checked_in(before, changed)
    kept = evaluate_roadmap(before, as_of, evaluate_okrs(before, as_of))
    okr = evaluate_okrs(after, as_of)
    full = evaluate_roadmap(after, as_of, okr)
    patched = evaluate_roadmap(after, as_of, okr, same_but_checkins=kept)
    assert patched == full
    # Told which key results changed, the checks look at those alone and carry the rest.
    named = evaluate_roadmap(after, as_of, okr, same_but_checkins=kept, changed=changed)
    assert named == full
    one = checked_in(before, {"growth/moved": 100})
    okr_one = evaluate_okrs(one, as_of)
    assert evaluate_roadmap(
        one, as_of, okr_one, same_but_checkins=kept, changed={"growth/moved"}
    ) == evaluate_roadmap(one, as_of, okr_one)

    codes_before = {f.code for f in kept.findings}
    codes_after = {f.code for f in full.findings}
    assert codes_before >= CHECKIN_CODES  # every check-in finding was there ...
    assert not CHECKIN_CODES & codes_after  # ... and the check-ins cleared them all
    assert "over-budget" in codes_after  # carried from the kept report
