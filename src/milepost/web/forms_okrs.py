"""Forms for cycles, objectives, key results, check-ins and alignment. Shapes only; the rules
are the services' (their refusals are shown beside the field they name)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.text import slugify

from milepost.accounts.models import User
from milepost.okrs.models import Cycle, KeyResult, Objective
from milepost.organizations.access import Actor
from milepost.organizations.models import Team
from milepost.web.forms_base import DateInput, StyledForm

VISIBILITY = [
    ("organization", "Everyone in the organization"),
    ("team", "The owner team only"),
    ("private", "Private: the owner and their team"),
]
OBJECTIVE_STATES = [
    ("draft", "Draft"),
    ("active", "Active"),
    ("closed", "Closed"),
    ("cancelled", "Cancelled"),
]
KR_KINDS = [
    ("increase", "Increase a number (e.g. 1,200 → 2,500 page views)"),
    ("decrease", "Decrease a number (e.g. churn 5% → 3%)"),
    ("maintain", "Maintain a threshold (e.g. uptime at least 99.9%)"),
    ("binary", "Done or not done"),
    ("milestones", "Milestones (share of linked milestones done)"),
]
CURVES = [
    ("linear", "Linear: steady progress over the cycle"),
    ("back_loaded", "Back-loaded: most of the result near the end"),
    ("stepped", "Stepped: by milestone dates"),
]
DIRECTIONS = [("at_least", "Stay at or above the threshold"), ("at_most", "Stay at or below it")]


def unique_key(title: str, taken: set[str], max_length: int = 60) -> str:
    """A readable key from a title that is not in `taken` (``improve-seo``, ``improve-seo-2``)."""
    base = slugify(title)[:max_length].strip("-") or "item"
    key, n = base, 2
    while key in taken:
        suffix = f"-{n}"
        key = base[: max_length - len(suffix)] + suffix
        n += 1
    return key


class ModelChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A model select whose labels are the row's ``str``."""


class UserChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.email})" if obj.full_name else str(obj.email)


def members_of(actor: Actor) -> Any:
    return User.objects.filter(
        memberships__organization_id=actor.organization_id,
        memberships__archived_at__isnull=True,
        is_active=True,
    ).order_by("full_name", "email")


class CycleForm(StyledForm):
    name = forms.CharField(max_length=200)
    key = forms.SlugField(
        max_length=60,
        required=False,
        help_text="Short id used in plan files; from the name if empty.",
    )
    start_date = forms.DateField(widget=DateInput())
    end_date = forms.DateField(widget=DateInput())
    parent = ModelChoice(queryset=Cycle.objects.none(), required=False, label="Part of")

    def __init__(
        self, *args: Any, actor: Actor, instance: Cycle | None = None, **kwargs: Any
    ) -> None:
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "key": instance.key,
                    "start_date": instance.start_date,
                    "end_date": instance.end_date,
                    "parent": instance.parent_id,
                },
            )
        super().__init__(*args, **kwargs)
        qs = Cycle.objects.of(actor.organization_id).active()
        if instance is not None:
            qs = qs.exclude(pk=instance.pk)
        self.fields["parent"].queryset = qs  # type: ignore[attr-defined]


