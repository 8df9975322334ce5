"""The audit log's last line of defence: database triggers that refuse to change or delete an
audit event, whatever code (or raw SQL) tries.

The ORM refuses first (`AuditEvent.save`/`delete` and the queryset's `update`/`delete` raise
`ImmutableAuditError`); the admin grants no change or delete permission; the API has no
mutating operation. Below all of that, on PostgreSQL and SQLite, triggers created by the
migration ``audit.0002_audit_immutable_triggers`` refuse ``UPDATE`` and ``DELETE`` on
``audit_auditevent`` (and ``TRUNCATE`` on PostgreSQL) with an integrity error.

Two exceptions, both deliberate:

- Deleting a person sets ``actor_id`` to NULL on their events (the ``actor_label`` keeps their
  name): an update that changes nothing but ``actor_id`` to NULL is allowed.
- `audit_maintenance` lifts the refusal for one connection while the whole database is wiped
  (Django's ``flush``, which the test runner uses between transactional tests). On PostgreSQL
  it is the session setting ``milepost.audit_maintenance``; on SQLite a function the app
  registers on each of its connections (any other SQLite client lacks the function, so every
  update or delete of an audit event fails there too).

Someone who owns the database can still drop the triggers; the guarantee is against every
interface of the application and against mistakes, not against the database's owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"
SQLITE_FUNCTION = "milepost_audit_writable"
PG_SETTING = "milepost.audit_maintenance"
# Every column but actor_id: an update must leave them all as they are (SQLite spells it out;
# a test checks this list against the model so a new column cannot slip past the trigger).
SQLITE_FROZEN_COLUMNS = (
    "id",
    "organization_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "before",
    "after",
    "created_at",
    "request_id",
)

_maintenance: ContextVar[bool] = ContextVar("milepost_audit_maintenance", default=False)


def _sqlite_unchanged() -> str:
    return " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in SQLITE_FROZEN_COLUMNS)


SQLITE_FORWARD = (
    f"""
    CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON {TABLE}
    FOR EACH ROW WHEN NOT {SQLITE_FUNCTION}() AND NOT (
        OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL AND {_sqlite_unchanged()}
    )
    BEGIN SELECT RAISE(ABORT, 'audit events are immutable: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON {TABLE}
    FOR EACH ROW WHEN NOT {SQLITE_FUNCTION}()
    BEGIN SELECT RAISE(ABORT, 'audit events are immutable: DELETE refused'); END
    """,
)
SQLITE_BACKWARD = (
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
)

POSTGRESQL_FORWARD = (
    f"""
    CREATE OR REPLACE FUNCTION milepost_audit_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF coalesce(current_setting('{PG_SETTING}', true), '') = 'on' THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
            RETURN NEW;  -- the actor's account was deleted; actor_label keeps the name
        END IF;
        RAISE EXCEPTION 'audit events are immutable: % refused', TG_OP
            USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    f"""
    CREATE TRIGGER audit_auditevent_immutable BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION milepost_audit_immutable()
    """,
    f"""
    CREATE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION milepost_audit_immutable()
    """,
)
POSTGRESQL_BACKWARD = (
    f"DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_auditevent_immutable ON {TABLE}",
    "DROP FUNCTION IF EXISTS milepost_audit_immutable()",
)

FORWARD = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}
BACKWARD = {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}


def _writable() -> int:
    return 1 if _maintenance.get() else 0


def register_sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: give each SQLite connection the function the
    triggers consult (see the module docstring)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 0, _writable, deterministic=False)


@contextmanager
def audit_maintenance(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Let this connection delete audit events while the block runs (wiping the database).

    Never used by the application itself; `milepost.audit.management.commands.flush` is the
    one caller."""
    token = _maintenance.set(True)
    is_postgresql = connection.vendor == "postgresql"
    try:
        if is_postgresql:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', false)", [PG_SETTING])
        yield
    finally:
        _maintenance.reset(token)
        if is_postgresql:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', false)", [PG_SETTING])
