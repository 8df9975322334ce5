"""Display formatting shared by templates and the server-drawn SVG: percentages, numbers,
money, status and severity labels. Formatting only — every value comes from the engine or
the stored columns it maintains; nothing here decides a number."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

# Status is never shown by colour alone: each has an icon and words.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "on_track": ("✓", "On track"),
    "at_risk": ("!", "At risk"),
    "off_track": ("✕", "Off track"),
    "done": ("★", "Done"),
    "not_started": ("○", "Not started"),
}
STATUS_ORDER = ("off_track", "at_risk", "on_track", "done", "not_started")

SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    "error": ("✖", "Error"),
    "warning": ("⚠", "Warning"),
    "info": ("\N{INFORMATION SOURCE}", "Info"),
}
SEVERITY_ORDER = ("error", "warning", "info")


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def percent(value: Any) -> str:
    """0.4712 → "47%" (None → "—")."""
    d = to_decimal(value)
    if d is None:
        return "—"
    return f"{(d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


def number(value: Any, places: int | None = None) -> str:
    """A metric value without trailing zeros and with thousands separators: 1200.000000 → 1,200."""
    d = to_decimal(value)
    if d is None:
        return "—"
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if d == d.to_integral_value():
        d = d.quantize(Decimal(1))
    else:
        d = d.normalize()
        if places is None and d.as_tuple().exponent < -4:  # type: ignore[operator]
            d = d.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
    return f"{d:,f}"


def money(value: Any) -> str:
    d = to_decimal(value)
    if d is None:
        return "—"
    return f"{d.quantize(Decimal(1), rounding=ROUND_HALF_UP):,f}"


def label(value: Any) -> str:
    """A stored code as words: "in_progress" → "In progress"."""
    text = str(value or "").replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def status_badge(status: str) -> SafeString:
    icon, words = STATUS_LABELS.get(status, ("•", label(status)))
    return format_html(
        '<span class="status status--{}">'
        '<span class="status-icon" aria-hidden="true">{}</span>{}</span>',
        status if status in STATUS_LABELS else "not_started",
        icon,
        words,
    )


def severity_badge(severity: str) -> SafeString:
    icon, words = SEVERITY_LABELS.get(severity, ("•", label(severity)))
    return format_html(
        '<span class="sev sev--{}"><span aria-hidden="true">{}</span>{}</span>',
        severity,
        icon,
        words,
    )


def unit_share(value: Any) -> Decimal:
    """A progress value as a drawing length in [0, 1] (display only; the number shown beside
    the bar is the real one)."""
    d = to_decimal(value) or Decimal(0)
    return max(Decimal(0), min(Decimal(1), d))


def progress_bar(progress: Any, expected: Any = None, status: str = "") -> SafeString:
    """An accessible progress bar: an SVG (widths as attributes, CSP-safe) with the actual
    progress filled, the expected progress as a marker, and the percentage as text."""
    share = unit_share(progress)
    width = (share * 100).quantize(Decimal("0.1"))
    label_text = f"Progress {percent(progress)}"
    marker: SafeString | str = ""
    if expected is not None:
        x = (unit_share(expected) * 100).quantize(Decimal("0.1"))
        label_text += f", expected {percent(expected)}"
        marker = format_html(
            '<line class="bar-expected" x1="{}" x2="{}" y1="0" y2="10" '
            'vector-effect="non-scaling-stroke"/>',
            x,
            x,
        )
    return format_html(
        '<span class="progress"><svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" '
        'role="img" aria-label="{}">'
        '<rect class="bar-track" x="0" y="1" width="100" height="8" rx="2"/>'
        '<rect class="bar-fill {}" x="0" y="1" width="{}" height="8" rx="2"/>{}</svg>'
        '<span class="pct">{}</span></span>',
        label_text,
        status,
        width,
        marker,
        percent(progress),
    )


def short_date(value: date | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%-d %b %Y")


VERBS = {
    "create": "created",
    "update": "changed",
    "archive": "archived",
    "restore": "restored",
    "record": "recorded",
    "correct": "corrected",
    "status": "changed the status of",
    "complete": "completed",
    "role": "changed the role of",
}
TARGET_WORDS = {
    "keyresult": "key result",
    "checkin": "check-in",
    "initiativekeyresult": "link to a key result",
    "timeentry": "time entry",
    "apitoken": "API token",
}


def describe_action(action: str) -> str:
    """An audit action as words: "keyresult.update" → "changed key result"."""
    target, _, verb = action.partition(".")
    what = TARGET_WORDS.get(target, target)
    return f"{VERBS.get(verb, verb.replace('_', ' '))} {what}".strip()


def event_label(label: str) -> str:
    """An audit event's target label, without Django's placeholder ("Alignment object (3)")."""
    return "" if re.fullmatch(r"\w+ object \(\d+\)", label or "") else label
