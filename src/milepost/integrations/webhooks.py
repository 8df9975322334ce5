"""Webhooks out: tell other systems what changed.

Emitting: a service calls `emit_event(organization, event, payload)` inside its transaction;
once (and only if) the transaction commits, one `WebhookDelivery` is created per *active*
subscription of the organization to that event. The body is fixed then: retries send the
same bytes with the same signature.

The body is JSON: ``{"id": <delivery id>, "event": …, "created_at": …, "organization": <slug>,
"data": <payload>}``. Each request carries:

* ``X-Milepost-Event``: the event (``checkin.recorded``, ``status.changed``,
  ``finding.raised``, ``cycle.closed``);
* ``X-Milepost-Delivery``: the delivery id (the same on every retry: use it to de-duplicate);
* ``X-Milepost-Signature: sha256=<hex>``: HMAC-SHA256 of the raw request body with the
  subscription's secret (compare it in constant time before trusting the body).

A 2xx answer is a delivery. Anything else (another status, a redirect, a timeout, a refused
connection, a host no longer allowed) is a failed attempt, logged with its response code, and
retried with exponential backoff — 1, 2, 4, 8 … minutes after each failure — for 24 hours
after the event (a last attempt at the 24-hour mark), then given up. After
`PAUSE_AFTER_FAILURES` failed attempts in a row the subscription is paused, its pending
deliveries are given up, and the organization's admins and owners are emailed. Events that
happen while a subscription is paused are not queued for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone

from milepost.integrations.crypto import SecretUnreadable, reveal
from milepost.integrations.models import (
    WEBHOOK_EVENTS,
    DeliveryStatus,
    SubscriptionState,
    WebhookDelivery,
    WebhookSubscription,
)
from milepost.integrations.outbound import OutboundError, allowed_hosts, request
from milepost.organizations.models import Membership, Organization, Role
from milepost.prepared import PreparedRows

if TYPE_CHECKING:
    from milepost.okrs.models import CheckIn, Cycle, KeyResult

__all__ = [
    "SIGNATURE_HEADER",
    "deliver",
    "due_deliveries",
    "emit_checkin_events",
    "emit_cycle_closed",
    "emit_event",
    "emit_events",
    "next_attempt_at",
    "redeliver",
    "retry_delay",
    "sign",
    "verify_signature",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Milepost-Signature"
EVENT_HEADER = "X-Milepost-Event"
DELIVERY_HEADER = "X-Milepost-Delivery"
RETRY_WINDOW = dt.timedelta(hours=24)
FIRST_RETRY = dt.timedelta(minutes=1)
PAUSE_AFTER_FAILURES = 10
TIMEOUT_SECONDS = 10.0
LOG_KEPT = 30
CLAIM_LEASE = dt.timedelta(minutes=5)


# --- signing -----------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` + hex HMAC-SHA256 of `body` with `secret`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is the signature of `body` with `secret` (constant-time compare).
    What a receiver does; here for the tests and as the reference."""
    return hmac.compare_digest(sign(secret, body), header.strip())


