"""Import a plan file into an organization: `import_plan` and `import_plan_text`.

Rules (docs/plan-format.md, "Importing a plan"):

* **All or nothing.** The whole import is one transaction. Every item is tried (each in its
  own savepoint) so that one run lists *every* error, each with its path in the file; if
  there is any error, everything is rolled back and nothing changes.
* **By key.** Teams, cycles, objectives, initiatives, milestones and tasks are found by key
  (a key result by objective and key) and created or updated; an archived one is restored.
  Nothing the file does not list is archived or deleted. The file is the truth about the
  items it lists: a field it leaves out takes the format's default. The organization's
  name, time zone and settings change only where the file writes them.
* **Links** (alignment, initiative → key result, dependencies, a milestone counting toward a
  key result) are made what the file says *among the items it lists*; a link to something
  the file does not list is left alone, so a one-cycle file never cuts the links of the
  rest of the plan.
* **Check-ins** are appended with their dates (source "import"). One with the same date and
  value as a check-in in the key result's history is the same check-in: importing the file
  again records nothing.
* **Idempotent.** Importing the same file twice changes nothing the second time.
* **Through the services.** Every write goes through the app's services (validation,
  permissions, audit events); the two the services do not express (an alignment's weight,
  a cycle's state) go through `milepost.servicekit`, audited. The stored progress of the
  whole organization is recomputed at the end.
* **People** are written as email addresses. A member is found by email (or, for a name, by
  their full name or the part of their email before the @); a user of the instance who is
  not a member is added as a member when the importer may add members (an owner, or the
  command line); anyone else is left out with a warning.
* **Dry run**: the import runs in full and is rolled back; the result says exactly what the
  real run would change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from django.db import transaction

from milepost.engine.model import Plan
from milepost.errors import DomainError, NotFound, PermissionDenied
from milepost.okrs.engine_io import recompute_organization
from milepost.organizations.access import Actor, system_actor
from milepost.organizations.models import Organization, Role
from milepost.plans.bulk_import import NeedItemPath, bulk_import, has_plan_data
from milepost.plans.canonical import canonical_data
from milepost.plans.document import PlanDocument
from milepost.plans.import_context import ImportContext
from milepost.plans.import_okrs import (
    apply_cycle_states,
    apply_objective_states,
    import_alignment,
    import_checkins,
    import_cycles,
    import_key_results,
    import_objectives,
    import_settings,
    import_teams,
)
from milepost.plans.import_roadmap import (
    apply_initiative_cancellations,
    import_dependencies,
    import_initiatives,
    import_links,
    import_milestones,
    import_tasks,
)
from milepost.plans.import_support import Change, FileLocator, ImportResult

__all__ = ["ImportResult", "import_plan", "import_plan_text"]

IMPORT_ACTOR_LABEL = "plan import"


class _RollBack(Exception):
    """Leave the transaction without committing (an error, or a dry run)."""


def _organization(
    actor_or_none: Actor | None, slug: str, document: PlanDocument, result: ImportResult
) -> tuple[Organization, Actor] | None:
    """The organization to import into and who imports, creating it when the command line
    imports into a slug that does not exist yet."""
    organization = Organization.objects.filter(slug=slug).first()
    if actor_or_none is not None:
        if organization is None or organization.pk != actor_or_none.organization_id:
            raise NotFound("Organization not found.")
        if not actor_or_none.has_role(Role.ADMIN):
            raise PermissionDenied(
                f"Your role ({actor_or_none.role}) does not allow you to import plans."
            )
        return actor_or_none.organization, actor_or_none
    if organization is not None:
        if organization.archived_at is not None:
            result.error(("organization",), f"the organization {slug!r} is archived")
            return None
        return organization, system_actor(organization, IMPORT_ACTOR_LABEL)
    from milepost.organizations.services import create_organization

    plan = document.plan
    try:
        with transaction.atomic():
            organization = create_organization(
                owner=None, name=plan.organization_name or slug, slug=slug, timezone=plan.timezone
            )
    except DomainError as exc:
        for name, messages in (exc.errors or {"slug": [exc.detail]}).items():
            for message in messages:
                where = ("organization", "timezone") if name == "timezone" else ("organization",)
                result.error(where, f"{name}: {message}" if name != "timezone" else message)
        return None
    result.created_organization = True
    result.record(Change("organization", slug, "created", ("organization",)))
    return organization, system_actor(organization, IMPORT_ACTOR_LABEL)


def _run(ctx: ImportContext, document: PlanDocument) -> None:
    plan = document.plan
    import_settings(ctx, plan)
    import_teams(ctx, plan)
    import_cycles(ctx, plan)
    import_objectives(ctx, document)
    import_key_results(ctx, document)
    import_alignment(ctx, plan)
    import_initiatives(ctx, document)
    import_links(ctx, plan)
    import_milestones(ctx, plan)
    import_dependencies(ctx, plan)
    import_tasks(ctx, document)
    import_checkins(ctx, document)
    apply_initiative_cancellations(ctx, plan)
    apply_objective_states(ctx, plan)
    apply_cycle_states(ctx, plan)
    ctx.finish()


def _bulk_applies(organization: Organization, actor: Actor) -> bool:
    """Whether the bulk path may import: an organization with no plan data, and an actor
    the bulk path knows may create everything (the command line, or an admin signed in)."""
    return actor.has_role(Role.ADMIN) and actor.token is None and not has_plan_data(organization)


def _run_bulk(
    actor: Actor,
    organization: Organization,
    locator: FileLocator,
    result: ImportResult,
    document: PlanDocument,
) -> bool:
    """Import through the bulk path (`milepost.plans.bulk_import`); False when it hands the
    file to the item path, with everything it did undone and the result as it was."""
    saved = (
        list(result.errors),
        list(result.warnings),
        list(result.changes),
        {kind: replace(counts) for kind, counts in result.counts.items()},
    )
    ctx = ImportContext(actor=actor, organization=organization, locator=locator, result=result)
    try:
        with transaction.atomic():
            bulk_import(ctx, document)
    except NeedItemPath:
        result.errors, result.warnings, result.changes, result.counts = saved
        organization.refresh_from_db()  # settings the bulk path wrote are rolled back
        return False
    return True


def import_plan(
    *,
    actor_or_none: Actor | None,
    document: PlanDocument | Plan,
    organization_slug: str,
    dry_run: bool = False,
    source: Mapping[str, Any] | None = None,
    bulk: bool = True,
) -> ImportResult:
    """Import a plan document (or a bare engine `Plan`) into the organization
    `organization_slug` (see the module docstring for the rules).

    ``actor_or_none``: the person importing (an admin of that very organization; `NotFound`
    for another organization, `PermissionDenied` below admin), or None for the command line,
    which imports as the system and creates the organization when the slug is new.
    ``bulk``: into an organization with no plan data, insert in bulk after validating the
    whole file in memory (`milepost.plans.bulk_import`; same result, same rows); False
    imports item by item through the services whatever the organization holds.
    ``source``: the plan data as read from the file, to report errors at their place in it
    and to know which settings the file writes (default: the document's canonical data).

    Returns the result: errors and warnings with their paths, the changes, and counts of
    created/updated/removed/unchanged items per kind. ``result.applied`` says whether the
    changes were committed (no error and not a dry run).
    """
    if isinstance(document, Plan):  # a bare engine plan: no descriptions, notes or tasks
        document = PlanDocument(plan=document)
    result = ImportResult(organization_slug=organization_slug, dry_run=dry_run)
    locator = FileLocator(source if source is not None else canonical_data(document))
    try:
        with transaction.atomic():
            found = _organization(actor_or_none, organization_slug, document, result)
            if found is not None:
                organization, actor = found
                if not (bulk and _bulk_applies(organization, actor)) or not _run_bulk(
                    actor, organization, locator, result, document
                ):
                    ctx = ImportContext(
                        actor=actor, organization=organization, locator=locator, result=result
                    )
                    _run(ctx, document)
                if not result.errors:
                    recompute_organization(organization)
            if result.errors or dry_run:
                raise _RollBack
            result.applied = True
    except _RollBack:
        pass
    locator.sort(result.errors)
    locator.sort(result.warnings)
    return result


def import_plan_text(
    *,
    actor_or_none: Actor | None,
    text: str,
    organization_slug: str,
    dry_run: bool = False,
    fmt: Literal["yaml", "json"] | None = None,
    bulk: bool = True,
) -> ImportResult:
    """Read a plan file's text (YAML or JSON) and import it (`import_plan`). A file that
    breaks the format is not imported: the result lists every issue with its path. Raises
    `PlanReadError` for text that is not a plan file at all."""
    from milepost.plans.planfile import decode_plan_text, validate_plan_data

    data = decode_plan_text(text, fmt)
    document, issues = validate_plan_data(data)
    if document is None:
        result = ImportResult(organization_slug=organization_slug, dry_run=dry_run)
        result.errors.extend(issues)
        return result
    return import_plan(
        actor_or_none=actor_or_none,
        document=document,
        organization_slug=organization_slug,
        dry_run=dry_run,
        source=data,
        bulk=bulk,
    )
