"""Fast JSON rendering with orjson.

Decimals (metric values, money, progress) are written as JSON strings in plain notation
("1400.5", never "1.4005E+3") so no client loses precision by parsing a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from django.http import HttpRequest
from ninja.renderers import BaseRenderer


def decimal_text(value: Decimal) -> str:
    """A Decimal in plain notation without trailing zeros: 1400.000000 → "1400"."""
    if not value.is_finite():
        raise TypeError(f"cannot render non-finite decimal {value}")
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


# The text of each Decimal written lately, by its `str` (cheap to compute and to hash, unlike
# the Decimal itself): a large answer (a whole alignment tree holds 170,000 decimals) repeats a
# few hundred values. Bounded: emptied when full.
_DECIMAL_TEXTS: dict[str, str] = {}
_DECIMAL_TEXTS_MAX = 8192


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        written = str(value)  # the same `str`, the same value (and so the same text)
        text = _DECIMAL_TEXTS.get(written)
        if text is None:
            text = decimal_text(value)
            if len(_DECIMAL_TEXTS) >= _DECIMAL_TEXTS_MAX:
                _DECIMAL_TEXTS.clear()
            _DECIMAL_TEXTS[written] = text
        return text
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"
    charset = "utf-8"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return dumps(data)
