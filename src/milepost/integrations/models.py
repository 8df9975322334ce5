"""Integrations: hosts Milepost may call, key-result data sources and their runs, database
connections for SQL sources, outgoing webhooks and their deliveries, and the fingerprints of
plan-health findings already announced.

Secrets (request headers, connection strings, webhook secrets) are `EncryptedTextField`s: the
database holds ciphertext only (see `milepost.integrations.crypto`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import models
from django.db.models import Q

from milepost.integrations.crypto import EncryptedTextField, SecretUnreadable, reveal
from milepost.organizations.models import Organization, TenantModel
from milepost.organizations.querysets import TenantQuerySet


class AllowedHost(TenantModel):
    """A host that data sources and webhooks of the organization may call (admins list them).

    ``host`` is a host name or IP address, optionally with ``:port`` (then only that port),
    or ``*.example.com`` for every subdomain of example.com (not example.com itself)."""

    host = models.CharField(max_length=260)
    note = models.CharField(max_length=200, blank=True)

    objects: ClassVar[TenantQuerySet[AllowedHost]] = TenantQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["host"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "host"],
                name="allowedhost_unique_in_org",
                violation_error_message="This host is already allowed.",
            )
        ]

    def __str__(self) -> str:
        return self.host


class DatabaseConnection(TenantModel):
    """A database that SQL data sources read from, configured by an admin. ``url`` is a
    DATABASE_URL-like string (``postgres://user:password@host:5432/name`` or
    ``sqlite:////absolute/path.sqlite3``), stored encrypted."""

    name = models.CharField(max_length=100)
    url = EncryptedTextField()
    note = models.CharField(max_length=200, blank=True)

    objects: ClassVar[TenantQuerySet[DatabaseConnection]] = TenantQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="dbconnection_name_unique_in_org",
                violation_error_message="A database connection with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def engine(self) -> str:
        """``postgresql`` or ``sqlite`` (from the URL's scheme; "" when unknown);
        `SecretUnreadable` if the URL cannot be decrypted."""
        scheme = reveal(self.url).partition(":")[0].lower()
        if scheme in {"postgres", "postgresql", "pgsql"}:
            return "postgresql"
        if scheme == "sqlite":
            return "sqlite"
        return ""


class DataSourceKind(models.TextChoices):
    HTTP_JSON = "http_json", "HTTP endpoint returning JSON"
    CSV_URL = "csv_url", "CSV file at a URL"
    SQL = "sql", "SQL query"


class CsvRowRule(models.TextChoices):
    LAST = "last", "The last row"
    MATCH = "match", "The last row where a column has a value"


class Schedule(models.TextChoices):
    HOURLY = "hourly", "Every hour"
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Every week"


SCHEDULE_INTERVALS: dict[str, dt.timedelta] = {
    Schedule.HOURLY: dt.timedelta(hours=1),
    Schedule.DAILY: dt.timedelta(days=1),
    Schedule.WEEKLY: dt.timedelta(weeks=1),
}


class RunStatus(models.TextChoices):
    NEVER = "never", "Not run yet"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"


class DataSource(TenantModel):
    """Where a key result's value comes from, and how the last runs went. One per key
    result; removing it archives it (its runs stay)."""

    key_result = models.OneToOneField(
        "okrs.KeyResult", on_delete=models.CASCADE, related_name="data_source"
    )
    kind = models.CharField(max_length=10, choices=DataSourceKind.choices)
    # http_json and csv_url
    # Not URLField: its validator refuses internal host names without a dot (http://metrics/).
    url = models.CharField(max_length=2000, blank=True)
    headers = EncryptedTextField(blank=True)  # a JSON object of header name → value
    json_path = models.CharField(max_length=500, blank=True)
    csv_column = models.CharField(max_length=200, blank=True)
    csv_row_rule = models.CharField(
        max_length=8, choices=CsvRowRule.choices, default=CsvRowRule.LAST
    )
    csv_match_column = models.CharField(max_length=200, blank=True)
    csv_match_value = models.CharField(max_length=200, blank=True)
    # sql
    connection = models.ForeignKey(
        DatabaseConnection,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_sources",
    )
    query = models.TextField(blank=True)
    # when and how it runs
    schedule = models.CharField(max_length=8, choices=Schedule.choices, default=Schedule.DAILY)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.NEVER)
    last_error = models.TextField(blank=True)
    last_value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    objects: ClassVar[TenantQuerySet[DataSource]] = TenantQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["key_result_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=1) & Q(timeout_seconds__lte=60),
                name="datasource_timeout_1_60",
                violation_error_message="timeout_seconds must be between 1 and 60.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in DataSourceKind]),
                name="datasource_kind_valid",
                violation_error_message="kind must be http_json, csv_url or sql.",
            ),
        ]
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="datasource_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for key result {self.key_result_id}"

    def header_dict(self) -> dict[str, str]:
        """The request headers (decrypted; `SecretUnreadable` if they cannot be)."""
        headers = reveal(self.headers)
        if not headers:
            return {}
        data = json.loads(headers)
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def header_names(self) -> list[str]:
        """The stored headers' names (for people; ["(unreadable)"] if they cannot be read)."""
        try:
            return sorted(self.header_dict())
        except SecretUnreadable:
            return ["(unreadable: the encryption key changed)"]

    @property
    def interval(self) -> dt.timedelta:
        return SCHEDULE_INTERVALS[self.schedule]

    @property
    def display_url(self) -> str:
        """The URL without its query string or user info (which may carry a key)."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    @property
    def target(self) -> str:
        """What it reads, for people (never a secret)."""
        if self.kind == DataSourceKind.SQL:
            return f"SQL on {self.connection.name if self.connection else '—'}"
        return self.display_url


class DataSourceRun(models.Model):
    """One run of a data source: the value read, or why none was."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, default="schedule")  # schedule | manual
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField(default=False)
    value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    error = models.TextField(blank=True)
    message = models.CharField(max_length=300, blank=True)
    checkin = models.ForeignKey(
        "okrs.CheckIn", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["data_source", "-started_at"], name="dsrun_source_idx")]

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'failed'} at {self.started_at:%Y-%m-%d %H:%M}"


