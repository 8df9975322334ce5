"""Decimals in API answers: plain notation, no trailing zeros, the same text for equal values
(the renderer caches the text of recent values)."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from milepost.api.renderers import decimal_text, dumps


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1400.000000"), "1400"),
        (Decimal("1.4005E+3"), "1400.5"),
        (Decimal("0.4535"), "0.4535"),
        (Decimal("-0"), "0"),
        (Decimal("0.000"), "0"),
        (Decimal("-2.50"), "-2.5"),
        (Decimal("1E-7"), "0.0000001"),
    ],
)
def test_decimal_text(value: Decimal, text: str) -> None:
    assert decimal_text(value) == text


def test_equal_decimals_render_alike_and_non_finite_ones_are_refused() -> None:
    assert dumps([Decimal("1.0"), Decimal("1.00"), Decimal("1")]) == b'["1","1","1"]'
    with pytest.raises(TypeError):
        decimal_text(Decimal("NaN"))
    with pytest.raises(TypeError):
        dumps([Decimal("NaN")])


def test_the_renderers_text_cache_stays_bounded_and_never_mixes_values() -> None:
    from milepost.api import renderers

    values = [Decimal(i) / 1000 for i in range(3 * renderers._DECIMAL_TEXTS_MAX)]
    written = orjson.loads(dumps(values + values[::-1]))
    assert written == [decimal_text(v) for v in values + values[::-1]]
    assert len(renderers._DECIMAL_TEXTS) <= renderers._DECIMAL_TEXTS_MAX
    # Different `str`, same value: the same text, whichever was written first.
    assert (
        dumps([Decimal("1E+3"), Decimal("1000.00"), Decimal("1000")]) == b'["1000","1000","1000"]'
    )
