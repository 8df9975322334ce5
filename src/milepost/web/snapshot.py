"""The kept evaluation of a plan (`milepost.reports.snapshot`) as a web page asks for it."""

from __future__ import annotations

from django.http import HttpRequest

from milepost.okrs.models import Cycle
from milepost.organizations.models import Organization
from milepost.reports.snapshot import Snapshot, snapshot
from milepost.web.context import request_change_token
from milepost.web.middleware import wrote_at


def page_snapshot(
    request: HttpRequest, organization: Organization, cycle: Cycle | None
) -> Snapshot:
    """`snapshot` for a web page: the change token read with the membership, and never older
    than the asking person's own last write."""
    return snapshot(
        organization, cycle, token=request_change_token(request), fresh_after=wrote_at(request)
    )
