from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "milepost.audit"
    label = "audit"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from milepost.audit.immutability import register_sqlite_function

        # The SQLite audit triggers consult this function (milepost.audit.immutability).
        connection_created.connect(register_sqlite_function, dispatch_uid="milepost-audit-sqlite")
