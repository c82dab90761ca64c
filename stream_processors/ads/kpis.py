"""CTR, CPC and CPM, computed the same way for every platform."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

_CTR_PLACES = Decimal("0.000001")
_MONEY_RATIO_PLACES = Decimal("0.0001")


def _ratio(numerator: Decimal, denominator: Decimal, places: Decimal) -> str | None:
    if denominator == 0:
        return None
    return str((numerator / denominator).quantize(places, rounding=ROUND_HALF_EVEN))


def ctr(clicks: int, impressions: int) -> str | None:
    """Clicks per impression, 6 decimals; None without impressions."""
    return _ratio(Decimal(clicks), Decimal(impressions), _CTR_PLACES)


def cpc(spend: Decimal, clicks: int) -> str | None:
    """Spend per click, 4 decimals; None without clicks."""
    return _ratio(spend, Decimal(clicks), _MONEY_RATIO_PLACES)


def cpm(spend: Decimal, impressions: int) -> str | None:
    """Spend per thousand impressions, 4 decimals; None without impressions."""
    return _ratio(spend * 1000, Decimal(impressions), _MONEY_RATIO_PLACES)
