"""Writes for key results and their check-ins (re-exported by `milepost.okrs.services`).

* A key result's current value changes only through a check-in. Check-ins are append-only: a
  correction is a new check-in that replaces the one it corrects in the history.
* A check-in's effective date is a calendar date in the organization's time zone (default:
  today there), on or after its cycle's start and not in the future (`checkin_date_error`,
  also applied by the plan import). The same ``idempotency_key`` (per organization) returns
  the first check-in and writes nothing.
* A check-in, a correction, or an edit of a key result's numbers refreshes the stored progress
  of the key result and of every objective above it in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.utils import timezone

from milepost.accounts.models import User
from milepost.audit.services import record_event, snapshot
from milepost.engine.model import KeyResultKind
from milepost.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from milepost.integrations.webhooks import emit_checkin_events
from milepost.okrs.access import can_check_in, can_edit_key_result
from milepost.okrs.cycles import require_open_cycle
from milepost.okrs.engine_io import (
    KR_STORED_FIELDS,
    organization_today,
    recompute_key_result_and_ancestors,
    recompute_objectives_and_ancestors,
)
from milepost.okrs.models import CheckIn, CheckInSource, Cycle, KeyResult, Objective
from milepost.okrs.querysets import can_see_objective
from milepost.okrs.validation import (
    FieldErrors,
    check_user,
    clean_date,
    clean_decimal,
    clean_required_date,
    lock_key_result,
    lock_objective,
    named_fields,
    require_in_org,
    sync_fields,
    with_field_names,
)
from milepost.organizations.access import Actor
from milepost.prepared import PreparedRows
from milepost.servicekit import (
    apply_update,
    archive,
    check_version,
    create_audited,
    invalid_from,
    restore,
)

if TYPE_CHECKING:
    from milepost.organizations.models import Organization

ARCHIVE_FIELDS = ("archived_at", "version", "updated_at")
KEY_RESULT_FIELDS = (
    "key",
    "title",
    "description",
    "kind",
    "unit",
    "start_value",
    "target_value",
    "weight",
    "owner",
    "due_date",
    "curve",
    "maintain_direction",
)
# Key-result fields whose change moves its numbers (and so its objectives').
KEY_RESULT_NUMBER_FIELDS = frozenset(KEY_RESULT_FIELDS) - {
    "key",
    "title",
    "description",
    "unit",
    "owner",
}


# --- key results ------------------------------------------------------------------------------


def _check_key_result(
    errors: FieldErrors,
    actor: Actor,
    cycle: Cycle,
    *,
    kind: str,
    start: Decimal,
    target: Decimal,
    due_date: dt.date | None,
    owner: User | None,
    check: Collection[str] = KEY_RESULT_FIELDS,
) -> None:
    if (
        kind == KeyResultKind.BINARY
        and "start_value" not in errors
        and "target_value" not in errors
    ):
        if start != 0:
            errors.add("start_value", "a binary key result starts at 0 (not done)")
        if target != 1:
            errors.add("target_value", "a binary key result has target 1 (done)")
    if due_date is not None and (due_date < cycle.start_date or due_date > cycle.end_date):
        errors.add(
            "due_date",
            f"must be inside the cycle {cycle.key} ({cycle.start_date} to {cycle.end_date})",
        )
    if "owner" in check:
        check_user(errors, actor, "owner", owner)


@transaction.atomic
def create_key_result(
    *,
    actor: Actor,
    objective: Objective,
    key: str,
    title: str,
    kind: str,
    start_value: Decimal,
    target_value: Decimal,
    unit: str = "",
    weight: Decimal = Decimal(1),
    owner: User | None = None,
    due_date: dt.date | None = None,
    curve: str = "linear",
    maintain_direction: str = "at_least",
    description: str = "",
) -> KeyResult:
    """Add a key result to an objective (whoever may change the objective). Its current
    value starts at the start value and then changes only through check-ins. The due date
    (default: the cycle's end) lies inside the cycle."""
    locked = lock_objective(actor, objective)
    if locked.archived_at is not None:
        raise InvalidInput.field("objective", "the objective is archived")
    require_open_cycle(locked.cycle)
    errors = FieldErrors()
    start = clean_decimal(errors, "start_value", start_value)
    target = clean_decimal(errors, "target_value", target_value)
    weight = clean_decimal(errors, "weight", weight)
    due = clean_date(errors, "due_date", due_date)
    _check_key_result(
        errors,
        actor,
        locked.cycle,
        kind=kind,
        start=start,
        target=target,
        due_date=due,
        owner=owner,
    )
    errors.raise_if_any()
    kr = KeyResult(
        organization_id=actor.organization_id,
        objective=locked,
        key=key,
        title=title.strip(),
        description=description,
        kind=kind,
        unit=unit,
        start_value=start,
        target_value=target,
        current_value=start,
        weight=weight,
        owner=owner,
        due_date=due,
        curve=curve,
        maintain_direction=maintain_direction,
    )
    with named_fields(KeyResult):
        create_audited(actor=actor, instance=kr)
    recompute_objectives_and_ancestors(actor.organization, key_result_ids={kr.pk})
    kr.refresh_from_db(fields=list(KR_STORED_FIELDS))
    return kr


def _require_key_result_editor(actor: Actor, kr: KeyResult) -> None:
    if not can_edit_key_result(actor, kr):
        raise PermissionDenied(
            "You may only change key results that you own, or of objectives that you own or "
            "that belong to your teams."
        )


@transaction.atomic
def update_key_result(
    *,
    actor: Actor,
    key_result: KeyResult,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> KeyResult:
    """Change a key result's definition (never its current value: that is a check-in).
    A change to its numbers refreshes its progress and its objectives'."""
    if "current_value" in changes:
        raise InvalidInput.field(
            "current_value", "changes only through a check-in (record a check-in instead)"
        )
    require_in_org(actor, key_result, "Key result")
    locked = lock_key_result(actor, key_result.pk)
    _require_key_result_editor(actor, locked)
    require_open_cycle(locked.objective.cycle)
    changes = dict(changes)
    errors = FieldErrors()
    for name in ("start_value", "target_value", "weight"):
        if name in changes:
            changes[name] = clean_decimal(errors, name, changes[name])
    if "due_date" in changes:
        changes["due_date"] = clean_date(errors, "due_date", changes["due_date"])
    _check_key_result(
        errors,
        actor,
        locked.objective.cycle,
        kind=changes.get("kind", locked.kind),
        start=changes.get("start_value", locked.start_value),
        target=changes.get("target_value", locked.target_value),
        due_date=changes.get("due_date", locked.due_date),
        owner=changes.get("owner", locked.owner),
        check=set(changes),
    )
    errors.raise_if_any()
    with named_fields(KeyResult):
        updated = apply_update(
            actor=actor,
            instance=locked,
            changes=changes,
            allowed=KEY_RESULT_FIELDS,
            expected_version=expected_version,
        )
    if KEY_RESULT_NUMBER_FIELDS & set(changes):
        recompute_objectives_and_ancestors(actor.organization, key_result_ids={updated.pk})
        updated.refresh_from_db(fields=list(KR_STORED_FIELDS))
    return updated


@transaction.atomic
def archive_key_result(
    *, actor: Actor, key_result: KeyResult, expected_version: int | None = None
) -> KeyResult:
    """Archive a key result; its objective's progress no longer counts it."""
    require_in_org(actor, key_result, "Key result")
    locked = lock_key_result(actor, key_result.pk)
    _require_key_result_editor(actor, locked)
    require_open_cycle(locked.objective.cycle)
    archived = archive(actor=actor, instance=locked, expected_version=expected_version)
    sync_fields(key_result, archived, ARCHIVE_FIELDS)
    recompute_objectives_and_ancestors(actor.organization, objective_ids={archived.objective_id})
    return archived


@transaction.atomic
def restore_key_result(
    *, actor: Actor, key_result: KeyResult, expected_version: int | None = None
) -> KeyResult:
    """Bring an archived key result back (its history is intact)."""
    require_in_org(actor, key_result, "Key result")
    locked = lock_key_result(actor, key_result.pk)
    _require_key_result_editor(actor, locked)
    require_open_cycle(locked.objective.cycle)
    check_version(locked, expected_version)
    restored = restore(actor=actor, instance=locked)
    sync_fields(key_result, restored, ARCHIVE_FIELDS)
    recompute_objectives_and_ancestors(actor.organization, key_result_ids={restored.pk})
    restored.refresh_from_db(fields=list(KR_STORED_FIELDS))
    return restored


# --- check-ins --------------------------------------------------------------------------------


def _require_checkin_rights(actor: Actor, kr: KeyResult) -> None:
    if not can_check_in(actor, kr):
        raise PermissionDenied(
            "Only the key result's owner, its objective's owner or team, and admins check in."
        )


def _hidden_by_archive(kr: KeyResult) -> bool:
    """Archived itself, or with its objective or cycle (a key result read with both)."""
    objective = kr.objective
    return (
        kr.archived_at is not None
        or objective.archived_at is not None
        or objective.cycle.archived_at is not None
    )


def _require_live(kr: KeyResult) -> None:
    if kr.archived_at is not None:
        raise Conflict("The key result is archived; restore it before checking in.")
    if _hidden_by_archive(kr):
        raise Conflict("The key result's objective or cycle is archived; restore it first.")
    require_open_cycle(kr.objective.cycle)


def _check_value(errors: FieldErrors, kr: KeyResult, value: Any) -> Decimal:
    number = clean_decimal(errors, "value", value)
    if "value" not in errors and kr.kind == KeyResultKind.BINARY and number not in (0, 1):
        errors.add("value", "a binary key result takes 0 (not done) or 1 (done)")
    return number


def _check_confidence(errors: FieldErrors, confidence: Any) -> None:
    # The range is the database constraint's (reported with its message); the type is not.
    if confidence is not None and (isinstance(confidence, bool) or not isinstance(confidence, int)):
        errors.add("confidence", "must be a whole number from 0 to 10")


# Set by the service itself; skipping their validation saves a query each (and leaves the
# idempotency key's uniqueness to the database, where a race is caught and answered).
_CHECKIN_TRUSTED = ("organization", "key_result", "author", "corrects")
_CONFIDENCE_MESSAGE = next(
    str(c.violation_error_message)
    for c in CheckIn._meta.constraints
    if c.name == "checkin_confidence_0_10"
)


def _insert_checkin(checkin: CheckIn) -> bool:
    """Validate and insert; False if the database refused it as a duplicate (a race).

    The fields are validated in Python; of the named constraints, the confidence range is
    checked here (Django would ask the database, a query per check-in) and the other two
    cannot fail for a new row but for a race on a unique value (the idempotency key, the
    check-in corrected), which the database catches: only then is a savepoint needed.
    """
    try:
        checkin.full_clean(
            exclude=list(_CHECKIN_TRUSTED), validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        raise with_field_names(CheckIn, invalid_from(exc)) from exc
    if checkin.confidence is not None and checkin.confidence > 10:
        raise InvalidInput.field("confidence", _CONFIDENCE_MESSAGE)
    if checkin.idempotency_key is None and checkin.corrects_id is None:
        checkin.save(force_insert=True)
        return True
    try:
        with transaction.atomic():
            checkin.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _replay(actor: Actor, kr: KeyResult, idempotency_key: str) -> CheckIn | None:
    """The check-in already recorded under this key, if any (for this key result only)."""
    existing = CheckIn.objects.filter(
        organization_id=actor.organization_id, idempotency_key=idempotency_key
    ).first()
    if existing is not None and existing.key_result_id != kr.pk:
        raise Conflict(
            "This Idempotency-Key was already used for a check-in on another key result.",
            errors={"idempotency_key": ["already used for another key result"]},
        )
    return existing


def _after_checkin(
    actor: Actor,
    kr: KeyResult,
    caller: KeyResult | None,
    today: dt.date | None = None,
    *,
    audit: Callable[[dict[str, Any]], object],
) -> None:
    """Bump the key result's version, refresh its numbers (one UPDATE of the key result),
    call ``audit`` with its new state, then refresh its objectives'. The audit insert comes
    before the objectives are locked: they are locked last, just before the commit (issue 9,
    W2: every check-in under one objective waits on its row lock)."""

    def written() -> None:
        if caller is not None:
            sync_fields(caller, kr, ["version", "updated_at", *KR_STORED_FIELDS])
        audit(
            {
                "current_value": str(kr.current_value),
                "progress": str(kr.progress),
                "status": kr.status,
            }
        )

    recompute_key_result_and_ancestors(
        kr,
        organization=actor.organization,
        as_of=today,
        also_write={"version": kr.version + 1, "updated_at": timezone.now()},
        before_rollup=written,
    )


_KR_COLUMNS = [f.attname for f in KeyResult._meta.concrete_fields]
_OBJECTIVE_COLUMNS = [f.attname for f in Objective._meta.concrete_fields]
_CYCLE_COLUMNS = [f.attname for f in Cycle._meta.concrete_fields]
_OWNER_COLUMNS = [f.attname for f in User._meta.concrete_fields]
# The key result locked for a check-in with its objective, cycle and owner: one query on
# every check-in, compiled once per process (`milepost.prepared`; issue 9, W2).
_LOCK_KEY_RESULT = PreparedRows(
    lambda org, kr: (
        KeyResult.objects.select_for_update(of=("self",))
        .filter(pk=kr, organization_id=org)
        .values_list(
            *_KR_COLUMNS,
            *(f"objective__{c}" for c in _OBJECTIVE_COLUMNS),
            *(f"objective__cycle__{c}" for c in _CYCLE_COLUMNS),
            *(f"owner__{c}" for c in _OWNER_COLUMNS),
        )
    ),
    org=-1,
    kr=-2,
)


def _lock_for_checkin(actor: Actor, key_result_id: int) -> KeyResult:
    """The key result locked for a check-in, with what the check-in reads of it (its
    objective and cycle, its owner for the engine input) in the same query."""
    found = _LOCK_KEY_RESULT.rows(org=actor.organization_id, kr=key_result_id)
    if not found:
        raise NotFound("Key result not found.")
    row = found[0]
    db = DEFAULT_DB_ALIAS
    a, b, c = len(_KR_COLUMNS), len(_OBJECTIVE_COLUMNS), len(_CYCLE_COLUMNS)
    kr = KeyResult.from_db(db, _KR_COLUMNS, row[:a])
    objective = Objective.from_db(db, _OBJECTIVE_COLUMNS, row[a : a + b])
    objective.cycle = Cycle.from_db(db, _CYCLE_COLUMNS, row[a + b : a + b + c])
    kr.objective = objective
    kr.owner = None if kr.owner_id is None else User.from_db(db, _OWNER_COLUMNS, row[a + b + c :])
    return kr


def checkin_date_error(
    day: dt.date, *, cycle_start: dt.date, today: dt.date, org: Organization
) -> str | None:
    """Why `day` cannot be a check-in's effective date, or None when it can.

    The allowed window is from the cycle's start to today in the organization's time zone
    (both included); every way of recording a check-in (web, API, CSV, data sources, plan
    import) applies this one rule. When the cycle starts after today, no date is allowed.
    """
    if cycle_start <= day <= today:
        return None
    window = f"from the cycle's start {cycle_start} to today {today} ({org.timezone})"
    if day > today:
        return f"cannot be in the future: a check-in date must be {window}"
    return f"is before the cycle's start: a check-in date must be {window}"


@transaction.atomic
def record_checkin(
    *,
    actor: Actor,
    key_result: KeyResult | int,
    value: Decimal,
    confidence: int | None = None,
    note: str = "",
    effective_date: dt.date | None = None,
    source: str = CheckInSource.MANUAL,
    idempotency_key: str | None = None,
) -> CheckIn:
    """Record a value (and optionally a confidence from 0 to 10 and a note) for a key result.

    ``key_result`` is a key result or its id. Either way it is read again here, locked, with
    its objective and cycle: one of another organization, or whose objective the actor cannot
    see, is not found (so an endpoint needs no read of its own before calling this; issue 9,
    W2). Given an id, an archived key result (or one of an archived objective or cycle) is not
    found either, as with every lookup by id; given an instance, checking in on it is a
    `Conflict` that says why. An instance gets its new version and stored numbers.

    The effective date defaults to today in the organization's time zone and must be from
    the cycle's start to today (`checkin_date_error`). The key result's current value becomes
    its latest check-in's, and the stored progress and status of the key result and of every
    objective above it are refreshed in the same transaction. Concurrent check-ins on one key
    result are serialised (row lock). The same ``idempotency_key`` returns the first check-in
    and writes nothing.
    """
    if isinstance(key_result, KeyResult):
        caller, key_result_id = key_result, key_result.pk
    else:
        caller, key_result_id = None, key_result
    kr = _lock_for_checkin(actor, key_result_id)
    if not can_see_objective(actor, kr.objective) or (caller is None and _hidden_by_archive(kr)):
        raise NotFound("Key result not found.")
    _require_checkin_rights(actor, kr)
    key = (idempotency_key or "").strip() or None
    if key is not None and (existing := _replay(actor, kr, key)) is not None:
        return existing
    _require_live(kr)
    errors = FieldErrors()
    number = _check_value(errors, kr, value)
    _check_confidence(errors, confidence)
    today = organization_today(actor.organization)
    day = clean_required_date(errors, "effective_date", effective_date or today)
    if "effective_date" not in errors:
        problem = checkin_date_error(
            day, cycle_start=kr.objective.cycle.start_date, today=today, org=actor.organization
        )
        if problem is not None:
            errors.add("effective_date", problem)
    errors.raise_if_any()
    before = {
        "current_value": str(kr.current_value),
        "progress": str(kr.progress),
        "status": kr.status,
    }
    checkin = CheckIn(
        organization_id=actor.organization_id,
        key_result=kr,
        value=number,
        confidence=confidence,
        note=note,
        author=actor.user,
        source=source,
        recorded_at=timezone.now(),
        effective_date=day,
        idempotency_key=key,
    )
    if not _insert_checkin(checkin):
        # Another request with the same key won the race (on another key result, since
        # this one is locked): answer as if it had come first.
        if key is not None and (existing := _replay(actor, kr, key)) is not None:
            return existing
        raise Conflict("The check-in conflicts with one recorded at the same time; try again.")
    _after_checkin(
        actor,
        kr,
        caller,
        today,
        audit=lambda state: record_event(
            actor=actor,
            action="checkin.record",
            target=checkin,
            target_label=f"{kr.objective.key}/{kr.key}: {checkin.value}",
            before=before,
            after={**snapshot(checkin), **state},
        ),
    )
    emit_checkin_events(actor.organization, checkin, kr, before["status"])
    return checkin


@transaction.atomic
def correct_checkin(
    *,
    actor: Actor,
    checkin: CheckIn,
    value: Decimal,
    confidence: int | None = None,
    note: str = "",
) -> CheckIn:
    """Correct a check-in: a new check-in on the same date that replaces it in the history
    (the original stays, marked as corrected). Confidence and note default to the original's.
    Only the latest correction of a check-in can be corrected again."""
    require_in_org(actor, checkin, "Check-in")
    kr = lock_key_result(actor, checkin.key_result_id)
    _require_checkin_rights(actor, kr)
    _require_live(kr)
    original = CheckIn.objects.get(pk=checkin.pk)
    if original.archived_at is not None:
        raise Conflict("This check-in is archived and cannot be corrected.")
    later = CheckIn.objects.filter(corrects=original).values_list("pk", flat=True).first()
    if later is not None:
        raise Conflict(
            f"This check-in was already corrected (check-in {later}); correct that one instead."
        )
    errors = FieldErrors()
    number = _check_value(errors, kr, value)
    _check_confidence(errors, confidence)
    errors.raise_if_any()
    correction = CheckIn(
        organization_id=actor.organization_id,
        key_result=kr,
        value=number,
        confidence=confidence if confidence is not None else original.confidence,
        note=note or original.note,
        author=actor.user,
        source=CheckInSource.MANUAL,
        recorded_at=timezone.now(),
        effective_date=original.effective_date,
        corrects=original,
    )
    if not _insert_checkin(correction):
        raise Conflict("This check-in was corrected by someone else at the same time; reload.")
    status_before = kr.status
    _after_checkin(
        actor,
        kr,
        None,
        audit=lambda state: record_event(
            actor=actor,
            action="checkin.correct",
            target=correction,
            target_label=f"{kr.objective.key}/{kr.key}: {original.value} → {correction.value}",
            before=snapshot(original),
            after={**snapshot(correction), **state},
        ),
    )
    emit_checkin_events(actor.organization, correction, kr, status_before)
    return correction
