"""Initiatives (roadmap items) with their business case and closure, links to key results,
milestones and dependencies."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from milepost.engine.model import DependencyType, InitiativeStatus
from milepost.organizations.models import TenantModel


class Initiative(TenantModel):
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    team = models.ForeignKey(
        "organizations.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="initiatives",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="initiatives",
    )
    cycle = models.ForeignKey(
        "okrs.Cycle", null=True, blank=True, on_delete=models.SET_NULL, related_name="initiatives"
    )
    status = models.CharField(
        max_length=12,
        choices=[(s.value, s.value.replace("_", " ")) for s in InitiativeStatus],
        default=InitiativeStatus.PROPOSED,
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    effort_days = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal(0))
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    actual_cost = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    planned_hours = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # Business case at initiation: which key results it should move, by how much, at what cost.
    hypothesis = models.TextField(blank=True)
    estimated_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    estimated_effort_days = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    # Closure summary when done or cancelled (the punch list is the tasks still open).
    delivered_summary = models.TextField(blank=True)
    outcome_summary = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_date", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                name="initiative_key_unique_in_org",
                violation_error_message="An initiative with this key already exists.",
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="initiative_end_after_start",
                violation_error_message="end_date must be on or after start_date.",
            ),
            models.CheckConstraint(
                condition=Q(effort_days__gte=0),
                name="initiative_effort_non_negative",
                violation_error_message="effort_days must be ≥ 0.",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0),
                name="initiative_budget_non_negative",
                violation_error_message="budget must be ≥ 0.",
            ),
            models.CheckConstraint(
                condition=Q(actual_cost__gte=0),
                name="initiative_actual_cost_non_negative",
                violation_error_message="actual_cost must be ≥ 0.",
            ),
            models.CheckConstraint(
                condition=Q(planned_hours__isnull=True) | Q(planned_hours__gte=0),
                name="initiative_planned_hours_non_negative",
                violation_error_message="planned_hours must be ≥ 0.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "team", "status"], name="initiative_org_team_idx"),
            models.Index(fields=["organization", "cycle"], name="initiative_org_cycle_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class InitiativeKeyResult(TenantModel):
    """The initiative is expected to move the key result; weight = expected contribution."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="kr_links")
    key_result = models.ForeignKey(
        "okrs.KeyResult", on_delete=models.CASCADE, related_name="initiative_links"
    )
    weight = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal(1))
    expected_impact = models.CharField(max_length=300, blank=True)  # "+300 page views"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "key_result"],
                name="initiative_kr_link_once",
                violation_error_message="The initiative is already linked to this key result.",
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0),
                name="initiative_kr_weight_non_negative",
                violation_error_message="weight must be ≥ 0.",
            ),
        ]


class Milestone(TenantModel):
    key = models.SlugField(max_length=80)
    name = models.CharField(max_length=300)
    date = models.DateField()
    initiative = models.ForeignKey(
        Initiative, null=True, blank=True, on_delete=models.CASCADE, related_name="milestones"
    )
    # A milestone can count toward a `milestones` key result, with a weight.
    key_result = models.ForeignKey(
        "okrs.KeyResult",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="milestones",
    )
    weight = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal(1))
    done_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["date", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                name="milestone_key_unique_in_org",
                violation_error_message="A milestone with this key already exists.",
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0),
                name="milestone_weight_non_negative",
                violation_error_message="weight must be ≥ 0.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Dependency(TenantModel):
    """predecessor → successor; each end is an initiative or a milestone."""

    predecessor_initiative = models.ForeignKey(
        Initiative, null=True, blank=True, on_delete=models.CASCADE, related_name="successor_links"
    )
    predecessor_milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.CASCADE, related_name="successor_links"
    )
    successor_initiative = models.ForeignKey(
        Initiative,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="predecessor_links",
    )
    successor_milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.CASCADE, related_name="predecessor_links"
    )
    type = models.CharField(
        max_length=2,
        choices=[(t.value, t.value) for t in DependencyType],
        default=DependencyType.FS,
    )
    lag_days = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(predecessor_initiative__isnull=False) & Q(predecessor_milestone__isnull=True)
                )
                | (Q(predecessor_initiative__isnull=True) & Q(predecessor_milestone__isnull=False)),
                name="dependency_one_predecessor",
                violation_error_message="A dependency has exactly one predecessor.",
            ),
            models.CheckConstraint(
                condition=(
                    Q(successor_initiative__isnull=False) & Q(successor_milestone__isnull=True)
                )
                | (Q(successor_initiative__isnull=True) & Q(successor_milestone__isnull=False)),
                name="dependency_one_successor",
                violation_error_message="A dependency has exactly one successor.",
            ),
            models.CheckConstraint(
                condition=~Q(predecessor_initiative=F("successor_initiative"))
                & ~Q(predecessor_milestone=F("successor_milestone")),
                name="dependency_not_self",
                violation_error_message="An item cannot depend on itself.",
            ),
            models.CheckConstraint(
                condition=Q(lag_days__gte=-3650) & Q(lag_days__lte=3650),
                name="dependency_lag_bounded",
                violation_error_message="lag_days must be within ±3650.",
            ),
        ]

    @property
    def predecessor_key(self) -> str:
        if self.predecessor_initiative_id is not None:
            return self.predecessor_initiative.key  # type: ignore[union-attr]
        return self.predecessor_milestone.key  # type: ignore[union-attr]

    @property
    def successor_key(self) -> str:
        if self.successor_initiative_id is not None:
            return self.successor_initiative.key  # type: ignore[union-attr]
        return self.successor_milestone.key  # type: ignore[union-attr]
