"""Notification preferences, channels (email and chat) and the notification log.

**Preferences.** Each member chooses a channel (``email``, ``chat`` or ``none``) and a check-in
day (0 = Monday … 6 = Sunday); empty means the organization's default, which admins set.
A member who chooses chat gives a chat webhook: an `apprise <https://github.com/caronc/apprise>`_
URL for Slack (``slack://…`` or the ``https://hooks.slack.com/…`` URL), Microsoft Teams
(``workflows://…``, a Power Automate workflow), Mattermost (``mmosts://…`` or its
``https://…/hooks/…`` URL), Discord, Rocket.Chat, Google Chat, Zulip, Webex, Matrix, ntfy,
Telegram, or any HTTP endpoint (``jsons://host/path`` posts JSON). It is stored encrypted.
A service whose address the member chooses (Mattermost, Rocket.Chat, Matrix, ntfy, Teams
workflows, ``json://`` …) must point to a host on the organization's allowed hosts, like
data sources and webhooks; checked when saved and again before each send.

**The log.** Every reminder, digest and daily job is a `NotificationLog` row, unique per
organization, person, kind and period. `claim` inserts it (with the message rendered) before
anything is sent; `deliver_due` sends what is pending: it moves a row to ``sending`` with a
conditional update (so two workers never send the same row), sends, and records ``sent`` — or,
on failure, ``pending`` again with a backoff until the period ends (`MAX_ATTEMPTS` at most).
A row still ``sending`` after `SENDING_LEASE` belonged to a worker that died mid-send: it may
have gone out, so it is marked ``interrupted`` and never sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import apprise
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F

from milepost.audit.services import record_event
from milepost.errors import InvalidInput, NotFound, PermissionDenied
from milepost.integrations.crypto import SecretUnreadable, reveal
from milepost.integrations.models import (
    ChatWebhook,
    NotificationKind,
    NotificationLog,
    NotificationState,
)
from milepost.integrations.outbound import allowed_hosts, host_allowed
from milepost.organizations.access import Actor
from milepost.organizations.models import Membership, Organization, Role
from milepost.servicekit import apply_update

if TYPE_CHECKING:
    from milepost.accounts.models import User

log = logging.getLogger(__name__)

EMAIL, CHAT, NONE = "email", "chat", "none"
CHANNELS = (EMAIL, CHAT, NONE)
CHANNEL_LABELS = {EMAIL: "Email", CHAT: "Chat", NONE: "No reminders"}
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_CHAT_URL = 2000

# apprise schemes of chat services (and plain HTTP endpoints) a reminder may go to; other
# apprise services (SMS, desktop notifications, e-mail through a third party) are refused.
CHAT_SCHEMES = frozenset(
    {
        "slack",
        "workflow",
        "workflows",
        "mmost",
        "mmosts",
        "discord",
        "rocket",
        "rockets",
        "gchat",
        "zulip",
        "wxteams",
        "webex",
        "matrix",
        "matrixs",
        "ntfy",
        "ntfys",
        "tgram",
        "nctalk",
        "nctalks",
        "json",
        "jsons",
        "form",
        "forms",
        "xml",
        "xmls",
    }
)

MAX_ATTEMPTS = 6
FIRST_BACKOFF = dt.timedelta(minutes=5)
MAX_BACKOFF = dt.timedelta(hours=2)
SENDING_LEASE = dt.timedelta(minutes=15)
DELIVERIES_PER_PASS = 500


# --- preferences ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    """What applies to one member: their own choice, else the organization's default."""

    channel: str  # email | chat | none
    weekday: int  # 0 = Monday
    channel_is_default: bool
    weekday_is_default: bool


def organization_channel(organization: Organization) -> str:
    value = organization.default_notification_channel
    return value if value in CHANNELS else EMAIL


