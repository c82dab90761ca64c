"""The campaign ratios and their rounding, declared once for ad rows and KPI rows alike.

Every ratio is the numerator over the denominator, rounded half-even to its places, and
None without a denominator (no impressions, no clicks, no spend...).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

#: decimal places of each ratio: rates to 6, money ratios and ROAS to 4
PLACES = {
    "ctr": Decimal("0.000001"),
    "conversion_rate": Decimal("0.000001"),
    "cpc": Decimal("0.0001"),
    "cpm": Decimal("0.0001"),
    "cpi": Decimal("0.0001"),
    "cost_per_order": Decimal("0.0001"),
    "roas": Decimal("0.0001"),
}


def ratio(name: str, numerator: Decimal, denominator: Decimal) -> str | None:
    """The ratio called ``name`` as exact decimal text; None when the denominator is 0."""
    if denominator == 0:
        return None
    return str((numerator / denominator).quantize(PLACES[name], rounding=ROUND_HALF_EVEN))


def ctr(clicks: int, impressions: int) -> str | None:
    """Clicks per impression."""
    return ratio("ctr", Decimal(clicks), Decimal(impressions))


def cpc(spend: Decimal, clicks: int) -> str | None:
    """Spend per click."""
    return ratio("cpc", spend, Decimal(clicks))


def cpm(spend: Decimal, impressions: int) -> str | None:
    """Spend per thousand impressions."""
    return ratio("cpm", spend * 1000, Decimal(impressions))
