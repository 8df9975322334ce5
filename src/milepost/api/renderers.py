"""Fast JSON rendering with orjson.

Decimals (metric values, money, progress) are written as JSON strings in plain notation
("1400.5", never "1.4005E+3") so no client loses precision by parsing a float.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from django.http import HttpRequest
from ninja.renderers import BaseRenderer


@lru_cache(maxsize=8192)
def decimal_text(value: Decimal) -> str:
    """A Decimal in plain notation without trailing zeros: 1400.000000 → "1400".

    Cached: a large answer repeats the same few progress and expected values thousands of
    times. Equal decimals (1.0 and 1.00) share an entry, which is right: their text is the
    same."""
    if not value.is_finite():
        raise TypeError(f"cannot render non-finite decimal {value}")
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
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