def effective_preference(membership: Membership, organization: Organization) -> Preference:
    """The channel and check-in day that apply to `membership`."""
    own_channel = (
        membership.notification_channel if membership.notification_channel in CHANNELS else ""
    )
    own_day = membership.checkin_weekday
    return Preference(
        channel=own_channel or organization_channel(organization),
        weekday=own_day if own_day is not None else organization.default_checkin_weekday,
        channel_is_default=not own_channel,
        weekday_is_default=own_day is None,
    )


class ChatUrlError(ValueError):
    """A chat webhook URL that cannot be used; the message says why (never the URL)."""


def _protocols(plugin: Any) -> set[str]:
    found: set[str] = set()
    for name in ("protocol", "secure_protocol"):
        value = getattr(plugin, name, None)
        if isinstance(value, str):
            found.add(value.lower())
        elif isinstance(value, tuple | list):
            found.update(str(v).lower() for v in value)
    return found


def _chooses_host(plugin: Any) -> bool:
    """Whether the service's address comes from the URL (a self-hosted service or a plain
    HTTP endpoint) rather than being the vendor's fixed one."""
    return any("{host}" in template for template in getattr(plugin, "templates", ()))


def check_chat_url(url: str, allowed: Iterable[str]) -> str:
    """The service name (``"Slack"``) of a usable chat webhook URL, or `ChatUrlError`.

    Usable: apprise understands it, it is a chat service (`CHAT_SCHEMES`), and when the
    service's host comes from the URL, that host is on the `allowed` hosts list."""
    text = url.strip()
    if not text:
        raise ChatUrlError("enter a chat webhook URL")
    if len(text) > MAX_CHAT_URL or any(c.isspace() for c in text):
        raise ChatUrlError(f"must be one line of at most {MAX_CHAT_URL} characters")
    # apprise logs a warning for every URL it cannot parse: keep those out of the logs.
    with apprise.LogCapture(level=logging.ERROR):  # type: ignore[no-untyped-call]
        plugin = apprise.Apprise.instantiate(text)
    if plugin is None:
        raise ChatUrlError(
            "is not a chat webhook URL Milepost understands: use the URL your chat tool gives "
            "(https://hooks.slack.com/…, https://…/hooks/… for Mattermost) or an apprise URL "
            "such as slack://…, workflows://… (Microsoft Teams), mmosts://… or jsons://host/path"
        )
    if not _protocols(plugin) & CHAT_SCHEMES:
        raise ChatUrlError(
            f"{plugin.service_name} is not a chat service; use Slack, Microsoft Teams, "
            "Mattermost, Discord, Rocket.Chat, Google Chat, Zulip, Webex, Matrix, ntfy, "
            "Telegram or an HTTP endpoint (jsons://)"
        )
    if _chooses_host(plugin):
        host = str(getattr(plugin, "host", "") or "")
        port = getattr(plugin, "port", None)
        scheme = "https" if getattr(plugin, "secure", False) else "http"
        netloc = f"[{host}]" if ":" in host else host
        target = f"{scheme}://{netloc}{f':{port}' if port else ''}/"
        if not host or not host_allowed(target, allowed):
            shown = f"{netloc}:{port}" if port else netloc
            raise ChatUrlError(
                f"the host {shown} is not on this organization's list of allowed hosts "
                "(an admin adds it under Settings → Integrations)"
            )
    return str(plugin.service_name)[:80]


def chat_webhook_for(organization_id: int, user_id: int) -> ChatWebhook | None:
    return ChatWebhook.objects.filter(organization_id=organization_id, user_id=user_id).first()


def _own_membership(actor: Actor) -> Membership:
    if actor.user is None or actor.token is not None:
        raise PermissionDenied("Only a signed-in person changes their own notifications.")
    membership = (
        Membership.objects.select_for_update()
        .filter(organization_id=actor.organization_id, user=actor.user, archived_at__isnull=True)
        .first()
    )
    if membership is None:
        raise NotFound("Organization not found.")
    return membership


