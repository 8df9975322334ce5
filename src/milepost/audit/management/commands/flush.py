"""Django's ``flush`` (wipe every table), allowed to empty the audit log too.

The audit triggers refuse to delete audit events (milepost.audit.immutability); wiping the
whole database is the one operation that may, so this command runs Django's inside
`audit_maintenance`. The test runner uses it between transactional tests.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections

from milepost.audit.immutability import audit_maintenance


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        with audit_maintenance(connections[options["database"]]):
            super().handle(**options)