# --- backoff -----------------------------------------------------------------------------------


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 1 minute, doubling each time."""
    factor: int = 2 ** max(0, attempts - 1)
    return FIRST_RETRY * factor


def next_attempt_at(
    retry_until: dt.datetime, attempts: int, now: dt.datetime
) -> dt.datetime | None:
    """When to try again after `attempts` failed attempts at `now` (never past
    `retry_until`, where a last attempt is made); None when the window is over."""
    if now >= retry_until:
        return None
    return min(now + retry_delay(attempts), retry_until)


# --- emitting ----------------------------------------------------------------------------------


def _body(delivery_id: uuid.UUID, event: str, created_at: dt.datetime, slug: str, data: Any) -> str:
    envelope = {
        "id": str(delivery_id),
        "event": event,
        "created_at": created_at.isoformat(),
        "organization": slug,
        "data": data,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))


# Read after every check-in's commit: compiled once per process (`milepost.prepared`).
_ACTIVE_SUBSCRIPTIONS = PreparedRows(
    lambda org: (
        WebhookSubscription.objects.filter(
            organization_id=org, archived_at__isnull=True, state=SubscriptionState.ACTIVE
        )
        .order_by("pk")
        .values_list("pk", "events")
    ),
    org=-1,
)


def create_deliveries(
    organization: Organization, event: str, payload: Mapping[str, Any], created_at: dt.datetime
) -> list[WebhookDelivery]:
    """One pending delivery per active subscription of `organization` to `event`, due now."""
    return _create_deliveries(organization, [(event, payload)], created_at)


def _create_deliveries(
    organization: Organization,
    events: Sequence[tuple[str, Mapping[str, Any]]],
    created_at: dt.datetime,
) -> list[WebhookDelivery]:
    """`create_deliveries` for several events at once: the subscriptions are read in one
    query (their ids and events only: a delivery needs no more of them, and the secret is
    not decrypted), whatever the number of events (a check-in emits two)."""
    subscribed = [
        (pk, set(wanted or [])) for pk, wanted in _ACTIVE_SUBSCRIPTIONS.rows(org=organization.pk)
    ]
    deliveries = []
    for event, payload in events:
        to = [pk for pk, wanted in subscribed if event in wanted]
        if not to:
            continue
        data = json.loads(json.dumps(dict(payload), cls=DjangoJSONEncoder))
        for subscription_id in to:
            delivery_id = uuid.uuid4()
            deliveries.append(
                WebhookDelivery(
                    organization=organization,
                    subscription_id=subscription_id,
                    delivery_id=delivery_id,
                    event=event,
                    body=_body(delivery_id, event, created_at, organization.slug, data),
                    next_attempt_at=created_at,
                    retry_until=created_at + RETRY_WINDOW,
                    created_at=created_at,
                )
            )
    if not deliveries:
        return []
    return WebhookDelivery.objects.bulk_create(deliveries)


def emit_event(organization: Organization, event: str, payload: Mapping[str, Any]) -> None:
    """Announce `event` with `payload` (JSON-ready; Decimals and dates become strings) to the
    organization's subscribers once the current transaction commits (at once outside one).
    Nothing is announced if the transaction rolls back. The worker sends the deliveries."""
    emit_events(organization, [(event, payload)])


def emit_events(
    organization: Organization, events: Sequence[tuple[str, Mapping[str, Any]]]
) -> None:
    """`emit_event` for several events of one change: one read of the subscriptions after
    the commit for all of them."""
    for event, _ in events:
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"unknown webhook event {event!r}")
    if not events:
        return
    created_at = timezone.now()
    frozen = [
        (event, json.loads(json.dumps(dict(payload), cls=DjangoJSONEncoder)))
        for event, payload in events
    ]
    transaction.on_commit(lambda: _create_deliveries(organization, frozen, created_at))


def key_result_payload(kr: KeyResult) -> dict[str, Any]:
    """A key result as webhook payloads describe it."""
    objective = kr.objective
    return {
        "id": kr.pk,
        "key": kr.key,
        "title": kr.title,
        "objective": {"id": objective.pk, "key": objective.key, "title": objective.title},
        "unit": kr.unit,
        "start_value": kr.start_value,
        "target_value": kr.target_value,
        "current_value": kr.current_value,
        "progress": kr.progress,
        "status": kr.status,
    }


def emit_checkin_events(
    organization: Organization, checkin: CheckIn, key_result: KeyResult, previous_status: str
) -> None:
    """``checkin.recorded`` for a new check-in (or correction), and ``status.changed`` when
    the key result's stored status moved from `previous_status`. Call inside the service's
    transaction, after the key result's stored numbers were refreshed. No query until
    the commit, then one read of the subscriptions for both events."""
    kr = key_result_payload(key_result)
    events: list[tuple[str, Mapping[str, Any]]] = [
        (
            "checkin.recorded",
            {
                "check_in": {
                    "id": checkin.pk,
                    "value": checkin.value,
                    "confidence": checkin.confidence,
                    "note": checkin.note,
                    "effective_date": checkin.effective_date,
                    "recorded_at": checkin.recorded_at,
                    "source": checkin.source,
                    "author": (
                        checkin.author.email if checkin.author_id and checkin.author else None
                    ),
                    "corrects": checkin.corrects_id,
                },
                "key_result": kr,
            },
        )
    ]
    if previous_status != key_result.status:
        events.append(
            (
                "status.changed",
                {"key_result": kr, "previous_status": previous_status, "status": key_result.status},
            )
        )
    emit_events(organization, events)


def emit_cycle_closed(cycle: Cycle) -> None:
    """``cycle.closed`` for a cycle just closed (call inside the closing transaction)."""
    emit_event(
        cycle.organization,
        "cycle.closed",
        {
            "cycle": {
                "id": cycle.pk,
                "key": cycle.key,
                "name": cycle.name,
                "start_date": cycle.start_date,
                "end_date": cycle.end_date,
                "closed_at": cycle.closed_at,
            }
        },
    )


# --- delivering --------------------------------------------------------------------------------


def due_deliveries(now: dt.datetime) -> QuerySet[WebhookDelivery]:
    """Pending deliveries due at `now` of active subscriptions, oldest first."""
    return (
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now,
            subscription__state=SubscriptionState.ACTIVE,
            subscription__archived_at__isnull=True,
            organization__archived_at__isnull=True,
        )
        .select_related("subscription", "organization")
        .order_by("next_attempt_at", "pk")
    )


def claim(delivery: WebhookDelivery, now: dt.datetime) -> bool:
    """Take a due delivery for this worker (False if another took it first)."""
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery.pk,
            status=DeliveryStatus.PENDING,
            next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=now + CLAIM_LEASE)
    )


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    subscription = delivery.subscription
    body = delivery.body.encode()
    try:
        secret = reveal(subscription.secret)
    except SecretUnreadable as exc:
        return None, f"not sent: {exc} (make a new secret on the webhook's page)"
    if not secret:
        return None, "not sent: the webhook has no signing secret (make a new one)"
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.delivery_id),
        SIGNATURE_HEADER: sign(secret, body),
    }
    try:
        response = request(
            "POST",
            subscription.url,
            allowed=allowed_hosts(delivery.organization_id),
            timeout=TIMEOUT_SECONDS,
            headers=headers,
            content=body,
            follow_redirects=False,
        )
    except OutboundError as exc:
        return None, str(exc)
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"


def deliver(delivery: WebhookDelivery, *, now: dt.datetime | None = None) -> bool:
    """Make one attempt (whatever `next_attempt_at` says) and record it: True if delivered.
    A failure schedules the next attempt (or gives up after the 24-hour window) and may pause
    the subscription (see the module docstring)."""
    now = now or timezone.now()
    started = timezone.now()
    status_code, error = _post(delivery)
    duration_ms = int((timezone.now() - started).total_seconds() * 1000)
    delivery.attempts += 1
    delivery.last_status_code = status_code
    entry = {
        "at": now.isoformat(),
        "status_code": status_code,
        "error": error[:300],
        "duration_ms": duration_ms,
    }
    delivery.log = [*(delivery.log or []), entry][-LOG_KEPT:]
    subscription = delivery.subscription
    if not error:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        with transaction.atomic():
            delivery.save()
            WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0)
        return True
    following = next_attempt_at(delivery.retry_until, delivery.attempts, now)
    if following is None:
        delivery.status = DeliveryStatus.FAILED
    delivery.next_attempt_at = following
    with transaction.atomic():
        delivery.save()
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        failures = (
            WebhookSubscription.objects.filter(pk=subscription.pk)
            .values_list("consecutive_failures", flat=True)
            .get()
        )
        paused = failures >= PAUSE_AFTER_FAILURES and _pause(
            subscription, now, f"{failures} failed attempts in a row; last: {error}"[:300]
        )
    if paused:
        transaction.on_commit(lambda: _tell_admins(subscription, failures, error))
    return False


def _pause(subscription: WebhookSubscription, now: dt.datetime, reason: str) -> bool:
    """Pause an active subscription and give up its pending deliveries (False if it was not
    active: someone else paused it first)."""
    changed = WebhookSubscription.objects.filter(
        pk=subscription.pk, state=SubscriptionState.ACTIVE
    ).update(state=SubscriptionState.PAUSED, paused_at=now, pause_reason=reason)
    if not changed:
        return False
    WebhookDelivery.objects.filter(
        subscription_id=subscription.pk, status=DeliveryStatus.PENDING
    ).update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    from milepost.audit.services import record_event
    from milepost.organizations.access import system_actor

    record_event(
        actor=system_actor(subscription.organization, label="webhooks"),
        action="webhooksubscription.pause",
        target=subscription,
        after={"state": SubscriptionState.PAUSED, "reason": reason},
    )
    return True


def admin_emails(organization_id: int) -> list[str]:
    """The emails of the organization's active admins and owners."""
    return sorted(
        Membership.objects.filter(
            organization_id=organization_id,
            archived_at__isnull=True,
            role__in=[Role.ADMIN, Role.OWNER],
            user__is_active=True,
        ).values_list("user__email", flat=True)
    )


