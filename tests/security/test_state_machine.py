"""A model-based test of data integrity: hypothesis drives random sequences of the OKR services
(create, check in, correct, align, re-align, edit a target, archive, restore, close the cycle,
carry over) and after every step checks that

- the stored progress of every key result and objective equals a full engine recompute;
- the alignment graph has no loop;
- the audit log accounts for every change: each row created, changed or removed by the step
  (derived columns aside) has a new audit event naming it, by the acting person;
- a refused step (a domain error) changed nothing at all.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Model
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from milepost.audit.models import AuditEvent
from milepost.errors import DomainError
from milepost.okrs import services
from milepost.okrs.engine_io import (
    KR_STORED_FIELDS,
    OBJECTIVE_STORED_FIELDS,
    Recomputed,
    organization_today,
    recompute_organization,
)
from milepost.okrs.models import Alignment, CheckIn, Cycle, KeyResult, Objective, Retrospective
from milepost.organizations.access import actor_for
from milepost.organizations.models import Role
from tests import factories

pytestmark = pytest.mark.django_db

# Columns that follow from others (the engine's cache, versions, timestamps): a change there
# is not a change someone made, and needs no audit event of its own.
DERIVED = {"version", "updated_at", "created_at"}
DERIVED_BY_MODEL: dict[type[Model], set[str]] = {
    KeyResult: {*KR_STORED_FIELDS},
    Objective: {*OBJECTIVE_STORED_FIELDS},
}
TRACKED: tuple[type[Model], ...] = (Cycle, Objective, KeyResult, CheckIn, Alignment, Retrospective)
KINDS = {
    "increase": (Decimal(0), Decimal(100)),
    "decrease": (Decimal(100), Decimal(20)),
    "binary": (Decimal(0), Decimal(1)),
}


def _columns(model: type[Model]) -> list[str]:
    skip = DERIVED | DERIVED_BY_MODEL.get(model, set())
    return [f.attname for f in model._meta.concrete_fields if f.name not in skip]


def _rows(organization_id: int) -> dict[tuple[str, int], dict[str, Any]]:
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for model in TRACKED:
        name = model._meta.model_name or ""
        manager = model._base_manager
        for row in manager.filter(organization_id=organization_id).values(*_columns(model)):
            rows[(name, row["id"])] = row
    return rows


def _loops(organization_id: int) -> list[int]:
    """Objectives on an alignment loop (empty when the graph is acyclic)."""
    parents: dict[int, set[int]] = {}
    for child, parent_objective, kr_objective in Alignment.objects.filter(
        organization_id=organization_id
    ).values_list("child_id", "parent_objective_id", "parent_key_result__objective_id"):
        parents.setdefault(child, set()).add(parent_objective or kr_objective)
    state: dict[int, int] = {}  # 1 visiting, 2 done
    on_loop: list[int] = []

    def visit(node: int) -> None:
        state[node] = 1
        for parent in parents.get(node, ()):
            if state.get(parent) == 1:
                on_loop.append(parent)
            elif parent not in state:
                visit(parent)
        state[node] = 2

    for node in list(parents):
        if node not in state:
            visit(node)
    return on_loop


class OkrMachine(RuleBasedStateMachine):
    objectives = Bundle("objectives")
    key_results = Bundle("key_results")
    checkins = Bundle("checkins")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()  # every example starts from the same empty database
        self.org = factories.make_org("Machine", f"machine-{id(self)}")
        user = factories.make_member(self.org, Role.ADMIN)
        self.user_id = user.pk
        self.actor = actor_for(user, self.org)
        today = organization_today(self.org)
        self.current = services.create_cycle(
            actor=self.actor,
            key="now",
            name="Now",
            start_date=today - dt.timedelta(days=30),
            end_date=today + dt.timedelta(days=60),
        )
        services.activate_cycle(actor=self.actor, cycle=self.current)
        self.next = services.create_cycle(
            actor=self.actor,
            key="next",
            name="Next",
            start_date=today + dt.timedelta(days=61),
            end_date=today + dt.timedelta(days=150),
        )
        self.serial = 0
        self.closed = False
        self.steps = {"done": 0, "refused": 0}
        self._mark()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- running a step -----------------------------------------------------------------

    def _mark(self) -> None:
        self.rows = _rows(self.org.pk)
        self.last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    def _key(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def attempt(self, action: Any) -> Any:
        """Run one service call; a refusal must leave every row as it was."""
        try:
            with transaction.atomic():
                result = action()
        except DomainError:
            self.steps["refused"] += 1
            assert _rows(self.org.pk) == self.rows, "a refused step changed data"
            assert self._new_events().count() == 0, "a refused step wrote an audit event"
            return None
        self.steps["done"] += 1
        self._check_audit()
        return result

    def _new_events(self) -> Any:
        events = AuditEvent.objects.filter(organization_id=self.org.pk)
        return events.filter(id__gt=self.last_event) if self.last_event else events

    def _check_audit(self) -> None:
        after = _rows(self.org.pk)
        changed = {k for k in after.keys() | self.rows.keys() if after.get(k) != self.rows.get(k)}
        events = list(self._new_events().values("target_type", "target_id", "actor_id", "before"))
        audited = {(e["target_type"], e["target_id"]) for e in events}
        unaudited = sorted(changed - audited)
        assert not unaudited, f"changes without an audit event: {unaudited}"
        assert all(e["actor_id"] == self.user_id for e in events), "an event lost its actor"
        self._mark()

    @staticmethod
    def _pick(bundle_value: int, model: type[Model]) -> Any:
        return model._base_manager.get(pk=bundle_value)

    # --- rules --------------------------------------------------------------------------

    @initialize(target=key_results)
    def a_plan_to_start_from(self) -> Any:
        """An objective with two key results, so that check-ins start at the first step."""
        objective = services.create_objective(
            actor=self.actor, cycle=self.current, key="start", title="Start", state="active"
        )
        krs = [
            services.create_key_result(
                actor=self.actor,
                objective=objective,
                key=f"start-{kind}",
                title="Start",
                kind=kind,
                start_value=KINDS[kind][0],
                target_value=KINDS[kind][1],
            )
            for kind in ("increase", "binary")
        ]
        self._mark()
        return multiple(*[kr.pk for kr in krs])

    @rule(target=objectives, in_next=st.booleans(), parent=st.none() | objectives)
    def create_objective(self, in_next: bool, parent: int | None) -> Any:
        cycle = self.next if in_next else self.current
        objective = self.attempt(
            lambda: services.create_objective(
                actor=self.actor,
                cycle=Cycle.objects.get(pk=cycle.pk),
                key=self._key("o"),
                title="Objective",
                state="draft" if in_next else "active",
            )
        )
        if objective is None:
            return multiple()
        if parent is not None:
            self.attempt(
                lambda: services.align_objective(
                    actor=self.actor,
                    child=objective,
                    parent_objective=self._pick(parent, Objective),
                )
            )
        return objective.pk

    @rule(target=key_results, objective=objectives, kind=st.sampled_from(sorted(KINDS)))
    def create_key_result(self, objective: int, kind: str) -> Any:
        start, target = KINDS[kind]
        kr = self.attempt(
            lambda: services.create_key_result(
                actor=self.actor,
                objective=self._pick(objective, Objective),
                key=self._key("k"),
                title="Key result",
                kind=kind,
                start_value=start,
                target_value=target,
            )
        )
        return multiple() if kr is None else kr.pk

    @rule(
        target=checkins,
        kr=key_results,
        value=st.integers(min_value=0, max_value=150),
        confidence=st.none() | st.integers(min_value=0, max_value=10),
        days_ago=st.integers(min_value=0, max_value=20),
        retry=st.booleans(),
    )
    def check_in(
        self, kr: int, value: int, confidence: int | None, days_ago: int, retry: bool
    ) -> Any:
        row = self._pick(kr, KeyResult)
        amount = Decimal(value % 2 if row.kind == "binary" else value)
        key = self._key("idem")

        def record() -> CheckIn:
            return services.record_checkin(
                actor=self.actor,
                key_result=row,
                value=amount,
                confidence=confidence,
                effective_date=organization_today(self.org) - dt.timedelta(days=days_ago),
                idempotency_key=key,
            )

        checkin = self.attempt(record)
        if checkin is None:
            return multiple()
        if retry:  # the same Idempotency-Key again: the first check-in, nothing written
            again = self.attempt(record)
            assert again is not None
            assert again.pk == checkin.pk
        return checkin.pk

    @rule(checkin=checkins, value=st.integers(min_value=0, max_value=150))
    def correct(self, checkin: int, value: int) -> None:
        row = self._pick(checkin, CheckIn)
        amount = Decimal(value % 2 if row.key_result.kind == "binary" else value)
        self.attempt(lambda: services.correct_checkin(actor=self.actor, checkin=row, value=amount))

    @rule(child=objectives, parent=objectives, to_key_result=st.booleans(), data=st.data())
    def align(self, child: int, parent: int, to_key_result: bool, data: st.DataObject) -> None:
        parent_row = self._pick(parent, Objective)
        krs = list(KeyResult.objects.filter(objective=parent_row).values_list("pk", flat=True))
        if to_key_result and krs:
            kr = KeyResult.objects.get(pk=data.draw(st.sampled_from(krs)))
            self.attempt(
                lambda: services.align_objective(
                    actor=self.actor, child=self._pick(child, Objective), parent_key_result=kr
                )
            )
        else:
            self.attempt(
                lambda: services.align_objective(
                    actor=self.actor,
                    child=self._pick(child, Objective),
                    parent_objective=parent_row,
                )
            )

    @precondition(lambda self: Alignment.objects.filter(organization=self.org).exists())
    @rule(new_parent=objectives, data=st.data())
    def realign(self, new_parent: int, data: st.DataObject) -> None:
        links = list(Alignment.objects.filter(organization=self.org).order_by("pk"))
        link = data.draw(st.sampled_from(links))
        child = link.child

        def move() -> None:
            services.unalign_objective(actor=self.actor, alignment=link)
            services.align_objective(
                actor=self.actor, child=child, parent_objective=self._pick(new_parent, Objective)
            )

        self.attempt(move)

    @rule(kr=key_results, new_target=st.integers(min_value=1, max_value=300))
    def change_target(self, kr: int, new_target: int) -> None:
        row = self._pick(kr, KeyResult)
        value = Decimal(1) if row.kind == "binary" else Decimal(new_target)
        self.attempt(
            lambda: services.update_key_result(
                actor=self.actor, key_result=row, changes={"target_value": value}
            )
        )

    @rule(objective=objectives, restore=st.booleans())
    def archive_or_restore_objective(self, objective: int, restore: bool) -> None:
        row = self._pick(objective, Objective)
        call = services.restore_objective if restore else services.archive_objective
        self.attempt(lambda: call(actor=self.actor, objective=row))

    @rule(kr=key_results, restore=st.booleans())
    def archive_or_restore_key_result(self, kr: int, restore: bool) -> None:
        row = self._pick(kr, KeyResult)
        call = services.restore_key_result if restore else services.archive_key_result
        self.attempt(lambda: call(actor=self.actor, key_result=row))

    # Late in a run only: a closed cycle refuses most of what follows.
    @precondition(lambda self: not self.closed and self.steps["done"] >= 10)
    @rule()
    def close_current_cycle(self) -> None:
        def close() -> Cycle:
            cycle = Cycle.objects.get(pk=self.current.pk)
            for objective in services.missing_retrospectives(cycle):
                services.skip_objective_retrospective(actor=self.actor, objective=objective)
            return services.close_cycle(actor=self.actor, cycle=cycle)

        if self.attempt(close) is not None:
            self.closed = True

    @rule(target=key_results, kr=consumes(key_results))
    def carry_over(self, kr: int) -> Any:
        row = self._pick(kr, KeyResult)
        copies = self.attempt(
            lambda: services.carry_over_key_results(
                actor=self.actor,
                key_results=[row],
                target_cycle=Cycle.objects.get(pk=self.next.pk),
            )
        )
        if copies is None:
            return kr
        return multiple(kr, *[c.pk for c in copies if c.pk != kr])

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def stored_progress_equals_a_full_recompute(self) -> None:
        with transaction.atomic():
            assert recompute_organization(self.org) == Recomputed(0, 0)
            transaction.set_rollback(True)  # look, do not repair

    @invariant()
    def alignment_has_no_loop(self) -> None:
        assert _loops(self.org.pk) == []


def test_the_services_keep_progress_alignment_and_audit_consistent() -> None:
    run_state_machine_as_test(
        OkrMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_the_audit_check_catches_an_unaudited_change() -> None:
    """The machine's audit check is not vacuous: a write behind the services' back fails it."""
    machine = OkrMachine()
    try:
        objective = services.create_objective(
            actor=machine.actor, cycle=machine.current, key="o", title="T", state="active"
        )
        machine._mark()
        Objective.objects.filter(pk=objective.pk).update(title="changed quietly")
        with pytest.raises(AssertionError, match="without an audit event"):
            machine._check_audit()
    finally:
        machine.teardown()