class WebhookEvent(models.TextChoices):
    CHECKIN_RECORDED = "checkin.recorded", "A check-in is recorded"
    STATUS_CHANGED = "status.changed", "A key result's status changes"
    FINDING_RAISED = "finding.raised", "A plan-health finding appears"
    CYCLE_CLOSED = "cycle.closed", "A cycle is closed"


WEBHOOK_EVENTS: tuple[str, ...] = tuple(e.value for e in WebhookEvent)


class SubscriptionState(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class WebhookSubscription(TenantModel):
    """A URL told about events, with the secret its deliveries are signed with."""

    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)  # a subset of WEBHOOK_EVENTS
    secret = EncryptedTextField()
    state = models.CharField(
        max_length=8, choices=SubscriptionState.choices, default=SubscriptionState.ACTIVE
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)

    objects: ClassVar[TenantQuerySet[WebhookSubscription]] = TenantQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["url", "id"]

    def __str__(self) -> str:
        return self.url

    @property
    def is_active(self) -> bool:
        return self.state == SubscriptionState.ACTIVE and self.archived_at is None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class WebhookDelivery(models.Model):
    """One event for one subscription: the exact body sent (signed as is on every attempt),
    its attempts with their response codes, and when it is next tried."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=40)
    body = models.TextField()  # the JSON document, byte for byte as sent
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    retry_until = models.DateTimeField()  # no attempt after this (24 hours after the event)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # One entry per attempt: {"at", "status_code", "error", "duration_ms"}.
    log = models.JSONField(default=list)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["subscription", "-created_at"], name="delivery_sub_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id} ({self.status})"

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class FindingFingerprint(models.Model):
    """A plan-health finding already announced (``finding.raised``); the row goes when the
    finding does, so a finding that comes back is announced again."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    code = models.CharField(max_length=60)
    first_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["organization_id", "fingerprint"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "fingerprint"], name="finding_fingerprint_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.fingerprint[:8]}"


class FindingScan(models.Model):
    """When an organization's findings were last compared with the announced ones."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    scanned_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.organization_id} at {self.scanned_at:%Y-%m-%d %H:%M}"


# --- reminders, digests and the worker's daily jobs ----------------------------------------------


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", "Check-in reminder"
    DIGEST = "digest", "Weekly team digest"
    RECOMPUTE = "recompute", "Nightly recompute"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up"
    SKIPPED = "skipped", "Nothing to send"
    INTERRUPTED = "interrupted", "Interrupted while sending (not sent again)"


class NotificationLog(models.Model):
    """One notification (or daily job) per organization, person, kind and period.

    The row is the *claim*: it is inserted, with the message already rendered, before anything
    is sent, and the unique constraint makes a second claim for the same period fail, so a
    worker that restarts (or a second worker) never sends it twice. A failed attempt goes back
    to ``pending`` with a later ``next_attempt_at`` until the period ends; a row left in
    ``sending`` by a worker that died mid-send becomes ``interrupted`` and is not sent again
    (it may have gone out). Jobs of the organization (the nightly recompute) have no user."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    period_key = models.CharField(max_length=16)  # "2026-W47" (weekly) or "2026-11-22" (daily)
    channel = models.CharField(max_length=8, blank=True)  # email | chat | "" (a job)
    state = models.CharField(
        max_length=12, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    retry_until = models.DateTimeField()  # the end of the period: no attempt after it
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    body_chat = models.TextField(blank=True)
    items = models.PositiveIntegerField(default=0)  # key results listed, rows changed, …
    # A digest's view of the week (statuses, findings), compared by the next digest.
    snapshot = models.JSONField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "kind", "period_key"],
                condition=Q(user__isnull=False),
                name="notification_once_per_period",
            ),
            models.UniqueConstraint(
                fields=["organization", "kind", "period_key"],
                condition=Q(user__isnull=True),
                name="notification_job_once_per_period",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="notification_due_idx"),
            models.Index(
                fields=["organization", "user", "kind", "-created_at"],
                name="notification_user_kind_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.period_key} for {self.user_id or 'organization'} ({self.state})"


class ChatWebhook(models.Model):
    """A member's chat webhook for reminders and digests: an apprise URL (``slack://…``,
    ``workflows://…`` for Microsoft Teams, ``mmosts://…``, ``json://…``), stored encrypted —
    whoever has it can post to the channel."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    url = EncryptedTextField()
    service = models.CharField(max_length=80)  # "Slack", shown instead of the URL
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="chat_webhook_one_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} for {self.user_id}"
