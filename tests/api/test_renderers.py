"""Decimals in API answers: plain notation, no trailing zeros, the same text for equal values
(the renderer caches by value)."""

from __future__ import annotations

from decimal import Decimal

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
    assert decimal_text(value) == text  # and again, from the cache


def test_equal_decimals_render_alike_and_non_finite_ones_are_refused() -> None:
    assert dumps([Decimal("1.0"), Decimal("1.00"), Decimal("1")]) == b'["1","1","1"]'
    with pytest.raises(TypeError):
        decimal_text(Decimal("NaN"))