def _tell_admins(subscription: WebhookSubscription, failures: int, error: str) -> None:
    recipients = admin_emails(subscription.organization_id)
    if not recipients:
        return
    path = reverse("web:webhook-detail", args=[subscription.pk])
    link = f"{settings.BASE_URL.rstrip('/')}{path}"
    message = (
        f"Milepost stopped sending events to {subscription.url} after {failures} failed "
        f"attempts in a row.\n\nLast error: {error}\n\n"
        "Deliveries that were still pending were given up, and new events are not queued "
        "for this endpoint while it is paused. Fix the endpoint, then resume the webhook:\n"
        f"{link}\n"
    )
    try:
        send_mail(
            f"Milepost: webhook to {subscription.url} paused",
            message,
            None,
            recipients,
        )
    except Exception:  # an SMTP outage must not stop the worker; the pause is on the page
        log.exception("could not email the admins about paused webhook %s", subscription.pk)


def redeliver(delivery: WebhookDelivery, *, now: dt.datetime | None = None) -> WebhookDelivery:
    """Queue a delivered or given-up delivery again, with a new 24-hour window (the same
    body, id and signature)."""
    now = now or timezone.now()
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.retry_until = now + RETRY_WINDOW
    delivery.save(update_fields=["status", "next_attempt_at", "retry_until"])
    return delivery
