"""Tenants (organizations), memberships and roles, teams; and the base of every tenant row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from milepost.engine.model import EngineSettings, ObjectiveStatusMode, RollupMode
from milepost.organizations.querysets import OrganizationQuerySet, TenantQuerySet


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # Engine settings (DESIGN §3); defaults match the engine's.
    on_track_gap = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.10"))
    at_risk_gap = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.25"))
    allow_over_achievement = models.BooleanField(default=False)
    over_achievement_cap = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("1.5")
    )
    rollup_mode = models.CharField(
        max_length=16,
        choices=[(m.value, m.value) for m in RollupMode],
        default=RollupMode.KEY_RESULTS,
    )
    objective_status_mode = models.CharField(
        max_length=8,
        choices=[(m.value, m.value) for m in ObjectiveStatusMode],
        default=ObjectiveStatusMode.WORST,
    )
    stale_after_days = models.PositiveSmallIntegerField(default=14)
    max_key_results_per_objective = models.PositiveSmallIntegerField(default=5)
    max_objectives_per_team = models.PositiveSmallIntegerField(default=5)
    # Share of an initiative's tasks done from which it counts as "mostly done" for the
    # `output-without-outcome` finding.
    output_done_share = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.8"))
    default_checkin_weekday = models.PositiveSmallIntegerField(default=0)  # 0 = Monday
    default_notification_channel = models.CharField(max_length=16, default="email")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[OrganizationQuerySet] = OrganizationQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(on_track_gap__gte=0) & Q(at_risk_gap__gte=models.F("on_track_gap")),
                name="org_status_thresholds_ordered",
                violation_error_message="at_risk_gap must be ≥ on_track_gap ≥ 0.",
            ),
            models.CheckConstraint(
                condition=Q(over_achievement_cap__gte=1),
                name="org_over_achievement_cap_gte_1",
                violation_error_message="over_achievement_cap must be at least 1.",
            ),
            models.CheckConstraint(
                condition=Q(output_done_share__gt=0) & Q(output_done_share__lte=1),
                name="org_output_done_share_range",
                violation_error_message="output_done_share must be more than 0 and at most 1.",
            ),
            models.CheckConstraint(
                condition=Q(default_checkin_weekday__lte=6),
                name="org_checkin_weekday_valid",
                violation_error_message="default_checkin_weekday must be 0 (Monday) to 6 (Sunday).",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def engine_settings(self) -> EngineSettings:
        return EngineSettings(
            on_track_gap=self.on_track_gap,
            at_risk_gap=self.at_risk_gap,
            allow_over_achievement=self.allow_over_achievement,
            over_achievement_cap=self.over_achievement_cap,
            rollup=RollupMode(self.rollup_mode),
            objective_status=ObjectiveStatusMode(self.objective_status_mode),
            stale_after_days=self.stale_after_days,
            max_key_results_per_objective=self.max_key_results_per_objective,
            max_objectives_per_team=self.max_objectives_per_team,
            output_done_share=self.output_done_share,
        )


class TenantModel(models.Model):
    """Base of every row an organization owns: the tenant, a version (the API's ETag),
    timestamps, and archiving (deleting is archiving; archived rows can be restored)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[TenantQuerySet[Any]] = TenantQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        abstract = True

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Membership(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    # Reminder preferences; None = the organization's default. (A member's chat webhook is
    # stored encrypted in milepost.integrations.models.ChatWebhook.)
    checkin_weekday = models.PositiveSmallIntegerField(null=True, blank=True)
    notification_channel = models.CharField(max_length=16, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                name="membership_one_per_user_and_org",
                violation_error_message="This person is already a member of the organization.",
            ),
            models.CheckConstraint(
                condition=Q(checkin_weekday__isnull=True) | Q(checkin_weekday__lte=6),
                name="membership_checkin_weekday_valid",
                violation_error_message="checkin_weekday must be 0 (Monday) to 6 (Sunday).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    def has_role(self, minimum: Role) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[minimum]


class Team(TenantModel):
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    capacity_days_per_week = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal(0))
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMember", related_name="teams"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                name="team_key_unique_in_org",
                violation_error_message="A team with this key already exists.",
            ),
            models.CheckConstraint(
                condition=Q(capacity_days_per_week__gte=0),
                name="team_capacity_non_negative",
                violation_error_message="capacity_days_per_week must be ≥ 0.",
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")),
                name="team_not_own_parent",
                violation_error_message="A team cannot be its own parent.",
            ),
        ]
        indexes = [models.Index(fields=["organization", "parent"], name="team_org_parent_idx")]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="team_members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"],
                name="team_member_once",
                violation_error_message="This person is already in the team.",
            )
        ]
        indexes = [models.Index(fields=["organization", "user"], name="teammember_org_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id}"