@transaction.atomic
def update_notification_preferences(
    *,
    actor: Actor,
    channel: str,
    checkin_weekday: int | None,
    chat_url: str | None = None,
    remove_chat_url: bool = False,
) -> Membership:
    """Set the actor's own channel (``""`` = the organization's default) and check-in day
    (None = the default); ``chat_url`` replaces their chat webhook (None keeps it),
    ``remove_chat_url`` deletes it. Choosing chat needs a webhook. Audited without the URL."""
    membership = _own_membership(actor)
    organization = actor.organization
    errors: dict[str, list[str]] = {}
    if channel not in ("", *CHANNELS):
        errors.setdefault("channel", []).append("choose email, chat or none")
    if checkin_weekday is not None and not 0 <= checkin_weekday <= 6:
        errors.setdefault("checkin_weekday", []).append("choose a day from Monday to Sunday")
    existing = chat_webhook_for(actor.organization_id, membership.user_id)
    service = ""
    if chat_url is not None and chat_url.strip():
        try:
            service = check_chat_url(chat_url, allowed_hosts(actor.organization_id))
        except ChatUrlError as exc:
            errors.setdefault("chat_url", []).append(str(exc))
    will_have_chat = bool(service) or (existing is not None and not remove_chat_url)
    if channel == CHAT and not will_have_chat and "chat_url" not in errors:
        errors.setdefault("chat_url", []).append("chat needs a webhook URL (or choose email)")
    if errors:
        detail = "; ".join(f"{name}: {m}" for name, msgs in errors.items() for m in msgs)
        raise InvalidInput(detail, errors=errors)

    before: dict[str, Any] = {
        "notification_channel": membership.notification_channel,
        "checkin_weekday": membership.checkin_weekday,
    }
    after: dict[str, Any] = {"notification_channel": channel, "checkin_weekday": checkin_weekday}
    diff = {k: v for k, v in after.items() if before[k] != v}
    # The URL is a secret: the audit log names the service and what happened, never the URL.
    if service:
        ChatWebhook.objects.update_or_create(
            organization_id=actor.organization_id,
            user_id=membership.user_id,
            defaults={"url": (chat_url or "").strip(), "service": service},
        )
        before["chat_webhook"] = existing.service if existing is not None else None
        diff["chat_webhook"] = f"{service} ({'changed' if existing is not None else 'set'})"
    elif remove_chat_url and existing is not None:
        existing.delete()
        before["chat_webhook"] = existing.service
        diff["chat_webhook"] = "(removed)"
    membership.notification_channel = channel
    membership.checkin_weekday = checkin_weekday
    if not diff:
        return membership
    membership.version += 1
    membership.save(
        update_fields=["notification_channel", "checkin_weekday", "version", "updated_at"]
    )
    record_event(
        actor=actor,
        action="membership.notifications",
        target=membership,
        target_label=f"{actor.label} in {organization.slug}",
        before={k: before[k] for k in diff},
        after=diff,
    )
    return membership


@transaction.atomic
def update_notification_defaults(
    *, actor: Actor, channel: str, checkin_weekday: int, expected_version: int | None = None
) -> Organization:
    """Set the organization's default channel and check-in day (admins and owners)."""
    actor.require(Role.ADMIN, "change the organization's notification defaults")
    errors: dict[str, list[str]] = {}
    if channel not in CHANNELS:
        errors["default_notification_channel"] = ["choose email, chat or none"]
    if not 0 <= checkin_weekday <= 6:
        errors["default_checkin_weekday"] = ["choose a day from Monday to Sunday"]
    if errors:
        detail = "; ".join(f"{name}: {m}" for name, msgs in errors.items() for m in msgs)
        raise InvalidInput(detail, errors=errors)
    organization = Organization.objects.select_for_update().get(pk=actor.organization_id)
    return apply_update(
        actor=actor,
        instance=organization,
        changes={
            "default_notification_channel": channel,
            "default_checkin_weekday": checkin_weekday,
        },
        allowed=("default_notification_channel", "default_checkin_weekday"),
        expected_version=expected_version,
        action="organization.update",
    )


