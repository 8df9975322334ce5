"""Webhooks out against a local receiver: emitted after commit only, signed, retried with
exponential backoff for 24 hours, logged with response codes, paused after repeated failures
with the admins told by email."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone

from milepost.accounts.services import create_api_token
from milepost.audit.models import AuditEvent
from milepost.errors import Conflict, InvalidInput, NotFound
from milepost.integrations import webhooks
from milepost.integrations.findings import raise_new_findings
from milepost.integrations.models import (
    AllowedHost,
    DeliveryStatus,
    FindingFingerprint,
    SubscriptionState,
    WebhookDelivery,
    WebhookSubscription,
)
from milepost.integrations.services import (
    create_webhook_subscription,
    pause_webhook_subscription,
    redeliver_webhook,
    resume_webhook_subscription,
    rotate_webhook_secret,
    update_webhook_subscription,
)
from milepost.integrations.tasks import run_due_work
from milepost.integrations.webhooks import (
    emit_cycle_closed,
    emit_event,
    next_attempt_at,
    retry_delay,
    sign,
    verify_signature,
)
from milepost.okrs.models import Cycle, KeyResult
from milepost.okrs.services import close_cycle, record_checkin, skip_objective_retrospective
from milepost.organizations.access import Actor, system_actor
from milepost.organizations.models import Organization, Role
from tests import factories
from tests.integrations.conftest import LocalServer, Received, Reply

pytestmark = pytest.mark.django_db

Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
ALL_EVENTS = ["checkin.recorded", "status.changed", "finding.raised", "cycle.closed"]


def _subscribe(
    admin: Actor, server: LocalServer, events: list[str] | None = None, path: str = "/hook"
) -> WebhookSubscription:
    return create_webhook_subscription(
        actor=admin, url=server.url(path), events=events or ALL_EVENTS, description="test"
    )


def _deliveries(event: str | None = None) -> list[WebhookDelivery]:
    qs = WebhookDelivery.objects.order_by("created_at", "pk")
    return list(qs.filter(event=event) if event else qs)


# --- emitting ----------------------------------------------------------------------------------


def test_a_checkin_emits_after_commit(
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server)
    only_status = _subscribe(admin, server, ["status.changed"], path="/status-only")
    with django_capture_on_commit_callbacks() as callbacks:
        checkin = record_checkin(actor=admin, key_result=key_result, value=Decimal(5))
        assert WebhookDelivery.objects.count() == 0  # nothing before the commit
    for callback in callbacks:
        callback()
    recorded = _deliveries("checkin.recorded")
    assert len(recorded) == 1  # the status-only subscription is not told
    data = recorded[0].payload["data"]
    assert data["check_in"]["id"] == checkin.pk
    assert Decimal(data["check_in"]["value"]) == 5
    assert data["key_result"]["key"] == "revenue"
    assert data["key_result"]["objective"]["key"] == "grow"
    assert recorded[0].payload["organization"] == "acme"
    changed = _deliveries("status.changed")
    assert {d.subscription_id for d in changed} == {only_status.pk, recorded[0].subscription_id}
    assert changed[0].payload["data"]["previous_status"] == "not_started"
    assert changed[0].payload["data"]["status"] == key_result.status


def test_status_changed_only_when_the_status_moves(
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server)
    with django_capture_on_commit_callbacks(execute=True):
        record_checkin(actor=admin, key_result=key_result, value=Decimal(5))
    with django_capture_on_commit_callbacks(execute=True):
        record_checkin(actor=admin, key_result=key_result, value=Decimal(6))
    assert len(_deliveries("checkin.recorded")) == 2
    assert len(_deliveries("status.changed")) == 1


def test_nothing_is_emitted_when_the_transaction_rolls_back(
    admin: Actor,
    org: Organization,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server)

    def refused_service() -> None:
        with transaction.atomic():
            emit_event(org, "cycle.closed", {"cycle": {"key": "q"}})
            raise RuntimeError("refused later in the same service")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        refused_service()
    assert WebhookDelivery.objects.count() == 0
    with pytest.raises(ValueError, match="unknown webhook event"):
        emit_event(org, "cycle.opened", {})


def test_cycle_closed(
    admin: Actor,
    cycle: Cycle,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server, ["cycle.closed"])
    with django_capture_on_commit_callbacks(execute=True):
        emit_cycle_closed(cycle)
    (delivery,) = _deliveries()
    assert delivery.payload["data"]["cycle"]["key"] == "q"
    assert delivery.payload["data"]["cycle"]["end_date"] == cycle.end_date.isoformat()


def test_closing_a_cycle_announces_it_to_a_local_receiver(
    admin: Actor,
    cycle: Cycle,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server, ["cycle.closed"])
    server.routes["/hook"] = Reply(204)
    skip_objective_retrospective(actor=admin, objective=key_result.objective)
    with django_capture_on_commit_callbacks() as callbacks:
        closed = close_cycle(actor=admin, cycle=cycle)
        assert WebhookDelivery.objects.count() == 0  # nothing before the commit
    for callback in callbacks:
        callback()
    (delivery,) = _deliveries("cycle.closed")
    data = delivery.payload["data"]["cycle"]
    assert data["id"] == cycle.pk
    assert data["key"] == "q"
    assert closed.closed_at is not None
    sent_closed_at = dt.datetime.fromisoformat(data["closed_at"])
    assert abs(sent_closed_at - closed.closed_at) < dt.timedelta(milliseconds=1)
    assert run_due_work(timezone.now()).deliveries_delivered == 1
    (request,) = server.received
    assert request.headers["x-milepost-event"] == "cycle.closed"
    assert json.loads(request.body)["data"]["cycle"]["key"] == "q"


def test_a_refused_close_announces_nothing(
    admin: Actor,
    cycle: Cycle,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server, ["cycle.closed"])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict):
        close_cycle(actor=admin, cycle=cycle)  # the objective has no retrospective
    assert WebhookDelivery.objects.count() == 0


def test_a_push_with_a_key_result_token_is_announced(
    org: Organization,
    admin: Actor,
    kr_owner: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server, ["checkin.recorded"])
    assert kr_owner.user is not None
    _, secret = create_api_token(
        actor=system_actor(org),
        user=kr_owner.user,
        name="cron",
        role="member",
        key_result=key_result,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            f"/api/v1/orgs/acme/key-results/{key_result.pk}/check-ins",
            b'{"value": 12.5}',
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert response.status_code == 201, response.content
    (delivery,) = _deliveries()
    assert delivery.payload["data"]["check_in"]["source"] == "api"
    assert delivery.payload["data"]["check_in"]["author"] == "kr-owner@acme.test"


# --- delivering --------------------------------------------------------------------------------


def _emit(org: Organization, capture: Capture, n: int = 1) -> None:
    with capture(execute=True):
        for i in range(n):
            emit_event(org, "cycle.closed", {"cycle": {"key": f"c{i}"}})


def test_deliveries_are_signed_and_logged(
    org: Organization,
    admin: Actor,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    subscription = _subscribe(admin, server)
    checks: list[bool] = []

    def receiver(request: Received) -> Reply:
        checks.append(
            verify_signature(
                subscription.secret, request.body, request.headers["x-milepost-signature"]
            )
        )
        return Reply(204)

    server.routes["/hook"] = receiver
    _emit(org, django_capture_on_commit_callbacks)
    summary = run_due_work(timezone.now())
    assert summary.deliveries_attempted == 1
    assert summary.deliveries_delivered == 1
    assert checks == [True]
    (request,) = server.received
    (delivery,) = _deliveries()
    assert request.method == "POST"
    assert request.headers["x-milepost-event"] == "cycle.closed"
    assert request.headers["x-milepost-delivery"] == str(delivery.delivery_id)
    assert request.headers["content-type"] == "application/json"
    assert request.body == delivery.body.encode()
    assert json.loads(request.body)["id"] == str(delivery.delivery_id)
    expected = sign(subscription.secret, request.body)
    assert request.headers["x-milepost-signature"] == expected
    assert expected.startswith("sha256=")
    assert len(expected) == 7 + 64
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 204
    assert delivery.log[0]["status_code"] == 204
    assert run_due_work(timezone.now()).deliveries_attempted == 0  # delivered once


def test_a_wrong_secret_does_not_verify() -> None:
    body = b'{"event":"cycle.closed"}'
    assert verify_signature("secret-one-secret-one", body, sign("secret-one-secret-one", body))
    assert not verify_signature("secret-two-secret-two", body, sign("secret-one-secret-one", body))
    assert not verify_signature(
        "secret-one-secret-one", body + b" ", sign("secret-one-secret-one", body)
    )


def test_backoff_schedule() -> None:
    assert [retry_delay(n).total_seconds() / 60 for n in range(1, 7)] == [1, 2, 4, 8, 16, 32]
    start = timezone.now()
    until = start + dt.timedelta(hours=24)
    times = [start]
    attempts = 1
    while (following := next_attempt_at(until, attempts, times[-1])) is not None:
        times.append(following)
        attempts += 1
    minutes = [round((t - start).total_seconds() / 60) for t in times]
    assert minutes == [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1440]


def test_retries_follow_the_schedule_then_give_up(
    org: Organization,
    admin: Actor,
    server: LocalServer,
    allowed: AllowedHost,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    monkeypatch.setattr(webhooks, "PAUSE_AFTER_FAILURES", 1000)
    server.routes["/hook"] = Reply(500, "broken")
    _subscribe(admin, server)
    _emit(org, django_capture_on_commit_callbacks)
    (delivery,) = _deliveries()
    created = delivery.created_at
    seen: list[int] = []
    for _ in range(20):
        delivery.refresh_from_db()
        if delivery.status != DeliveryStatus.PENDING:
            break
        assert delivery.next_attempt_at is not None
        now = delivery.next_attempt_at
        seen.append(round((now - created).total_seconds() / 60))
        # Just before it is due, nothing is sent.
        assert run_due_work(now - dt.timedelta(seconds=1)).deliveries_attempted == 0
        assert run_due_work(now).deliveries_attempted == 1
    assert seen == [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1440]
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 12
    assert [e["status_code"] for e in delivery.log] == [500] * 12
    assert delivery.log[0]["error"] == "HTTP 500"
    assert len(server.received) == 12


def test_repeated_failures_pause_the_subscription_and_tell_the_admins(
    org: Organization,
    owner: Actor,
    admin: Actor,
    member: Actor,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    server.routes["/hook"] = Reply(502)
    subscription = _subscribe(admin, server)
    _emit(org, django_capture_on_commit_callbacks, n=12)
    with django_capture_on_commit_callbacks(execute=True):
        summary = run_due_work(timezone.now())
    assert summary.deliveries_attempted == webhooks.PAUSE_AFTER_FAILURES
    subscription.refresh_from_db()
    assert subscription.state == SubscriptionState.PAUSED
    assert "10 failed attempts in a row" in subscription.pause_reason
    assert all(d.status == DeliveryStatus.FAILED for d in _deliveries())
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["admin@acme.test", "owner@acme.test"]
    assert subscription.url in message.subject
    assert "HTTP 502" in message.body
    assert AuditEvent.objects.filter(action="webhooksubscription.pause").count() == 1
    # Paused: nothing more is sent, and new events are not queued for it.
    _emit(org, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 12
    assert run_due_work(timezone.now() + dt.timedelta(hours=1)).deliveries_attempted == 0
    assert len(server.received) == 10
    # Resumed and fixed: events flow again, and a given-up delivery can be sent again.
    server.routes["/hook"] = Reply(200)
    resume_webhook_subscription(actor=admin, subscription=subscription)
    first = _deliveries()[0]
    redeliver_webhook(actor=admin, delivery=first)
    assert run_due_work(timezone.now()).deliveries_delivered == 1
    first.refresh_from_db()
    assert first.status == DeliveryStatus.DELIVERED
    assert [e["status_code"] for e in first.log] == [502, 200]
    assert len(mail.outbox) == 1


def test_a_success_resets_the_failure_count(
    org: Organization,
    admin: Actor,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    answers = iter([500] * 9 + [200] + [500] * 9)
    server.routes["/hook"] = lambda request: Reply(next(answers))
    subscription = _subscribe(admin, server)
    _emit(org, django_capture_on_commit_callbacks, n=19)
    run_due_work(timezone.now())
    subscription.refresh_from_db()
    assert subscription.state == SubscriptionState.ACTIVE
    assert subscription.consecutive_failures == 9


@pytest.mark.parametrize("problem", ["host removed", "redirect", "timeout"])
def test_failed_attempts_of_every_kind_are_logged(
    org: Organization,
    admin: Actor,
    server: LocalServer,
    allowed: AllowedHost,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Capture,
    problem: str,
) -> None:
    _subscribe(admin, server)
    if problem == "host removed":
        allowed.delete()
    elif problem == "redirect":
        server.routes["/hook"] = Reply(307, headers={"Location": server.url("/elsewhere")})
    else:
        monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
        server.routes["/hook"] = Reply(200, delay=2.0)
    _emit(org, django_capture_on_commit_callbacks)
    run_due_work(timezone.now())
    (delivery,) = _deliveries()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    entry = delivery.log[0]
    if problem == "host removed":
        assert server.received == []
        assert entry["status_code"] is None
        assert "not on this organization's list" in entry["error"]
    elif problem == "redirect":
        assert server.paths() == ["/hook"]  # never followed
        assert entry["status_code"] == 307
    else:
        assert "timed out" in entry["error"]


def test_an_unreadable_secret_fails_the_attempt_without_sending(
    org: Organization,
    admin: Actor,
    server: LocalServer,
    allowed: AllowedHost,
    settings: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    from cryptography.fernet import Fernet

    _subscribe(admin, server)
    _emit(org, django_capture_on_commit_callbacks)
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    summary = run_due_work(timezone.now())
    assert summary.deliveries_attempted == 1
    assert summary.errors == 0
    assert server.received == []
    (delivery,) = _deliveries()
    assert "cannot be decrypted" in delivery.log[0]["error"]
    assert delivery.status == DeliveryStatus.PENDING


def test_claimed_deliveries_are_not_sent_twice(
    org: Organization,
    admin: Actor,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server)
    _emit(org, django_capture_on_commit_callbacks)
    now = timezone.now()
    one, two = list(webhooks.due_deliveries(now)), list(webhooks.due_deliveries(now))
    assert webhooks.claim(one[0], now)
    assert not webhooks.claim(two[0], now)
    assert list(webhooks.due_deliveries(now)) == []


# --- finding.raised ----------------------------------------------------------------------------


def test_new_findings_are_raised_once(
    org: Organization,
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    _subscribe(admin, server, ["finding.raised"])
    with django_capture_on_commit_callbacks(execute=True):
        raised = raise_new_findings(org)
    assert raised >= 1
    codes = [d.payload["data"]["finding"]["code"] for d in _deliveries()]
    assert "kr-uncovered" in codes
    uncovered = next(d for d in _deliveries() if "kr-uncovered" in d.body)
    assert "kr:grow/revenue" in uncovered.payload["data"]["finding"]["objects"]
    assert uncovered.payload["data"]["cycle"]["key"] == "q"
    with django_capture_on_commit_callbacks(execute=True):
        assert raise_new_findings(org) == 0
    assert WebhookDelivery.objects.count() == raised
    # The finding goes away (an initiative now works on the key result): forgotten.
    initiative = factories.make_initiative(org, cycle=key_result.objective.cycle)
    from milepost.roadmap.models import InitiativeKeyResult

    InitiativeKeyResult.objects.create(
        organization=org, initiative=initiative, key_result=key_result, weight=Decimal(1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        raise_new_findings(org)
    assert not FindingFingerprint.objects.filter(code="kr-uncovered").exists()


def test_the_worker_scans_subscribed_organizations_daily(
    org: Organization,
    other_org: Organization,
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    now = timezone.now()
    assert run_due_work(now).findings_scanned == 0  # no subscription to finding.raised
    _subscribe(admin, server, ["finding.raised"])
    with django_capture_on_commit_callbacks(execute=True):
        first = run_due_work(now)
    assert first.findings_scanned == 1
    assert first.findings_raised >= 1
    assert run_due_work(now + dt.timedelta(hours=23)).findings_scanned == 0
    assert run_due_work(now + dt.timedelta(hours=25)).findings_scanned == 1


# --- managing subscriptions --------------------------------------------------------------------


def test_subscriptions_are_for_admins_on_allowed_hosts(
    org: Organization,
    admin: Actor,
    member: Actor,
    server: LocalServer,
    allowed: AllowedHost,
) -> None:
    with pytest.raises(NotFound):
        _subscribe(member, server)
    with pytest.raises(InvalidInput) as refused:
        create_webhook_subscription(actor=admin, url="https://hooks.example.com/x", events=["nope"])
    assert set(refused.value.errors) == {"url", "events"}
    subscription = _subscribe(admin, server, ["cycle.closed"])
    assert subscription.secret.startswith("whsec_")
    event = AuditEvent.objects.get(action="webhooksubscription.create")
    assert subscription.secret not in json.dumps(event.after)
    old = subscription.secret
    rotate_webhook_secret(actor=admin, subscription=subscription)
    assert WebhookSubscription.objects.get().secret not in (old, "")
    updated = update_webhook_subscription(
        actor=admin, subscription=subscription, changes={"events": ["status.changed"]}
    )
    assert updated.events == ["status.changed"]
    paused = pause_webhook_subscription(actor=admin, subscription=subscription)
    assert paused.state == SubscriptionState.PAUSED
    delivery = WebhookDelivery.objects.create(
        organization=org,
        subscription=subscription,
        event="cycle.closed",
        body="{}",
        status=DeliveryStatus.FAILED,
        created_at=timezone.now(),
        retry_until=timezone.now(),
    )
    with pytest.raises(Conflict):
        redeliver_webhook(actor=admin, delivery=delivery)


def test_admin_emails_are_admins_and_owners_only(
    org: Organization, owner: Actor, admin: Actor, member: Actor, viewer: Actor
) -> None:
    removed = factories.make_member(org, Role.ADMIN, "gone@acme.test")
    from milepost.organizations.models import Membership

    Membership.objects.filter(user=removed).update(archived_at=timezone.now())
    assert webhooks.admin_emails(org.pk) == ["admin@acme.test", "owner@acme.test"]


def test_old_history_is_pruned(
    org: Organization,
    admin: Actor,
    key_result: KeyResult,
    server: LocalServer,
    allowed: AllowedHost,
) -> None:
    from milepost.integrations.models import DataSource, DataSourceRun
    from milepost.integrations.tasks import prune_history

    now = timezone.now()
    subscription = _subscribe(admin, server)
    old = now - dt.timedelta(days=40)
    for status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.PENDING):
        WebhookDelivery.objects.create(
            organization=org,
            subscription=subscription,
            event="cycle.closed",
            body="{}",
            status=status,
            created_at=old,
            retry_until=old,
        )
    recent = WebhookDelivery.objects.create(
        organization=org,
        subscription=subscription,
        event="cycle.closed",
        body="{}",
        status=DeliveryStatus.DELIVERED,
        created_at=now - dt.timedelta(days=2),
        retry_until=now,
    )
    source = DataSource.objects.create(organization=org, key_result=key_result, kind="sql")
    for days in (100, 10):
        DataSourceRun.objects.create(
            organization=org,
            data_source=source,
            started_at=now - dt.timedelta(days=days),
            finished_at=now - dt.timedelta(days=days),
        )
    assert prune_history(now) == 3  # two finished deliveries and the 100-day-old run
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 1
    assert WebhookDelivery.objects.filter(pk=recent.pk).exists()
    assert DataSourceRun.objects.count() == 1
