"""The audit log cannot be changed or deleted through any interface: the ORM (instances and
querysets), the Django admin, the REST API, and raw SQL (database triggers on PostgreSQL and
SQLite)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from milepost.accounts.models import User
from milepost.api.main import api
from milepost.audit.immutability import SQLITE_FROZEN_COLUMNS, audit_maintenance
from milepost.audit.models import AuditEvent, ImmutableAuditError
from milepost.audit.services import record_event
from milepost.organizations.access import Actor, system_actor
from milepost.organizations.models import Organization
from tests import factories
from tests.api.conftest import token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(owner: Actor, org: Organization) -> AuditEvent:
    return record_event(
        actor=owner, action="objective.update", target=org, before={"a": 1}, after={"a": 2}
    )


def _raw(sql: str, params: list[Any] | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_the_orm_refuses_every_change(event: AuditEvent) -> None:
    event.action = "tampered"
    with pytest.raises(ImmutableAuditError):
        event.save()
    with pytest.raises(ImmutableAuditError):
        event.delete()
    with pytest.raises(ImmutableAuditError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(ImmutableAuditError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(ImmutableAuditError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(pk=event.pk).action == "objective.update"


def test_raw_sql_update_and_delete_are_refused_by_the_database(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError, match="immutable"):
        _raw("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["tampered", event.pk])
    with pytest.raises(DatabaseError, match="immutable"):
        _raw("UPDATE audit_auditevent SET actor_id = NULL, action = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="immutable"):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="immutable"):
        _raw("DELETE FROM audit_auditevent")
    if connection.vendor == "postgresql":
        _raw("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks: TRUNCATE reaches the trigger
        with pytest.raises(DatabaseError, match="immutable"):
            _raw("TRUNCATE audit_auditevent")
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.before, stored.after) == ("objective.update", {"a": 1}, {"a": 2})


def test_an_organization_with_history_cannot_be_hard_deleted(
    event: AuditEvent, org: Organization
) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        org.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_a_person_keeps_their_events_under_their_name(
    event: AuditEvent, owner: Actor
) -> None:
    assert owner.user is not None
    User.objects.filter(pk=owner.user.pk).delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_id is None
    assert stored.actor_label == "owner@acme.test"
    assert stored.action == "objective.update"


def test_the_trigger_guards_every_column_of_the_model() -> None:
    columns = {f.column for f in AuditEvent._meta.concrete_fields}
    assert set(SQLITE_FROZEN_COLUMNS) == columns - {"actor_id"}


def test_only_a_whole_database_wipe_lifts_the_guard(event: AuditEvent) -> None:
    with audit_maintenance(connection):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert not AuditEvent.objects.filter(pk=event.pk).exists()
    again = record_event(actor=system_actor(factories.make_org("Other", "other")), action="x.y")
    with pytest.raises(DatabaseError, match="immutable"):  # and the guard is back
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [again.pk])


def test_the_admin_shows_events_read_only(event: AuditEvent) -> None:
    root = factories.make_user("root@example.test", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    delete = reverse("admin:audit_auditevent_delete", args=[event.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(change, {"action": "tampered"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    response = client.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert AuditEvent.objects.get(pk=event.pk).action == "objective.update"


def test_the_api_has_no_operation_that_changes_the_audit_log(
    event: AuditEvent, owner: Actor, org: Organization
) -> None:
    schema = api.get_openapi_schema()
    audit_paths = {p: ops for p, ops in schema["paths"].items() if "audit" in p}
    assert audit_paths
    for path, operations in audit_paths.items():
        assert set(operations) <= {"get", "parameters"}, path
    assert owner.user is not None
    token = token_for(org, owner.user)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    url = f"/api/v1/orgs/{org.slug}/audit-events"
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(url, data={}, content_type="application/json")
        assert response.status_code in (404, 405), (method, response.status_code)
        response = getattr(client, method)(
            f"{url}/{event.pk}", data={}, content_type="application/json"
        )
        assert response.status_code in (404, 405), (method, response.status_code)
    assert AuditEvent.objects.get(pk=event.pk).action == "objective.update"


@pytest.mark.django_db(transaction=True)
def test_the_test_runner_can_still_wipe_the_database() -> None:
    """Transactional tests end with Django's flush, which must get past the triggers (the
    teardown of this test fails otherwise)."""
    org = factories.make_org("Wiped", "wiped")
    record_event(actor=system_actor(org), action="wipe.me", target=org)
    with pytest.raises(DatabaseError, match="immutable"):
        _raw("DELETE FROM audit_auditevent")
