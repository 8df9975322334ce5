"""``{% data_source_card %}``: the key result page's data-source card (status, run now)."""

from __future__ import annotations

from typing import Any

from django import template

from milepost.integrations.access import can_configure_data_source
from milepost.integrations.models import DataSource, DataSourceKind
from milepost.okrs.access import can_check_in

register = template.Library()

# What a page that shows the card loads with its key result (`access_key_result(also_select=)`).
DATA_SOURCE_RELATIONS = ("data_source__connection",)


@register.inclusion_tag("web/includes/kr_data_source.html", takes_context=True)
def data_source_card(context: template.Context) -> dict[str, Any]:
    """Needs ``kr`` and ``web`` (the page's web context) in the template context. No query
    when the key result was loaded with ``data_source__connection`` (`DATA_SOURCE_RELATIONS`),
    else one."""
    kr = context["kr"]
    actor = context["web"].actor
    try:
        source: DataSource | None = kr.data_source
    except DataSource.DoesNotExist:
        source = None
    if source is not None and source.archived_at is not None:
        source = None
    return {
        "kr": kr,
        "source": source,
        "can_run": source is not None and can_check_in(actor, kr),
        "can_configure": can_configure_data_source(
            actor, kr, source.kind if source else DataSourceKind.HTTP_JSON
        ),
        "csrf_token": context.get("csrf_token"),
    }
