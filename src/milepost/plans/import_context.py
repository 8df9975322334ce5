"""The state one plan import carries from item to item (`milepost.plans.importer`).

`ImportContext.step` runs one item's write in a savepoint: a refusal from a service becomes an
error at the item's path in the file (the field it names mapped to the plan file's name) and
the item is marked failed, so the items that depend on it are skipped instead of failing for
the same reason. `diff` compares what the file says with a row, field by field, the way a
person reads it (numbers by value, people by email, rows by key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import batched
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models, transaction

from milepost.errors import DomainError
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization
from milepost.plans.document import IssuePath
from milepost.plans.import_support import Change, FieldChange, FileLocator, ImportResult

if TYPE_CHECKING:
    from milepost.accounts.models import User
    from milepost.okrs.models import Cycle, KeyResult, Objective
    from milepost.organizations.models import Team
    from milepost.roadmap.models import Initiative, Milestone

T = TypeVar("T")


def _ident(value: Any) -> Any:
    """What makes two values the same: a row's id, a number's value, anything else itself."""
    if isinstance(value, models.Model):
        return (type(value).__name__, value.pk)
    if isinstance(value, Decimal):
        return value.normalize() if value.is_finite() else value
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value  # an enum member and its stored string are the same
    return value


def show(value: Any) -> str:
    """A value as a person reads it in a preview."""
    if value is None:
        return ""
    email = getattr(value, "email", None)
    if isinstance(email, str):
        return email
    key = getattr(value, "key", None)
    if isinstance(key, str):
        return key
    if isinstance(value, Decimal):
        from milepost.plans.exporter import tidy_decimal

        return str(tidy_decimal(value))
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return str(value.value)
    return str(value)


def current_value(row: models.Model, name: str) -> Any:
    """A field of a row: a foreign key as its row (loaded once), anything else as stored."""
    return getattr(row, name)


@dataclass
class People:
    """Turns the people a plan file names (an email, or a member's name) into users."""

    context: ImportContext
    members: dict[str, User] = field(default_factory=dict)
    by_name: dict[str, User | None] = field(default_factory=dict)
    resolved: dict[str, User | None] = field(default_factory=dict)
    # Set by `read_ahead`: the accounts of the emails a file names (lowercased), and the
    # people to make members by `add_joining` rather than one by one as they are named.
    accounts: dict[str, User] | None = None
    joining: list[User] | None = None

    def read_ahead(self, texts: Iterable[str | None]) -> None:
        """Read the accounts of every email in ``texts`` that names no member yet, in one
        query, and collect the people to add as members for `add_joining` (the bulk path:
        a file may name thousands of people, each added through the service took 10 ms)."""
        from django.db.models.functions import Lower

        from milepost.accounts.models import User

        wanted = {text.strip().lower() for text in texts if text and "@" in text}
        wanted -= self.members.keys()
        found: list[User] = []
        for emails in batched(sorted(wanted), 10_000):  # SQLite binds at most 32,766 values
            found += User.objects.annotate(email_lower=Lower("email")).filter(
                email_lower__in=emails
            )
        self.accounts = {}
        for user in sorted(found, key=attrgetter("pk")):  # the first account, as the item path
            self.accounts.setdefault(user.email.lower(), user)
        self.joining = []

    def add_joining(self) -> None:
        """Make the people collected since `read_ahead` members (`add_members`)."""
        from milepost.organizations.services import add_members

        if self.joining:
            add_members(actor=self.context.actor, users=self.joining)
            self.joining = []

    def load(self) -> None:
        self.members.clear()
        self.by_name.clear()
        for membership in Membership.objects.filter(
            organization_id=self.context.organization.pk, archived_at__isnull=True
        ).select_related("user"):
            user = membership.user
            self.members[user.email.lower()] = user
            for name in {user.full_name.strip().lower(), user.email.split("@")[0].lower()}:
                if name:
                    # A name two members share names neither.
                    self.by_name[name] = None if name in self.by_name else user

    def resolve(self, text: str | None, path: IssuePath) -> User | None:
        """The user `text` names. A person who is not a member yet is added when the actor
        may add members (an error otherwise); one the instance does not know is left out
        with a warning."""
        if text is None or not text.strip():
            return None
        wanted = text.strip().lower()
        if wanted in self.resolved:
            return self.resolved[wanted]
        user = self.members.get(wanted) or self.by_name.get(wanted)
        if user is None:
            user = self._add(text.strip(), path) if "@" in wanted else None
            if user is None and "@" not in wanted:
                self.context.result.warn(
                    path,
                    f"no member of the organization is called {text.strip()!r}: left empty "
                    "(write the person's email address)",
                )
        self.resolved[wanted] = user
        return user

    def _add(self, email: str, path: IssuePath) -> User | None:
        from milepost.accounts.models import User
        from milepost.organizations.services import add_member

        if self.accounts is not None:
            user = self.accounts.get(email.lower())
        else:
            user = User.objects.filter(email__iexact=email).first()
        if user is None:
            self.context.result.warn(
                path, f"{email} has no account on this Milepost instance: left empty"
            )
            return None
        actor = self.context.actor
        if not actor.is_owner:
            self.context.result.error(
                path,
                f"{email} is not a member of this organization (an owner can add them, or "
                "import as an owner)",
            )
            return None
        try:
            if self.joining is not None:
                self.joining.append(user)
            else:
                with transaction.atomic():
                    add_member(actor=actor, user=user)
        except DomainError as exc:
            self.context.result.error(path, exc.detail)
            return None
        self.context.result.record(Change("member", user.email, "created", path))
        self.members[user.email.lower()] = user
        return user


@dataclass
class ImportContext:
    """One import: who imports into which organization, what the file says, what happened."""

    actor: Actor
    organization: Organization
    locator: FileLocator
    result: ImportResult
    teams: dict[str, Team] = field(default_factory=dict)
    cycles: dict[str, Cycle] = field(default_factory=dict)
    objectives: dict[str, Objective] = field(default_factory=dict)
    key_results: dict[str, KeyResult] = field(default_factory=dict)
    initiatives: dict[str, Initiative] = field(default_factory=dict)
    milestones: dict[str, Milestone] = field(default_factory=dict)
    failed: set[tuple[str, str]] = field(default_factory=set)
    people: People = field(init=False)
    # Every item of the file, once, with what happened to it (recorded by `finish`).
    items: dict[tuple[str, str], Change | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.people = People(self)
        self.people.load()

    def path(self, kind: str, key: str) -> IssuePath:
        return self.locator.path(kind, key)

    def seen(self, kind: str, key: str) -> None:
        """The file lists this item (unchanged unless `changed` says otherwise)."""
        self.items.setdefault((kind, key), None)

    def changed(
        self, kind: str, key: str, action: str, fields: tuple[FieldChange, ...] = ()
    ) -> None:
        """The item was created, updated or removed; an item updated twice (its parent set
        in a second pass, its state at the end) is one update with every field."""
        before = self.items.get((kind, key))
        if before is None:
            shown = fields if action == "updated" else ()
            self.items[(kind, key)] = Change(kind, key, action, self.path(kind, key), shown)
            return
        if before.action != "updated":
            return  # created (or removed) says it all
        merged = before.fields + tuple(f for f in fields if f not in before.fields)
        self.items[(kind, key)] = Change(kind, key, before.action, before.path, merged)

    def finish(self) -> None:
        """Record every item's outcome in the result, in the order the file was read."""
        for (kind, _key), change in self.items.items():
            if change is None:
                self.result.unchanged(kind)
            else:
                self.result.record(change)
        self.items.clear()

    def step(
        self,
        kind: str,
        key: str,
        path: IssuePath,
        write: Callable[[], T],
        fields: Mapping[str, str | None] | None = None,
    ) -> T | None:
        """Run `write` in a savepoint. A refusal is recorded as errors at `path` (each field
        the service names, mapped through `fields` to the file's name; None: the item
        itself), the item is marked failed, and None is returned."""
        try:
            with transaction.atomic():
                return write()
        except DomainError as exc:
            self.report(path, exc, fields or {})
            self.failed.add((kind, key))
            return None

    def report(self, path: IssuePath, exc: DomainError, fields: Mapping[str, str | None]) -> None:
        if not exc.errors:
            self.result.error(path, exc.detail)
            return
        for name, messages in exc.errors.items():
            plan_name = fields.get(name, name) if name != "__all__" else None
            where = (*path, plan_name) if plan_name else path
            for message in messages:
                self.result.error(where, str(message))

    def is_failed(self, kind: str, key: str | None) -> bool:
        return key is not None and (kind, key) in self.failed

    @staticmethod
    def diff(
        row: models.Model, desired: Mapping[str, Any], labels: Mapping[str, str | None]
    ) -> tuple[dict[str, Any], tuple[FieldChange, ...]]:
        """The fields of `desired` that differ from `row` (model names → new values), and the
        same as `FieldChange` with the file's names (`labels`) for the preview."""
        changes: dict[str, Any] = {}
        shown: list[FieldChange] = []
        for name, value in desired.items():
            before = current_value(row, name)
            if _ident(before) == _ident(value):
                continue
            changes[name] = value
            shown.append(FieldChange(labels.get(name) or name, show(before), show(value)))
        return changes, tuple(shown)
