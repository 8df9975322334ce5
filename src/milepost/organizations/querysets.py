"""Reusable filters for tenant rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self, TypeVar

from django.db import models

if TYPE_CHECKING:
    from milepost.organizations.models import Organization

_M = TypeVar("_M", bound=models.Model)


class OrganizationQuerySet(models.QuerySet["Organization"]):
    def active(self) -> Self:
        return self.filter(archived_at__isnull=True)


class TenantQuerySet(models.QuerySet[_M]):
    """Every tenant row's queryset: scoped to one organization, archived rows hidden."""

    def of(self, organization: Organization | int) -> Self:
        org_id = organization if isinstance(organization, int) else organization.pk
        return self.filter(organization_id=org_id)

    def active(self) -> Self:
        return self.filter(archived_at__isnull=True)

    def archived(self) -> Self:
        return self.filter(archived_at__isnull=False)
