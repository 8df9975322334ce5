"""Tasks under initiatives, and the time logged on them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from milepost.organizations.models import Organization, TenantModel


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Task(TenantModel):
    # No index of its own: the task indexes below lead with the organization (one fewer
    # index to write per task: a million at once in a full-size import).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    initiative = models.ForeignKey(
        "roadmap.Initiative", on_delete=models.CASCADE, related_name="tasks"
    )
    key = models.SlugField(max_length=80, blank=True)
    title = models.CharField(max_length=300)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.TODO)
    estimate_hours = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["initiative_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(estimate_hours__isnull=True) | Q(estimate_hours__gte=0),
                name="task_estimate_non_negative",
                violation_error_message="estimate_hours must be ≥ 0.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "initiative", "status"], name="task_org_init_status_idx"
            ),
            models.Index(
                fields=["organization", "assignee", "status"], name="task_org_assignee_idx"
            ),
            models.Index(fields=["organization", "id"], name="task_org_id_idx"),
            # The task list filtered by status, newest or oldest first, one keyset page at a
            # time: the page is a range of this index (issue 9, W4).
            models.Index(fields=["organization", "status", "id"], name="task_org_status_id_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class TimeEntry(TenantModel):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="time_entries")
    # Denormalised from the task so investment reports aggregate without a join per row.
    initiative = models.ForeignKey(
        "roadmap.Initiative", on_delete=models.CASCADE, related_name="time_entries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="time_entries"
    )
    date = models.DateField()
    hours = models.DecimalField(max_digits=5, decimal_places=2)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__gt=0) & Q(hours__lte=24),
                name="time_entry_hours_0_24",
                violation_error_message="hours must be more than 0 and at most 24.",
            ),
            models.CheckConstraint(
                condition=Q(cost__gte=0),
                name="time_entry_cost_non_negative",
                violation_error_message="cost must be ≥ 0.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "initiative"], name="timeentry_org_init_idx"),
            models.Index(
                fields=["organization", "user", "date"], name="timeentry_org_user_date_idx"
            ),
        ]
