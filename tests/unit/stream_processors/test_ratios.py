"""The campaign ratios: one rounding rule for ad rows and KPI rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stream_processors.ratios import PLACES, cpc, cpm, ctr, ratio


def test_rates_have_six_places_and_money_ratios_four() -> None:
    assert ctr(1, 3) == "0.333333"
    assert cpc(Decimal("10"), 3) == "3.3333"
    assert cpm(Decimal("1.5"), 7) == "214.2857"


def test_halves_round_to_even() -> None:
    assert ratio("roas", Decimal("0.00005"), Decimal(1)) == "0.0000"
    assert ratio("roas", Decimal("0.00015"), Decimal(1)) == "0.0002"


@pytest.mark.parametrize("name", sorted(PLACES))
def test_no_denominator_no_ratio(name: str) -> None:
    assert ratio(name, Decimal(5), Decimal(0)) is None


def test_a_ratio_without_declared_places_is_refused() -> None:
    with pytest.raises(KeyError):
        ratio("cpa", Decimal(1), Decimal(1))