# --- channels ------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A message that could not be sent; the text says why (never a secret)."""


@dataclass(frozen=True)
class Message:
    """One notification, rendered: an email (text and HTML) and a chat post (Markdown)."""

    subject: str
    text: str
    html: str
    chat: str


def send_email(address: str, message: Message) -> None:
    """Send `message` by email (text and HTML alternatives); `DeliveryError` on failure."""
    if not address:
        raise DeliveryError("this person has no email address")
    mail = EmailMultiAlternatives(message.subject, message.text, None, [address])
    if message.html:
        mail.attach_alternative(message.html, "text/html")
    try:
        mail.send()
    except Exception as exc:  # SMTP, DNS, TLS: whatever the backend raises is a failed attempt
        raise DeliveryError(f"email not sent: {exc}") from exc


def send_chat(url: str, message: Message, *, allowed: Iterable[str]) -> None:
    """Post `message` to a chat webhook through apprise, after checking the URL again
    (the host may have been removed from the allowed list); `DeliveryError` on failure."""
    try:
        check_chat_url(url, allowed)
    except ChatUrlError as exc:
        raise DeliveryError(f"chat webhook refused: {exc}") from exc
    notifier = apprise.Apprise()
    notifier.add(url)
    capture = apprise.LogCapture(  # type: ignore[no-untyped-call]
        level=logging.WARNING, fmt="%(message)s"
    )
    with capture as captured:
        ok = notifier.notify(
            title=message.subject, body=message.chat, body_format=apprise.NotifyFormat.MARKDOWN
        )
    if not ok:
        lines = [line for line in captured.getvalue().splitlines() if line.strip()]
        reason = lines[-1][:300] if lines else "the chat service refused the message"
        raise DeliveryError(f"chat message not sent: {reason}")


# --- the log: claim, send, retry ------------------------------------------------------------------


