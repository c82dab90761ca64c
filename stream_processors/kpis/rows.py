"""A KPI row's state (the latest contribution per identity) and the figures derived from it."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from stream_processors.kpis.contributions import ADS, EVENTS, ORDERS, Contribution, KpiKey

State = dict[str, dict[str, list[Any]]]  # kind -> identity -> [version, values or None]

_PLACES = {"ctr": "0.000001", "conversion_rate": "0.000001", "roas": "0.0001"}


def apply(state: State, contribution: Contribution) -> bool:
    """Keep the newest contribution per identity; events count once. True when it changed."""
    entries = state.setdefault(contribution.kind, {})
    current = entries.get(contribution.identity)
    if current is not None:
        if contribution.kind == EVENTS or current[0] > contribution.version:
            return False
        if current[0] == contribution.version and current[1] == contribution.values:
            return False
    entries[contribution.identity] = [contribution.version, contribution.values]
    return True


def _sum(state: State, kind: str, measure: str) -> Decimal:
    total = Decimal(0)
    for _, values in state.get(kind, {}).values():
        if values and measure in values:
            total += Decimal(values[measure])
    return total


def _ratio(numerator: Decimal, denominator: Decimal, name: str) -> str | None:
    if denominator == 0:
        return None
    places = Decimal(_PLACES.get(name, "0.0001"))
    return str((numerator / denominator).quantize(places, rounding=ROUND_HALF_EVEN))


def figures(key: KpiKey, state: State, currency: str, updated_at_us: int) -> dict[str, Any]:
    """The KPI row: sums of the contributions, and the ratios (None without a denominator)."""
    impressions = _sum(state, ADS, "impressions")
    clicks = _sum(state, ADS, "clicks")
    spend = _sum(state, ADS, "spend")
    installs = _sum(state, EVENTS, "installs")
    orders = _sum(state, ORDERS, "orders")
    revenue = _sum(state, ORDERS, "revenue")
    currencies = {v["account_currency"] for _, v in state.get(ADS, {}).values() if v}
    single = next(iter(currencies)) if len(currencies) == 1 else None
    return {
        "date": key.day,
        "platform": key.platform,
        "campaign_id": key.campaign_id,
        "currency": currency,
        "impressions": int(impressions),
        "clicks": int(clicks),
        "spend": str(spend.quantize(Decimal("0.000001"))),
        "account_currency": single,
        "spend_account_currency": (
            str(_sum(state, ADS, "spend_account")) if single is not None else None
        ),
        "conversions": str(_sum(state, ADS, "conversions")),
        "installs": int(installs),
        "signups": int(_sum(state, EVENTS, "signups")),
        "purchases": int(_sum(state, EVENTS, "purchases")),
        "orders": int(orders),
        "revenue": str(revenue.quantize(Decimal("0.000001"))),
        "ctr": _ratio(clicks, impressions, "ctr"),
        "cpc": _ratio(spend, clicks, "cpc"),
        "cpm": _ratio(spend * 1000, impressions, "cpm"),
        "cpi": _ratio(spend, installs, "cpi"),
        "cost_per_order": _ratio(spend, orders, "cost_per_order"),
        "roas": _ratio(revenue, spend, "roas"),
        "conversion_rate": _ratio(orders, clicks, "conversion_rate"),
        "updated_at": updated_at_us,
    }
