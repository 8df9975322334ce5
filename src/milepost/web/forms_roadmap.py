"""Forms for initiatives, their links to key results, milestones, dependencies, tasks and time.
Shapes only; the rules are the services' (refusals are shown beside the field they name)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone

from milepost.accounts.models import User
from milepost.okrs.models import Cycle, KeyResult
from milepost.organizations.access import Actor
from milepost.organizations.models import Team
from milepost.roadmap.models import Initiative, Milestone
from milepost.web.forms_base import DateInput, StyledForm
from milepost.web.forms_okrs import ModelChoice, UserChoice, members_of, unique_key

STATUSES = [
    ("proposed", "Proposed (business case)"),
    ("planned", "Planned"),
    ("in_progress", "In progress"),
    ("on_hold", "On hold"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]
DEPENDENCY_TYPES = [
    ("FS", "Finish → start (the usual)"),
    ("SS", "Start → start"),
    ("FF", "Finish → finish"),
    ("SF", "Start → finish"),
]
TASK_STATUSES = [
    ("todo", "To do"),
    ("in_progress", "In progress"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]


class InitiativeForm(StyledForm):
    title = forms.CharField(max_length=300)
    description = forms.CharField(widget=forms.Textarea, required=False)
    team = ModelChoice(queryset=Team.objects.none(), required=False)
    owner = UserChoice(queryset=User.objects.none(), required=False)
    cycle = ModelChoice(queryset=Cycle.objects.none(), required=False)
    status = forms.ChoiceField(choices=STATUSES, initial="proposed")
    start_date = forms.DateField(widget=DateInput(), required=False)
    end_date = forms.DateField(widget=DateInput(), required=False)
    effort_days = forms.DecimalField(
        min_value=0, initial=Decimal(0), label="Effort (person-days)", required=False
    )
    budget = forms.DecimalField(min_value=0, required=False, label="Budget (planned cost)")
    planned_hours = forms.DecimalField(min_value=0, required=False)
    hypothesis = forms.CharField(
        widget=forms.Textarea,
        required=False,
        label="Business case",
        help_text="Which key results should it move, and by how much? Why do we believe it?",
    )
    estimated_cost = forms.DecimalField(min_value=0, required=False)
    estimated_effort_days = forms.DecimalField(
        min_value=0, required=False, label="Estimated effort (person-days)"
    )
    key = forms.SlugField(max_length=80, required=False, help_text="Made from the title if empty.")

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["team"].queryset = Team.objects.of(actor.organization_id).active()  # type: ignore[attr-defined]
        self.fields["owner"].queryset = members_of(actor)  # type: ignore[attr-defined]
        self.fields["cycle"].queryset = Cycle.objects.of(actor.organization_id).active()  # type: ignore[attr-defined]

    def clean_effort_days(self) -> Decimal:
        value = self.cleaned_data.get("effort_days")
        return value if value is not None else Decimal(0)

    def key_or_new(self, instance: Initiative | None = None) -> str:
        key: str = self.cleaned_data.get("key") or ""
        if key:
            return key
        if instance is not None:
            return instance.key
        taken = set(Initiative.objects.of(self.actor.organization_id).values_list("key", flat=True))
        taken |= set(Milestone.objects.of(self.actor.organization_id).values_list("key", flat=True))
        return unique_key(self.cleaned_data["title"], taken, 80)


class StatusForm(StyledForm):
    status = forms.ChoiceField(choices=STATUSES)
    delivered_summary = forms.CharField(
        widget=forms.Textarea,
        required=False,
        label="What was delivered",
        help_text="Needed to mark it done.",
    )
    outcome_summary = forms.CharField(
        widget=forms.Textarea,
        required=False,
        label="Outcome seen / why it stopped",
        help_text="What moved on the key results — or, when cancelling, why and what we learned.",
    )


class LinkForm(StyledForm):
    key_result = forms.ChoiceField(label="Key result it should move")
    weight = forms.DecimalField(
        min_value=0, initial=Decimal(1), help_text="Its expected contribution."
    )
    expected_impact = forms.CharField(
        max_length=300, required=False, help_text="e.g. “+300 page views a month”"
    )

    def __init__(self, *args: Any, actor: Actor, exclude: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[str, str]]] = {}
        for kr in (
            KeyResult.objects.visible_to(actor)
            .filter(
                archived_at__isnull=True,
                objective__archived_at__isnull=True,
                objective__cycle__archived_at__isnull=True,
                objective__cycle__state__in=["planning", "active"],
            )
            .select_related("objective")
            .order_by("objective__title", "key")
        ):
            if kr.pk not in exclude:
                groups.setdefault(kr.objective.title, []).append((str(kr.pk), kr.title))
        cast(forms.ChoiceField, self.fields["key_result"]).choices = [
            ("", "— choose a key result —"),
            *groups.items(),
        ]


class LinkEditForm(StyledForm):
    """A link's weight and expected impact (its key result stays: another is a new link)."""

    weight = forms.DecimalField(min_value=0, help_text="Its expected contribution.")
    expected_impact = forms.CharField(
        max_length=300, required=False, help_text="e.g. “+300 page views a month”"
    )


