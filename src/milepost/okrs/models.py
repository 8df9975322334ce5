"""Cycles, objectives, alignment, key results, check-ins and retrospectives.

Stored progress/status columns are a cache of the engine's output for fast lists; they are
written only by `okrs.services` (in the check-in transaction, for the key result and its
ancestors) and a test proves they always equal a full recompute.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from milepost.engine.model import Curve as CurveKind
from milepost.engine.model import (
    CycleState,
    KeyResultKind,
    MaintainDirection,
    ObjectiveState,
    Status,
)
from milepost.okrs.querysets import KeyResultQuerySet, ObjectiveQuerySet
from milepost.organizations.models import TenantModel
from milepost.organizations.querysets import TenantQuerySet


def _choices(enum: Any) -> list[tuple[str, str]]:
    return [(m.value, m.value.replace("_", " ")) for m in enum]


class Cycle(TenantModel):
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    start_date = models.DateField()
    end_date = models.DateField()
    state = models.CharField(
        max_length=10, choices=_choices(CycleState), default=CycleState.PLANNING
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    baseline = models.JSONField(null=True, blank=True)  # the plan as agreed at activation
    activated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-start_date", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                name="cycle_key_unique_in_org",
                violation_error_message="A cycle with this key already exists.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="cycle_end_after_start",
                violation_error_message="end_date must be on or after start_date.",
            ),
        ]
        indexes = [models.Index(fields=["organization", "state"], name="cycle_org_state_idx")]

    def __str__(self) -> str:
        return self.name


class Visibility(models.TextChoices):
    ORGANIZATION = "organization", "Organization"
    TEAM = "team", "Team"
    PRIVATE = "private", "Private"


class Objective(TenantModel):
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="objectives")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(
        "organizations.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="objectives",
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="objectives",
    )
    visibility = models.CharField(
        max_length=12, choices=Visibility.choices, default=Visibility.ORGANIZATION
    )
    state = models.CharField(
        max_length=10, choices=_choices(ObjectiveState), default=ObjectiveState.DRAFT
    )
    weight = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal(1))
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried_to"
    )
    # Copied (as a draft, key results reset) into a cycle created from this one's template.
    recurring = models.BooleanField(default=False)
    # Engine output cache (see module docstring).
    progress = models.DecimalField(max_digits=9, decimal_places=4, default=Decimal(0))
    expected = models.DecimalField(max_digits=9, decimal_places=4, default=Decimal(0))
    status = models.CharField(max_length=12, choices=_choices(Status), default=Status.NOT_STARTED)

    objects: ClassVar[ObjectiveQuerySet] = ObjectiveQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["cycle_id", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                name="objective_key_unique_in_org",
                violation_error_message="An objective with this key already exists.",
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0),
                name="objective_weight_non_negative",
                violation_error_message="weight must be ≥ 0.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "cycle", "owner_team"], name="objective_org_cycle_team_idx"
            ),
            models.Index(fields=["organization", "owner_user"], name="objective_org_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Alignment(TenantModel):
    """The child objective contributes to a parent objective or a parent key result."""

    child = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="parent_links")
    parent_objective = models.ForeignKey(
        Objective, null=True, blank=True, on_delete=models.CASCADE, related_name="child_links"
    )
    parent_key_result = models.ForeignKey(
        "KeyResult", null=True, blank=True, on_delete=models.CASCADE, related_name="child_links"
    )
    weight = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal(1))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(parent_objective__isnull=False) & Q(parent_key_result__isnull=True))
                | (Q(parent_objective__isnull=True) & Q(parent_key_result__isnull=False)),
                name="alignment_exactly_one_parent",
                violation_error_message=(
                    "An alignment has exactly one parent: an objective or a key result."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(parent_objective=F("child")),
                name="alignment_no_self_link",
                violation_error_message="An objective cannot align to itself.",
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0),
                name="alignment_weight_non_negative",
                violation_error_message="weight must be ≥ 0.",
            ),
            models.UniqueConstraint(
                fields=["child", "parent_objective"],
                condition=Q(parent_objective__isnull=False),
                name="alignment_unique_objective_parent",
                violation_error_message="This objective is already aligned to that parent.",
            ),
            models.UniqueConstraint(
                fields=["child", "parent_key_result"],
                condition=Q(parent_key_result__isnull=False),
                name="alignment_unique_kr_parent",
                violation_error_message="This objective is already aligned to that key result.",
            ),
        ]


class KeyResult(TenantModel):
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="key_results")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    kind = models.CharField(
        max_length=10, choices=_choices(KeyResultKind), default=KeyResultKind.INCREASE
    )
    unit = models.CharField(max_length=30, blank=True)
    start_value = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal(0))
    target_value = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal(1))
    current_value = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal(0))
    weight = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal(1))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="key_results",
    )
    due_date = models.DateField(null=True, blank=True)  # None = the cycle's end
    curve = models.CharField(max_length=12, choices=_choices(CurveKind), default=CurveKind.LINEAR)
    maintain_direction = models.CharField(
        max_length=10, choices=_choices(MaintainDirection), default=MaintainDirection.AT_LEAST
    )
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried_to"
    )
    # Engine output cache.
    progress = models.DecimalField(max_digits=9, decimal_places=4, default=Decimal(0))
    progress_raw = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(0))
    expected = models.DecimalField(max_digits=9, decimal_places=4, default=Decimal(0))
    status = models.CharField(max_length=12, choices=_choices(Status), default=Status.NOT_STARTED)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    last_checkin_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[KeyResultQuerySet] = KeyResultQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["objective_id", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["objective", "key"],
                name="kr_key_unique_in_objective",
                violation_error_message=(
                    "A key result with this key already exists in the objective."
                ),
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0),
                name="kr_weight_non_negative",
                violation_error_message="weight must be ≥ 0.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="increase") | Q(target_value__gt=F("start_value")),
                name="kr_increase_target_above_start",
                violation_error_message=(
                    "For an increase key result the target must be above the start."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(kind="decrease") | Q(target_value__lt=F("start_value")),
                name="kr_decrease_target_below_start",
                violation_error_message=(
                    "For a decrease key result the target must be below the start."
                ),
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__lte=10),
                name="kr_confidence_0_10",
                violation_error_message="confidence must be between 0 and 10.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "owner"], name="kr_org_owner_idx"),
            models.Index(fields=["organization", "status"], name="kr_org_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def effective_due_date(self) -> date:
        return self.due_date or self.objective.cycle.end_date

    @property
    def path_key(self) -> str:
        """The plan-file address of this key result: ``objective_key/kr_key``."""
        return f"{self.objective.key}/{self.key}"


class CheckInSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    DATA_SOURCE = "data_source", "Data source"
    IMPORT = "import", "Import"
    API = "api", "API"


class CheckIn(TenantModel):
    """Append-only history of a key result. Never edited in place: a correction is a new
    check-in that references the one it corrects (and replaces it in the history)."""

    # Indexed by `checkin_kr_date_idx`, which leads with it.
    key_result = models.ForeignKey(
        KeyResult, on_delete=models.CASCADE, related_name="checkins", db_index=False
    )
    value = models.DecimalField(max_digits=20, decimal_places=6)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="checkins",
    )
    source = models.CharField(
        max_length=12, choices=CheckInSource.choices, default=CheckInSource.MANUAL
    )
    recorded_at = models.DateTimeField()
    effective_date = models.DateField()  # calendar date in the organization's timezone
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)

    objects: ClassVar[TenantQuerySet[CheckIn]] = TenantQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["key_result_id", "effective_date", "recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__lte=10),
                name="checkin_confidence_0_10",
                violation_error_message="confidence must be between 0 and 10.",
            ),
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="checkin_idempotency_key_unique",
                violation_error_message="A check-in with this Idempotency-Key already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(corrects=F("id")),
                name="checkin_not_self_correction",
                violation_error_message="A check-in cannot correct itself.",
            ),
        ]
        indexes = [
            models.Index(fields=["key_result", "effective_date"], name="checkin_kr_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.value} on {self.effective_date}"


class ReasonCode(models.TextChoices):
    TARGET_WRONG = "target_wrong", "Target was wrong"
    EXECUTION = "execution", "Execution"
    EXTERNAL = "external", "External change"
    MEASUREMENT = "measurement", "Measurement problem"


class Grade(models.TextChoices):
    MISSED = "missed", "Missed"
    PARTIAL = "partial", "Partial"
    ACHIEVED = "achieved", "Achieved"


class Retrospective(TenantModel):
    """At cycle close: a key result's score and grade (with an optional override) or an
    objective's reflection. ``skipped`` records an admin's explicit skip."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="retrospectives")
    objective = models.ForeignKey(
        Objective, null=True, blank=True, on_delete=models.CASCADE, related_name="retrospectives"
    )
    key_result = models.ForeignKey(
        KeyResult, null=True, blank=True, on_delete=models.CASCADE, related_name="retrospectives"
    )
    score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    grade = models.CharField(max_length=10, choices=Grade.choices, blank=True)
    grade_override = models.CharField(max_length=10, choices=Grade.choices, blank=True)
    reason_code = models.CharField(max_length=14, choices=ReasonCode.choices, blank=True)
    lessons = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    change_next = models.TextField(blank=True)
    skipped = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["cycle_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(objective__isnull=False) & Q(key_result__isnull=True))
                | (Q(objective__isnull=True) & Q(key_result__isnull=False)),
                name="retro_exactly_one_subject",
                violation_error_message=(
                    "A retrospective is about exactly one objective or key result."
                ),
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=1)),
                name="retro_score_0_1",
                violation_error_message="score must be between 0.0 and 1.0.",
            ),
            models.CheckConstraint(
                condition=Q(grade_override="") | ~Q(reason_code=""),
                name="retro_override_needs_reason",
                violation_error_message="Overriding the grade needs a reason code.",
            ),
            models.UniqueConstraint(
                fields=["objective"],
                condition=Q(objective__isnull=False),
                name="retro_one_per_objective",
                violation_error_message="This objective already has a retrospective.",
            ),
            models.UniqueConstraint(
                fields=["key_result"],
                condition=Q(key_result__isnull=False),
                name="retro_one_per_key_result",
                violation_error_message="This key result already has a retrospective.",
            ),
        ]

    @property
    def final_grade(self) -> str:
        return self.grade_override or self.grade