class ObjectiveForm(StyledForm):
    title = forms.CharField(max_length=300)
    description = forms.CharField(widget=forms.Textarea, required=False)
    cycle = ModelChoice(queryset=Cycle.objects.none())
    owner_team = ModelChoice(queryset=Team.objects.none(), required=False, label="Owner team")
    owner_user = UserChoice(queryset=User.objects.none(), required=False, label="Owner")
    visibility = forms.ChoiceField(choices=VISIBILITY, initial="organization")
    state = forms.ChoiceField(choices=OBJECTIVE_STATES, initial="active")
    weight = forms.DecimalField(
        min_value=0, initial=Decimal(1), help_text="Its weight where it rolls up into a parent."
    )
    key = forms.SlugField(
        max_length=80,
        required=False,
        help_text="Short id used in plan files and the API; made from the title if empty.",
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["cycle"].queryset = Cycle.objects.of(actor.organization_id).active()  # type: ignore[attr-defined]
        self.fields["owner_team"].queryset = Team.objects.of(actor.organization_id).active()  # type: ignore[attr-defined]
        self.fields["owner_user"].queryset = members_of(actor)  # type: ignore[attr-defined]

    def key_or_new(self, instance: Objective | None = None) -> str:
        key: str = self.cleaned_data.get("key") or ""
        if key:
            return key
        if instance is not None:
            return instance.key
        taken = set(
            Objective.objects.of(self.actor.organization_id)
            .filter(key__startswith=slugify(self.cleaned_data["title"])[:50])
            .values_list("key", flat=True)
        )
        return unique_key(self.cleaned_data["title"], taken, 80)


class AlignForm(StyledForm):
    """Align an objective to a parent objective or a parent key result."""

    parent = forms.ChoiceField(label="Contributes to")
    weight = forms.DecimalField(min_value=0, initial=Decimal(1), label="Link weight")

    def __init__(self, *args: Any, choices: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["parent"]).choices = [
            ("", "— choose a parent —"),
            *choices,
        ]


class AlignmentWeightForm(StyledForm):
    """Change an alignment link's weight (its parent stays: another parent is a new link)."""

    weight = forms.DecimalField(
        min_value=0,
        label="Link weight",
        help_text="How much this objective counts in its parent's progress, relative to the "
        "parent's other inputs.",
    )


def parent_choices(actor: Actor, child: Objective | None) -> list[tuple[str, Any]]:
    """Objectives and their key results the actor can see, grouped by cycle, as select options
    (``o:<id>`` for an objective, ``k:<id>`` for a key result). Two queries."""
    objectives = list(
        Objective.objects.visible_to(actor)
        .active()
        .filter(cycle__archived_at__isnull=True)
        .exclude(state="cancelled")
        .select_related("cycle")
        .order_by("-cycle__start_date", "title")
    )
    if child is not None:
        objectives = [o for o in objectives if o.pk != child.pk]
    krs: dict[int, list[KeyResult]] = {}
    for kr in (
        KeyResult.objects.filter(
            objective_id__in=[o.pk for o in objectives], archived_at__isnull=True
        )
        .only("pk", "title", "objective_id")
        .order_by("key")
    ):
        krs.setdefault(kr.objective_id, []).append(kr)
    groups: dict[str, list[tuple[str, str]]] = {}
    for o in objectives:
        options = groups.setdefault(o.cycle.name, [])
        options.append((f"o:{o.pk}", o.title))
        options.extend((f"k:{kr.pk}", f"    ↳ key result: {kr.title}") for kr in krs.get(o.pk, ()))
    return list(groups.items())


class ObjectiveCreateForm(ObjectiveForm):
    parent = forms.ChoiceField(label="Contributes to", required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, actor=actor, **kwargs)
        cast(forms.ChoiceField, self.fields["parent"]).choices = [
            ("", "— nothing (a top-level objective) —"),
            *parent_choices(actor, None),
        ]
        self.order_fields(["title", "description", "cycle", "parent", "owner_team", "owner_user"])


class KeyResultForm(StyledForm):
    title = forms.CharField(
        max_length=300, help_text="Measurable: what moves, from where to where."
    )
    kind = forms.ChoiceField(choices=KR_KINDS, initial="increase")
    start_value = forms.DecimalField(label="Start", initial=Decimal(0))
    target_value = forms.DecimalField(label="Target (or threshold)", initial=Decimal(100))
    unit = forms.CharField(max_length=30, required=False, help_text="e.g. %, €, page views")
    owner = UserChoice(queryset=User.objects.none(), required=False)
    due_date = forms.DateField(
        widget=DateInput(), required=False, help_text="Empty: the end of the cycle."
    )
    weight = forms.DecimalField(min_value=0, initial=Decimal(1))
    curve = forms.ChoiceField(choices=CURVES, initial="linear", label="Expected progress")
    maintain_direction = forms.ChoiceField(
        choices=DIRECTIONS, initial="at_least", label="Direction (maintain)"
    )
    description = forms.CharField(widget=forms.Textarea, required=False)
    key = forms.SlugField(max_length=80, required=False, help_text="Made from the title if empty.")

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members_of(actor)  # type: ignore[attr-defined]

    def key_or_new(self, objective: Objective, instance: KeyResult | None = None) -> str:
        key: str = self.cleaned_data.get("key") or ""
        if key:
            return key
        if instance is not None:
            return instance.key
        taken = set(KeyResult.objects.filter(objective=objective).values_list("key", flat=True))
        return unique_key(self.cleaned_data["title"], taken, 80)


class CheckInForm(StyledForm):
    value = forms.DecimalField(label="New value", max_digits=20, decimal_places=6)
    confidence = forms.IntegerField(
        min_value=0,
        max_value=10,
        required=False,
        label="Confidence (0 to 10)",
        help_text="How sure are you the target will be met? 0 no chance, 10 certain.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )
    effective_date = forms.DateField(
        widget=DateInput(), required=False, label="As of", help_text="Empty: today."
    )