class MilestoneForm(StyledForm):
    name = forms.CharField(max_length=300)
    date = forms.DateField(widget=DateInput())


class MilestoneEditForm(StyledForm):
    name = forms.CharField(max_length=300)
    date = forms.DateField(widget=DateInput())
    done_on = forms.DateField(
        widget=DateInput(), required=False, label="Done on", help_text="Empty: not done yet."
    )
    weight = forms.DecimalField(
        min_value=0, help_text="Its share when a key result counts milestones."
    )


class DependencyEditForm(StyledForm):
    """A dependency's type and lag (its two ends stay: other ends are a new dependency)."""

    type = forms.ChoiceField(choices=DEPENDENCY_TYPES)
    lag_days = forms.IntegerField(min_value=-3650, max_value=3650, label="Lag (days)")


class DependencyForm(StyledForm):
    direction = forms.ChoiceField(
        choices=[
            ("after", "This initiative depends on"),
            ("before", "This initiative must come before"),
        ],
        label="Direction",
    )
    other = forms.ChoiceField(label="Initiative or milestone")
    type = forms.ChoiceField(choices=DEPENDENCY_TYPES, initial="FS")
    lag_days = forms.IntegerField(initial=0, min_value=-3650, max_value=3650, label="Lag (days)")

    def __init__(self, *args: Any, actor: Actor, initiative: Initiative, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        initiatives = [
            (f"i:{pk}", title)
            for pk, title in Initiative.objects.of(actor.organization_id)
            .active()
            .exclude(pk=initiative.pk)
            .exclude(status="cancelled")
            .order_by("title")
            .values_list("pk", "title")
        ]
        milestones = [
            (f"m:{pk}", f"◆ {name}")
            for pk, name in Milestone.objects.of(actor.organization_id)
            .active()
            .order_by("date")
            .values_list("pk", "name")
        ]
        cast(forms.ChoiceField, self.fields["other"]).choices = [
            ("", "— choose —"),
            ("Initiatives", initiatives),
            ("Milestones", milestones),
        ]


class TaskForm(StyledForm):
    title = forms.CharField(max_length=300)
    assignee = UserChoice(queryset=User.objects.none(), required=False)
    estimate_hours = forms.DecimalField(min_value=0, required=False, label="Estimate (hours)")
    due_date = forms.DateField(widget=DateInput(), required=False)
    status = forms.ChoiceField(choices=TASK_STATUSES, initial="todo")

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = members_of(actor)  # type: ignore[attr-defined]


class TaskMoveForm(forms.Form):
    status = forms.ChoiceField(choices=TASK_STATUSES)


class TimeEntryForm(StyledForm):
    task = forms.ChoiceField()
    date = forms.DateField(widget=DateInput())
    hours = forms.DecimalField(min_value=Decimal("0.25"), max_value=24, decimal_places=2)
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, tasks: list[tuple[int, str]], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("date", timezone.localdate())
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["task"]).choices = [
            ("", "— choose a task —"),
            *((str(pk), t) for pk, t in tasks),
        ]