def claim(
    *,
    organization: Organization,
    kind: str,
    period_key: str,
    retry_until: dt.datetime,
    now: dt.datetime,
    user: User | None = None,
    channel: str = "",
    message: Message | None = None,
    items: int = 0,
    snapshot: Any = None,
    state: str = NotificationState.PENDING,
    error: str = "",
) -> NotificationLog | None:
    """Record that this notification (or job) is taken for its period, before any sending;
    None if it already was (by this worker earlier, or by another). Runs in its own
    transaction (committed on return unless the caller holds one)."""
    row = NotificationLog(
        organization=organization,
        user=user,
        kind=kind,
        period_key=period_key,
        channel=channel,
        state=state,
        next_attempt_at=now if state == NotificationState.PENDING else None,
        retry_until=retry_until,
        # One line: a subject is an email header (names of teams or organizations could
        # otherwise carry a line break into it).
        subject=" ".join(message.subject.split())[:300] if message else "",
        body_text=message.text if message else "",
        body_html=message.html if message else "",
        body_chat=message.chat if message else "",
        items=items,
        snapshot=snapshot,
        last_error=error[:2000],
        created_at=now,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        return None
    return row


def start_attempt(row: NotificationLog, now: dt.datetime) -> bool:
    """Take a pending row for one attempt (``sending``, attempts + 1); False if another
    worker took it first or it is not due."""
    taken = NotificationLog.objects.filter(
        pk=row.pk, state=NotificationState.PENDING, next_attempt_at__lte=now
    ).update(state=NotificationState.SENDING, attempts=F("attempts") + 1, sending_at=now)
    if taken:
        row.refresh_from_db(fields=["state", "attempts", "sending_at"])
    return bool(taken)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 5, 10, 20, … minutes, at most 2 h."""
    wait: dt.timedelta = FIRST_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(wait, MAX_BACKOFF)


def finish_attempt(row: NotificationLog, now: dt.datetime, error: str | None) -> None:
    """Record the attempt's outcome: sent; or pending again after a backoff; or failed when
    attempts or the period ran out."""
    if error is None:
        row.state = NotificationState.SENT
        row.sent_at = now
        row.next_attempt_at = None
        row.last_error = ""
    else:
        row.last_error = error[:2000]
        retry_at = now + backoff(row.attempts)
        if row.attempts >= MAX_ATTEMPTS or retry_at >= row.retry_until:
            row.state = NotificationState.FAILED
            row.next_attempt_at = None
        else:
            row.state = NotificationState.PENDING
            row.next_attempt_at = retry_at
    row.save(update_fields=["state", "sent_at", "next_attempt_at", "last_error"])


def send(row: NotificationLog) -> None:
    """Send a claimed message row by its channel; `DeliveryError` on failure."""
    message = Message(row.subject, row.body_text, row.body_html, row.body_chat)
    user = row.user
    if user is None:
        raise DeliveryError("a message needs a person to send it to")
    if row.channel == CHAT:
        webhook = chat_webhook_for(row.organization_id, user.pk)
        if webhook is None:
            raise DeliveryError("no chat webhook is set any more")
        try:
            url = reveal(webhook.url)
        except SecretUnreadable as exc:
            raise DeliveryError(str(exc)) from exc
        send_chat(url, message, allowed=allowed_hosts(row.organization_id))
    else:
        send_email(user.email, message)


@dataclass
class DeliverySummary:
    attempted: int = 0
    sent: int = 0
    failed: int = 0  # attempts that failed (retried later or given up)
    interrupted: int = 0


def mark_interrupted(now: dt.datetime) -> int:
    """Rows left ``sending`` longer than `SENDING_LEASE` (their worker died): messages become
    ``interrupted`` (they may have gone out: never sent twice), jobs go back to pending
    (running a job again is harmless). How many messages were marked."""
    stale = NotificationLog.objects.filter(
        state=NotificationState.SENDING, sending_at__lt=now - SENDING_LEASE
    )
    stale.filter(kind=NotificationKind.RECOMPUTE).update(
        state=NotificationState.PENDING, next_attempt_at=now
    )
    return stale.exclude(kind=NotificationKind.RECOMPUTE).update(
        state=NotificationState.INTERRUPTED,
        last_error="the worker stopped while sending; not sent again to avoid a duplicate",
    )


def deliver_due(now: dt.datetime, *, limit: int = DELIVERIES_PER_PASS) -> DeliverySummary:
    """Make one attempt at every pending message that is due (at most `limit`)."""
    summary = DeliverySummary()
    rows = list(
        NotificationLog.objects.filter(
            state=NotificationState.PENDING,
            next_attempt_at__lte=now,
            kind__in=[NotificationKind.REMINDER, NotificationKind.DIGEST],
        )
        .select_related("user", "organization")
        .order_by("next_attempt_at", "pk")[:limit]
    )
    for row in rows:
        if not start_attempt(row, now):
            continue
        summary.attempted += 1
        try:
            send(row)
        except DeliveryError as exc:
            summary.failed += 1
            finish_attempt(row, now, str(exc))
            log.warning("%s for user %s not sent: %s", row.kind, row.user_id, exc)
        except Exception as exc:  # a bug must not leave the row "sending" nor stop the others
            summary.failed += 1
            finish_attempt(row, now, f"unexpected error: {exc}")
            log.exception("%s %s crashed", row.kind, row.pk)
        else:
            summary.sent += 1
            finish_attempt(row, now, None)
    return summary


def recent_notifications(
    organization_id: int, user_id: int, limit: int = 5
) -> list[NotificationLog]:
    """The person's latest reminders and digests (what was sent, or why not)."""
    return list(
        NotificationLog.objects.filter(
            organization_id=organization_id,
            user_id=user_id,
            kind__in=[NotificationKind.REMINDER, NotificationKind.DIGEST],
        )
        .exclude(state=NotificationState.SKIPPED)
        .only(
            "kind",
            "period_key",
            "channel",
            "state",
            "attempts",
            "created_at",
            "sent_at",
            "last_error",
        )
        .order_by("-created_at", "-pk")[:limit]
    )
